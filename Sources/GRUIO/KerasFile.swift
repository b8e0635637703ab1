import Foundation
import GRUCore

/// Which kind of Keras HDF5 file a path holds.
public enum KerasFileKind: String, Sendable {
    /// `model.save("x.h5")`: weights under `/model_weights` and a `model_config`.
    case fullModel = "full model"
    /// `model.save_weights("x.h5")`: weights only, no config.
    case weightsOnly = "weights only"
}

/// A GRU layer found in a Keras file: its weights, and its config as far as the file states it.
public struct KerasGRU: Sendable {
    public var path: String
    public var kind: KerasFileKind
    public var kerasVersion: String?
    public var layerName: String
    /// The config: read from model_config for a full model; the seed's defaults and the weight shapes otherwise.
    public var config: GRUConfig
    /// The Masking layer's mask_value in front of the GRU, if the model has one.
    public var maskValue: Double?
    /// 32 or 64: the stored precision of the kernel.
    public var bits: Int
    public var inputDim: Int
    public var units: Int
    /// `(inputDim, 3U)` row-major, gate blocks [z | r | h].
    public var kernel: [Double]
    /// `(U, 3U)` row-major.
    public var recurrentKernel: [Double]
    /// `(3U,)`, or `(2, 3U)` flattened (row 0 input side, row 1 recurrent side); nil without a bias.
    public var bias: [Double]?
    public var biasShape: [Int]?

    /// The hard_sigmoid definition of the Keras that wrote the file: Keras 3 redefined it.
    public var hardSigmoid: HardSigmoidDefinition {
        guard let major = kerasVersion?.split(separator: ".").first.flatMap({ Int($0) }) else { return .keras2 }
        return major >= 3 ? .keras3 : .keras2
    }

    /// Weights converted to the computation's scalar type.
    public func weights<S: GRUScalar>(_ type: S.Type) throws -> GRUWeights<S> {
        let cols = 3 * units
        let inputBias = bias.map { $0.prefix(cols).map { S($0) } }
        let recurrentBias = bias.flatMap { $0.count == 2 * cols ? $0.suffix(cols).map { S($0) } : nil }
        return try GRUWeights(inputDim: inputDim, units: units, kernel: kernel.map { S($0) },
                              recurrentKernel: recurrentKernel.map { S($0) },
                              inputBias: inputBias, recurrentBias: recurrentBias)
    }
}

/// Reads Keras HDF5 files written by tf.keras / tf-keras (`model.save` and `save_weights`).
public enum KerasReader {
    static let recurrentClasses: Set<String> = ["GRU"]
    static let passThroughClasses: Set<String> = ["InputLayer", "Masking"]

    /// Finds the GRU in `path` (the one named `layer` if given) and reads its weights and config.
    public static func loadGRU(path: String, layer requested: String? = nil) throws -> KerasGRU {
        let file = try HDF5File(path: path)
        let version = try file.stringAttribute("keras_version", of: "/")?.first
        if let configText = try file.stringAttribute("model_config", of: "/")?.first {
            return try loadFullModel(file: file, configText: configText, version: version, requested: requested)
        }
        return try loadWeightsOnly(file: file, version: version, requested: requested)
    }

    private static func loadFullModel(file: HDF5File, configText: String, version: String?,
                                      requested: String?) throws -> KerasGRU {
        let path = file.path
        let root: JSONValue
        do {
            root = try JSONValue.parse(configText)
        } catch {
            throw GRUIOError.keras(path: path, "model_config is not valid JSON")
        }
        let layers = try KerasModelConfig.layers(of: root, path: path)
        let listing = layers.map { "\($0.name) (\($0.className))" }.joined(separator: ", ")
        let index: Int
        if let requested {
            guard let found = layers.firstIndex(where: { $0.name == requested }) else {
                throw GRUIOError.keras(path: path, "has no layer named '\(requested)'; its layers are \(listing)")
            }
            guard recurrentClasses.contains(layers[found].className) else {
                throw GRUIOError.keras(path: path, "layer '\(requested)' is a \(layers[found].className), not a GRU; its layers are \(listing)")
            }
            index = found
        } else {
            let grus = layers.indices.filter { recurrentClasses.contains(layers[$0].className) }
            guard let first = grus.first else {
                throw GRUIOError.keras(path: path, "holds no GRU layer; its layers are \(listing)")
            }
            guard grus.count == 1 else {
                let names = grus.map { "'\(layers[$0].name)'" }.joined(separator: ", ")
                throw GRUIOError.keras(path: path, "holds \(grus.count) GRU layers (\(names)); choose one with --layer NAME")
            }
            let others = layers.filter { !recurrentClasses.contains($0.className) && !passThroughClasses.contains($0.className) }
            guard others.isEmpty else {
                throw GRUIOError.keras(path: path, "holds layers gru-run does not run (its layers are \(listing)); run the GRU alone with --layer \(layers[first].name)")
            }
            index = first
        }
        let layer = layers[index]
        var config = GRUConfig(units: 0)
        try GRUConfigReader(path: path, layer: layer).apply(to: &config)
        if version.flatMap({ $0.split(separator: ".").first }).flatMap({ Int($0) }).map({ $0 >= 3 }) == true {
            config.hardSigmoid = .keras3
        }
        var maskValue: Double?
        var previous = index - 1
        while previous >= 0, layers[previous].className == "InputLayer" { previous -= 1 }
        if previous >= 0, layers[previous].className == "Masking" {
            maskValue = layers[previous].config["mask_value"]?.number ?? 0
        }
        let weightsRoot = file.isGroup("/model_weights") ? "/model_weights" : "/"
        var gru = try readWeights(file: file, root: weightsRoot, layerName: layer.name, kind: .fullModel, version: version)
        guard config.units == gru.units else {
            throw GRUIOError.keras(path: path, "layer '\(layer.name)' has units = \(config.units) in its config but its recurrent kernel holds \(gru.units) units")
        }
        config.hardSigmoid = gru.hardSigmoid
        gru.config = config
        gru.maskValue = maskValue
        return gru
    }

