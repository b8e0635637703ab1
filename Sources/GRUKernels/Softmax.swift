import GRUBase

extension Kernels {
    /// Softmax in place over each of `rows` rows of `n` contiguous values, the largest subtracted first as Keras
    /// does; exponentials in the scalar type (the GRU's polynomial), their sum in Double in eight interleaved
    /// partial sums, each value scaled by the sum's reciprocal in Double, a subnormal result made 0. A NaN is passed over by the maximum
    /// but makes the sum NaN, so its whole row comes out NaN as in Keras.
    package static func softmaxRows<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, rows: Int, n: Int) {
        precondition(n > 0)
        if S.self == Float.self {
            let f = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self)
            for r in 0..<rows { softmax(f + r * n, n, FloatVector.self) }
        } else {
            let d = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self)
            for r in 0..<rows { softmax(d + r * n, n, DoubleVector.self) }
        }
    }

    @inline(__always)
    private static func softmax<V: GateVector>(_ p: UnsafeMutablePointer<V.Scalar>, _ n: Int, _ vector: V.Type) where V.Scalar: PolynomialExp {
        typealias S = V.Scalar
        let largest = S.self == Float.self
            ? S(largestFloat(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), n))
            : S(largestDouble(UnsafeRawPointer(p).assumingMemoryBound(to: Double.self), n))
        for j in 0..<n {
            let x = p[j] - largest
            p[j] = x != x ? x : S.polynomialExp(x)
        }
        let sum = doubleSum(p, n)
        // Below the smallest normal number a weight is 0, as TensorFlow (which flushes subnormals to zero)
        // gives it: a score far below the row's largest (a masked score minus 1e9) weighs nothing, and no
        // subnormal slows the products that read the weights.
        if S.self == Float.self {
            scaleFloats(UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self), n, 1 / sum)
        } else {
            scaleDoubles(UnsafeMutableRawPointer(p).assumingMemoryBound(to: Double.self), n, 1 / sum)
        }
    }
}

/// The sum of `n` values in Double, in eight interleaved partial sums, then the rest in order.
@inline(__always)
func doubleSum<T: GRUScalar>(_ p: UnsafePointer<T>, _ n: Int) -> Double {
    var partial = SIMD8<Double>()
    var i = 0
    while i + 8 <= n {
        partial += SIMD8(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3]),
                         Double(p[i + 4]), Double(p[i + 5]), Double(p[i + 6]), Double(p[i + 7]))
        i += 8
    }
    var sum = partial.sum()
    while i < n {
        sum += Double(p[i])
        i += 1
    }
    return sum
}

/// `p[j] = Float(Double(p[j]) * scale)`, 0 where that is below the smallest normal Float, eight at a time.
@inline(__always)
private func scaleFloats(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ scale: Double) {
    let factor = SIMD8<Double>(repeating: scale), smallest = SIMD8<Float>(repeating: .leastNormalMagnitude)
    var i = 0
    while i + 8 <= n {
        var weight = SIMD8<Float>(SIMD8<Double>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)) * factor)
        weight.replace(with: 0, where: weight .< smallest)
        UnsafeMutableRawPointer(p + i).storeBytes(of: weight, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        let weight = Float(Double(p[i]) * scale)
        p[i] = weight < .leastNormalMagnitude ? 0 : weight
        i += 1
    }
}

/// `p[j] *= scale`, 0 where that is below the smallest normal Double, eight at a time.
@inline(__always)
private func scaleDoubles(_ p: UnsafeMutablePointer<Double>, _ n: Int, _ scale: Double) {
    let factor = SIMD8<Double>(repeating: scale), smallest = SIMD8<Double>(repeating: .leastNormalMagnitude)
    var i = 0
    while i + 8 <= n {
        var weight = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Double>.self) * factor
        weight.replace(with: 0, where: weight .< smallest)
        UnsafeMutableRawPointer(p + i).storeBytes(of: weight, as: SIMD8<Double>.self)
        i += 8
    }
    while i < n {
        let weight = p[i] * scale
        p[i] = weight < .leastNormalMagnitude ? 0 : weight
        i += 1
    }
}

/// The largest of `n` values, NaN passed over, a register at a time (a lane keeps its value where the new one
/// is not larger), then across the lanes and the tail in order. On the concrete vector types, whose lane
/// comparisons compile to one compare and blend.
@inline(__always)
private func largestFloat(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    let lanes = FloatVector.scalarCount
    guard n >= lanes else { return (1..<n).reduce(p[0]) { p[$1] > $0 ? p[$1] : $0 } }
    var m = UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self), i = lanes
    while i + lanes <= n {
        let x = UnsafeRawPointer(p + i).loadUnaligned(as: FloatVector.self)
        m.replace(with: x, where: x .> m)
        i += lanes
    }
    var largest = m[0]
    for j in 1..<lanes { largest = m[j] > largest ? m[j] : largest }
    for j in i..<n { largest = p[j] > largest ? p[j] : largest }
    return largest
}

@inline(__always)
private func largestDouble(_ p: UnsafePointer<Double>, _ n: Int) -> Double {
    let lanes = DoubleVector.scalarCount
    guard n >= lanes else { return (1..<n).reduce(p[0]) { p[$1] > $0 ? p[$1] : $0 } }
    var m = UnsafeRawPointer(p).loadUnaligned(as: DoubleVector.self), i = lanes
    while i + lanes <= n {
        let x = UnsafeRawPointer(p + i).loadUnaligned(as: DoubleVector.self)
        m.replace(with: x, where: x .> m)
        i += lanes
    }
    var largest = m[0]
    for j in 1..<lanes { largest = m[j] > largest ? m[j] : largest }
    for j in i..<n { largest = p[j] > largest ? p[j] : largest }
    return largest
}
