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

/// Which of `keySteps` scores the query step `i` of sample `b` sees: the key's (value's) mask and the causal
/// mask (`j <= i`) combined by AND; nil when nothing is hidden.
func visibleSteps(sample b: Int, query i: Int, keySteps: Int, keyMask: Mask, causal: Bool) -> [Bool]? {
    guard keyMask != nil || causal else { return nil }
    return (0..<keySteps).map { j in (keyMask?[b * keySteps + j] ?? true) && (!causal || j <= i) }
}

/// Softmax of one row of scores in place, the steps `visible` marks false hidden as `style` says.
/// `S`: the layer's precision, in which Keras subtracts 1e9.
func maskedSoftmax<S: GRUScalar>(_ row: inout [Double], visible: [Bool]?, style: MaskedScores, _ type: S.Type) {
    var shown = [Bool](repeating: true, count: row.count)
    if let visible {
        switch style {
        case .subtractLarge:
            for j in row.indices where !visible[j] { row[j] = Double(S(row[j]) - S(1e9)) }
        case .dropZeroRow, .dropUniformRow:
            shown = visible
            if !shown.contains(true) {
                let weight = style == .dropZeroRow ? 0 : 1 / Double(row.count)
                for j in row.indices { row[j] = weight }
                return
            }
        }
    }
    var largest = -Double.infinity
    for j in row.indices where shown[j] { largest = max(largest, row[j]) }
    var sum = 0.0
    for j in row.indices {
        row[j] = shown[j] ? Double.exp(row[j] - largest) : 0
        sum += row[j]
    }
    for j in row.indices { row[j] /= sum }
}

/// Keras's Attention with score_mode dot: `denseAttention` with the scores `scale * query · key`, computed by
/// `attentionHeads` (one head) in the layer's precision as Keras's matmuls.
@_specialize(where S == Float)
@_specialize(where S == Double)
func dotProductAttention<S: GRUScalar>(_ inputs: [Tensor<S>], masks: [Mask], causal: Bool, returnScores: Bool, scale: S?,
                                       threads: Int, layer: String) throws -> [(Tensor<S>, Mask)] {
    let (query, value, key, queryMask, valueMask) = try attentionInputs(inputs, masks: masks, layer: layer)
    let (batch, tq, d, tv, dv) = (query.shape[0], query.shape[1], query.shape[2], value.shape[1], value.shape[2])
    let outCount = try reserveOutput(batch, tq, dv, of: S.self, layer: layer)
    let scoreCount = returnScores ? try reserveOutput(batch, tq, tv, of: S.self, layer: layer) : 0
    var weights = [S](repeating: 0, count: scoreCount)
    var out = attentionHeads(q: query.values, k: key.values, v: value.values, scores: &weights, batch: batch, heads: 1, tq: tq,
                             tv: tv, dk: d, dv: dv, scale: scale,
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

/// The call of Keras's BaseDenseAttention (Attention, AdditiveAttention): inputs [query (B, Tq, d),
/// value (B, Tv, dv)] or [query, value, key (B, Tv, d)], the key being the value when not given; `score`
/// gives one score from a query row and a key row. Steps the value's mask or the causal mask hide are
/// `score - 1e9`; softmax over Tv; output `weights · value` (B, Tq, dv), 0 at the query's masked steps,
/// carrying the query's mask; with return_attention_scores the weights (B, Tq, Tv) follow.
func denseAttention<S: GRUScalar>(_ inputs: [Tensor<S>], masks: [Mask], causal: Bool, returnScores: Bool, layer: String,
                                  score: (ArraySlice<Double>, ArraySlice<Double>) -> Double) throws -> [(Tensor<S>, Mask)] {
    let (query, value, key, queryMask, valueMask) = try attentionInputs(inputs, masks: masks, layer: layer)
    let (batch, tq, d, tv, dv) = (query.shape[0], query.shape[1], query.shape[2], value.shape[1], value.shape[2])
    var out = [S](repeating: 0, count: try reserveOutput(batch, tq, dv, of: S.self, layer: layer))
    var weights = [S](repeating: 0, count: returnScores ? try reserveOutput(batch, tq, tv, of: S.self, layer: layer) : 0)
    let q = query.values.map(Double.init), k = key.values.map(Double.init), v = value.values.map(Double.init)
    var row = [Double](repeating: 0, count: tv)
    for b in 0..<batch {
        for i in 0..<tq {
            let at = b * tq + i
            let queryRow = q[at * d ..< (at + 1) * d]
            for j in 0..<tv { row[j] = score(queryRow, k[(b * tv + j) * d ..< (b * tv + j + 1) * d]) }
            maskedSoftmax(&row, visible: visibleSteps(sample: b, query: i, keySteps: tv, keyMask: valueMask, causal: causal),
                          style: .subtractLarge, S.self)
            if returnScores { for j in 0..<tv { weights[at * tv + j] = S(row[j]) } }
            guard queryMask?[at] ?? true else { continue }
            for c in 0..<dv {
                var sum = 0.0
                for j in 0..<tv { sum += row[j] * v[(b * tv + j) * dv + c] }
                out[at * dv + c] = S(sum)
            }
        }
    }
    let result = (Tensor(values: out, shape: [batch, tq, dv]), queryMask)
    return returnScores ? [result, (Tensor(values: weights, shape: [batch, tq, tv]), nil)] : [result]
}
