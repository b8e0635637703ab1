#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// libhdf5 trusts the structure of the files it reads: a damaged file can make it read out of bounds or
/// loop forever inside the library. While a file is read under this guard, such a fault or a read that
/// outlasts its time limit ends the process with one sentence on stderr and status 65, instead of a crash
/// report or a hang. It suits a command-line process; a library caller that keeps running should not use it.
public enum HDF5Guard {
    /// Runs `body`, the reading of `path`, under the guard.
    public static func reading<T>(_ path: String, _ body: () throws -> T) throws -> T {
        // Inside a guarded read (a weight read on demand while the file's load is guarded) the outer guard holds.
        if depth > 0 { return try body() }
        depth += 1
        defer { depth -= 1 }
        let size = fileSize(atPath: path) ?? 0
        // A healthy file parses in a small fraction of these. The CPU-time limit catches a loop inside the
        // library whatever the storage or the machine's load; the far longer wall-clock limit catches a read
        // that blocks, while leaving slow disks and network storage their time.
        let cpu = 2_000 + size / (50 << 20) * 1_000
        let wall = 60_000 + size / (1 << 20) * 1_000
        let message = "gru-run: \(path) is damaged: libhdf5 failed while reading it.\n"
        let timeout = "gru-run: \(path) is damaged: libhdf5 did not finish reading it within its time limit.\n"
        install(message, timeout)
        setTimer(ITIMER_PROF, cpu)
        setTimer(ITIMER_REAL, wall)
        defer {
            setTimer(ITIMER_PROF, 0)
            setTimer(ITIMER_REAL, 0)
            restore()
        }
        return try body()
    }

    /// Runs `body`, gru-run's own work inside a guarded read (parsing a large model config), with the
    /// guard's clocks stopped: the time limits are for libhdf5 alone.
    public static func paused<T>(_ body: () throws -> T) rethrows -> T {
        var cpu = itimerval(), wall = itimerval(), stopped = itimerval()
        setitimer(Int32(ITIMER_PROF.rawValue), &stopped, &cpu)
        setitimer(Int32(ITIMER_REAL.rawValue), &stopped, &wall)
        defer {
            setitimer(Int32(ITIMER_PROF.rawValue), &cpu, nil)
            setitimer(Int32(ITIMER_REAL.rawValue), &wall, nil)
        }
        return try body()
    }

    private static func setTimer(_ which: __itimer_which, _ milliseconds: Int) {
        var timer = itimerval()
        timer.it_value.tv_sec = milliseconds / 1000
        timer.it_value.tv_usec = (milliseconds % 1000) * 1000
        setitimer(Int32(which.rawValue), &timer, nil)
    }

    private static var saved: [Int32: sigaction] = [:]
    /// Guarded reads under way (reads happen on the main thread, one file at a time).
    private static var depth = 0
    private static let faults: [Int32] = [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGALRM, SIGPROF]

    private static func install(_ message: String, _ timeout: String) {
        guardMessage = strdup(message)
        guardMessageLength = strlen(message)
        timeoutMessage = strdup(timeout)
        timeoutMessageLength = strlen(timeout)
        if alternateStack == nil {
            let size = 1 << 16
            alternateStack = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            var stack = stack_t(ss_sp: alternateStack, ss_flags: 0, ss_size: size)
            sigaltstack(&stack, nil)
        }
        for signal in faults {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                let timedOut = signal == SIGALRM || signal == SIGPROF
                let text = timedOut ? timeoutMessage : guardMessage
                let length = timedOut ? timeoutMessageLength : guardMessageLength
                if let text { _ = write(2, text, length) }
                Cleanup.removeAll()
                _exit(65)
            }
            action.sa_flags = SA_ONSTACK
            sigemptyset(&action.sa_mask)
            var previous = sigaction()
            sigaction(signal, &action, &previous)
            saved[signal] = previous
        }
    }

    private static func restore() {
        for (signal, previous) in saved {
            var action = previous
            sigaction(signal, &action, nil)
        }
        saved = [:]
    }
}

// Read by the signal handler, which may only call async-signal-safe functions.
nonisolated(unsafe) private var guardMessage: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var guardMessageLength = 0
nonisolated(unsafe) private var timeoutMessage: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var timeoutMessageLength = 0
nonisolated(unsafe) private var alternateStack: UnsafeMutableRawPointer?
