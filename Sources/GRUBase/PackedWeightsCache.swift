import Synchronization

/// Holds a layer's packed weights once made, with the layout of the recurrent kernel they hold (the
/// candidate's columns apart for reset_after=False). One value is kept: a layer computes in one vector type.
package final class PackedWeightsCache: Sendable {
    private let value = Mutex<(candidateApart: Bool, packed: any Sendable)?>(nil)

    package init() {}

    package func get<Packed: Sendable>(candidateApart: Bool, _ make: () -> Packed) -> Packed {
        value.withLock { stored in
            if let stored, stored.candidateApart == candidateApart, let packed = stored.packed as? Packed { return packed }
            let packed = make()
            stored = (candidateApart, packed)
            return packed
        }
    }
}