    private static func loadWeightsOnly(file: HDF5File, version: String?, requested: String?) throws -> KerasGRU {
        let path = file.path
        guard let layerNames = try file.stringAttribute("layer_names", of: "/") else {
            let members = file.members(of: "/")
            let what = members.isEmpty ? "nothing" : members.prefix(10).joined(separator: ", ")
            throw GRUIOError.keras(path: path, "is not a Keras model or weights file: it has no model_config or layer_names attribute (it holds \(what))")
        }
        var candidates: [String] = []
        var described: [String] = []
        for name in layerNames {
            let weightNames = try file.stringAttribute("weight_names", of: "/" + name) ?? []
            let leaves = weightNames.map(leafName)
            described.append(weightNames.isEmpty ? name : "\(name) (\(leaves.joined(separator: ", ")))")
            if leaves.starts(with: ["kernel", "recurrent_kernel"]) && (leaves.count == 2 || (leaves.count == 3 && leaves[2] == "bias")) {
                candidates.append(name)
            }
        }
        let chosen: String
        if let requested {
            guard layerNames.contains(requested) else {
                throw GRUIOError.keras(path: path, "has no layer named '\(requested)'; its layers are \(described.joined(separator: ", "))")
            }
            chosen = requested
        } else {
            guard let first = candidates.first else {
                throw GRUIOError.keras(path: path, "holds no GRU weights (kernel, recurrent_kernel, bias); its layers are \(described.joined(separator: ", "))")
            }
            guard candidates.count == 1 else {
                throw GRUIOError.keras(path: path, "holds \(candidates.count) recurrent layers (\(candidates.joined(separator: ", "))); choose one with --layer NAME")
            }
            chosen = first
        }
        var gru = try readWeights(file: file, root: "/", layerName: chosen, kind: .weightsOnly, version: version)
        var config = GRUConfig(units: gru.units)
        config.useBias = gru.bias != nil
        config.resetAfter = gru.biasShape?.count == 2
        config.hardSigmoid = gru.hardSigmoid
        gru.config = config
        return gru
    }

    /// `gru/gru_cell/kernel:0` -> `kernel`.
    static func leafName(_ weightName: String) -> String {
        let last = weightName.split(separator: "/").last.map(String.init) ?? weightName
        return last.split(separator: ":").first.map(String.init) ?? last
    }

    /// Reads kernel, recurrent kernel and bias through the layer group's `weight_names`, in order.
    private static func readWeights(file: HDF5File, root: String, layerName: String, kind: KerasFileKind,
                                    version: String?) throws -> KerasGRU {
        let path = file.path
        let group = (root == "/" ? "" : root) + "/" + layerName
        guard let weightNames = try file.stringAttribute("weight_names", of: group) else {
            throw GRUIOError.keras(path: path, "layer '\(layerName)' has no weight_names attribute at \(group)")
        }
        guard weightNames.count == 2 || weightNames.count == 3 else {
            throw GRUIOError.keras(path: path, "layer '\(layerName)' holds \(weightNames.count) weights (\(weightNames.joined(separator: ", "))); a GRU holds kernel, recurrent_kernel and an optional bias")
        }
        let arrays = try weightNames.map { name -> HDF5FloatArray in
            let datasetPath = group + "/" + name
            guard file.exists(datasetPath) else {
                throw GRUIOError.keras(path: path, "layer '\(layerName)' lists weight \(name) but the file has no dataset \(datasetPath)")
            }
            return try file.floatDataset(datasetPath)
        }
        let kernel = arrays[0], recurrent = arrays[1]
        guard recurrent.shape.count == 2, recurrent.shape[0] > 0, recurrent.shape[1] == 3 * recurrent.shape[0] else {
            throw GRUIOError.keras(path: path, "layer '\(layerName)' has a recurrent kernel of shape \(describe(recurrent.shape)); a GRU's is (units, 3*units)")
        }
        let units = recurrent.shape[0]
        guard kernel.shape.count == 2, kernel.shape[0] > 0, kernel.shape[1] == 3 * units else {
            throw GRUIOError.keras(path: path, "layer '\(layerName)' has a kernel of shape \(describe(kernel.shape)); with \(units) units it must be (features, \(3 * units))")
        }
        var bias: HDF5FloatArray?
        if arrays.count == 3 {
            let candidate = arrays[2]
            guard candidate.shape == [3 * units] || candidate.shape == [2, 3 * units] else {
                throw GRUIOError.keras(path: path, "layer '\(layerName)' has a bias of shape \(describe(candidate.shape)); with \(units) units it must be (\(3 * units),) or (2, \(3 * units))")
            }
            bias = candidate
        }
        return KerasGRU(path: path, kind: kind, kerasVersion: version, layerName: layerName,
                        config: GRUConfig(units: units), maskValue: nil, bits: kernel.bits,
                        inputDim: kernel.shape[0], units: units, kernel: kernel.values,
                        recurrentKernel: recurrent.values, bias: bias?.values, biasShape: bias?.shape)
    }
}
