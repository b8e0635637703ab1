import GRUCore

/// Runs `body` once on each kernel build this processor runs (GRUKernelSet.supported), then restores the
/// build that was active.
public func forEachKernelSet(_ body: (GRUKernelSet) throws -> Void) rethrows {
    let before = GRUKernelSet.active
    defer { GRUKernelSet.active = before }
    for set in GRUKernelSet.supported {
        GRUKernelSet.active = set
        try body(set)
    }
}
