import GRUCore

// What Attention, AdditiveAttention and MultiHeadAttention share: which scores a mask hides, and the
// softmax over the rest, done as each Keras version does it.

/// How a hidden score enters the softmax, which differs by layer and by Keras version.
public enum MaskedScores: Sendable {
    /// `score - 1e9` in the layer's precision (tf-keras's and Keras 3's Attention, tf-keras's Softmax
    /// inside MultiHeadAttention): a row hidden throughout keeps the rounded differences of its scores.
    case subtractLarge
    /// Left out; a row hidden throughout gives weights 0 (Keras 3's Softmax layer, which MultiHeadAttention
    /// uses when it returns its scores or has dropout).
    case dropZeroRow
    /// Left out; a row hidden throughout gives equal weights (Keras 3's `dot_product_attention`, which
    /// MultiHeadAttention uses otherwise: masked logits become one large negative number).
    case dropUniformRow
}

/// A mask checked to hold one flag per (sample, step) of a `(batch, steps, ...)` input.
func checkedMask(_ mask: Mask, batch: Int, steps: Int, input: String, layer: String) throws -> Mask {
    guard let mask else { return nil }
    guard mask.count == batch * steps else {
        throw GRUModelError.shape(layer: layer, "the mask of its \(input) holds \(mask.count) flags for \(batch) samples of \(steps) steps")
    }
    return mask
}

/// The call of Keras's BaseDenseAttention (Attention, AdditiveAttention): inputs [query (B, Tq, d),
/// value (B, Tv, dv)] or [query, value, key (B, Tv, d)], the key being the value when not given; scores as
/// `score` says, computed by `attentionHeads` (one head) in the layer's precision as Keras's ops. Steps the
/// value's mask or the causal mask hide are `score - 1e9`; softmax over Tv; output `weights · value`
/// (B, Tq, dv), 0 at the query's masked steps, carrying the query's mask; with return_attention_scores the
/// weights (B, Tq, Tv) follow.
@_specialize(where S == Float)
@_specialize(where S == Double)
func denseAttention<S: GRUScalar>(_ inputs: [Tensor<S>], masks: [Mask], causal: Bool, returnScores: Bool, score: AttentionScore<S>,
                                  threads: Int, layer: String) throws -> [(Tensor<S>, Mask)] {
    let (query, value, key, queryMask, valueMask) = try attentionInputs(inputs, masks: masks, layer: layer)
    let (batch, tq, d, tv, dv) = (query.shape[0], query.shape[1], query.shape[2], value.shape[1], value.shape[2])
    let outCount = try reserveOutput(batch, tq, dv, of: S.self, layer: layer)
    let scoreCount = returnScores ? try reserveOutput(batch, tq, tv, of: S.self, layer: layer) : 0
    var weights = [S](repeating: 0, count: scoreCount)
    var out = attentionHeads(q: query.values, k: key.values, v: value.values, scores: &weights, batch: batch, heads: 1, tq: tq,
                             tv: tv, dk: d, dv: dv, score: score,
                             hiding: AttentionHiding(keys: valueMask, causal: causal, style: .subtractLarge), threads: threads)
    precondition(out.count == outCount)
    // Keras multiplies the output by the query's mask.
    if let queryMask {
        for at in 0..<(batch * tq) where !queryMask[at] {
            for c in 0..<dv { out[at * dv + c] = 0 }
        }
    }
    let result = (Tensor(values: out, shape: [batch, tq, dv]), queryMask)
    return returnScores ? [result, (Tensor(values: weights, shape: [batch, tq, tv]), nil)] : [result]
}

/// The inputs of a dense attention call, checked: [query (B, Tq, d), value (B, Tv, dv)] or [query, value,
/// key (B, Tv, d)], the key being the value when not given, with the query's and the value's masks.
private func attentionInputs<S: GRUScalar>(_ inputs: [Tensor<S>], masks: [Mask], layer: String) throws
    -> (query: Tensor<S>, value: Tensor<S>, key: Tensor<S>, queryMask: Mask, valueMask: Mask) {
    guard inputs.count == 2 || inputs.count == 3 else {
        throw GRUModelError.shape(layer: layer, "it takes [query, value] or [query, value, key], not \(inputs.count) inputs")
    }
    let query = inputs[0], value = inputs[1], key = inputs.count == 3 ? inputs[2] : inputs[1]
    guard query.shape.count == 3, value.shape.count == 3, key.shape.count == 3 else {
        throw GRUModelError.shape(layer: layer, "it takes inputs of shape (batch, steps, features), not \(inputs.map { describe($0.shape) }.joined(separator: ", "))")
    }
    let (batch, tq, d, tv) = (query.shape[0], query.shape[1], query.shape[2], value.shape[1])
    guard value.shape[0] == batch, key.shape[0] == batch, key.shape[1] == tv, key.shape[2] == d else {
        throw GRUModelError.shape(layer: layer, "its query \(describe(query.shape)), value \(describe(value.shape)) and key \(describe(key.shape)) do not fit: the key needs the value's steps and the query's features")
    }
    let queryMask = try checkedMask(masks.first ?? nil, batch: batch, steps: tq, input: "query", layer: layer)
    let valueMask = try checkedMask(masks.count > 1 ? masks[1] : nil, batch: batch, steps: tv, input: "value", layer: layer)
    return (query, value, key, queryMask, valueMask)
}
