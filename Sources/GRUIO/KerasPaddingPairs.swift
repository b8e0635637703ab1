/// `padding` / `cropping` of ZeroPadding1D/2D and Cropping1D/2D as Keras writes them: one integer for every
/// side, or per axis an integer (both sides) or a pair (before, after). For one axis, a pair is the axis's
/// (before, after); for two, `[a, b]` is (a, a), (b, b) and `[[t, b], [l, r]]` gives each side.
/// Returns nil for anything else, or for numbers that are not integers well inside `Int`.
func kerasPaddingPairs(_ value: JSONValue?, axes: Int, default fallback: Int) -> [(before: Int, after: Int)]? {
    func pair(_ value: JSONValue) -> (Int, Int)? {
        if let n = value.wholeNumber { return (n, n) }
        guard let list = value.array, list.count == 2, let a = list[0].wholeNumber, let b = list[1].wholeNumber else { return nil }
        return (a, b)
    }
    switch value {
    case .none, .some(.null):
        return Array(repeating: (fallback, fallback), count: axes)
    case .some(.number):
        return pair(value!).map { Array(repeating: $0, count: axes) }
    case .some(.array(let list)):
        if axes == 1 { return pair(.array(list)).map { [$0] } }
        guard list.count == axes else { return nil }
        let pairs = list.compactMap(pair)
        return pairs.count == axes ? pairs.map { (before: $0.0, after: $0.1) } : nil
    default:
        return nil
    }
}
