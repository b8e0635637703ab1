import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Descriptors 0, 1 and 2 as the process found them. A closed one is reopened on /dev/null at start, so
/// that no file gru-run opens later lands on it and is taken for standard input or output.
public enum StandardStreams {
    nonisolated(unsafe) public private(set) static var inputWasClosed = false
    nonisolated(unsafe) public private(set) static var outputWasClosed = false

    /// Standard input closed: reading it is refused. Standard output closed: writing it fails (EBADF).
    /// Standard error closed: messages are dropped, exit statuses stay.
    public static func secure() {
        for (descriptor, flags) in [(Int32(0), O_RDONLY), (1, O_RDONLY), (2, O_WRONLY)] {
            guard fcntl(descriptor, F_GETFD) < 0 && errno == EBADF else { continue }
            if descriptor == 0 { inputWasClosed = true }
            if descriptor == 1 { outputWasClosed = true }
            let opened = open("/dev/null", flags)
            if opened >= 0 && opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
    }
}

/// The size in bytes of the file at `path` (following links), or nil where it cannot be read: one stat call,
/// without the owner and group lookups that FileManager's attributes make.
public func fileSize(atPath path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Int(info.st_size)
}

/// Opens a file for reading (standard input for "-"), with gru-run's errors for a missing or unreadable file.
public func openForReading(_ path: String) throws -> Int32 {
    if path == "-" {
        if StandardStreams.inputWasClosed {
            throw GRUIOError.read(path: path, "it is closed; pipe CSV or .npy data in, or give --input FILE")
        }
        return 0
    }
    var info = stat()
    guard stat(path, &info) == 0 else {
        if errno == EACCES { throw GRUIOError.unreadable(path: path) }
        throw GRUIOError.missingFile(path: path)
    }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw GRUIOError.read(path: path, "it is a directory") }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        if errno == EACCES { throw GRUIOError.unreadable(path: path) }
        throw GRUIOError.read(path: path, String(cString: strerror(errno)))
    }
    return descriptor
}

/// Reads `count` bytes at `offset` of `descriptor` (pread, retried when interrupted): how many it read, fewer
/// only where the file ends; nil on a read error (errno says which).
func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) -> Int? {
    var done = 0
    while done < count {
        let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        done += n
    }
    return done
}

/// An input opened once. A regular file is read where it is needed (pread); standard input, pipes, FIFOs
/// and devices are read through the one descriptor, and the bytes read to tell the format are kept, so a
/// path such as /dev/stdin or <(command) reads exactly like a file.
public final class InputFile: @unchecked Sendable {
    public let path: String
    public let descriptor: Int32
    /// A regular file: its size is known and any part can be read again.
    public let isRegular: Bool
    public let size: Int
    /// Bytes of a stream already read and not yet handed on.
    private var buffered: [UInt8] = []
    /// A stream has ended. A terminal's end (Ctrl-D) is one empty read, not a lasting state: it is kept
    /// here, so that a reader going on with the descriptor does not wait for a second one.
    public private(set) var reachedEnd = false

    public init(path: String) throws {
        self.path = path
        descriptor = try openForReading(path)
        var info = stat()
        if fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG {
            isRegular = true
            size = Int(info.st_size)
        } else {
            isRegular = false
            size = 0
        }
    }

    deinit { if descriptor != 0 { close(descriptor) } }

    /// The first `count` bytes (fewer only at the end of the input); a stream keeps them for later reads.
    public func prefix(_ count: Int) throws -> [UInt8] {
        if isRegular {
            var bytes = [UInt8](repeating: 0, count: min(count, size))
            let filled = try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count, offset: 0) }
            return Array(bytes[0..<filled])
        }
        while buffered.count < count {
            let chunk = try readChunk(max: count - buffered.count)
            if chunk.isEmpty { break }
            buffered += chunk
        }
        return Array(buffered.prefix(count))
    }

    /// For a stream: the bytes already read, handed over once to a reader that goes on with the descriptor.
    public func takeBuffered() -> [UInt8] {
        defer { buffered = [] }
        return buffered
    }

    /// The whole input. Memory is checked before it is taken; `lineLimit` refuses text whose first line is
    /// longer (an endless stream without line breaks, such as /dev/zero, ends there).
    public func readAll(lineLimit: Int? = nil) throws -> [UInt8] {
        if isRegular {
            try MemoryBudget.reserve(size, for: "reading \(displayPath)")
            var bytes = [UInt8](repeating: 0, count: size)
            let filled = try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count, offset: 0) }
            if filled < size { bytes.removeSubrange(filled...) }
            if let lineLimit, !bytes.starts(with: NPYArray.magic) { try checkLines(bytes, limit: lineLimit) }
            return bytes
        }
        var bytes = takeBuffered()
        var sawNewline = bytes.contains { $0 == 0x0A || $0 == 0x0D }
        var nextCheck = 64 << 20
        while true {
            let chunk = try readChunk(max: 1 << 20)
            if chunk.isEmpty { return bytes }
            bytes += chunk
            if !sawNewline { sawNewline = chunk.contains { $0 == 0x0A || $0 == 0x0D } }
            if let lineLimit, !sawNewline, bytes.count > lineLimit, !bytes.starts(with: NPYArray.magic) {
                throw GRUIOError.csv(path: path, line: 1, "the line is longer than \(MemoryBudget.megabytes(lineLimit)) without a line break; is this CSV?")
            }
            if bytes.count >= nextCheck {
                try MemoryBudget.reserve(bytes.count * 2, for: "reading \(displayPath) into memory")
                nextCheck = bytes.count * 2
            }
        }
    }

    /// Refuses text with a line longer than `limit`, as the streaming reader does.
    private func checkLines(_ bytes: [UInt8], limit: Int) throws {
        var start = 0, line = 1
        while start < bytes.count {
            let end = bytes[start...].firstIndex { $0 == 0x0A || $0 == 0x0D } ?? bytes.count
            if end - start > limit {
                throw GRUIOError.csv(path: path, line: line, "the line is longer than \(MemoryBudget.megabytes(limit)) without a line break; is this CSV?")
            }
            start = end + 1
            line += 1
        }
    }

    /// Reads `count` bytes at `offset` of a regular file; returns how many the file held.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) throws -> Int {
        guard let done = readFully(descriptor, into: buffer, count: count, offset: offset) else {
            throw GRUIOError.read(path: path, String(cString: strerror(errno)))
        }
        return done
    }

    private func readChunk(max: Int) throws -> [UInt8] {
        if reachedEnd { return [] }
        var chunk = [UInt8](repeating: 0, count: max)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw GRUIOError.read(path: path, String(cString: strerror(errno))) }
            if n == 0 { reachedEnd = true }
            return Array(chunk[0..<n])
        }
    }

    var displayPath: String { path == "-" ? "standard input" : path }
}

/// Reads a whole file, or standard input when `path` is "-".
public func readWholeFile(_ path: String) throws -> [UInt8] {
    try InputFile(path: path).readAll()
}
