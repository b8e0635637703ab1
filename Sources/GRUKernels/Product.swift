import GRUBase

/// B `(k, n)` packed into panels three vectors wide, the layout the GRU's gate kernels stream: panel p holds,
/// for every row i of B, the vectors of columns `p*3L ..< (p+1)*3L` (L lanes), zero past n. The kernels sum
/// over k in order, in the scalar type, with fused multiply-adds.
final class PanelProduct<V: SIMD>: @unchecked Sendable where V.Scalar: GRUScalar {
    typealias Scalar = V.Scalar
    let k: Int
    let n: Int
    let panels: Int
    /// `(panels, k, 3)` vectors.
    let packed: AlignedBuffer<V>
    /// `(panels, 3)` vectors; zeros without a bias.
    let bias: AlignedBuffer<V>

    convenience init(_ matrix: UnsafePointer<Scalar>, k: Int, n: Int, bias values: UnsafePointer<Scalar>?) {
        self.init(k: k, n: n, bias: values) { rows, into in
            into.update(from: matrix + rows.lowerBound * n, count: rows.count * n)
        }
    }

    /// B given a block of its rows at a time: `fill(rows, into)` writes rows `rows` of B `(k, n)` row-major,
    /// each block packed before the next is asked for (a Dense kernel read from its file block by block, so
    /// that it is never held whole beside its panels).
    init(k: Int, n: Int, bias values: UnsafePointer<Scalar>?, fill: (Range<Int>, UnsafeMutablePointer<Scalar>) throws -> Void) rethrows {
        let lanes = V.scalarCount, width = 3 * lanes
        (self.k, self.n) = (k, n)
        panels = (n + width - 1) / width
        packed = AlignedBuffer(count: panels * k * 3, zeroed: false)
        bias = AlignedBuffer(count: panels * 3)
        let out = packed.scalars
        let blockRows = max(1, min(k, (1 << 20) / max(1, n * MemoryLayout<Scalar>.stride)))
        let block = UnsafeMutablePointer<Scalar>.allocate(capacity: blockRows * n)
        defer { block.deallocate() }
        for first in stride(from: 0, to: k, by: blockRows) {
            let rows = first..<min(k, first + blockRows)
            try fill(rows, block)
            for p in 0..<panels {
                let columns = min(width, n - p * width)
                for i in rows {
                    let source = block + (i - first) * n + p * width, target = out + (p * k + i) * width
                    for j in 0..<columns { target[j] = source[j] }
                    for j in columns..<width { target[j] = 0 }
                }
            }
        }
        if let values {
            for j in 0..<n { bias.scalars[j] = values[j] }
        }
    }

    func unpacked() -> (matrix: [Scalar], bias: [Scalar]) {
        let width = 3 * V.scalarCount
        var matrix = [Scalar](repeating: 0, count: k * n), values = [Scalar](repeating: 0, count: n)
        let from = packed.scalars
        for p in 0..<panels {
            let columns = min(width, n - p * width)
            for i in 0..<k {
                for j in 0..<columns { matrix[i * n + p * width + j] = from[(p * k + i) * width + j] }
            }
            for j in 0..<columns { values[p * width + j] = bias.scalars[p * width + j] }
        }
        return (matrix, values)
    }

    func multiply(_ a: UnsafePointer<Scalar>, rows: Int, lda: Int, into c: UnsafeMutablePointer<Scalar>, threads: Int) {
        // Work is split by panels (each thread streams its own part of B once), or by rows when B is narrow.
        let byPanels = panels >= 2 * threads || rows < 8
        let team = max(1, min(threads, byPanels ? panels : rows / 4))
        if team == 1 {
            compute(a, lda, rows: 0..<rows, panels: 0..<panels, into: c)
            return
        }
        let (address, output) = (Int(bitPattern: a), Int(bitPattern: c))
        runTeam(team) { index, count in
            let a = UnsafePointer<Scalar>(bitPattern: address)!, c = UnsafeMutablePointer<Scalar>(bitPattern: output)!
            if byPanels {
                let share = self.share(self.panels, index, count)
                self.compute(a, lda, rows: 0..<rows, panels: share, into: c)
            } else {
                self.compute(a, lda, rows: self.share(rows, index, count), panels: 0..<self.panels, into: c)
            }
        }
    }

    private func share(_ total: Int, _ index: Int, _ count: Int) -> Range<Int> {
        (total * index / count)..<(total * (index + 1) / count)
    }

    /// Rows in blocks of four (three for doubles where registers are few), each block times each panel. The
    /// rows go in groups of about 256 KB of A, each group times every panel: the group stays in L2 while the
    /// panels stream, instead of all of A streaming once per panel.
    private func compute(_ a: UnsafePointer<Scalar>, _ lda: Int, rows all: Range<Int>, panels: Range<Int>, into c: UnsafeMutablePointer<Scalar>) {
        let group = max(12, (1 << 18) / (k * MemoryLayout<Scalar>.stride) / 12 * 12)
        for first in stride(from: all.lowerBound, to: all.upperBound, by: group) {
            compute(a, lda, group: first..<min(all.upperBound, first + group), panels: panels, into: c)
        }
    }

