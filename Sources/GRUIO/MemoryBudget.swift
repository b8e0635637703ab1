import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What this process may still allocate, so that a large request is refused with a sentence before it is
/// made: Swift ends a process whose allocation fails with a crash report, not an error.
public enum MemoryBudget {
    /// Requests below this are not checked: the runtime's own slack covers them.
    static let unchecked = 16 << 20
    /// Left free for the runtime, the thread stacks and libhdf5's own buffers.
    static let headroom = 32 << 20

    /// The bytes that may still be allocated and the limit that decides it: the address-space limit
    /// (`ulimit -v`) less what is mapped now, the cgroup's memory.max less its usage (at every level of
    /// the hierarchy), and the machine's MemAvailable.
    public static func available() -> (bytes: Int, limit: String) {
        var best = (bytes: Int.max, limit: "the machine's available memory")
        func consider(_ bytes: Int?, _ limit: String) {
            if let bytes, bytes < best.bytes { best = (max(0, bytes), limit) }
        }
        var rlim = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rlim) == 0, rlim.rlim_cur != rlim_t.max,
           let mapped = procField("/proc/self/status", "VmSize:") {
            consider(Int(clamping: rlim.rlim_cur) - mapped, "the address-space limit (ulimit -v)")
        }
        consider(cgroupRoom(), "the cgroup's memory limit (memory.max)")
        consider(procField("/proc/meminfo", "MemAvailable:"), "the machine's available memory")
        return (best.bytes == Int.max ? Int.max : max(0, best.bytes - headroom), best.limit)
    }

    /// Throws a sentence when `bytes` more cannot be allocated; `what` says what they are for.
    public static func reserve(_ bytes: Int, for what: @autoclosure () -> String) throws {
        guard bytes > unchecked else { return }
        let (room, limit) = available()
        guard bytes > room else { return }
        throw GRUIOError.memory("\(what()) needs \(megabytes(bytes)) of memory, but only \(megabytes(room)) can be had under \(limit)")
    }

    /// `a * b * c ...` bytes, saturating instead of overflowing.
    public static func bytes(_ factors: Int...) -> Int {
        factors.reduce(1) { $0.saturatingMultiply(max(0, $1)) }
    }

    static func megabytes(_ bytes: Int) -> String {
        bytes >= 10 << 30 ? "\(bytes >> 30) GB" : "\((bytes + (1 << 20) - 1) >> 20) MB"
    }

    /// A "Name:   123 kB" field of a /proc file, in bytes.
    private static func procField(_ file: String, _ name: String) -> Int? {
        guard let text = readSmallFile(file) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = Int(fields[1]) else { return nil }
            return fields.count > 2 && fields[2] == "kB" ? value << 10 : value
        }
        return nil
    }

    /// The least room under memory.max along this process's cgroup (v2) path, or under the v1 limit.
    private static func cgroupRoom() -> Int? {
        guard let text = readSmallFile("/proc/self/cgroup") else { return nil }
        var room: Int?
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            var group = String(line.dropFirst(3))
            while true {
                let base = "/sys/fs/cgroup" + (group == "/" ? "" : group)
                if let max = readSmallFile(base + "/memory.max").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                   let current = readSmallFile(base + "/memory.current").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    room = min(room ?? .max, max - current)
                }
                if group == "/" || group.isEmpty { break }
                group = (group as NSString).deletingLastPathComponent
            }
        }
        if room == nil, let limit = readSmallFile("/sys/fs/cgroup/memory/memory.limit_in_bytes").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           let usage = readSmallFile("/sys/fs/cgroup/memory/memory.usage_in_bytes").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           limit < 1 << 60 {
            room = limit - usage
        }
        return room
    }

    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 16 << 10)
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
        }
        return String(decoding: bytes[0..<filled], as: UTF8.self)
    }
}
