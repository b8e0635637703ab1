import GRUBase
#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte aligned buffer of vectors that frees itself.
final class AlignedBuffer<V: SIMD>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<V>
    let count: Int

    /// `zeroed` false: the caller writes every value before any is read (packing), so pages are touched once.
    init(count: Int, zeroed: Bool = true) {
        self.count = max(count, 1)
        let bytes = self.count * MemoryLayout<V>.stride
        // Large buffers (a wide Dense's panels) on 2 MB pages where the system allows: a page fault per 2 MB
        // instead of per 4 KB while they are filled.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: bytes >= 8 << 20 ? 2 << 20 : 64)
        #if canImport(Glibc)
        if bytes >= 8 << 20 { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
        #endif
        pointer = raw.bindMemory(to: V.self, capacity: self.count)
        if zeroed { pointer.initialize(repeating: V(), count: self.count) }
    }

    deinit { pointer.deallocate() }

    /// Sets every value to zero.
    func zero() { pointer.update(repeating: V(), count: count) }

    var scalars: UnsafeMutablePointer<V.Scalar> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: V.Scalar.self)
    }
}

/// The weights rearranged into panels of `lanes` units, so a kernel streams one panel with unit-stride loads.
/// Panel p holds, for every input row k, the three gate vectors `[z | r | h]` of units `p*lanes ..< (p+1)*lanes`:
/// `panel[p][k][g] = W[k, g*U + p*lanes + lane]`, zero beyond U. Biases are laid out as `(3, paddedUnits)`.
/// With `candidateApart` (reset_after=False, whose step multiplies h by the z and r columns, then r*h by the
/// candidate's) the recurrent kernel is packed as two sets of panels, `[z | r]` then `[h]`, so each product
/// streams only the bytes it uses.
struct PackedWeights<V: SIMD>: @unchecked Sendable where V.Scalar: GRUScalar {
    let units: Int
    let inputDim: Int
    let panels: Int
    let paddedUnits: Int
    /// `(panels, inputDim, 3)` vectors.
    let kernel: AlignedBuffer<V>
    /// `(panels, units, 3)` vectors; with `candidateApart`, `(panels, units, 2)` then `(panels, units, 1)`.
    let recurrent: AlignedBuffer<V>
    let candidateApart: Bool
    /// `(3, paddedUnits)`; zeros without a bias.
    let inputBias: AlignedBuffer<V>
    let recurrentBias: AlignedBuffer<V>

    init(_ weights: GRUWeights<V.Scalar>, candidateApart: Bool) {
        let lanes = V.scalarCount
        units = weights.units
        inputDim = weights.inputDim
        panels = (units + lanes - 1) / lanes
        paddedUnits = panels * lanes
        self.candidateApart = candidateApart
        kernel = PackedWeights.pack(weights.kernel, rows: inputDim, units: units, panels: panels)
        recurrent = PackedWeights.pack(weights.recurrentKernel, rows: units, units: units, panels: panels,
                                       gateSets: candidateApart ? [0..<2, 2..<3] : [0..<3])
        inputBias = PackedWeights.packBias(weights.inputBias, units: units, padded: paddedUnits)
        recurrentBias = PackedWeights.packBias(weights.recurrentBias, units: units, padded: paddedUnits)
    }

    /// Each set of gates in turn: its panels, each holding for every row k the vectors of its gates.
    private static func pack(_ matrix: [V.Scalar], rows: Int, units: Int, panels: Int,
                             gateSets: [Range<Int>] = [0..<3]) -> AlignedBuffer<V> {
        let lanes = V.scalarCount
        let buffer = AlignedBuffer<V>(count: panels * rows * 3, zeroed: false)
        var out = buffer.scalars
        matrix.withUnsafeBufferPointer { m in
            for gates in gateSets {
                for p in 0..<panels {
                    // The last panel's lanes past `units` hold zeros.
                    let filled = min(lanes, units - p * lanes)
                    for k in 0..<rows {
                        for (i, g) in gates.enumerated() {
                            let vector = out + ((p * rows + k) * gates.count + i) * lanes
                            vector.update(from: m.baseAddress! + k * 3 * units + g * units + p * lanes, count: filled)
                            (vector + filled).update(repeating: 0, count: lanes - filled)
                        }
                    }
                }
                out += panels * rows * gates.count * lanes
            }
        }
        return buffer
    }

    private static func packBias(_ bias: [V.Scalar]?, units: Int, padded: Int) -> AlignedBuffer<V> {
        let buffer = AlignedBuffer<V>(count: 3 * padded / V.scalarCount)
        if let bias {
            for g in 0..<3 {
                for j in 0..<units { buffer.scalars[g * padded + j] = bias[g * units + j] }
            }
        }
        return buffer
    }

