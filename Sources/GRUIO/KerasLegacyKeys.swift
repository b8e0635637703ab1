import GRUCore
import GRUModel

/// Keras 1 layer configs and weights, turned into the Keras 2 class, keys and weight shapes that compute the
/// same thing, before `KerasLayerBuilder.make` reads them. A config tells Keras 1 the way a GRU's does: by
/// Keras 1's own keys (`output_dim`, `pool_length`, `border_mode`, ...) and class names (`Convolution1D`,
/// `Merge`). Those decide, not `keras_version` ("1.x" in Keras 1 files): Keras 2's `from_config` reads the
/// same keys in any file through `keras/legacy/interfaces.py`. A config with Keras 2 keys only comes back
/// unchanged. Meanings are Keras 1.2.2's (`keras/layers/{convolutional,pooling,core,
/// normalization,embeddings}.py`, `keras/engine/topology.py` for `Merge`), for the TensorFlow backend: a
/// Keras 1 file does not record its backend, and Keras 2's loader converts nothing without one.
struct KerasLegacyKeys {
    let path: String

    /// Keras 1 class names and the Keras 2 class that computes the same.
    static let classes = ["Convolution1D": "Conv1D", "AtrousConvolution1D": "Conv1D", "Convolution2D": "Conv2D",
                          "AtrousConvolution2D": "Conv2D", "TimeDistributedDense": "Dense"]

