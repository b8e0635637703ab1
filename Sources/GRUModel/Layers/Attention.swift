import GRUCore

/// Keras `Attention(use_scale, score_mode)`, dot-product (Luong) attention, called on [query, value] or
/// [query, value, key] (keras/src/layers/attention/attention.py; tf_keras/src/layers/attention/attention.py
/// and base_dense_attention.py). Scores (B, Tq, Tv): `scale * query · key` for score_mode dot;
/// `concat_score_weight * Σ tanh(scale * (query + key))` over the features for concat. Masks, softmax and the
/// weighted sum of the value are `denseAttention`'s. The causal mask comes from the call (`use_causal_mask`)
/// or, in tf-keras, from the deprecated `causal` config key. Dropout does nothing at inference.
/// Weights, in Keras's order: `scale` () with use_scale, then `concat_score_weight` () with score_mode concat.
public struct Attention<Scalar: GRUScalar>: ModelLayer, MultipleOutputs, AttentionCall {
    public enum ScoreMode: String, Sendable { case dot, concat }
    public var checksItsOutput: Bool { true }
    public let name: String
    public let scoreMode: ScoreMode
    let scale: Scalar?, concatScoreWeight: Scalar
    let causalByConfig: Bool
    public private(set) var options = AttentionOptions()
    public var outputCount: Int { options.returnAttentionScores ? 2 : 1 }

    public init(name: String, scoreMode: ScoreMode, scale: Scalar?, concatScoreWeight: Scalar?, causal: Bool = false) throws {
        guard (scoreMode == .concat) == (concatScoreWeight != nil) else {
            throw GRUModelError.config(layer: name, scoreMode == .concat ? "its score_mode concat needs a concat_score_weight" : "it holds a concat_score_weight but its score_mode is dot")
        }
        (self.name, self.scoreMode, self.causalByConfig) = (name, scoreMode, causal)
        self.scale = scale
        self.concatScoreWeight = concatScoreWeight ?? 1
    }

    public func called(with options: AttentionOptions) -> Attention {
        var copy = self
        copy.options = options
        return copy
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        let score: AttentionScore<Scalar> = switch scoreMode {
        case .dot: .dot(scale: scale)
        case .concat: .concat(scale: scale, weight: concatScoreWeight)
        }
        return try denseAttention(inputs, masks: masks, causal: causalByConfig || options.useCausalMask,
                                  returnScores: options.returnAttentionScores, score: score, threads: threads, layer: name)
    }
}
