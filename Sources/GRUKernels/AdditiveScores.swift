import GRUBase

extension Kernels {
    /// The additive (Bahdanau) scores of one query row against `count` key rows, as Keras's AdditiveAttention
    /// and Attention(score_mode concat) compute them: for key row j,
    /// `outer * Σ_c weights[c] * tanh(inner * (query[c] + key_j[c]))`, each sum and product rounded to the
    /// scalar type as Keras's float32 (or float64) ops round them, the tanh the GRU's vectorized one, the sum
    /// over c in Double and rounded once. `weights` nil: 1 for every c (concat); `inner` nil: no multiply
    /// (AdditiveAttention). Key row j starts at `keys + j * keyStride`. `scratch` holds `count * width` values.
    package static func additiveScores<S: GRUScalar>(query: UnsafePointer<S>, keys: UnsafePointer<S>, keyStride: Int, count: Int,
                                                     width: Int, weights: UnsafePointer<S>?, inner: S?, outer: S?,
                                                     into scores: UnsafeMutablePointer<S>, scratch: UnsafeMutablePointer<S>) {
        if S.self == Float.self {
            func f(_ p: UnsafePointer<S>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
            additive(f(query), f(keys), keyStride, count, width, weights.map(f), inner.map { Float($0) }, outer.map { Float($0) },
                     UnsafeMutableRawPointer(scores).assumingMemoryBound(to: Float.self),
                     UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: Float.self))
        } else {
            func d(_ p: UnsafePointer<S>) -> UnsafePointer<Double> { UnsafeRawPointer(p).assumingMemoryBound(to: Double.self) }
            additive(d(query), d(keys), keyStride, count, width, weights.map(d), inner.map { Double($0) }, outer.map { Double($0) },
                     UnsafeMutableRawPointer(scores).assumingMemoryBound(to: Double.self),
                     UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: Double.self))
        }
    }

    @inline(__always)
    private static func additive<T: GateScalar>(_ q: UnsafePointer<T>, _ k: UnsafePointer<T>, _ ldk: Int, _ n: Int, _ d: Int,
                                                _ w: UnsafePointer<T>?, _ inner: T?, _ outer: T?,
                                                _ scores: UnsafeMutablePointer<T>, _ t: UnsafeMutablePointer<T>) {
        guard n > 0 else { return }
        guard d > 0 else {
            scores.update(repeating: 0, count: n)
            return
        }
        // The arguments of every tanh of this query row, then the tanh of all of them in one vectorized pass.
        for j in 0..<n {
            let key = k + j * ldk, row = t + j * d
            if let inner {
                for c in 0..<d { row[c] = inner * (q[c] + key[c]) }
            } else {
                for c in 0..<d { row[c] = q[c] + key[c] }
            }
        }
        Activation.tanh.applyFast(t, count: n * d, hardSigmoid: .keras2)
        for j in 0..<n {
            let row = t + j * d
            // Each term rounded to the scalar type as Keras's product rounds it, then summed in Double.
            if let w {
                for c in 0..<d { row[c] = w[c] * row[c] }
            }
            let score = T(doubleSum(row, d))
            scores[j] = outer.map { $0 * score } ?? score
        }
    }
}
