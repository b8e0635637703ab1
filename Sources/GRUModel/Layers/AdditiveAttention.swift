import GRUCore

/// Keras `AdditiveAttention(use_scale)`, Bahdanau attention, called on [query, value] or [query, value, key]
/// (keras/src/layers/attention/additive_attention.py; tf_keras alike): scores (B, Tq, Tv) =
/// `Σ_d scale[d] * tanh(query[d] + key[d])`, scale 1 without use_scale. Masks, softmax and the weighted
/// sum of the value are `denseAttention`'s; use_causal_mask comes from the call.
/// Weights: `scale` (d,) with use_scale, d the query's features.
public struct AdditiveAttention<Scalar: GRUScalar>: ModelLayer, MultipleOutputs, AttentionCall {
    public var checksItsOutput: Bool { true }
    public let name: String
    let scale: [Scalar]?
    let causalByConfig: Bool
    public private(set) var options = AttentionOptions()
    public var outputCount: Int { options.returnAttentionScores ? 2 : 1 }

    public init(name: String, scale: [Scalar]?, causal: Bool = false) {
        (self.name, self.causalByConfig) = (name, causal)
        self.scale = scale
    }

    public func called(with options: AttentionOptions) -> AdditiveAttention {
        var copy = self
        copy.options = options
        return copy
    }

    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        if let scale, let query = inputs.first, query.width != scale.count {
            throw GRUModelError.shape(layer: name, "its scale holds \(scale.count) values for a query of shape \(describe(query.shape))")
        }
        return try denseAttention(inputs, masks: masks, causal: causalByConfig || options.useCausalMask,
                                  returnScores: options.returnAttentionScores, score: .additive(scale: scale),
                                  threads: threads, layer: name)
    }
}
