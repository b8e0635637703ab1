import GRUBase

/// exp as straight-line arithmetic, so that loops over gate values vectorize (a register of floats or doubles
/// a step): exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2 with ln 2 split in two parts
/// (Cody and Waite), exp(r) by its Taylor series to degree 7 (float: truncation < 6e-9 relative) or 11
/// (double: < 3e-15) with fused multiply-adds, summed by Estrin's scheme (pairs of terms, then pairs of
/// pairs): a gate loop is bound by the length of that chain, three or four multiply-adds instead of
/// Horner's 8 or 12. Inputs are clamped so the result stays a normal number.
/// Adding 1.5 * 2^m (m = mantissa bits) rounds x / ln 2 to an integer held in the low mantissa bits.
protocol PolynomialExp {
    static func polynomialExp(_ x: Self) -> Self
    static func polynomialExp<V: GateVector>(vector x: V) -> V where V.Scalar == Self
}

extension Float: PolynomialExp {
    @inline(__always)
    static func polynomialExp(_ x: Float) -> Float {
        var c = x < -87.3 ? -87.3 : x
        c = c > 88.3 ? 88.3 : c
        let shifted = c * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = c.multiplyAdd(n, -0.693_359_375)
        r = r.multiplyAdd(n, 2.121_944_4e-4)
        let r2 = r * r, r4 = r2 * r2
        let q0 = (1 as Float).multiplyAdd(r, 1), q1 = (0.5 as Float).multiplyAdd(r, 1.0 / 6)
        let q2 = (1.0 / 24 as Float).multiplyAdd(r, 1.0 / 120), q3 = (1.0 / 720 as Float).multiplyAdd(r, 1.0 / 5040)
        let p = q0.multiplyAdd(q1, r2).multiplyAdd(q2.multiplyAdd(q3, r2), r4)
        let exponent = (Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: UInt32(bitPattern: exponent))
    }
}

extension Double: PolynomialExp {
    @inline(__always)
    static func polynomialExp(_ x: Double) -> Double {
        var c = x < -708 ? -708 : x
        c = c > 709 ? 709 : c
        let shifted = c * 1.442_695_040_888_963_4 + 6_755_399_441_055_744
        let n = shifted - 6_755_399_441_055_744
        var r = c.multiplyAdd(n, -6.931_471_803_691_238_2e-1)
        r = r.multiplyAdd(n, -1.908_214_929_270_587_7e-10)
        let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
        let q0 = (1 as Double).multiplyAdd(r, 1), q1 = (0.5 as Double).multiplyAdd(r, 1.0 / 6)
        let q2 = (1.0 / 24 as Double).multiplyAdd(r, 1.0 / 120), q3 = (1.0 / 720 as Double).multiplyAdd(r, 1.0 / 5_040)
        let q4 = (1.0 / 40_320 as Double).multiplyAdd(r, 1.0 / 362_880)
        let q5 = (1.0 / 3_628_800 as Double).multiplyAdd(r, 1.0 / 39_916_800)
        let s0 = q0.multiplyAdd(q1, r2), s1 = q2.multiplyAdd(q3, r2), s2 = q4.multiplyAdd(q5, r2)
        let p = s0.multiplyAdd(s1, r4).multiplyAdd(s2, r8)
        let exponent = (Int64(bitPattern: shifted.bitPattern) &- 0x4338_0000_0000_0000 &+ 1023) &<< 52
        return p * Double(bitPattern: UInt64(bitPattern: exponent))
    }
}

extension Activation {
    /// Applies the activation to `count` values in place. tanh, sigmoid, hard_sigmoid, relu and linear run
    /// as vectorizable loops; the others use the scalar definitions of `apply`.
    @inline(__always)
    func applyFast<S: GateScalar>(_ v: UnsafeMutablePointer<S>, count: Int, hardSigmoid: HardSigmoidDefinition) {
        switch self {
        case .sigmoid:
            for i in 0..<count {
                let x = v[i]
                let y = 1 / (1 + S.polynomialExp(-x))
                v[i] = x != x ? x : y
            }
        case .tanh:
            // 1 - 2/(e^{2x} + 1): absolute error a few ulps of 1 near 0, exact saturation at the ends.
            for i in 0..<count {
                let x = v[i]
                let y = 1 - 2 / (S.polynomialExp(x + x) + 1)
                v[i] = x != x ? x : y
            }
        case .hardSigmoid:
            let slope: S = hardSigmoid == .keras2 ? 0.2 : 1 / 6
            for i in 0..<count {
                let x = v[i]
                var y = x * slope + 0.5
                y = y < 0 ? 0 : y
                y = y > 1 ? 1 : y
                v[i] = x != x ? x : y
            }
        case .relu:
            for i in 0..<count {
                let x = v[i]
                v[i] = x < 0 ? 0 : x
            }
        case .linear:
            break
        default:
            apply(v, count: count, hardSigmoid: hardSigmoid)
        }
    }
}

