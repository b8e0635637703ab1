import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A progress line on stderr for long runs: only when stderr is a terminal, never in pipes or CI logs,
/// never with --quiet, and only once a run has lasted two seconds.
final class ProgressLine: @unchecked Sendable {
    private let total: Int?
    private let enabled: Bool
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var printed = false
    private let lock = NSLock()

    init(total: Int?, quiet: Bool) {
        self.total = total
        let environment = ProcessInfo.processInfo.environment
        enabled = !quiet && isatty(2) == 1 && environment["CI"] == nil && environment["TERM"] != "dumb"
    }

    func update(_ done: Int) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= 2, now.timeIntervalSince(lastPrint) >= 0.25 else { return }
        lastPrint = now
        let rate = Double(done) / max(elapsed, 1e-9)
        var text = "gru-run: \(done)"
        if let total { text += "/\(total)" }
        text += " steps, \(Int(rate)) steps/s"
        if let total, rate > 0 { text += ", \(Int((Double(total - done) / rate).rounded(.up))) s left" }
        writeToStandardError("\r\u{1B}[K" + text)
        printed = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if printed { writeToStandardError("\r\u{1B}[K") }
        printed = false
    }
}
