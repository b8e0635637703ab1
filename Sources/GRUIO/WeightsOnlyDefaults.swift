import GRUCore

/// What gru-run took for a layer of a weights-only file: whose defaults, and which of the values it uses the
/// file cannot confirm. activation, recurrent_activation, return_sequences and go_backwards are always such
/// values (a file without config records none of them), except where the layer class fixes them.
public struct AssumedDefaults: Equatable, Sendable {
    /// The layer whose defaults were taken, as a user names it: "Keras 3 GRU", "tf.compat.v1 GRU", ...
    public var writer: String
    /// Why that writer is a guess, when the file fits another whose defaults differ; nil when the weight
    /// shapes and the Keras version decide.
    public var doubt: String?
    /// False for CuDNNGRU, whose activation (tanh) and recurrent_activation (sigmoid) are fixed by the class.
    public var activations = true
    /// reset_after is the writer's default: the layer has no bias whose shape would tell it.
    public var resetAfter = false
    /// hard_sigmoid's definition is a guess: the file does not say which Keras wrote it.
    public var hardSigmoid = false
}

/// Which Keras wrote a weights-only file, as far as its layout and its `keras_version` attribute tell.
public enum WeightsWriter: Equatable, Sendable {
    /// Keras 3: the /layers layout with the `name` attributes Keras 3.6+ writes, or keras_version 3.x.
    case keras3
    /// The /layers layout without `name` attributes: Keras 3.0-3.5, or tf-keras's
    /// `save_weights("x.weights.h5")` (tf_keras/src/saving/saving_api.py: a `.weights.h5` name goes through
    /// saving_lib, which writes this layout). Both GRUs default to sigmoid and reset_after=True.
    case keras3OrTFKeras
    /// Standalone Keras 2.0-2.2 (and Keras 1): GRU(recurrent_activation="hard_sigmoid", reset_after=False),
    /// keras-team/keras 2.2.x keras/layers/recurrent.py, `GRU.__init__`.
    case keras2(String)
    /// Standalone Keras 2.3: GRU(recurrent_activation="sigmoid", reset_after=False); the 2.3.0 release notes:
    /// "Change default recurrent activation to sigmoid (from hard_sigmoid) in all RNN layers".
    case keras23(String)
    /// tf.keras of TensorFlow 1 ("2.0.8-tf" ... "2.1.6-tf"): tf.keras.layers.GRU is the v1 layer
    /// (tensorflow v1.15 keras/layers/recurrent.py: hard_sigmoid, reset_after=False).
    case tensorFlow1(String)
    /// "2.2.4-tf": the tf.keras of TensorFlow 1.13-1.15 (v1 GRU) and of TensorFlow 2.0-2.1 (v2 GRU).
    case tensorFlow1Or2(String)
    /// tf.keras of TensorFlow 2 ("2.3.0-tf" in TF 2.2, "2.4.0" in TF 2.3-2.5, keras 2.6-2.15, tf-keras):
    /// tf.keras.layers.GRU is the v2 layer (recurrent_v2.py / tf_keras gru.py: sigmoid, reset_after=True);
    /// the seed's v1 layer is tf.compat.v1.keras.layers.GRU (gru_v1.py: hard_sigmoid, reset_after=False).
    case tensorFlow2(String)
    /// A legacy-layout file without keras_version.
    case unknown

    /// The writer of a legacy-layout (layer_names / weight_names) file.
    public init(kerasVersion: String?) {
        guard let version = kerasVersion else { self = .unknown; return }
        let parts = version.split(separator: "-", maxSplits: 1)
        let numbers = (parts.first ?? "").split(separator: ".").map { Int($0) ?? 0 }
        let (major, minor, patch) = (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0, numbers.count > 2 ? numbers[2] : 0)
        let tfKeras = parts.count == 2 && parts[1] == "tf"
        switch (major, tfKeras) {
        case (3..., _): self = .keras3
        case (2, true) where minor < 2 || (minor == 2 && patch < 4): self = .tensorFlow1(version)
        case (2, true) where minor == 2: self = .tensorFlow1Or2(version)
        case (2, true): self = .tensorFlow2(version)
        case (2, false) where minor <= 2: self = .keras2(version)
        case (2, false) where minor == 3: self = .keras23(version)
        case (2, false): self = .tensorFlow2(version)
        default: self = major < 2 ? .keras2(version) : .unknown
        }
    }

