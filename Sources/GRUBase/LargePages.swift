#if canImport(Glibc)
import Glibc
#endif

/// Asks for 2 MB pages under a large buffer about to be written for the first time (an output tensor of
/// tens of MB): the kernel then takes one page fault per 2 MB instead of one per 4 KB while the buffer fills.
/// Only the 2 MB-aligned part inside the buffer is advised; where the system has no such pages, nothing changes.
public func adviseLargePages(_ start: UnsafeMutableRawPointer, bytes: Int) {
    #if canImport(Glibc)
    let huge = 2 << 20
    guard bytes >= 4 * huge else { return }
    let address = Int(bitPattern: start)
    let first = (address + huge - 1) / huge * huge, last = (address + bytes) / huge * huge
    guard last > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(aligned, last - first, MADV_HUGEPAGE)
    #endif
}
