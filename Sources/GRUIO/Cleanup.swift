import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The temporary files gru-run has made and not yet renamed into place. They are removed however the
/// process ends: a refusal, SIGINT, SIGTERM or SIGHUP (then the exit status is 128 + the signal, as a
/// shell reports it), or a fault caught by the HDF5 guard.
public enum Cleanup {
    static let capacity = 64

    /// Remembers `path` until `forget`; returns its slot (nil when every slot is taken: the file is then
    /// only removed by the code that made it).
    public static func remember(_ path: String) -> Int? {
        let slots = cleanupSlots
        var blocked = sigset_t(), previous = sigset_t()
        sigfillset(&blocked)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        for slot in 0..<capacity where slots[slot] == nil {
            slots[slot] = strdup(path)
            return slot
        }
        return nil
    }

    public static func forget(_ slot: Int?) {
        guard let slot else { return }
        var blocked = sigset_t(), previous = sigset_t()
        sigfillset(&blocked)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        free(cleanupSlots[slot])
        cleanupSlots[slot] = nil
    }

    /// Removes every remembered file (and folder, once empty); safe inside a signal handler.
    public static func removeAll() {
        let slots = cleanupSlots
        for slot in 0..<capacity {
            if let path = slots[slot] {
                if unlink(path) != 0 { rmdir(path) }
            }
        }
    }

    /// SIGINT, SIGTERM and SIGHUP remove the temporary files and end the process with 128 + the signal.
    public static func installSignalHandlers() {
        _ = cleanupSlots
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            // A signal the caller ignores stays ignored (nohup, a background job of a script).
            var current = sigaction()
            sigaction(signal, nil, &current)
            if let handler = current.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) == 1 { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                Cleanup.removeAll()
                _exit(128 + signal)
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}

// Read by signal handlers: a fixed block of C strings, made once before any handler is installed.
nonisolated(unsafe) private let cleanupSlots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: Cleanup.capacity)
    slots.initialize(repeating: nil, count: Cleanup.capacity)
    return slots
}()
