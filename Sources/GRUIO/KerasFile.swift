import Synchronization
import Foundation
import GRUCore

/// Which kind of Keras file a path holds.
public enum KerasFileKind: String, Sendable {
    /// tf.keras / tf-keras / Keras 2 `model.save("x.h5")`, or Keras 3's legacy `.h5`: weights and a model_config.
    case fullModel = "HDF5 full model"
    /// `model.save_weights("x.h5")` of tf.keras / tf-keras / Keras 2: weights only.
    case weightsOnly = "HDF5 weights only"
    /// Keras 3 `model.save("x.keras")`: a zip of config.json, metadata.json and model.weights.h5.
    case kerasArchive = "Keras 3 .keras archive"
    /// Keras 3 `model.save_weights("x.weights.h5")`: weights under /layers, no config.
    case keras3Weights = "Keras 3 .weights.h5"

    /// Whether the file states the layer configs.
    public var hasConfig: Bool { self == .fullModel || self == .kerasArchive }
}

/// A GRU layer found in a Keras file: its weights, and its config as far as the file states it.
public struct KerasGRU: Sendable {
    public var path: String
    public var kind: KerasFileKind
    public var kerasVersion: String?
    public var layerName: String
    /// The Keras class the weights came from: GRU, or CuDNNGRU (converted to GRU(reset_after=True)).
    public var className = "GRU"
    /// The config: read from the model's config when the file has one; the defaults of the Keras that
    /// wrote the file and the weight shapes otherwise.
    public var config: GRUConfig
    /// The Masking layer's mask_value right in front of the GRU, if the model has one.
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
    /// For a weights-only file: whose defaults the config holds and what of it the file cannot confirm.
    public var assumed: AssumedDefaults?

    /// The hard_sigmoid definition of the Keras that wrote the file: Keras 3 redefined it.
    public var hardSigmoid: HardSigmoidDefinition { hardSigmoidDefinition(kerasVersion: kerasVersion, kind: kind) }

    /// Weights converted to the computation's scalar type.
    public func weights<S: GRUScalar>(_ type: S.Type) throws -> GRUWeights<S> {
        // The converted copy, and the packed panels the layer makes of it.
        try MemoryBudget.reserve(MemoryBudget.bytes(kernel.count + recurrentKernel.count, MemoryLayout<S>.size, 3),
                                 for: "layer '\(layerName)' of \(path)")
        let cols = 3 * units
        let inputBias = bias.map { $0.prefix(cols).map { S($0) } }
        let recurrentBias = bias.flatMap { $0.count == 2 * cols ? $0.suffix(cols).map { S($0) } : nil }
        return try GRUWeights(inputDim: inputDim, units: units, kernel: kernel.map { S($0) },
                              recurrentKernel: recurrentKernel.map { S($0) },
                              inputBias: inputBias, recurrentBias: recurrentBias)
    }
}

/// A `Bidirectional(GRU)` layer.
public struct KerasBidirectional: Sendable {
    public var name: String
    public var mergeMode: MergeMode
    public var forward: KerasGRU
    public var backward: KerasGRU
}

/// One layer of a Keras model, as far as gru-run is concerned.
public enum KerasLayer: Sendable {
    case input(name: String)
    case masking(name: String, maskValue: Double)
    case gru(KerasGRU)
    case bidirectional(KerasBidirectional)
    /// Any other layer (Dense, Embedding, ...): listed, not run.
    case other(name: String, className: String)

    public var name: String {
        switch self {
        case .input(let name), .masking(let name, _), .other(let name, _): return name
        case .gru(let gru): return gru.layerName
        case .bidirectional(let layer): return layer.name
        }
    }

    public var className: String {
        switch self {
        case .input: return "InputLayer"
        case .masking: return "Masking"
        case .gru(let gru): return gru.className
        case .bidirectional: return "Bidirectional"
        case .other(_, let className): return className
        }
    }

    /// A layer that is neither an input, a Masking layer nor recurrent.
    public var isOther: Bool {
        if case .other = self { return true }
        return false
    }

    public var isRecurrent: Bool {
        switch self {
        case .gru, .bidirectional: return true
        default: return false
        }
    }
}

