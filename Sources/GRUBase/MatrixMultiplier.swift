/// `C = A · B + bias` with B fixed: a layer's kernel packed once for the product kernels of one build
/// (GRUKernels), then multiplied by any number of row blocks.
package protocol MatrixMultiplier<Scalar>: Sendable {
    associatedtype Scalar: GRUScalar
    /// `a`: `rows` rows of k values, row i at `a + i * rowStride` (rows may overlap: a convolution's windows
    /// read in place); `c`: `(rows, n)` row-major, overwritten with `a · B + bias`.
    func multiply(_ a: UnsafePointer<Scalar>, rows: Int, rowStride: Int, into c: UnsafeMutablePointer<Scalar>, threads: Int)
    /// B `(k, n)` row-major and the bias `(n,)` (zeros without one), read back from the packed form.
    func unpacked() -> (matrix: [Scalar], bias: [Scalar])
}