    /// Keras 1 key -> Keras 2 key, by the Keras 2 class (`legacy/interfaces.py` of Keras 2.0).
    static let renames: [String: [(String, String)]] = [
        "Conv1D": [("nb_filter", "filters"), ("filter_length", "kernel_size"), ("subsample_length", "strides"),
                   ("atrous_rate", "dilation_rate"), ("border_mode", "padding"), ("bias", "use_bias")] + weighted,
        "Conv2D": [("nb_filter", "filters"), ("subsample", "strides"), ("atrous_rate", "dilation_rate"),
                   ("border_mode", "padding"), ("dim_ordering", "data_format"), ("bias", "use_bias")] + weighted,
        "Dense": [("output_dim", "units"), ("bias", "use_bias")] + weighted,
        "Embedding": [("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                      ("W_constraint", "embeddings_constraint")],
        "PReLU": [("init", "alpha_initializer")],
        "MaxPooling1D": pooling1D, "AveragePooling1D": pooling1D,
        "MaxPooling2D": pooling2D, "AveragePooling2D": pooling2D,
        "Dropout": [("p", "rate")], "SpatialDropout1D": [("p", "rate")], "SpatialDropout2D": [("p", "rate")],
        "GaussianDropout": [("p", "rate")], "GaussianNoise": [("sigma", "stddev")],
    ]
    /// Keys that shape training only, renamed as Keras 2 renames them.
    private static let weighted = [("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
                                   ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
                                   ("b_constraint", "bias_constraint")]
    private static let pooling1D = [("pool_length", "pool_size"), ("stride", "strides"), ("border_mode", "padding")]
    private static let pooling2D = [("border_mode", "padding"), ("dim_ordering", "data_format")]

    private func fail(_ layer: KerasLayerConfig, _ what: String) -> GRUIOError {
        .keras(path: path, "layer \(Printable.quoted(layer.name)) (\(layer.className)) \(what)")
    }

    /// `layer` and its weights in Keras 2's terms. `arrays` are the layer's weights in the file's order.
    func translate(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray]) throws -> (KerasLayerConfig, [HDF5FloatArray]) {
        if layer.className == "Merge" { return (try merge(layer), arrays) }
        if layer.className == "TimeDistributed" { return try timeDistributed(layer, arrays) }
        var out = layer
        out.className = Self.classes[layer.className] ?? layer.className
        let oldClass = layer.className
        for (old, new) in Self.renames[out.className] ?? [] {
            guard let value = layer.config[old] else { continue }
            guard layer.config[new] == nil else {
                throw fail(layer, "states both \(old) (Keras 1) and \(new) (Keras 2); Keras refuses such a config")
            }
            out.config[old] = nil
            out.config[new] = try translated(layer, key: old, value)
        }
        // Embedding's dropout drops rows of W in training only (`K.in_train_phase(W * B, W)`); Keras 2 drops the key.
        if out.className == "Embedding" { out.config["dropout"] = nil }
        if out.className == "Conv2D", let rows = layer.config["nb_row"], let cols = layer.config["nb_col"] {
            guard layer.config["kernel_size"] == nil else { throw fail(layer, "states both nb_row/nb_col (Keras 1) and kernel_size (Keras 2)") }
            out.config["kernel_size"] = .array([rows, cols])
            out.config["nb_row"] = nil
            out.config["nb_col"] = nil
        }
        if oldClass.hasPrefix("Atrous") { try checkAtrous(layer) }
        var weights = arrays
        if out.className == "Conv1D", oldClass != "Conv1D" { weights = try conv1DKernel(layer, arrays) }
        // Mode 0 is Keras 2's BatchNormalization; modes 1 and 2 keep the key for `keras1Layer`.
        if out.className == "BatchNormalization", try mode(layer) == 0 { out.config["mode"] = nil }
        return (out, weights)
    }

    /// Values whose spelling changed with the key: border_mode and dim_ordering.
    private func translated(_ layer: KerasLayerConfig, key: String, _ value: JSONValue) throws -> JSONValue {
        switch key {
        case "border_mode":
            // Keras 1.2.2's TensorFlow backend knows valid and same; Theano's 'full' pads filter_length - 1 each side.
            guard let mode = value.string, mode == "valid" || mode == "same" else {
                throw fail(layer, "has border_mode \(value.brief); gru-run runs Keras 1's 'valid' and 'same' ('full' ran on Theano only)")
            }
            return value
        case "dim_ordering":
            guard value.string == "tf" else {
                let why = value.string == "th" ? "'th' (channels first, Theano's layout)" : value.brief
                throw fail(layer, "has dim_ordering \(why); gru-run runs dim_ordering 'tf' (channels last) only")
            }
            return .string("channels_last")
        default:
            return value
        }
    }

    /// Keras 1.2.2's TensorFlow `conv2d` runs a dilated kernel through `tf.nn.atrous_conv2d`, which takes no
    /// strides and one rate for both axes (it asserts both).
    private func checkAtrous(_ layer: KerasLayerConfig) throws {
        func numbers(_ key: String) -> [Double] { layer.config[key].map { $0.number.map { [$0] } ?? $0.array?.compactMap(\.number) ?? [] } ?? [] }
        let rates = numbers("atrous_rate"), strides = numbers(layer.className == "AtrousConvolution1D" ? "subsample_length" : "subsample")
        guard rates.allSatisfy({ $0 == 1 }) || (strides.allSatisfy { $0 == 1 } && Set(rates).count == 1) else {
            throw fail(layer, "has atrous_rate \(list(rates)) with subsample \(list(strides)); Keras 1 runs a dilated convolution only without strides and with one rate for both axes")
        }
    }

    private func list(_ numbers: [Double]) -> String {
        "[" + numbers.map { JSONValue.number($0).brief }.joined(separator: ", ") + "]"
    }

    /// Keras 1 `BatchNormalization(mode)`, 0 when absent (Keras 2 has mode 0 only).
    private func mode(_ layer: KerasLayerConfig) throws -> Int {
        guard let mode = layer.config["mode"], mode != .null else { return 0 }
        guard let n = mode.number, [0, 1, 2].contains(n) else {
            throw fail(layer, "has mode \(mode.brief); Keras 1 knows modes 0, 1 and 2")
        }
        return Int(n)
    }

    /// Keras 1's `Merge(mode=...)` of tensors in a functional model: the Keras 2 merge layer that computes
    /// the same, masks combined as Keras 1 combines them (and of the given masks, as Keras 2 up to tf-keras).
    private func merge(_ layer: KerasLayerConfig) throws -> KerasLayerConfig {
        if let branches = layer.config["layers"], branches != .null {
            throw fail(layer, "merges whole models (a Keras 1 Sequential branch Merge); gru-run runs Merge of tensors in a functional model only")
        }
        if let type = layer.config["mode_type"]?.string, type != "raw" {
            throw fail(layer, "has a Python \(type) as its mode, which gru-run cannot run")
        }
        // Keras 1's default mode is sum.
        guard let mode = (layer.config["mode"] ?? .string("sum")).string else {
            throw fail(layer, "has mode \(layer.config["mode"]!.brief); gru-run runs Keras 1 Merge modes sum, mul, ave, max and concat")
        }
        var out = layer
        out.config = ["name": .string(layer.name)]
        switch mode {
        case "sum": out.className = "Add"
        case "mul": out.className = "Multiply"
        case "ave": out.className = "Average"
        case "max": out.className = "Maximum"
        case "concat":
            out.className = "Concatenate"
            out.config["axis"] = layer.config["concat_axis"] ?? .number(-1)
        default:
            throw fail(layer, "has mode \(Printable.quoted(mode)); gru-run runs Keras 1 Merge modes sum, mul, ave, max and concat")
        }
        return out
    }

    /// `TimeDistributed`'s inner layer translated the same way; the wrapper holds the inner layer's weights.
    private func timeDistributed(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray]) throws -> (KerasLayerConfig, [HDF5FloatArray]) {
        guard let innerClass = layer.config["layer"]?["class_name"]?.string, let innerConfig = layer.config["layer"]?["config"]?.object else {
            return (layer, arrays)
        }
        let inner = KerasLayerConfig(className: innerClass, name: innerConfig["name"]?.string ?? layer.name, config: innerConfig)
        if innerClass == "BatchNormalization", let mode = innerConfig["mode"], mode.number != 0, mode != .null {
            throw fail(layer, "wraps a BatchNormalization of mode \(mode.brief), which gru-run runs only unwrapped")
        }
        let (translated, weights) = try translate(inner, arrays)
        guard translated.className != innerClass || translated.config != innerConfig else { return (layer, weights) }
        var wrapped = layer.config["layer"]?.object ?? [:]
        wrapped["class_name"] = .string(translated.className)
        wrapped["config"] = .object(translated.config)
        var out = layer
        out.config["layer"] = .object(wrapped)
        return (out, weights)
    }

    /// Convolution1D's W: Keras 1.2 stores `(filter_length, 1, input_dim, nb_filter)` (a 2-D convolution over
    /// a dummy axis), Keras 1.1 `(nb_filter, input_dim, filter_length, 1)`; Keras 2's loader
    /// (`preprocess_weights_for_loading`) brings either to `(filter_length, input_dim, nb_filter)`.
    private func conv1DKernel(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray]) throws -> [HDF5FloatArray] {
        guard let w = arrays.first, w.shape.count == 4 else { return arrays }
        let s = w.shape
        func stated(_ key: String) -> Int? { layer.config[key]?.wholeNumber }
        let length = stated("filter_length") ?? s[0], filters = stated("nb_filter") ?? s[3]
        var kernel = w
        if s[0] == length, s[1] == 1, s[3] == filters {
            kernel.shape = [s[0], s[2], s[3]]  // dropping an axis of size 1 keeps the values in order
        } else if s[0] == filters, s[2] == length, s[3] == 1 {
            // (F, C, K, 1) -> (K, C, F): element [f, c, k] moves to [k, c, f].
            let (f, c, k) = (s[0], s[1], s[2])
            var values = [Double](repeating: 0, count: w.values.count)
            for a in 0..<f { for b in 0..<c { for t in 0..<k { values[(t * c + b) * f + a] = w.values[(a * c + b) * k + t] } } }
            kernel = HDF5FloatArray(shape: [k, c, f], values: values, bits: w.bits)
        } else {
            throw fail(layer, "has W of shape \(describe(s)); Keras 1 stores (\(length), 1, input_dim, \(filters)) for filter_length \(length) and nb_filter \(filters)")
        }
        return [kernel] + arrays.dropFirst()
    }
}

