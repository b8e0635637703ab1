/// Compares `actual` with Keras's `expected` within an absolute tolerance. Returns nil when every value
/// is within `tolerance` (NaN matches only NaN), else a message naming the first failing position in
/// `shape`'s index space, the value found, the value expected, and the largest error.
public func mismatch(_ actual: [Double], _ expected: [Double], shape: [Int], tolerance: Double,
                     context: String) -> String? {
    guard actual.count == expected.count else {
        return "\(context): \(actual.count) values, expected \(expected.count) (shape \(shape))"
    }
    var first: Int?
    var worst = 0.0
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        if a.isNaN && e.isNaN { continue }
        let error = abs(a - e)
        if !(error <= tolerance) {
            if first == nil { first = i }
        }
        if error > worst || error.isNaN { worst = error.isNaN ? .infinity : error }
    }
    guard let index = first else { return nil }
    return "\(context): at \(position(index, shape: shape)) got \(actual[index]), expected \(expected[index]) "
        + "(tolerance \(tolerance), max abs error \(worst))"
}

/// The largest absolute difference, for reporting.
public func maxAbsError(_ actual: [Double], _ expected: [Double]) -> Double {
    zip(actual, expected).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// A flat index as `[i, j, k]` in a row-major shape.
public func position(_ flat: Int, shape: [Int]) -> String {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return "[" + index.map(String.init).joined(separator: ", ") + "]"
}
