import GRUCore

// The numbers a layer's config gives are checked here, where they enter (each layer's init), or as soon as
// the input's rank is known: release builds skip bounds checks, so nothing later may trust them.

/// Throws unless `value` is at least 1: a size, stride, dilation or count.
func requirePositive(_ value: Int, _ key: String, layer: String) throws {
    guard value >= 1 else { throw GRUModelError.config(layer: layer, "its \(key) \(value) is below 1") }
}

/// The product of `factors`, or nil when it overflows `Int`.
func checkedProduct(_ factors: [Int]) -> Int? {
    var product = 1
    for factor in factors {
        let (next, overflow) = product.multipliedReportingOverflow(by: factor)
        if overflow { return nil }
        product = next
    }
    return product
}

/// A window's extent `dilation * (size - 1) + 1`, both checked to be at least 1, the extent below 2^31 steps
/// (far past any input that fits in memory with its channels) so that no position computed from it overflows.
func windowExtent(size: Int, dilation: Int, sizeKey: String, dilationKey: String, layer: String) throws -> Int {
    try requirePositive(size, sizeKey, layer: layer)
    try requirePositive(dilation, dilationKey, layer: layer)
    let (spread, overflow) = dilation.multipliedReportingOverflow(by: size - 1)
    guard !overflow, spread < Int(Int32.max) else {
        throw GRUModelError.config(layer: layer, "its \(dilationKey) \(dilation) with \(sizeKey) \(size) spans 2^31 steps or more, which gru-run does not run")
    }
    return spread + 1
}

/// An axis as a config states it (negative counts from the end), resolved against an input of `shape`;
/// `lowest` is 0 where the batch axis may be named (Softmax), 1 where it may not.
func resolvedAxis(_ axis: Int, key: String = "axis", shape: [Int], lowest: Int = 1, layer: String) throws -> Int {
    let rank = shape.count
    let positive = axis < 0 ? axis + rank : axis
    guard positive >= lowest, positive < rank else {
        let why = positive == 0 ? "the batch axis" : "outside an input of shape \(describe(shape))"
        throw GRUModelError.shape(layer: layer, "its \(key) \(axis) is \(why)")
    }
    return positive
}

/// Asks the memory check for an output of `factors` values multiplied, and gives that count: the product
/// is checked for overflow first, so a size made from config numbers cannot wrap round to a small one.
func reserveOutput<S>(_ factors: Int..., of type: S.Type, layer: String) throws -> Int {
    let count = factors.allSatisfy({ $0 >= 0 }) ? checkedProduct(factors) : nil
    guard let count else {
        // More bytes than an Int counts: the memory check refuses it as memory (exit 71) when it is installed.
        if factors.allSatisfy({ $0 >= 0 }) { try reserve(Int.max, of: type, layer: layer) }
        throw GRUModelError.shape(layer: layer, "its output of \(factors.map(String.init).joined(separator: " x ")) values is larger than any memory")
    }
    try reserve(count, of: type, layer: layer)
    return count
}

/// An output array of `count` values that the caller writes in full before anything reads it: not zeroed
/// first (zeroing a large output costs a pass over memory on one thread), on 2 MB pages where it is large.
func unfilledOutput<S: GRUScalar>(_ count: Int, _ fill: (UnsafeMutablePointer<S>) throws -> Void) rethrows -> [S] {
    try [S](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let base = buffer.baseAddress {
            adviseLargePages(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<S>.stride)
            try fill(base)
        }
        initialized = count
    }
}

/// `x` taken as rows of `width` values, each made into the output's row at the same place by `row(input,
/// output, first, second)`, where `first` and `second` hold a parameter per position of a row: the rows shared
/// among threads, the output not zeroed first (`row` writes all of it).
func mapRows<S: GRUScalar>(_ x: [S], width: Int, _ first: [Double], _ second: [Double], threads: Int,
                           _ row: @escaping @Sendable (UnsafePointer<S>, UnsafeMutablePointer<S>, UnsafePointer<Double>, UnsafePointer<Double>) -> Void) -> [S] {
    precondition(first.count == width && second.count == width)
    let rows = width > 0 ? x.count / width : 0
    return x.withUnsafeBufferPointer { xs in
        first.withUnsafeBufferPointer { fs in
            second.withUnsafeBufferPointer { ss in
                unfilledOutput(x.count) { (out: UnsafeMutablePointer<S>) in
                    let (input, output) = (Int(bitPattern: xs.baseAddress), Int(bitPattern: out))
                    let (firsts, seconds) = (Int(bitPattern: fs.baseAddress), Int(bitPattern: ss.baseAddress))
                    parallelRows(rows, threads: threads, minimumPerThread: max(1, 16_384 / max(1, width))) { range in
                        guard let x = UnsafePointer<S>(bitPattern: input), let y = UnsafeMutablePointer<S>(bitPattern: output),
                              let f = UnsafePointer<Double>(bitPattern: firsts), let s = UnsafePointer<Double>(bitPattern: seconds) else { return }
                        for r in range { row(x + r * width, y + r * width, f, s) }
                    }
                }
            }
        }
    }
}