/// `PolynomialExp` on a whole register (2, 4, 8 or 16 lanes), lane by lane the same operations in the same
/// order, so a gate computed here equals, bit for bit, the one the scalar loops compute.
protocol GateVector: SIMD where Scalar: GateScalar {
    /// Lanes below `low` or above `high` replaced by them; NaN lanes stay NaN.
    func clamped(_ low: Scalar, _ high: Scalar) -> Self
}

extension GateVector {
    @inline(__always)
    static func polynomialExp(_ x: Self) -> Self { Scalar.polynomialExp(vector: x) }
}

/// The clamps of each register width, written on the concrete SIMD types: their lane comparisons compile to
/// one vector compare and blend, where the generic `.<` and `replacing(with:where:)` go lane by lane.
protocol GateScalar: GRUScalar & PolynomialExp {
    static func clamp(_ v: SIMD2<Self>, _ low: Self, _ high: Self) -> SIMD2<Self>
    static func clamp(_ v: SIMD4<Self>, _ low: Self, _ high: Self) -> SIMD4<Self>
    static func clamp(_ v: SIMD8<Self>, _ low: Self, _ high: Self) -> SIMD8<Self>
    static func clamp(_ v: SIMD16<Self>, _ low: Self, _ high: Self) -> SIMD16<Self>
}

extension SIMD2: GateVector where Scalar: GateScalar {
    @_transparent func clamped(_ low: Scalar, _ high: Scalar) -> Self { Scalar.clamp(self, low, high) }
}
extension SIMD4: GateVector where Scalar: GateScalar {
    @_transparent func clamped(_ low: Scalar, _ high: Scalar) -> Self { Scalar.clamp(self, low, high) }
}
extension SIMD8: GateVector where Scalar: GateScalar {
    @_transparent func clamped(_ low: Scalar, _ high: Scalar) -> Self { Scalar.clamp(self, low, high) }
}
extension SIMD16: GateVector where Scalar: GateScalar {
    @_transparent func clamped(_ low: Scalar, _ high: Scalar) -> Self { Scalar.clamp(self, low, high) }
}

extension Float: GateScalar {
    @_transparent static func clamp(_ v: SIMD2<Float>, _ low: Float, _ high: Float) -> SIMD2<Float> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD4<Float>, _ low: Float, _ high: Float) -> SIMD4<Float> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD8<Float>, _ low: Float, _ high: Float) -> SIMD8<Float> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD16<Float>, _ low: Float, _ high: Float) -> SIMD16<Float> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
}

extension Double: GateScalar {
    @_transparent static func clamp(_ v: SIMD2<Double>, _ low: Double, _ high: Double) -> SIMD2<Double> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD4<Double>, _ low: Double, _ high: Double) -> SIMD4<Double> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD8<Double>, _ low: Double, _ high: Double) -> SIMD8<Double> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
    @_transparent static func clamp(_ v: SIMD16<Double>, _ low: Double, _ high: Double) -> SIMD16<Double> {
        v.replacing(with: low, where: v .< low).replacing(with: high, where: v .> high)
    }
}

/// `a + b * c`, fused where the build's processor has FMA. The portable build on x86-64 (SSE2) has none,
/// and a fused multiply-add there is a library call per lane: it multiplies, then adds.
#if arch(x86_64) && !(GRU_AVX2 || GRU_AVX512)
extension FloatingPoint {
    @_transparent func multiplyAdd(_ b: Self, _ c: Self) -> Self { self + b * c }
}
extension SIMD where Scalar: FloatingPoint {
    @_transparent func multiplyAdd(_ b: Self, _ c: Self) -> Self { self + b * c }
    @_transparent func multiplyAdd(_ b: Self, _ c: Scalar) -> Self { self + b * c }
}
#else
extension FloatingPoint {
    @_transparent func multiplyAdd(_ b: Self, _ c: Self) -> Self { addingProduct(b, c) }
}
extension SIMD where Scalar: FloatingPoint {
    @_transparent func multiplyAdd(_ b: Self, _ c: Self) -> Self { addingProduct(b, c) }
    @_transparent func multiplyAdd(_ b: Self, _ c: Scalar) -> Self { addingProduct(b, c) }
}
#endif

extension Float {
    /// `polynomialExp` on every lane; the exponent is built in the lanes of the mask type (Int32).
    @inline(__always)
    static func polynomialExp<V: GateVector>(vector x: V) -> V where V.Scalar == Float {
        let c = x.clamped(-87.3, 88.3)
        let shifted = c * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = c.multiplyAdd(n, V(repeating: -0.693_359_375))
        r = r.multiplyAdd(n, V(repeating: 2.121_944_4e-4))
        let r2 = r * r, r4 = r2 * r2
        let q0 = V(repeating: 1).multiplyAdd(r, 1), q1 = V(repeating: 0.5).multiplyAdd(r, 1.0 / 6)
        let q2 = V(repeating: 1.0 / 24).multiplyAdd(r, 1.0 / 120)
        let q3 = V(repeating: 1.0 / 720).multiplyAdd(r, 1.0 / 5040)
        let p = q0.multiplyAdd(q1, r2).multiplyAdd(q2.multiplyAdd(q3, r2), r4)
        let bits = unsafeBitCast(shifted, to: V.MaskStorage.self)
        let exponent = (bits &- V.MaskStorage(repeating: 0x4B40_0000) &+ V.MaskStorage(repeating: 127)) &<< 23
        return p * unsafeBitCast(exponent, to: V.self)
    }
}