    /// Panel p's vectors for row k start at `panel(p) + 3k`.
    @inline(__always)
    func kernelPanel(_ p: Int) -> UnsafePointer<V> { UnsafePointer(kernel.pointer + p * inputDim * 3) }

    @inline(__always)
    func recurrentPanel(_ p: Int) -> UnsafePointer<V> { UnsafePointer(recurrent.pointer + p * units * 3) }

    /// With `candidateApart`: panel p's `[z | r]` vectors for row k start at `zrPanel(p) + 2k`.
    @inline(__always)
    func zrPanel(_ p: Int) -> UnsafePointer<V> { UnsafePointer(recurrent.pointer + p * units * 2) }

    /// With `candidateApart`: panel p's h vector for row k is at `hPanel(p) + k`.
    @inline(__always)
    func hPanel(_ p: Int) -> UnsafePointer<V> { UnsafePointer(recurrent.pointer + panels * units * 2 + p * units) }
}

/// Four rows times three gates: `acc[r][g] = sum_k a_r[k] * panel[3k + g]`. Twelve accumulators and three
/// panel loads per k keep the FMA units busy; the panel (k x 3 vectors) stays in L1 across row blocks.
@inline(__always)
func multiply4x3<V: SIMD>(_ k: Int, _ a0: UnsafePointer<V.Scalar>, _ a1: UnsafePointer<V.Scalar>,
                          _ a2: UnsafePointer<V.Scalar>, _ a3: UnsafePointer<V.Scalar>,
                          _ panel: UnsafePointer<V>) -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>)
    where V.Scalar: FloatingPoint {
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V()
    var c20 = V(), c21 = V(), c22 = V(), c30 = V(), c31 = V(), c32 = V()
    var w = panel
    for i in 0..<k {
        let w0 = w[0], w1 = w[1], w2 = w[2]
        let x0 = V(repeating: a0[i]), x1 = V(repeating: a1[i]), x2 = V(repeating: a2[i]), x3 = V(repeating: a3[i])
        c00 = c00.multiplyAdd(x0, w0); c01 = c01.multiplyAdd(x0, w1); c02 = c02.multiplyAdd(x0, w2)
        c10 = c10.multiplyAdd(x1, w0); c11 = c11.multiplyAdd(x1, w1); c12 = c12.multiplyAdd(x1, w2)
        c20 = c20.multiplyAdd(x2, w0); c21 = c21.multiplyAdd(x2, w1); c22 = c22.multiplyAdd(x2, w2)
        c30 = c30.multiplyAdd(x3, w0); c31 = c31.multiplyAdd(x3, w1); c32 = c32.multiplyAdd(x3, w2)
        w += 3
    }
    return (SIMD3Block(c00, c01, c02), SIMD3Block(c10, c11, c12), SIMD3Block(c20, c21, c22), SIMD3Block(c30, c31, c32))
}

/// Eight rows times three gates: 24 accumulators, for builds with 32 vector registers (AVX-512). Each panel
/// vector loaded feeds eight multiply-adds instead of four, so a panel streamed from L2 (a wide Dense's
/// k x 3 vectors outgrow L1) keeps the FMA units busy. Sums over k in order, as every kernel.
@inline(__always)
func multiply8x3<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, stride: Int, _ panel: UnsafePointer<V>)
    -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>)
    where V.Scalar: FloatingPoint {
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V(), c20 = V(), c21 = V(), c22 = V()
    var c30 = V(), c31 = V(), c32 = V(), c40 = V(), c41 = V(), c42 = V(), c50 = V(), c51 = V(), c52 = V()
    var c60 = V(), c61 = V(), c62 = V(), c70 = V(), c71 = V(), c72 = V()
    let a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride
    let a4 = a + 4 * stride, a5 = a + 5 * stride, a6 = a + 6 * stride, a7 = a + 7 * stride
    var w = panel
    for i in 0..<k {
        let w0 = w[0], w1 = w[1], w2 = w[2]
        var x = V(repeating: a0[i])
        c00 = c00.multiplyAdd(x, w0); c01 = c01.multiplyAdd(x, w1); c02 = c02.multiplyAdd(x, w2)
        x = V(repeating: a1[i])
        c10 = c10.multiplyAdd(x, w0); c11 = c11.multiplyAdd(x, w1); c12 = c12.multiplyAdd(x, w2)
        x = V(repeating: a2[i])
        c20 = c20.multiplyAdd(x, w0); c21 = c21.multiplyAdd(x, w1); c22 = c22.multiplyAdd(x, w2)
        x = V(repeating: a3[i])
        c30 = c30.multiplyAdd(x, w0); c31 = c31.multiplyAdd(x, w1); c32 = c32.multiplyAdd(x, w2)
        x = V(repeating: a4[i])
        c40 = c40.multiplyAdd(x, w0); c41 = c41.multiplyAdd(x, w1); c42 = c42.multiplyAdd(x, w2)
        x = V(repeating: a5[i])
        c50 = c50.multiplyAdd(x, w0); c51 = c51.multiplyAdd(x, w1); c52 = c52.multiplyAdd(x, w2)
        x = V(repeating: a6[i])
        c60 = c60.multiplyAdd(x, w0); c61 = c61.multiplyAdd(x, w1); c62 = c62.multiplyAdd(x, w2)
        x = V(repeating: a7[i])
        c70 = c70.multiplyAdd(x, w0); c71 = c71.multiplyAdd(x, w1); c72 = c72.multiplyAdd(x, w2)
        w += 3
    }
    return (SIMD3Block(c00, c01, c02), SIMD3Block(c10, c11, c12), SIMD3Block(c20, c21, c22), SIMD3Block(c30, c31, c32),
            SIMD3Block(c40, c41, c42), SIMD3Block(c50, c51, c52), SIMD3Block(c60, c61, c62), SIMD3Block(c70, c71, c72))
}

