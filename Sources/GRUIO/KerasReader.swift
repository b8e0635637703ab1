import Foundation
import GRUCore

/// Reads Keras model and weights files: tf-keras / Keras 2 HDF5, Keras 3 .keras archives, .weights.h5.
public enum KerasReader {
    /// Reads every layer of the file at `path`. `checksummed`: a .keras archive's weights read in place get
    /// their checksum computed meanwhile (`KerasModel.verifyWeights`); a reader of the config and shapes alone
    /// (`inspect`) goes without.
    public static func load(path: String, checksummed: Bool = true) throws -> KerasModel {
        if let folder = SavedModelReader.folder(of: path) { return try SavedModelReader.load(folder: folder) }
        // A pipe or device (<(cat m.h5), /dev/stdin) is read into memory once; libhdf5 and the zip
        // reader need to seek.
        let input = try InputFile(path: path)
        let image = input.isRegular ? nil : try input.readAll()
        let head = try image.map { Array($0.prefix(8)) } ?? input.prefix(8)
        // A zip: members first (PK 3 4), or none at all, only the end record (PK 5 6).
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return try KerasArchive.load(path: path, input: input, image: image, checksummed: checksummed)
        }
        let file = try HDF5File(path: path, image: image)
        var model = try load(file, path: path)
        if file.usesBackslashNames { model.notes.append(backslashNote) }
        return model
    }

    /// Group names with backslashes: Keras saving on Windows wrote paths with its separator.
    static let backslashNote = "the file names its groups with backslashes (saved on Windows); gru-run reads them as '/'"

    private static func load(_ file: HDF5File, path: String) throws -> KerasModel {
        let version = try file.stringAttribute("keras_version", of: "/")?.first
        if let configText = try file.stringAttribute("model_config", of: "/")?.first {
            let root = try parseConfig(configText, path: path, what: "model_config")
            let layers = try KerasModelConfig.layers(of: root, path: path)
            let weightsRoot = file.isGroup("/model_weights") ? "/model_weights" : "/"
            return try readModel(config: root, layers: layers, weights: HDF5LayerWeights(file: file, root: weightsRoot),
                                 path: path, kind: .fullModel, version: version)
        }
        if let layerNames = try file.splitStringAttribute("layer_names", of: "/") {
            return KerasModel(path: path, kind: .weightsOnly, kerasVersion: version,
                              layers: try HDF5LayerWeights(file: file, root: "/").inferLayers(layerNames, path: path, version: version))
        }
        if file.isGroup("/layers") {
            return KerasModel(path: path, kind: .keras3Weights, kerasVersion: version,
                              layers: try Keras3Weights(file: file, path: path, kind: .keras3Weights).inferLayers())
        }
        let members = file.members(of: "/")
        let what = members.isEmpty ? "nothing" : members.prefix(10).map { Printable.name($0) }.joined(separator: ", ")
        throw GRUIOError.keras(path: path, "is not a Keras model or weights file: it has no model_config, layer_names or /layers (it holds \(what))")
    }

    /// Finds the one GRU in `path` (the one named `layer` if given) and reads its weights and config.
    public static func loadGRU(path: String, layer requested: String? = nil) throws -> KerasGRU {
        let model = try load(path: path)
        try model.verifyWeights()
        let index: Int
        if let requested {
            guard let found = model.layer(named: requested) else {
                throw GRUIOError.keras(path: path, "has no layer named \(Printable.quoted(requested)); its layers are \(model.listing)")
            }
            index = found.index
        } else {
            let recurrent = model.layers.indices.filter { model.layers[$0].isRecurrent }
            guard let first = recurrent.first else {
                throw GRUIOError.keras(path: path, "holds no GRU layer; its layers are \(model.listing)")
            }
            guard recurrent.count == 1 else {
                let names = recurrent.map { "\(Printable.quoted(model.layers[$0].name))" }.joined(separator: ", ")
                throw GRUIOError.keras(path: path, "holds \(recurrent.count) recurrent layers (\(names)); choose one with --layer NAME")
            }
            index = first
        }
        guard case .gru(var gru) = model.layers[index] else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(model.layers[index].name)) is a \(Printable.name(model.layers[index].className)), not a GRU; its layers are \(model.listing)")
        }
        gru.maskValue = model.maskValue(before: index)
        return gru
    }

    /// Reads a model_config / config.json text as far as gru-run uses it: the layer list and every GRU's
    /// (or Bidirectional's inner GRUs') arguments. Returns the layers' class names in order.
    public static func readModelConfig(_ text: String, path: String) throws -> [String] {
        let layers = try KerasModelConfig.layers(of: try parseConfig(text, path: path, what: "model_config"), path: path)
        for layer in layers {
            var config = GRUConfig(units: 1)
            switch layer.className {
            case "GRU", "CuDNNGRU":
                try GRUConfigReader(path: path, layer: layer).apply(to: &config)
            case "Bidirectional":
                if let inner = layer.config["layer"]?["config"]?.object {
                    try GRUConfigReader(path: path, layer: KerasLayerConfig(className: "GRU", name: layer.name, config: inner)).apply(to: &config)
                }
            default:
                break
            }
        }
        return layers.map(\.className)
    }

    static func parseConfig(_ text: String, path: String, what: String) throws -> JSONValue {
        do {
            return try HDF5Guard.paused { try JSONValue.parse(text) }
        } catch {
            throw GRUIOError.keras(path: path, "\(what) is not valid JSON")
        }
    }
}