/// A Keras file read whole: its kind, the Keras that wrote it, and its layers in order.
public struct KerasModel: Sendable {
    public var path: String
    public var kind: KerasFileKind
    public var kerasVersion: String?
    public var layers: [KerasLayer]
    /// The timesteps the model's input fixes, when its config states a number (`batch_input_shape`).
    public var inputTimesteps: Int? = nil
    /// The model config (files that have one): how the layers connect.
    public var modelConfig: JSONValue?
    /// Every layer's config, in the config's order (files that have one).
    public var layerConfigs: [KerasLayerConfig] = []
    /// The weights of the layers that are not recurrent, by layer name, in Keras's order.
    public var otherWeights: [String: [HDF5FloatArray]] = [:]
    /// What reading the file noticed that a user may want to know (group names written on Windows).
    public var notes: [String] = []

    public var hardSigmoid: HardSigmoidDefinition { hardSigmoidDefinition(kerasVersion: kerasVersion, kind: kind) }

    /// `name (Class), ...` for messages, long names cut.
    public var listing: String {
        layers.isEmpty ? "none" : layers.map { "\(Printable.name($0.name)) (\(Printable.name($0.className)))" }.joined(separator: ", ")
    }

    public func layer(named name: String) -> (index: Int, layer: KerasLayer)? {
        layers.firstIndex { $0.name == name }.map { ($0, layers[$0]) }
    }

    /// The mask_value of a Masking layer directly in front of layer `index` (InputLayers skipped).
    public func maskValue(before index: Int) -> Double? {
        var previous = index - 1
        while previous >= 0, case .input = layers[previous] { previous -= 1 }
        if previous >= 0, case .masking(_, let value) = layers[previous] { return value }
        return nil
    }
}

func kerasMajorVersion(_ version: String?) -> Int? {
    version?.split(separator: ".").first.flatMap { Int($0) }
}

func hardSigmoidDefinition(kerasVersion: String?, kind: KerasFileKind) -> HardSigmoidDefinition {
    if kind == .keras3Weights || kind == .kerasArchive { return .keras3 }
    return (kerasMajorVersion(kerasVersion) ?? 2) >= 3 ? .keras3 : .keras2
}

/// The GRU defaults of the Keras that wrote a file: the seed layer's for Keras 2 lineage files, Keras 3's
/// (sigmoid, reset_after=True) for Keras 3 files.
func defaultConfig(units: Int, keras3: Bool) -> GRUConfig {
    var config = GRUConfig(units: units)
    if keras3 {
        config.recurrentActivation = .sigmoid
        config.resetAfter = true
        config.hardSigmoid = .keras3
        config.implementation = 2
    }
    return config
}

