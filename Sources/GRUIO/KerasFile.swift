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
    /// tf.keras 2.x / tf-keras `model.save("dir")`: a TensorFlow SavedModel folder with Keras metadata.
    case savedModel = "TensorFlow SavedModel"

    /// Whether the file states the layer configs.
    public var hasConfig: Bool { self == .fullModel || self == .kerasArchive || self == .savedModel }
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
    /// `(inputDim, 3U)` row-major, gate blocks [z | r | h]: as stored (float32 data stays float32).
    var storedKernel: HDF5FloatArray
    /// `(U, 3U)` row-major, as stored.
    var storedRecurrentKernel: HDF5FloatArray
    /// `(inputDim, 3U)` row-major, gate blocks [z | r | h].
    public var kernel: [Double] {
        get { storedKernel.values }
        set { storedKernel.values = newValue }
    }
    /// `(U, 3U)` row-major.
    public var recurrentKernel: [Double] {
        get { storedRecurrentKernel.values }
        set { storedRecurrentKernel.values = newValue }
    }
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
        try MemoryBudget.reserve(MemoryBudget.bytes(storedKernel.count + storedRecurrentKernel.count, MemoryLayout<S>.size, 3),
                                 for: "layer '\(layerName)' of \(path)")
        let cols = 3 * units
        let inputBias = bias.map { S.converting($0.prefix(cols)) }
        let recurrentBias = bias.flatMap { $0.count == 2 * cols ? S.converting($0.suffix(cols)) : nil }
        // float32 weights reach a float32 computation as stored, without a Double copy on the way.
        return try GRUWeights(inputDim: inputDim, units: units, kernel: storedKernel.loaded().converted(S.self),
                              recurrentKernel: storedRecurrentKernel.loaded().converted(S.self),
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
    /// A .keras archive's weights read in place: their checksum, which a run verifies before it computes.
    public var weightsChecksum: MemberChecksum? = nil

    /// Waits for the weights' checksum where one is being computed; throws where it does not match.
    public func verifyWeights() throws { try weightsChecksum?.verify() }

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