    private func compute(_ a: UnsafePointer<Scalar>, _ lda: Int, group rows: Range<Int>, panels: Range<Int>, into c: UnsafeMutablePointer<Scalar>) {
        let block = Scalar.self == Double.self && doublesInThreeRowBlocks ? 3 : 4
        let eights = eightRowBlocks ? rows.lowerBound + rows.count / 8 * 8 : rows.lowerBound
        let whole = eights + (rows.upperBound - eights) / block * block
        for p in panels {
            let panel = UnsafePointer(packed.pointer + p * k * 3)
            for r in stride(from: rows.lowerBound, to: eights, by: 8) {
                let (c0, c1, c2, c3, c4, c5, c6, c7) = multiply8x3(k, a + r * lda, stride: lda, panel)
                store(c0, r, p, c); store(c1, r + 1, p, c); store(c2, r + 2, p, c); store(c3, r + 3, p, c)
                store(c4, r + 4, p, c); store(c5, r + 5, p, c); store(c6, r + 6, p, c); store(c7, r + 7, p, c)
            }
            for r in stride(from: eights, to: whole, by: block) {
                let row = a + r * lda
                if block == 4 {
                    let (c0, c1, c2, c3) = multiply4x3(k, row, row + lda, row + 2 * lda, row + 3 * lda, panel)
                    store(c0, r, p, c); store(c1, r + 1, p, c); store(c2, r + 2, p, c); store(c3, r + 3, p, c)
                } else {
                    let (c0, c1, c2) = multiply3x3(k, row, row + lda, row + 2 * lda, panel)
                    store(c0, r, p, c); store(c1, r + 1, p, c); store(c2, r + 2, p, c)
                }
            }
        }
        for r in whole..<rows.upperBound {
            computeRow(a + r * lda, r, panels: panels, into: c)
        }
    }

    /// One row times several panels a pass through k (twelve or nine accumulators, where one panel's three
    /// would wait on the multiply-add latency): a batch of one, or the rows short of a block.
    private func computeRow(_ row: UnsafePointer<Scalar>, _ r: Int, panels: Range<Int>, into c: UnsafeMutablePointer<Scalar>) {
        func panel(_ p: Int) -> UnsafePointer<V> { UnsafePointer(packed.pointer + p * k * 3) }
        var p = panels.lowerBound
        while p < panels.upperBound {
            switch panels.upperBound - p {
            case 4...:
                let (c0, c1, c2, c3) = multiply1x12(k, row, panel(p), panel(p + 1), panel(p + 2), panel(p + 3))
                store(c0, r, p, c); store(c1, r, p + 1, c); store(c2, r, p + 2, c); store(c3, r, p + 3, c)
                p += 4
            case 3:
                let (c0, c1, c2) = multiply1x9(k, row, panel(p), panel(p + 1), panel(p + 2))
                store(c0, r, p, c); store(c1, r, p + 1, c); store(c2, r, p + 2, c)
                p += 3
            case 2:
                let (c0, c1) = multiply1x6(k, row, panel(p), panel(p + 1))
                store(c0, r, p, c); store(c1, r, p + 1, c)
                p += 2
            default:
                store(multiply1x3(k, row, panel(p)), r, p, c)
                p += 1
            }
        }
    }

    @inline(__always)
    private func store(_ block: SIMD3Block<V>, _ row: Int, _ p: Int, _ c: UnsafeMutablePointer<Scalar>) {
        let lanes = V.scalarCount, width = 3 * lanes
        let b = bias.pointer + p * 3
        let sums = (block.z + b[0], block.r + b[1], block.h + b[2])
        let target = c + row * n + p * width
        if (p + 1) * width <= n {
            UnsafeMutableRawPointer(target).storeBytes(of: sums.0, as: V.self)
            UnsafeMutableRawPointer(target + lanes).storeBytes(of: sums.1, as: V.self)
            UnsafeMutableRawPointer(target + 2 * lanes).storeBytes(of: sums.2, as: V.self)
            return
        }
        let columns = n - p * width
        for j in 0..<columns {
            target[j] = j < lanes ? sums.0[j] : j < 2 * lanes ? sums.1[j - lanes] : sums.2[j - 2 * lanes]
        }
    }
}

/// The products of this build's two vector types, called by their concrete types so that the kernels are
/// specialized (through the protocol alone they would run generic, a metadata lookup per element).
final class FloatProduct: MatrixMultiplier, @unchecked Sendable {
    let product: PanelProduct<FloatVector>
    init(_ product: PanelProduct<FloatVector>) { self.product = product }
    func multiply(_ a: UnsafePointer<Float>, rows: Int, rowStride: Int, into c: UnsafeMutablePointer<Float>, threads: Int) {
        product.multiply(a, rows: rows, lda: rowStride, into: c, threads: threads)
    }
    func unpacked() -> (matrix: [Float], bias: [Float]) { product.unpacked() }
}