extension Double {
    /// `polynomialExp` on every lane; the exponent is built in the lanes of the mask type (Int64).
    @inline(__always)
    static func polynomialExp<V: GateVector>(vector x: V) -> V where V.Scalar == Double {
        let c = x.clamped(-708, 709)
        let shifted = c * 1.442_695_040_888_963_4 + 6_755_399_441_055_744
        let n = shifted - 6_755_399_441_055_744
        var r = c.multiplyAdd(n, V(repeating: -6.931_471_803_691_238_2e-1))
        r = r.multiplyAdd(n, V(repeating: -1.908_214_929_270_587_7e-10))
        let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
        let q0 = V(repeating: 1).multiplyAdd(r, 1), q1 = V(repeating: 0.5).multiplyAdd(r, 1.0 / 6)
        let q2 = V(repeating: 1.0 / 24).multiplyAdd(r, 1.0 / 120)
        let q3 = V(repeating: 1.0 / 720).multiplyAdd(r, 1.0 / 5_040)
        let q4 = V(repeating: 1.0 / 40_320).multiplyAdd(r, 1.0 / 362_880)
        let q5 = V(repeating: 1.0 / 3_628_800).multiplyAdd(r, 1.0 / 39_916_800)
        let s0 = q0.multiplyAdd(q1, r2), s1 = q2.multiplyAdd(q3, r2), s2 = q4.multiplyAdd(q5, r2)
        let p = s0.multiplyAdd(s1, r4).multiplyAdd(s2, r8)
        let bits = unsafeBitCast(shifted, to: V.MaskStorage.self)
        let exponent = (bits &- V.MaskStorage(repeating: 0x4338_0000_0000_0000) &+ V.MaskStorage(repeating: 1023)) &<< 52
        return p * unsafeBitCast(exponent, to: V.self)
    }
}

extension Activation {
    /// Whether `applyVector` computes this activation.
    var hasVectorForm: Bool {
        switch self {
        case .sigmoid, .tanh, .hardSigmoid, .relu, .linear: true
        default: false
        }
    }

    /// `applyFast` on one register of values, with the same arithmetic (only for `hasVectorForm`). A NaN
    /// stays a NaN through each of these formulas, so the scalar loops' explicit NaN select is left out
    /// (lane-wise float comparisons for inequality do not compile to one vector compare).
    @_transparent
    func applyVector<V: GateVector>(_ x: V, hardSigmoid: HardSigmoidDefinition) -> V {
        switch self {
        case .sigmoid:
            return 1 / (1 + V.polynomialExp(-x))
        case .tanh:
            return 1 - 2 / (V.polynomialExp(x + x) + 1)
        case .hardSigmoid:
            let slope: V.Scalar = hardSigmoid == .keras2 ? 0.2 : 1 / 6
            return (x * slope + 0.5).clamped(0, 1)
        case .relu:
            return x.clamped(0, .infinity)
        default:
            return x
        }
    }
}

/// One activation on whole registers, its kind fixed by the type: a step's gate code is compiled for the
/// config's pair of activations, with no branch on the kind per vector and its constants folded or held in
/// registers. Each computes what `applyVector` (and, lane by lane, `applyFast`) computes.
protocol VectorActivation {
    associatedtype V: GateVector
    func callAsFunction(_ x: V) -> V
}

struct SigmoidGate<V: GateVector>: VectorActivation {
    @_transparent func callAsFunction(_ x: V) -> V { 1 / (1 + V.polynomialExp(-x)) }
}

struct TanhGate<V: GateVector>: VectorActivation {
    @_transparent func callAsFunction(_ x: V) -> V { 1 - 2 / (V.polynomialExp(x + x) + 1) }
}

/// Keras 2's slope 0.2 or Keras 3's 1/6.
struct HardSigmoidGate<V: GateVector>: VectorActivation {
    let slope: V.Scalar
    @_transparent func callAsFunction(_ x: V) -> V { (x * slope + 0.5).clamped(0, 1) }
}

/// Any activation with a vector form, chosen per call.
struct AnyGate<V: GateVector>: VectorActivation {
    let kind: Activation
    let hardSigmoid: HardSigmoidDefinition
    @_transparent func callAsFunction(_ x: V) -> V { kind.applyVector(x, hardSigmoid: hardSigmoid) }
}