    /// The hard_sigmoid definition of this writer, and whether that is a guess.
    var hardSigmoid: (HardSigmoidDefinition, assumed: Bool) {
        switch self {
        case .keras3: return (.keras3, false)
        case .keras3OrTFKeras: return (.keras3, true)
        case .unknown: return (.keras2, true)
        default: return (.keras2, false)
        }
    }
}

/// A weights-only layer's config: the defaults of the layer that most likely wrote it, with units, use_bias
/// and (when there is a bias) reset_after decided by the weights. Returns what of it is assumed.
/// `biasShape` is nil without a bias; `className` is "GRU" or "CuDNNGRU" (its weights already converted).
public func weightsOnlyConfig(units: Int, biasShape: [Int]?, className: String,
                              writer: WeightsWriter) -> (GRUConfig, AssumedDefaults) {
    var config = GRUConfig(units: units)
    let (hardSigmoid, hardSigmoidAssumed) = writer.hardSigmoid
    config.hardSigmoid = hardSigmoid
    config.useBias = biasShape != nil
    let biasResetAfter = biasShape.map { $0.count == 2 }
    if className == "CuDNNGRU" {
        // The class fixes tanh and sigmoid; its weights are converted to GRU(reset_after=True).
        config.recurrentActivation = .sigmoid
        config.resetAfter = true
        config.implementation = 2
        return (config, AssumedDefaults(writer: "CuDNNGRU", activations: false))
    }
    let shape = biasShape.map(describe) ?? ""
    let noVersion = "the file names no Keras version"
    let tf1Or2 = "Keras \(writer.version ?? "") is the tf.keras of TensorFlow 1.13-2.1"
    // (recurrent_activation, reset_after when no bias tells, implementation): the v1 layer's and the v2 layer's.
    let v1 = (Activation.hardSigmoid, false, 1), v2 = (Activation.sigmoid, true, 2)
    let choice: ((Activation, Bool, Int), String, String?)
    switch (writer, biasResetAfter) {
    case (.keras3, _):
        choice = (v2, "Keras 3 GRU", nil)
    case (.keras3OrTFKeras, _):
        choice = (v2, "Keras 3 or tf-keras GRU", nil)
    case (.keras2(let version), _):
        choice = (v1, "Keras \(version) GRU", nil)
    case (.keras23(let version), _):
        choice = ((.sigmoid, false, 1), "Keras \(version) GRU", nil)
    case (.tensorFlow1(let version), _):
        choice = (v1, "TensorFlow 1 tf.keras GRU (Keras \(version))", nil)
    // TensorFlow 2 era or unknown: a (2, 3U) bias is the v2 layer's default, a (3U,) bias the seed v1 layer's.
    case (.tensorFlow1Or2, true?):
        choice = (v2, "tf.keras GRU", "\(tf1Or2); TensorFlow 1's GRU would mean recurrent_activation hard_sigmoid")
    case (.unknown, true?):
        choice = (v2, "tf.keras GRU", noVersion)
    case (_, true?):
        choice = (v2, "tf.keras GRU", nil)
    case (.unknown, _):
        choice = (v1, "tf.compat.v1 GRU", noVersion)
    case (_, false?):
        choice = (v1, "tf.compat.v1 GRU", "a \(shape) bias is its default; tf.keras GRU(reset_after=False) would mean recurrent_activation sigmoid")
    case (.tensorFlow1Or2, nil):
        choice = (v1, "tf.compat.v1 GRU", "\(tf1Or2); TensorFlow 2's GRU would mean recurrent_activation sigmoid and reset_after True")
    case (_, nil):
        choice = (v2, "tf.keras GRU", nil)
    }
    let ((recurrentActivation, defaultResetAfter, implementation), name, doubt) = choice
    config.recurrentActivation = recurrentActivation
    config.resetAfter = biasResetAfter ?? defaultResetAfter
    config.implementation = implementation
    return (config, AssumedDefaults(writer: name, doubt: doubt, resetAfter: biasResetAfter == nil,
                                    hardSigmoid: hardSigmoidAssumed))
}

extension WeightsWriter {
    /// The keras_version a legacy-layout file states.
    public var version: String? {
        switch self {
        case .keras2(let v), .keras23(let v), .tensorFlow1(let v), .tensorFlow1Or2(let v), .tensorFlow2(let v): return v
        default: return nil
        }
    }
}