/// Reads Keras model and weights files: tf-keras / Keras 2 HDF5, Keras 3 .keras archives, .weights.h5.
public enum KerasReader {
    /// Reads every layer of the file at `path`.
    public static func load(path: String) throws -> KerasModel {
        try refuseSavedModel(path)
        // A pipe or device (<(cat m.h5), /dev/stdin) is read into memory once; libhdf5 and the zip
        // reader need to seek.
        let input = try InputFile(path: path)
        let image = input.isRegular ? nil : try input.readAll()
        let head = try image.map { Array($0.prefix(8)) } ?? input.prefix(8)
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return try KerasArchive.load(path: path, image: image)
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
            let source = HDF5LayerWeights(file: file, root: weightsRoot)
            var model = KerasModel(path: path, kind: .fullModel, kerasVersion: version,
                                   layers: try buildLayers(layers, weights: source, path: path, kind: .fullModel, version: version),
                                   inputTimesteps: KerasModelConfig.inputTimesteps(of: layers))
            try model.attach(config: root, layers: layers, weights: source)
            return model
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

    /// A SavedModel folder, or its saved_model.pb, is TensorFlow's format, not Keras's: said before the
    /// folder is refused as a folder or the .pb as not HDF5.
    private static func refuseSavedModel(_ path: String) throws {
        var isFolder: ObjCBool = false
        guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        let url = URL(fileURLWithPath: path)
        if isFolder.boolValue && FileManager.default.fileExists(atPath: url.appendingPathComponent("saved_model.pb").path) {
            throw GRUIOError.savedModel(path: path)
        }
        if !isFolder.boolValue && url.lastPathComponent == "saved_model.pb" {
            let folder = (path as NSString).deletingLastPathComponent
            throw GRUIOError.savedModel(path: folder.isEmpty ? "." : folder)
        }
    }

    /// Finds the one GRU in `path` (the one named `layer` if given) and reads its weights and config.
    public static func loadGRU(path: String, layer requested: String? = nil) throws -> KerasGRU {
        let model = try load(path: path)
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

    /// Turns config layers into KerasLayers, reading each recurrent layer's weights from `weights`.
    static func buildLayers(_ configs: [KerasLayerConfig], weights: LayerWeightSource, path: String,
                            kind: KerasFileKind, version: String?) throws -> [KerasLayer] {
        let keras3 = (kerasMajorVersion(version) ?? 2) >= 3 || kind == .kerasArchive
        return try configs.compactMap { layer -> KerasLayer? in
            switch layer.className {
            case "InputLayer":
                return .input(name: layer.name)
            case "Masking":
                return .masking(name: layer.name, maskValue: layer.config["mask_value"]?.number ?? 0)
            case "NotEqual", "Any":
                return nil  // the operations a Keras 3 functional model records for its Masking layer
            case "GRU", "CuDNNGRU":
                let arrays = try weights.gruWeights(layer: layer, path: path)
                var gru = try makeGRU(arrays, name: layer.name, className: layer.className, path: path, kind: kind, version: version)
                var config = defaultConfig(units: gru.units, keras3: keras3)
                if layer.className == "CuDNNGRU" {
                    config.recurrentActivation = .sigmoid
                    config.resetAfter = true
                    config.implementation = 2
                }
                try GRUConfigReader(path: path, layer: layer).apply(to: &config)
                try checkUnits(config, gru, path: path)
                config.hardSigmoid = gru.hardSigmoid
                gru.config = config
                return .gru(gru)
            case "Bidirectional":
                return .bidirectional(try makeBidirectional(layer, weights: weights, path: path,
                                                            kind: kind, version: version, keras3: keras3))
            default:
                return .other(name: layer.name, className: layer.className)
            }
        }
    }

    private static func makeBidirectional(_ layer: KerasLayerConfig, weights: LayerWeightSource,
                                          path: String, kind: KerasFileKind, version: String?, keras3: Bool) throws -> KerasBidirectional {
        guard let inner = layer.config["layer"], let innerClass = inner["class_name"]?.string,
              let innerConfig = inner["config"]?.object else {
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has no inner layer config")
        }
        guard innerClass == "GRU" || innerClass == "CuDNNGRU" else {
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) wraps a \(Printable.name(innerClass)); gru-run runs Bidirectional(GRU) only")
        }
        let merge: MergeMode
        switch layer.config["merge_mode"] {
        case .none, .some(.null): merge = .none
        case .some(.string(let name)):
            guard let mode = MergeMode(rawValue: name) else {
                throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has merge_mode \(Printable.quoted(name)); Keras knows concat, sum, mul, ave and None")
            }
            merge = mode
        case .some(let other):
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has merge_mode \(other.brief)")
        }
        let forwardLayer = KerasLayerConfig(className: innerClass, name: innerConfig["name"]?.string ?? "forward", config: innerConfig)
        var backwardLayer = forwardLayer
        if let backward = layer.config["backward_layer"]?["config"]?.object {
            backwardLayer = KerasLayerConfig(className: innerClass, name: backward["name"]?.string ?? "backward", config: backward)
        } else {
            backwardLayer.config["go_backwards"] = .bool(!(innerConfig["go_backwards"]?.bool ?? false))
        }
        let (forwardArrays, backwardArrays) = try weights.bidirectionalWeights(layer: layer, path: path)
        var pair: [KerasGRU] = []
        for (config, arrays) in [(forwardLayer, forwardArrays), (backwardLayer, backwardArrays)] {
            var gru = try makeGRU(arrays, name: config.name, className: innerClass, path: path, kind: kind, version: version)
            var merged = defaultConfig(units: gru.units, keras3: keras3)
            try GRUConfigReader(path: path, layer: config).apply(to: &merged)
            try checkUnits(merged, gru, path: path)
            merged.hardSigmoid = gru.hardSigmoid
            gru.config = merged
            pair.append(gru)
        }
        return KerasBidirectional(name: layer.name, mergeMode: merge, forward: pair[0], backward: pair[1])
    }

    private static func checkUnits(_ config: GRUConfig, _ gru: KerasGRU, path: String) throws {
        guard config.units == gru.units else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(gru.layerName)) has units = \(config.units) in its config but its recurrent kernel holds \(gru.units) units")
        }
    }

    /// Checks the shapes of kernel, recurrent kernel and bias, converting CuDNNGRU's layout.
    static func makeGRU(_ stored: [HDF5FloatArray], name: String, className: String, path: String,
                        kind: KerasFileKind, version: String?) throws -> KerasGRU {
        let arrays = stored.count == 9 ? try joinKeras1(stored, name: name, path: path) : stored
        guard arrays.count == 2 || arrays.count == 3 else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) holds \(arrays.count) weights; a GRU holds kernel, recurrent_kernel and an optional bias")
        }
        let kernel = arrays[0], recurrent = arrays[1]
        guard recurrent.shape.count == 2, recurrent.shape[0] > 0, recurrent.shape[1] == 3 * recurrent.shape[0] else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a recurrent kernel of shape \(describe(recurrent.shape)); a GRU's is (units, 3*units)")
        }
        let units = recurrent.shape[0]
        guard kernel.shape.count == 2, kernel.shape[0] > 0, kernel.shape[1] == 3 * units else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a kernel of shape \(describe(kernel.shape)); with \(units) units it must be (features, \(3 * units))")
        }
        var gru = KerasGRU(path: path, kind: kind, kerasVersion: version, layerName: name, className: className,
                           config: GRUConfig(units: units), maskValue: nil, bits: kernel.bits,
                           inputDim: kernel.shape[0], units: units, kernel: kernel.values,
                           recurrentKernel: recurrent.values, bias: nil, biasShape: nil)
        if arrays.count == 3 {
            let bias = arrays[2]
            if bias.shape == [6 * units] {
                convertCuDNN(&gru, bias: bias.values)
            } else {
                guard bias.shape == [3 * units] || bias.shape == [2, 3 * units] else {
                    throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a bias of shape \(describe(bias.shape)); with \(units) units it must be (\(3 * units),), (2, \(3 * units)) or CuDNNGRU's (\(6 * units),)")
                }
                gru.bias = bias.values
                gru.biasShape = bias.shape
            }
        } else if className == "CuDNNGRU" {
            throw GRUIOError.keras(path: path, "CuDNNGRU layer \(Printable.quoted(name)) has no bias; CuDNNGRU always stores one of shape (\(6 * units),)")
        }
        return gru
    }

    /// `Bidirectional` -> `bidirectional`, `InputLayer` -> `input_layer`, `Conv1D` -> `conv1d`,
    /// `PReLU` -> `p_re_lu`. Keras drops non-word characters, then applies `(.)([A-Z][a-z]+)` -> `\1_\2`
    /// and `([a-z])([A-Z])` -> `\1_\2` (each left to right, without overlaps) and lowercases.
    static func snakeCase(_ name: String) -> String {
        // A model names few classes and may call them many thousand times.
        if let known = snakeCases.withLock({ $0[name] }) { return known }
        let snake = snakeCased(name)
        snakeCases.withLock { $0[name] = snake }
        return snake
    }

    private static let snakeCases = Mutex<[String: String]>([:])

    private static func snakeCased(_ name: String) -> String {
        func isUpper(_ c: Character) -> Bool { c.isASCII && c.isUppercase }
        func isLower(_ c: Character) -> Bool { c.isASCII && c.isLowercase }
        let word = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        var spaced: [Character] = []
        var i = 0
        while i < word.count {
            spaced.append(word[i])
            if i + 2 < word.count, isUpper(word[i + 1]), isLower(word[i + 2]) {
                spaced += ["_", word[i + 1]]
                i += 2
                while i < word.count, isLower(word[i]) {
                    spaced.append(word[i])
                    i += 1
                }
            } else {
                i += 1
            }
        }
        var result = ""
        i = 0
        while i < spaced.count {
            result.append(spaced[i])
            if i + 1 < spaced.count, isLower(spaced[i]), isUpper(spaced[i + 1]) {
                result += "_" + String(spaced[i + 1])
                i += 2
            } else {
                i += 1
            }
        }
        return result.lowercased()
    }

    /// `gru/gru_cell/kernel:0` -> `kernel`.
    static func leafName(_ weightName: String) -> String {
        let last = weightName.split(separator: "/").last.map(String.init) ?? weightName
        return last.split(separator: ":").first.map(String.init) ?? last
    }
}
