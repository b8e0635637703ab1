import Synchronization

/// Holds a layer's packed weights once made. A layer computes in one vector type, so one value is kept.
package final class PackedWeightsCache: Sendable {
    private let value = Mutex<(any Sendable)?>(nil)

    package init() {}

    package func get<Packed: Sendable>(candidateApart: Bool, _ make: () -> Packed) -> Packed where Packed: CandidateLayout {
        value.withLock { stored in
            if let packed = stored as? Packed, packed.candidateApart == candidateApart { return packed }
            let packed = make()
            stored = packed
            return packed
        }
    }
}

/// What the cache asks of the packed weights it keeps: which layout of the recurrent kernel they hold.
package protocol CandidateLayout {
    var candidateApart: Bool { get }
}
