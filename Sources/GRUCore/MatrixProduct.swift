import GRUBase
import GRUKernels
#if canImport(GRUKernelsAVX2)
import GRUKernelsAVX2
#endif
#if canImport(GRUKernelsAVX512)
import GRUKernelsAVX512
#endif

/// `x · W + b` for a fixed W `(k, n)`: the weights packed once, when the layer is built, for the kernels the
/// processor runs (the GRU's gate kernels: fused multiply-adds over k in order, in the scalar type), then
/// multiplied on the given number of threads. Dense, convolutions and every product of a model use it.
public struct MatrixProduct<Scalar: GRUScalar>: Sendable {
    public let k: Int
    public let n: Int
    private let kernel: any MatrixMultiplier<Scalar>

    /// `matrix`: `(k, n)` row-major; `bias`: `(n,)`. The caller has checked the counts.
    public init(matrix: [Scalar], k: Int, n: Int, bias: [Scalar]?) {
        precondition(k > 0 && n > 0 && matrix.count == k * n && (bias?.count ?? n) == n)
        (self.k, self.n) = (k, n)
        kernel = matrix.withUnsafeBufferPointer { m in
            guard let bias else { return Self.pack(m.baseAddress!, k: k, n: n, bias: nil) }
            return bias.withUnsafeBufferPointer { Self.pack(m.baseAddress!, k: k, n: n, bias: $0.baseAddress) }
        }
    }

    /// W `(k, n)` given a block of rows at a time by `fill` (which may throw: a read from a file), packed as
    /// each block comes, so W is never held whole beside its packed form.
    public init(k: Int, n: Int, bias: [Scalar]?, fill: (Range<Int>, UnsafeMutablePointer<Scalar>) throws -> Void) throws {
        precondition(k > 0 && n > 0 && (bias?.count ?? n) == n)
        (self.k, self.n) = (k, n)
        func pack(_ b: UnsafePointer<Scalar>?) throws -> any MatrixMultiplier<Scalar> {
            switch GRUKernelSet.active {
            #if canImport(GRUKernelsAVX512)
            case .avx512: return try GRUKernelsAVX512.Kernels.product(k: k, n: n, bias: b, fill: fill)
            #endif
            #if canImport(GRUKernelsAVX2)
            case .avx2: return try GRUKernelsAVX2.Kernels.product(k: k, n: n, bias: b, fill: fill)
            #endif
            default: return try GRUKernels.Kernels.product(k: k, n: n, bias: b, fill: fill)
            }
        }
        guard let bias else {
            kernel = try pack(nil)
            return
        }
        kernel = try bias.withUnsafeBufferPointer { try pack($0.baseAddress) }
    }

    /// A W of zeros and no bias that is never stored: a Dense built only for its output's shape (`inspect`).
    public init(zerosK k: Int, n: Int) {
        precondition(k > 0 && n > 0)
        (self.k, self.n) = (k, n)
        kernel = ZeroProduct<Scalar>(k: k, n: n)
    }

    private static func pack(_ m: UnsafePointer<Scalar>, k: Int, n: Int, bias: UnsafePointer<Scalar>?) -> any MatrixMultiplier<Scalar> {
        switch GRUKernelSet.active {
        #if canImport(GRUKernelsAVX512)
        case .avx512: return GRUKernelsAVX512.Kernels.product(m, k: k, n: n, bias: bias)
        #endif
        #if canImport(GRUKernelsAVX2)
        case .avx2: return GRUKernelsAVX2.Kernels.product(m, k: k, n: n, bias: bias)
        #endif
        default: return GRUKernels.Kernels.product(m, k: k, n: n, bias: bias)
        }
    }

    /// `a`: `(rows, k)` row-major; returns `(rows, n)`.
    public func callAsFunction(_ a: [Scalar], rows: Int, threads: Int) -> [Scalar] {
        precondition(a.count == rows * k)
        return [Scalar](unsafeUninitializedCapacity: rows * n) { c, initialized in
            adviseLargePages(UnsafeMutableRawPointer(c.baseAddress!), bytes: rows * n * MemoryLayout<Scalar>.stride)
            a.withUnsafeBufferPointer { kernel.multiply($0.baseAddress!, rows: rows, rowStride: k, into: c.baseAddress!, threads: threads) }
            initialized = rows * n
        }
    }

    /// The same product from and into raw storage (a row block of a larger tensor); `rowStride`: how far apart
    /// the rows of `a` start (k for packed rows; less where rows overlap, as a convolution's windows do).
    public func multiply(_ a: UnsafePointer<Scalar>, rows: Int, rowStride: Int? = nil, into c: UnsafeMutablePointer<Scalar>, threads: Int) {
        kernel.multiply(a, rows: rows, rowStride: rowStride ?? k, into: c, threads: threads)
    }

    /// The product with the columns `columns` of W and the bias, in that order (packed anew).
    public func selecting(columns: [Int]) -> MatrixProduct {
        let (matrix, bias) = kernel.unpacked()
        var chosen = [Scalar](repeating: 0, count: k * columns.count)
        for i in 0..<k {
            for (j, column) in columns.enumerated() { chosen[i * columns.count + j] = matrix[i * n + column] }
        }
        return MatrixProduct(matrix: chosen, k: k, n: columns.count, bias: columns.map { bias[$0] })
    }
}

/// `a · 0`: rows of zeros.
private struct ZeroProduct<Scalar: GRUScalar>: MatrixMultiplier {
    let k: Int, n: Int

    func multiply(_ a: UnsafePointer<Scalar>, rows: Int, rowStride: Int, into c: UnsafeMutablePointer<Scalar>, threads: Int) {
        c.update(repeating: 0, count: rows * n)
    }

    func unpacked() -> (matrix: [Scalar], bias: [Scalar]) {
        ([Scalar](repeating: 0, count: k * n), [Scalar](repeating: 0, count: n))
    }
}