/// Three rows times three gates, for doubles: nine accumulators leave registers for the panel loads, where
/// the four-row kernel on AVX2 (16 registers) spills an accumulator. Sums over k in the same order.
@inline(__always)
func multiply3x3<V: SIMD>(_ k: Int, _ a0: UnsafePointer<V.Scalar>, _ a1: UnsafePointer<V.Scalar>,
                          _ a2: UnsafePointer<V.Scalar>, _ panel: UnsafePointer<V>) -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>)
    where V.Scalar: FloatingPoint {
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V(), c20 = V(), c21 = V(), c22 = V()
    var w = panel
    for i in 0..<k {
        let w0 = w[0], w1 = w[1], w2 = w[2]
        let x0 = V(repeating: a0[i]), x1 = V(repeating: a1[i]), x2 = V(repeating: a2[i])
        c00 = c00.multiplyAdd(x0, w0); c01 = c01.multiplyAdd(x0, w1); c02 = c02.multiplyAdd(x0, w2)
        c10 = c10.multiplyAdd(x1, w0); c11 = c11.multiplyAdd(x1, w1); c12 = c12.multiplyAdd(x1, w2)
        c20 = c20.multiplyAdd(x2, w0); c21 = c21.multiplyAdd(x2, w1); c22 = c22.multiplyAdd(x2, w2)
        w += 3
    }
    return (SIMD3Block(c00, c01, c02), SIMD3Block(c10, c11, c12), SIMD3Block(c20, c21, c22))
}

/// Two rows times three gates: the rows left over from three-row blocks, summed over k in order.
@inline(__always)
func multiply2x3<V: SIMD>(_ k: Int, _ a0: UnsafePointer<V.Scalar>, _ a1: UnsafePointer<V.Scalar>,
                          _ panel: UnsafePointer<V>) -> (SIMD3Block<V>, SIMD3Block<V>) where V.Scalar: FloatingPoint {
    var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V()
    var w = panel
    for i in 0..<k {
        let w0 = w[0], w1 = w[1], w2 = w[2]
        let x0 = V(repeating: a0[i]), x1 = V(repeating: a1[i])
        c00 = c00.multiplyAdd(x0, w0); c01 = c01.multiplyAdd(x0, w1); c02 = c02.multiplyAdd(x0, w2)
        c10 = c10.multiplyAdd(x1, w0); c11 = c11.multiplyAdd(x1, w1); c12 = c12.multiplyAdd(x1, w2)
        w += 3
    }
    return (SIMD3Block(c00, c01, c02), SIMD3Block(c10, c11, c12))
}

