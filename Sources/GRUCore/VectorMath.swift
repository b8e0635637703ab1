/// exp as straight-line arithmetic, so that loops over gate values vectorize (AVX2, 8 floats or 4 doubles
/// a step): exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2 with ln 2 split in two parts
/// (Cody and Waite), exp(r) by its Taylor series to degree 7 (float: truncation < 6e-9 relative) or 11
/// (double: < 3e-15) with fused multiply-adds, summed by Estrin's scheme (pairs of terms, then pairs of
/// pairs): a gate loop is bound by the length of that chain, three or four multiply-adds instead of
/// Horner's 8 or 12. Inputs are clamped so the result stays a normal number.
/// Adding 1.5 * 2^m (m = mantissa bits) rounds x / ln 2 to an integer held in the low mantissa bits.
protocol PolynomialExp {
    static func polynomialExp(_ x: Self) -> Self
}

extension Float: PolynomialExp {
    @inline(__always)
    static func polynomialExp(_ x: Float) -> Float {
        var c = x < -87.3 ? -87.3 : x
        c = c > 88.3 ? 88.3 : c
        let shifted = c * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = c.addingProduct(n, -0.693_359_375)
        r = r.addingProduct(n, 2.121_944_4e-4)
        let r2 = r * r, r4 = r2 * r2
        let q0 = (1 as Float).addingProduct(r, 1), q1 = (0.5 as Float).addingProduct(r, 1.0 / 6)
        let q2 = (1.0 / 24 as Float).addingProduct(r, 1.0 / 120), q3 = (1.0 / 720 as Float).addingProduct(r, 1.0 / 5040)
        let p = q0.addingProduct(q1, r2).addingProduct(q2.addingProduct(q3, r2), r4)
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
        var r = c.addingProduct(n, -6.931_471_803_691_238_2e-1)
        r = r.addingProduct(n, -1.908_214_929_270_587_7e-10)
        let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
        let q0 = (1 as Double).addingProduct(r, 1), q1 = (0.5 as Double).addingProduct(r, 1.0 / 6)
        let q2 = (1.0 / 24 as Double).addingProduct(r, 1.0 / 120), q3 = (1.0 / 720 as Double).addingProduct(r, 1.0 / 5_040)
        let q4 = (1.0 / 40_320 as Double).addingProduct(r, 1.0 / 362_880)
        let q5 = (1.0 / 3_628_800 as Double).addingProduct(r, 1.0 / 39_916_800)
        let s0 = q0.addingProduct(q1, r2), s1 = q2.addingProduct(q3, r2), s2 = q4.addingProduct(q5, r2)
        let p = s0.addingProduct(s1, r4).addingProduct(s2, r8)
        let exponent = (Int64(bitPattern: shifted.bitPattern) &- 0x4338_0000_0000_0000 &+ 1023) &<< 52
        return p * Double(bitPattern: UInt64(bitPattern: exponent))
    }
}

extension Activation {
    /// Applies the activation to `count` values in place. tanh, sigmoid, hard_sigmoid, relu and linear run
    /// as vectorizable loops; the others use the scalar definitions of `apply`.
    @inline(__always)
    func applyFast<S: GRUScalar & PolynomialExp>(_ v: UnsafeMutablePointer<S>, count: Int, hardSigmoid: HardSigmoidDefinition) {
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

/// `PolynomialExp` on a whole AVX register, lane by lane the same operations in the same order, so a gate
/// computed here equals, bit for bit, the one the scalar loops compute.
protocol GateVector: SIMD where Scalar: GRUScalar & PolynomialExp {
    static func polynomialExp(_ x: Self) -> Self
}

extension SIMD8: GateVector where Scalar == Float {
    @inline(__always)
    static func polynomialExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var c = x.replacing(with: -87.3, where: x .< -87.3)
        c = c.replacing(with: 88.3, where: c .> 88.3)
        let shifted = c * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = c.addingProduct(n, SIMD8(repeating: -0.693_359_375))
        r = r.addingProduct(n, SIMD8(repeating: 2.121_944_4e-4))
        let r2 = r * r, r4 = r2 * r2
        let q0 = SIMD8<Float>(repeating: 1).addingProduct(r, 1), q1 = SIMD8<Float>(repeating: 0.5).addingProduct(r, 1.0 / 6)
        let q2 = SIMD8<Float>(repeating: 1.0 / 24).addingProduct(r, 1.0 / 120)
        let q3 = SIMD8<Float>(repeating: 1.0 / 720).addingProduct(r, 1.0 / 5040)
        let p = q0.addingProduct(q1, r2).addingProduct(q2.addingProduct(q3, r2), r4)
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }
}

extension SIMD4: GateVector where Scalar == Double {
    @inline(__always)
    static func polynomialExp(_ x: SIMD4<Double>) -> SIMD4<Double> {
        var c = x.replacing(with: -708, where: x .< -708)
        c = c.replacing(with: 709, where: c .> 709)
        let shifted = c * 1.442_695_040_888_963_4 + 6_755_399_441_055_744
        let n = shifted - 6_755_399_441_055_744
        var r = c.addingProduct(n, SIMD4(repeating: -6.931_471_803_691_238_2e-1))
        r = r.addingProduct(n, SIMD4(repeating: -1.908_214_929_270_587_7e-10))
        let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
        let q0 = SIMD4<Double>(repeating: 1).addingProduct(r, 1), q1 = SIMD4<Double>(repeating: 0.5).addingProduct(r, 1.0 / 6)
        let q2 = SIMD4<Double>(repeating: 1.0 / 24).addingProduct(r, 1.0 / 120)
        let q3 = SIMD4<Double>(repeating: 1.0 / 720).addingProduct(r, 1.0 / 5_040)
        let q4 = SIMD4<Double>(repeating: 1.0 / 40_320).addingProduct(r, 1.0 / 362_880)
        let q5 = SIMD4<Double>(repeating: 1.0 / 3_628_800).addingProduct(r, 1.0 / 39_916_800)
        let s0 = q0.addingProduct(q1, r2), s1 = q2.addingProduct(q3, r2), s2 = q4.addingProduct(q5, r2)
        let p = s0.addingProduct(s1, r4).addingProduct(s2, r8)
        let exponent = (unsafeBitCast(shifted, to: SIMD4<Int64>.self) &- 0x4338_0000_0000_0000 &+ 1023) &<< 52
        return p * unsafeBitCast(exponent, to: SIMD4<Double>.self)
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
            var y = x * slope + 0.5
            y = y.replacing(with: 0, where: y .< 0)
            return y.replacing(with: 1, where: y .> 1)
        case .relu:
            return x.replacing(with: 0, where: x .< 0)
        default:
            return x
        }
    }
}
