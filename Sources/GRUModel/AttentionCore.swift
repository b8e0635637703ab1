import GRUCore

/// What an attention layer hides from its scores, and how a hidden score enters the softmax.
struct AttentionHiding: Sendable {
    /// `(batch, keySteps)`: false where the value's or the key's mask hides the step; nil when none is hidden.
    var keys: [Bool]?
    /// `(batch, querySteps)`: false where the query's mask hides the whole row of scores; nil when none is.
    var queries: [Bool]?
    var causal = false
    var style: MaskedScores

    var hidesAny: Bool { keys != nil || queries != nil || causal }
}

/// How an attention layer scores a query step against a key step, in the layer's precision.
enum AttentionScore<S: GRUScalar>: Sendable {
    /// `scale * q · k` (Attention with score_mode dot, MultiHeadAttention); no scale: `q · k`.
    case dot(scale: S?)
    /// `Σ_c scale[c] * tanh(q[c] + k[c])` (AdditiveAttention); no scale: 1 for every c.
    case additive(scale: [S]?)
    /// `weight * Σ_c tanh(scale * (q[c] + k[c]))` (Attention with score_mode concat); no scale: none.
    case concat(scale: S?, weight: S)
}

/// For every sample b and head h: `softmax(scores(Q_bh, K_bh)) · V_bh`, the scores as `score` says, hidden
/// scores treated as `hiding` says, in the layer's precision as Keras's float32 (or float64) ops compute it:
/// dot scores and the weighted sum on the packed product kernels (each sum over k in order), additive scores
/// and the softmax on the vectorized kernels.
/// `q` `(batch, tq, heads * dk)`, `k` `(batch, tv, heads * dk)`, `v` `(batch, tv, heads * dv)`; returns the
/// output `(batch, tq, heads * dv)` (its size reserved by the caller), and fills `scores`
/// `(batch, heads, tq, tv)` when it is not empty. The (sample, head) pairs are shared among `threads` threads.
@_specialize(where S == Float)
@_specialize(where S == Double)
func attentionHeads<S: GRUScalar>(q: [S], k: [S], v: [S], scores: inout [S], batch: Int, heads: Int, tq: Int, tv: Int,
                                  dk: Int, dv: Int, score: AttentionScore<S>, hiding: AttentionHiding, threads: Int) -> [S] {
    let count = batch * tq * heads * dv
    // An empty operand (no steps or no features) is one value long here, never read.
    let (qs, ks, vs) = (q.isEmpty ? [0] : q, k.isEmpty ? [0] : k, v.isEmpty ? [0] : v)
    func run(into out: UnsafeMutablePointer<S>) {
        guard batch > 0 && tq > 0 else { return }
        qs.withUnsafeBufferPointer { qp in
            ks.withUnsafeBufferPointer { kp in
                vs.withUnsafeBufferPointer { vp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        let job = AttentionHeadsJob(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, out: out,
                                                    scores: sp.isEmpty ? nil : sp.baseAddress, batch: batch, heads: heads,
                                                    tq: tq, tv: tv, dk: dk, dv: dv, score: score, hiding: hiding)
                        parallelRows(batch * heads, threads: threads, minimumPerThread: 1) { items in job.run(items) }
                    }
                }
            }
        }
    }
    guard count > 0 else {
        // No output values (dv is 0): the scores alone.
        var unused: S = 0
        run(into: &unused)
        return []
    }
    // Every row is written by the pass.
    return unfilledOutput(count) { run(into: $0) }
}

/// The pass of `attentionHeads` over some of its (sample, head) pairs: head h of step i of sample b starts at
/// `q + (b * tq + i) * heads * dk + h * dk`, and likewise in k, v and the output.
private struct AttentionHeadsJob<S: GRUScalar>: @unchecked Sendable {
    let q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>
    let out: UnsafeMutablePointer<S>
    let scores: UnsafeMutablePointer<S>?
    let batch: Int, heads: Int, tq: Int, tv: Int, dk: Int, dv: Int
    let score: AttentionScore<S>
    let hiding: AttentionHiding

    func run(_ items: Range<Int>) {
        let weights = UnsafeMutablePointer<S>.allocate(capacity: max(1, tq * tv))
        let product = UnsafeMutablePointer<S>.allocate(capacity: max(1, tq * dv))
        defer {
            weights.deallocate()
            product.deallocate()
        }
        (hiding.keys ?? []).withUnsafeBufferPointer { keyFlags in
            for item in items {
                let (b, h) = (item / heads, item % heads)
                let p = scores.map { $0 + item * tq * tv } ?? weights
                computeScores(b, h, into: p)
                let keys = hiding.keys == nil ? nil : keyFlags.baseAddress.map { $0 + b * tv }
                for i in 0..<tq { softmaxRow(p + i * tv, keys: keys, rowShown: hiding.queries?[b * tq + i] ?? true, i: i) }
                weightedValues(b, h, weights: UnsafePointer(p), product: product)
            }
        }
    }

