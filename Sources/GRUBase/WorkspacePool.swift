import Synchronization

/// Buffers of earlier passes, kept by a layer so the next pass of the same sizes allocates nothing. A pass
/// takes one out (passes running at once each get their own) and gives it back when done.
package final class WorkspacePool: Sendable {
    private let kept = Mutex<[AnyObject & Sendable]>([])
    /// Workspaces kept at most; the oldest goes first.
    private static let limit = 2

    package init() {}

    /// A kept workspace of type `W` that `fits`, taken out of the pool; nil when there is none.
    package func take<W: AnyObject & Sendable>(_ type: W.Type, where fits: (W) -> Bool) -> W? {
        kept.withLock { list in
            guard let index = list.firstIndex(where: { ($0 as? W).map(fits) ?? false }) else { return nil }
            return list.remove(at: index) as? W
        }
    }

    package func give(_ workspace: AnyObject & Sendable) {
        kept.withLock { list in
            list.append(workspace)
            if list.count > WorkspacePool.limit { list.removeFirst() }
        }
    }
}
