import GRUBase

/// Splits `count` independent rows among up to `threads` threads (the caller's among them) and returns when
/// every row is done: for the layers whose rows need no product (softmax over rows, normalizations).
public func parallelRows(_ count: Int, threads: Int, minimumPerThread: Int = 64, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let team = max(1, min(threads, count / max(1, minimumPerThread)))
    guard team > 1 else {
        body(0..<count)
        return
    }
    runTeam(team) { index, size in
        body((count * index / size)..<(count * (index + 1) / size))
    }
}