/// One row times three gates of three panels: nine independent accumulators hide the FMA latency at
/// batch 1. Each accumulator sums over k in order, exactly as `multiply4x3` does, so a row's result does
/// not depend on which kernel computed it (or on how rows were shared among threads).
@inline(__always)
func multiply1x9<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ p0: UnsafePointer<V>, _ p1: UnsafePointer<V>,
                          _ p2: UnsafePointer<V>) -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>) where V.Scalar: FloatingPoint {
    var a0 = V(), a1 = V(), a2 = V(), b0 = V(), b1 = V(), b2 = V(), c0 = V(), c1 = V(), c2 = V()
    for i in 0..<k {
        let x = V(repeating: a[i])
        let o = 3 * i
        a0 = a0.multiplyAdd(x, p0[o]); a1 = a1.multiplyAdd(x, p0[o + 1]); a2 = a2.multiplyAdd(x, p0[o + 2])
        b0 = b0.multiplyAdd(x, p1[o]); b1 = b1.multiplyAdd(x, p1[o + 1]); b2 = b2.multiplyAdd(x, p1[o + 2])
        c0 = c0.multiplyAdd(x, p2[o]); c1 = c1.multiplyAdd(x, p2[o + 1]); c2 = c2.multiplyAdd(x, p2[o + 2])
    }
    return (SIMD3Block(a0, a1, a2), SIMD3Block(b0, b1, b2), SIMD3Block(c0, c1, c2))
}

/// One row times three gates of four panels: twelve chains, so a short row (a small layer) is one pass
/// through k instead of a 1x9 and a 1x3. Summed over k in order, as every kernel.
@inline(__always)
func multiply1x12<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ p0: UnsafePointer<V>, _ p1: UnsafePointer<V>,
                           _ p2: UnsafePointer<V>, _ p3: UnsafePointer<V>)
    -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>) where V.Scalar: FloatingPoint {
    var a0 = V(), a1 = V(), a2 = V(), b0 = V(), b1 = V(), b2 = V()
    var c0 = V(), c1 = V(), c2 = V(), d0 = V(), d1 = V(), d2 = V()
    for i in 0..<k {
        let x = V(repeating: a[i])
        let o = 3 * i
        a0 = a0.multiplyAdd(x, p0[o]); a1 = a1.multiplyAdd(x, p0[o + 1]); a2 = a2.multiplyAdd(x, p0[o + 2])
        b0 = b0.multiplyAdd(x, p1[o]); b1 = b1.multiplyAdd(x, p1[o + 1]); b2 = b2.multiplyAdd(x, p1[o + 2])
        c0 = c0.multiplyAdd(x, p2[o]); c1 = c1.multiplyAdd(x, p2[o + 1]); c2 = c2.multiplyAdd(x, p2[o + 2])
        d0 = d0.multiplyAdd(x, p3[o]); d1 = d1.multiplyAdd(x, p3[o + 1]); d2 = d2.multiplyAdd(x, p3[o + 2])
    }
    return (SIMD3Block(a0, a1, a2), SIMD3Block(b0, b1, b2), SIMD3Block(c0, c1, c2), SIMD3Block(d0, d1, d2))
}

/// One row times three gates of two panels: six chains, for a layer of two panels (or the two left over),
/// summed over k in order.
@inline(__always)
func multiply1x6<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ p0: UnsafePointer<V>, _ p1: UnsafePointer<V>)
    -> (SIMD3Block<V>, SIMD3Block<V>) where V.Scalar: FloatingPoint {
    var a0 = V(), a1 = V(), a2 = V(), b0 = V(), b1 = V(), b2 = V()
    for i in 0..<k {
        let x = V(repeating: a[i])
        let o = 3 * i
        a0 = a0.multiplyAdd(x, p0[o]); a1 = a1.multiplyAdd(x, p0[o + 1]); a2 = a2.multiplyAdd(x, p0[o + 2])
        b0 = b0.multiplyAdd(x, p1[o]); b1 = b1.multiplyAdd(x, p1[o + 1]); b2 = b2.multiplyAdd(x, p1[o + 2])
    }
    return (SIMD3Block(a0, a1, a2), SIMD3Block(b0, b1, b2))
}

/// One row times three gates of one panel, summed over k in order.
@inline(__always)
func multiply1x3<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ panel: UnsafePointer<V>) -> SIMD3Block<V>
    where V.Scalar: FloatingPoint {
    var c0 = V(), c1 = V(), c2 = V()
    var w = panel
    for i in 0..<k {
        let x = V(repeating: a[i])
        c0 = c0.multiplyAdd(x, w[0]); c1 = c1.multiplyAdd(x, w[1]); c2 = c2.multiplyAdd(x, w[2])
        w += 3
    }
    return SIMD3Block(c0, c1, c2)
}

