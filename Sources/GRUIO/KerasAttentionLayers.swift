import GRUCore
import GRUModel

/// Attention, AdditiveAttention, MultiHeadAttention and Dot from their configs and weights, and the call
/// arguments Keras records per call of an attention layer.
extension KerasLayerBuilder {
    func attention(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        let r = reader(layer)
        try dropoutRate(layer)
        let useScale = try r.bool("use_scale") ?? false, causal = try r.bool("causal") ?? false
        let mode = layer.config["score_mode"]?.string ?? "dot"
        guard layer.config["score_mode"].map({ $0 == .null || $0.string != nil }) ?? true, let scoreMode = Attention<S>.ScoreMode(rawValue: mode) else {
            throw fail(layer, "has score_mode \(layer.config["score_mode"]?.brief ?? "null"); Keras knows dot and concat")
        }
        let names = (useScale ? ["scale"] : []) + (scoreMode == .concat ? ["concat_score_weight"] : [])
        let w = try weights(layer, arrays, names)
        guard w.allSatisfy({ $0.values.count == 1 }) else {
            throw fail(layer, "holds weights of shapes \(w.map { describe($0.shape) }.joined(separator: ", ")); its \(names.joined(separator: " and ")) are single numbers")
        }
        return try Attention<S>(name: layer.name, scoreMode: scoreMode, scale: useScale ? w[0].values[0] : nil,
                                concatScoreWeight: scoreMode == .concat ? w[names.count - 1].values[0] : nil, causal: causal)
    }

    func additiveAttention(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        try dropoutRate(layer)
        let useScale = try reader(layer).bool("use_scale") ?? true
        let w = try weights(layer, arrays, useScale ? ["scale"] : [])
        if useScale, w[0].shape.count != 1 { throw fail(layer, "has a scale of shape \(describe(w[0].shape)), not one number per feature") }
        return AdditiveAttention<S>(name: layer.name, scale: useScale ? w[0].values : nil, causal: try reader(layer).bool("causal") ?? false)
    }

    func multiHeadAttention(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        let r = reader(layer)
        try dropoutRate(layer)
        guard let heads = try r.int("num_heads") else { throw fail(layer, "has no num_heads") }
        guard let keyDim = try r.int("key_dim") else { throw fail(layer, "has no key_dim") }
        let valueDim = try r.int("value_dim") ?? keyDim
        for (key, value) in [("num_heads", heads), ("key_dim", keyDim), ("value_dim", valueDim)] where value < 1 {
            throw fail(layer, "has \(key) \(value), below 1")
        }
        if try r.bool("use_gate") == true { throw fail(layer, "uses use_gate, which gru-run does not run") }
        if let window = layer.config["sliding_window"], window != .null { throw fail(layer, "uses sliding_window, which gru-run does not run") }
        if let axes = layer.config["attention_axes"], axes != .null {
            let list = try integers(layer, "attention_axes")
            guard list == [1] || list == [-2] else { throw fail(layer, "has attention_axes \(list); gru-run runs the default, axis 1 of a (batch, steps, features) input") }
        }
        var outputDim: Int?
        if let given = layer.config["output_shape"], given != .null {
            let list = try integers(layer, "output_shape")
            guard list.count == 1, list[0] >= 1 else { throw fail(layer, "has output_shape \(list); gru-run runs one size of at least 1") }
            outputDim = list[0]
        }
        let useBias = try r.bool("use_bias") ?? true
        let parts = ["query", "key", "value", "attention_output"]
        let w = try weights(layer, arrays, parts.flatMap { useBias ? [$0 + "/kernel", $0 + "/bias"] : [$0 + "/kernel"] })
        let step = useBias ? 2 : 1
        func projection(_ k: Int, _ shape: [Int]) throws -> MultiHeadAttention<S>.Projection {
            let kernel = w[k * step], bias = useBias ? w[k * step + 1] : nil
            let biasShape = k == 3 ? [shape[2]] : Array(shape[1...])
            guard kernel.shape == shape, bias.map({ $0.shape == biasShape }) ?? true else {
                throw fail(layer, "has a \(parts[k]) kernel of shape \(describe(kernel.shape))\(bias.map { " and bias of shape \(describe($0.shape))" } ?? ""), where num_heads \(heads), key_dim \(keyDim) and value_dim \(valueDim) need \(describe(shape))\(useBias ? " and \(describe(biasShape))" : "")")
            }
            return k == 3 ? .init(kernel: kernel.values, bias: bias?.values, inputs: shape[0] * shape[1], outputs: shape[2])
                : .init(kernel: kernel.values, bias: bias?.values, inputs: shape[0], outputs: shape[1] * shape[2])
        }
        let inputsOf = (0..<3).map { w[$0 * step].shape.first ?? 0 }
        let out = w[3 * step].shape.count == 3 ? w[3 * step].shape[2] : 0
        if let outputDim, outputDim != out { throw fail(layer, "has output_shape \(outputDim), where its attention_output kernel of shape \(describe(w[3 * step].shape)) gives \(out)") }
        let robust = try r.bool("softmax_robust_masking") ?? false
        return try MultiHeadAttention<S>(name: layer.name, heads: heads, keyDim: keyDim, valueDim: valueDim,
                                         query: projection(0, [inputsOf[0], heads, keyDim]), key: projection(1, [inputsOf[1], heads, keyDim]),
                                         value: projection(2, [inputsOf[2], heads, valueDim]), output: projection(3, [heads, valueDim, out]),
                                         softmax: model.hardSigmoid == .keras3 ? .keras3 : robust ? .tfKerasRobust : .tfKeras, dropout: try r.double("dropout") ?? 0 > 0,
                                         float32Scale: model.hardSigmoid == .keras3)
    }

    func dot(_ layer: KerasLayerConfig) throws -> any ModelLayer<S> {
        let axes = try integers(layer, "axes")
        guard axes.count == 1 || axes.count == 2 else { throw fail(layer, "has axes \(axes); Keras takes one axis or two") }
        return Dot<S>(name: layer.name, axes: (axes[0], axes.last!), normalize: try reader(layer).bool("normalize") ?? false,
                      keras3: model.hardSigmoid == .keras3)
    }

    /// A dropout rate Keras could build, in [0, 1]; it does nothing at inference.
    private func dropoutRate(_ layer: KerasLayerConfig) throws {
        if let rate = try reader(layer).double("dropout"), !(0...1).contains(rate) { throw fail(layer, "has dropout \(rate), not a number in [0, 1]") }
    }

    /// The layer one call runs: an attention layer takes `use_causal_mask` and `return_attention_scores`
    /// from the call (a copy per call; the weights stay shared).
    func called(_ built: any ModelLayer<S>, _ layer: KerasLayerConfig, kwargs: [String: JSONValue]) throws -> any ModelLayer<S> {
        guard let attention = built as? any AttentionCall else { return built }
        for key in ["attention_mask", "query_mask", "value_mask", "key_mask"] where kwargs[key].map({ $0 != .null }) ?? false {
            throw fail(layer, "is called with an explicit \(key), which gru-run does not run (masks from the inputs it does)")
        }
        func flag(_ key: String) throws -> Bool {
            guard let value = kwargs[key], value != .null else { return false }
            guard let flag = value.bool else { throw fail(layer, "is called with \(key) \(value.brief), not true or false") }
            return flag
        }
        let options = AttentionOptions(useCausalMask: try flag("use_causal_mask"), returnAttentionScores: try flag("return_attention_scores"))
        guard options != AttentionOptions(), let copy = attention.called(with: options) as? any ModelLayer<S> else { return built }
        return copy
    }
}
