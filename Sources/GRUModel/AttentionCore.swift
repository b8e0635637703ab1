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

/// A `(batch, steps, heads * width)` operand of the attention products: the values of head h at step i of
/// sample b start at `base + (b * steps + i) * rowStride + h * width`.
struct AttentionOperand<S: GRUScalar>: @unchecked Sendable {
    let base: UnsafePointer<S>
    let rowStride: Int
}

/// For every sample b and head h: `softmax(scale * Q_bh · K_bhᵀ) · V_bh`, hidden scores treated as `hiding`
/// says, in the layer's precision as Keras's float32 (or float64) matmuls and softmax compute it: both
/// products on the packed product kernels (each sum over k in order), the softmax on the vectorized kernel.
/// `out`: `(batch, tq, heads * dv)` rows `outRow` apart; `scores`: `(batch, heads, tq, tv)` when given. The
/// (sample, head) pairs are shared among `threads` threads.
@_specialize(where S == Float)
@_specialize(where S == Double)
func attentionHeads<S: GRUScalar>(q: AttentionOperand<S>, k: AttentionOperand<S>, v: AttentionOperand<S>,
                                  out: UnsafeMutablePointer<S>, outRow: Int, scores: UnsafeMutablePointer<S>?,
                                  batch: Int, heads: Int, tq: Int, tv: Int, dk: Int, dv: Int,
                                  scale: S?, hiding: AttentionHiding, threads: Int) {
    let job = AttentionHeadsJob(q: q, k: k, v: v, out: out, outRow: outRow, scores: scores, batch: batch, heads: heads,
                                tq: tq, tv: tv, dk: dk, dv: dv, scale: scale, hiding: hiding)
    parallelRows(batch * heads, threads: threads, minimumPerThread: 1) { items in job.run(items) }
}

private struct AttentionHeadsJob<S: GRUScalar>: @unchecked Sendable {
    let q: AttentionOperand<S>, k: AttentionOperand<S>, v: AttentionOperand<S>
    let out: UnsafeMutablePointer<S>, outRow: Int
    let scores: UnsafeMutablePointer<S>?
    let batch: Int, heads: Int, tq: Int, tv: Int, dk: Int, dv: Int
    let scale: S?
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

    /// `p (tq, tv) = Q_bh · K_bhᵀ`, times the scale.
    private func computeScores(_ b: Int, _ h: Int, into p: UnsafeMutablePointer<S>) {
        guard tv > 0 else { return }
        guard dk > 0 else {
            p.update(repeating: 0, count: tq * tv)
            return
        }
        // K_bhᵀ (dk, tv) is the product's fixed operand.
        let keys = [S](unsafeUninitializedCapacity: dk * tv) { buffer, initialized in
            for j in 0..<tv {
                let row = k.base + (b * tv + j) * k.rowStride + h * dk
                for e in 0..<dk { buffer[e * tv + j] = row[e] }
            }
            initialized = dk * tv
        }
        MatrixProduct(matrix: keys, k: dk, n: tv, bias: nil)
            .multiply(q.base + b * tq * q.rowStride + h * dk, rows: tq, rowStride: q.rowStride, into: p, threads: 1)
        if let scale {
            for i in 0..<(tq * tv) { p[i] *= scale }
        }
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
                    (buffer.baseAddress! + j * dv).initialize(from: v.base + (b * tv + j) * v.rowStride + h * dv, count: dv)
                }
                initialized = tv * dv
            }
            MatrixProduct(matrix: values, k: tv, n: dv, bias: nil).multiply(weights, rows: tq, into: product, threads: 1)
        }
        for i in 0..<tq {
            (out + (b * tq + i) * outRow + h * dv).update(from: product + i * dv, count: dv)
        }
    }
}