final class DoubleProduct: MatrixMultiplier, @unchecked Sendable {
    let product: PanelProduct<DoubleVector>
    init(_ product: PanelProduct<DoubleVector>) { self.product = product }
    func multiply(_ a: UnsafePointer<Double>, rows: Int, rowStride: Int, into c: UnsafeMutablePointer<Double>, threads: Int) {
        product.multiply(a, rows: rows, lda: rowStride, into: c, threads: threads)
    }
    func unpacked() -> (matrix: [Double], bias: [Double]) { product.unpacked() }
}

extension Kernels {
    /// B `(k, n)` given a block of rows at a time by `fill`, and `bias` `(n,)`, packed for this build's products.
    package static func product<S: GRUScalar>(k: Int, n: Int, bias: UnsafePointer<S>?,
                                              fill: (Range<Int>, UnsafeMutablePointer<S>) throws -> Void) rethrows -> any MatrixMultiplier<S> {
        if S.self == Float.self {
            let packed = try PanelProduct<FloatVector>(k: k, n: n, bias: bias.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) }) {
                try fill($0, UnsafeMutableRawPointer($1).assumingMemoryBound(to: S.self))
            }
            return FloatProduct(packed) as! any MatrixMultiplier<S>
        }
        let packed = try PanelProduct<DoubleVector>(k: k, n: n, bias: bias.map { UnsafeRawPointer($0).assumingMemoryBound(to: Double.self) }) {
            try fill($0, UnsafeMutableRawPointer($1).assumingMemoryBound(to: S.self))
        }
        return DoubleProduct(packed) as! any MatrixMultiplier<S>
    }

    /// `matrix` `(k, n)` and `bias` `(n,)` packed for this build's products.
    package static func product<S: GRUScalar>(_ matrix: UnsafePointer<S>, k: Int, n: Int, bias: UnsafePointer<S>?) -> any MatrixMultiplier<S> {
        if S.self == Float.self {
            let packed = PanelProduct<FloatVector>(UnsafeRawPointer(matrix).assumingMemoryBound(to: Float.self), k: k, n: n,
                                                   bias: bias.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) })
            return FloatProduct(packed) as! any MatrixMultiplier<S>
        }
        let packed = PanelProduct<DoubleVector>(UnsafeRawPointer(matrix).assumingMemoryBound(to: Double.self), k: k, n: n,
                                                bias: bias.map { UnsafeRawPointer($0).assumingMemoryBound(to: Double.self) })
        return DoubleProduct(packed) as! any MatrixMultiplier<S>
    }
}

extension Kernels {
    /// `v[i] = exp(v[i])` in place with the GRU's polynomial exponential (a few ulps; arguments clamped to the
    /// normal range), in a loop the compiler vectorizes; a NaN stays NaN.
    package static func exponentials<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, count: Int) {
        if S.self == Float.self {
            let f = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self)
            for i in 0..<count { let x = f[i]; f[i] = x != x ? x : Float.polynomialExp(x) }
        } else {
            let d = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self)
            for i in 0..<count { let x = d[i]; d[i] = x != x ? x : Double.polynomialExp(x) }
        }
    }
}

extension Kernels {
    /// `activation` in place with the gate loops of this build (`applyFast`).
    package static func activate<S: GRUScalar>(_ activation: Activation, _ v: UnsafeMutablePointer<S>, count: Int,
                                               hardSigmoid: HardSigmoidDefinition) {
        if activation == .relu {
            // A register at a time: written as a scalar loop, `x < 0 ? 0 : x` becomes a branch and a store per
            // negative value (half of them mispredicted on real data).
            if S.self == Float.self {
                relu(UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self), count, FloatVector.self)
            } else {
                relu(UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self), count, DoubleVector.self)
            }
            return
        }
        if S.self == Float.self {
            activation.applyFast(UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self), count: count, hardSigmoid: hardSigmoid)
        } else {
            activation.applyFast(UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self), count: count, hardSigmoid: hardSigmoid)
        }
    }
}

extension Kernels {
    /// max(x, 0) in place, NaN kept, -0 given as 0 (as `Activation.apply` gives it).
    @inline(__always)
    static func relu<V: GateVector>(_ v: UnsafeMutablePointer<V.Scalar>, _ count: Int, _ vector: V.Type) {
        var i = 0
        while i + V.scalarCount <= count {
            let p = UnsafeMutableRawPointer(v + i)
            p.storeBytes(of: p.loadUnaligned(as: V.self).clamped(0, .infinity) + V(), as: V.self)
            i += V.scalarCount
        }
        while i < count {
            let x = v[i]
            v[i] = x != x ? x : (x > 0 ? x : 0)
            i += 1
        }
    }
}