/// Four rows times the two gates z and r of a `[z | r]` panel (reset_after=False, first product).
@inline(__always)
func multiply4x2<V: SIMD>(_ k: Int, _ a0: UnsafePointer<V.Scalar>, _ a1: UnsafePointer<V.Scalar>,
                          _ a2: UnsafePointer<V.Scalar>, _ a3: UnsafePointer<V.Scalar>,
                          _ panel: UnsafePointer<V>) -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>)
    where V.Scalar: FloatingPoint {
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
    var w = panel
    for i in 0..<k {
        let w0 = w[0], w1 = w[1]
        let x0 = V(repeating: a0[i]), x1 = V(repeating: a1[i]), x2 = V(repeating: a2[i]), x3 = V(repeating: a3[i])
        c00 = c00.multiplyAdd(x0, w0); c01 = c01.multiplyAdd(x0, w1)
        c10 = c10.multiplyAdd(x1, w0); c11 = c11.multiplyAdd(x1, w1)
        c20 = c20.multiplyAdd(x2, w0); c21 = c21.multiplyAdd(x2, w1)
        c30 = c30.multiplyAdd(x3, w0); c31 = c31.multiplyAdd(x3, w1)
        w += 2
    }
    return (SIMD3Block(c00, c01, V()), SIMD3Block(c10, c11, V()), SIMD3Block(c20, c21, V()), SIMD3Block(c30, c31, V()))
}

/// Four rows times an `[h]` panel (reset_after=False, second product over r*h).
@inline(__always)
func multiply4x1<V: SIMD>(_ k: Int, _ a0: UnsafePointer<V.Scalar>, _ a1: UnsafePointer<V.Scalar>,
                          _ a2: UnsafePointer<V.Scalar>, _ a3: UnsafePointer<V.Scalar>,
                          _ panel: UnsafePointer<V>) -> (V, V, V, V) where V.Scalar: FloatingPoint {
    var c0 = V(), c1 = V(), c2 = V(), c3 = V()
    for i in 0..<k {
        let w = panel[i]
        c0 = c0.multiplyAdd(V(repeating: a0[i]), w); c1 = c1.multiplyAdd(V(repeating: a1[i]), w)
        c2 = c2.multiplyAdd(V(repeating: a2[i]), w); c3 = c3.multiplyAdd(V(repeating: a3[i]), w)
    }
    return (c0, c1, c2, c3)
}

/// One row times four `[h]` panels (a caller short of four repeats its last), summed over k in order.
@inline(__always)
func multiply1x4<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ panels: (UnsafePointer<V>, UnsafePointer<V>, UnsafePointer<V>, UnsafePointer<V>))
    -> (V, V, V, V) where V.Scalar: FloatingPoint {
    var c0 = V(), c1 = V(), c2 = V(), c3 = V()
    for i in 0..<k {
        let x = V(repeating: a[i])
        c0 = c0.multiplyAdd(x, panels.0[i]); c1 = c1.multiplyAdd(x, panels.1[i])
        c2 = c2.multiplyAdd(x, panels.2[i]); c3 = c3.multiplyAdd(x, panels.3[i])
    }
    return (c0, c1, c2, c3)
}

/// One row times four `[z | r]` panels (a caller short of four repeats its last): eight chains, summed
/// over k in order.
@inline(__always)
func multiply1x8<V: SIMD>(_ k: Int, _ a: UnsafePointer<V.Scalar>, _ panels: (UnsafePointer<V>, UnsafePointer<V>, UnsafePointer<V>, UnsafePointer<V>))
    -> (SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>, SIMD3Block<V>) where V.Scalar: FloatingPoint {
    var a0 = V(), a1 = V(), b0 = V(), b1 = V(), c0 = V(), c1 = V(), d0 = V(), d1 = V()
    for i in 0..<k {
        let x = V(repeating: a[i])
        let o = 2 * i
        a0 = a0.multiplyAdd(x, panels.0[o]); a1 = a1.multiplyAdd(x, panels.0[o + 1])
        b0 = b0.multiplyAdd(x, panels.1[o]); b1 = b1.multiplyAdd(x, panels.1[o + 1])
        c0 = c0.multiplyAdd(x, panels.2[o]); c1 = c1.multiplyAdd(x, panels.2[o + 1])
        d0 = d0.multiplyAdd(x, panels.3[o]); d1 = d1.multiplyAdd(x, panels.3[o + 1])
    }
    return (SIMD3Block(a0, a1, V()), SIMD3Block(b0, b1, V()), SIMD3Block(c0, c1, V()), SIMD3Block(d0, d1, V()))
}

/// The three gate vectors of one row of one panel.
struct SIMD3Block<V: SIMD> {
    var z: V, r: V, h: V

    @inline(__always)
    init(_ z: V, _ r: V, _ h: V) {
        self.z = z
        self.r = r
        self.h = h
    }
}