    /// `p (tq, tv)`: the scores of Q_bh against K_bh.
    private func computeScores(_ b: Int, _ h: Int, into p: UnsafeMutablePointer<S>) {
        guard tv > 0 else { return }
        let queries = q + b * tq * heads * dk + h * dk, keyRows = k + b * tv * heads * dk + h * dk
        switch score {
        case .dot(let scale):
            guard dk > 0 else {
                p.update(repeating: 0, count: tq * tv)
                return
            }
            // K_bhᵀ (dk, tv) is the product's fixed operand.
            let keys = [S](unsafeUninitializedCapacity: dk * tv) { buffer, initialized in
                for j in 0..<tv {
                    let row = keyRows + j * heads * dk
                    for e in 0..<dk { buffer[e * tv + j] = row[e] }
                }
                initialized = dk * tv
            }
            MatrixProduct(matrix: keys, k: dk, n: tv, bias: nil).multiply(queries, rows: tq, rowStride: heads * dk, into: p, threads: 1)
            if let scale {
                for i in 0..<(tq * tv) { p[i] *= scale }
            }
        case .additive(let scale):
            additive(queries, keyRows, weights: scale, inner: nil, outer: nil, into: p)
        case .concat(let scale, let weight):
            additive(queries, keyRows, weights: nil, inner: scale, outer: weight, into: p)
        }
    }

    private func additive(_ queries: UnsafePointer<S>, _ keys: UnsafePointer<S>, weights: [S]?, inner: S?, outer: S?,
                          into p: UnsafeMutablePointer<S>) {
        let scratch = UnsafeMutablePointer<S>.allocate(capacity: max(1, tv * dk))
        defer { scratch.deallocate() }
        func run(_ w: UnsafePointer<S>?) {
            for i in 0..<tq {
                additiveScores(query: queries + i * heads * dk, keys: keys, keyStride: heads * dk, count: tv, width: dk,
                               weights: w, inner: inner, outer: outer, into: p + i * tv, scratch: scratch)
            }
        }
        guard let weights else { return run(nil) }
        weights.withUnsafeBufferPointer { run($0.baseAddress) }
    }

    /// Softmax over the scores of query step i, the hidden ones `score - 1e9` in the layer's precision or left
    /// out. `keys`: the sample's key flags (false: hidden), nil when none is; `rowShown` false hides the row.
    private func softmaxRow(_ row: UnsafeMutablePointer<S>, keys: UnsafePointer<Bool>?, rowShown: Bool, i: Int) {
        guard tv > 0 else { return }
        guard hiding.hidesAny else {
            softmaxRows(row, rows: 1, n: tv)
            return
        }
        // Steps from `limit` on are hidden by the causal mask; before it, by the keys' flags.
        let limit = rowShown ? (hiding.causal ? min(tv, i + 1) : tv) : 0
        func setHidden(_ value: (S) -> S) {
            if let keys { for j in 0..<limit where !keys[j] { row[j] = value(row[j]) } }
            for j in limit..<tv { row[j] = value(row[j]) }
        }
        switch hiding.style {
        case .subtractLarge:
            let large = S(1e9)
            setHidden { $0 - large }
            softmaxRows(row, rows: 1, n: tv)
        case .dropZeroRow, .dropUniformRow:
            let shown = keys.map { keys in (0..<limit).contains { keys[$0] } } ?? (limit > 0)
            guard shown else {
                row.update(repeating: hiding.style == .dropZeroRow ? 0 : 1 / S(tv), count: tv)
                return
            }
            setHidden { _ in -S.infinity }
            softmaxRows(row, rows: 1, n: tv)
            setHidden { _ in 0 }
        }
    }

    /// `out_bh (tq, dv) = weights · V_bh`.
    private func weightedValues(_ b: Int, _ h: Int, weights: UnsafePointer<S>, product: UnsafeMutablePointer<S>) {
        guard dv > 0 else { return }
        if tv == 0 {
            product.update(repeating: 0, count: tq * dv)
        } else {
            let values = [S](unsafeUninitializedCapacity: tv * dv) { buffer, initialized in
                for j in 0..<tv {
                    (buffer.baseAddress! + j * dv).initialize(from: v + (b * tv + j) * heads * dv + h * dv, count: dv)
                }
                initialized = tv * dv
            }
            MatrixProduct(matrix: values, k: tv, n: dv, bias: nil).multiply(weights, rows: tq, into: product, threads: 1)
        }
        for i in 0..<tq {
            (out + (b * tq + i) * heads * dv + h * dv).update(from: product + i * dv, count: dv)
        }
    }
}