extension KerasLayerBuilder {
    /// Keras 1 layers that have no Keras 2 class: `BatchNormalization` of mode 1 or 2. Nil for the rest.
    func keras1Layer(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> (any ModelLayer<S>)? {
        guard layer.className == "BatchNormalization", let n = layer.config["mode"]?.number, n == 1 || n == 2,
              let mode = BatchNormalizationKeras1<S>.Mode(rawValue: Int(n)) else { return nil }
        let path = model.path, name = Printable.quoted(layer.name)
        // Keras 1 builds gamma, beta, running_mean and running_std, always all four.
        guard arrays.count == 4 else {
            throw GRUIOError.keras(path: path, "layer \(name) (BatchNormalization) holds \(arrays.count) weights; Keras 1 stores gamma, beta, running_mean and running_std")
        }
        let axis = layer.config["axis"] ?? .number(-1)
        guard let a = axis.number ?? axis.array?.first?.number, a == a.rounded(), abs(a) < 64, axis.array.map({ $0.count == 1 }) ?? true else {
            throw GRUIOError.keras(path: path, "layer \(name) (BatchNormalization) has axis \(axis.brief); Keras 1 takes one integer")
        }
        let epsilon = try GRUConfigReader(path: path, layer: layer).double("epsilon") ?? 1e-3
        try MemoryBudget.reserve(MemoryBudget.bytes(arrays[0].values.count, MemoryLayout<S>.size, 2), for: "layer \(name)")
        return try BatchNormalizationKeras1(name: layer.name, mode: mode, axis: Int(a), gamma: S.converting(arrays[0].values),
                                            beta: S.converting(arrays[1].values), epsilon: epsilon)
    }
}
