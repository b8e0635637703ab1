/// `C = A·B` (or `C += A·B`), all row-major: A `(m, k)` with row stride lda, B `(k, n)` with stride ldb,
/// C `(m, n)` with stride ldc. The inner loop runs along a row of B and C so it vectorizes.
@inline(__always)
func gemm<S: GRUScalar>(m: Int, n: Int, k: Int,
                        a: UnsafePointer<S>, lda: Int,
                        b: UnsafePointer<S>, ldb: Int,
                        c: UnsafeMutablePointer<S>, ldc: Int,
                        accumulate: Bool) {
    for i in 0..<m {
        let ci = c + i * ldc
        if !accumulate { ci.update(repeating: 0, count: n) }
        let ai = a + i * lda
        for p in 0..<k {
            let av = ai[p]
            let bp = b + p * ldb
            for j in 0..<n { ci[j] += av * bp[j] }
        }
    }
}
