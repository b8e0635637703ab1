import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Opens a file for reading (standard input for "-"), with gru-run's errors for a missing or unreadable file.
public func openForReading(_ path: String) throws -> Int32 {
    if path == "-" { return 0 }
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

/// Reads up to `count` bytes from a descriptor (fewer only at its end).
public func readPrefix(descriptor: Int32, count: Int, path: String) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, count - filled) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw GRUIOError.read(path: path, String(cString: strerror(errno))) }
        if n == 0 { break }
        filled += n
    }
    return Array(bytes[0..<filled])
}

/// Reads the rest of a descriptor after `prefix`.
public func readRemaining(descriptor: Int32, after prefix: [UInt8], path: String) throws -> [UInt8] {
    var bytes = prefix
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw GRUIOError.read(path: path, String(cString: strerror(errno))) }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

/// Reads a whole file, or standard input when `path` is "-".
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let descriptor = try openForReading(path)
    defer { if descriptor != 0 { close(descriptor) } }
    return try readRemaining(descriptor: descriptor, after: [], path: path)
}

/// The first `count` bytes of a file (fewer if it is shorter), with the usual missing / unreadable errors.
public func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
    let descriptor = try openForReading(path)
    defer { if descriptor != 0 { close(descriptor) } }
    return try readPrefix(descriptor: descriptor, count: count, path: path)
}

/// Writes `bytes` to `path` so that a reader never sees a half-written file and a failure leaves an
/// existing file untouched: the bytes go to a temporary file beside the target, renamed over it on success.
/// Devices and pipes (/dev/stdout, /dev/full, FIFOs) are written directly. "-" is standard output.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let writer = try AtomicFileWriter(path: path)
    try writer.write(bytes)
    try writer.commit()
}

/// Thrown when standard output is a closed pipe: the reader has gone, and the run ends quietly.
public struct BrokenPipe: Error {}

func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, min(bytes.count - offset, 1 << 20)) }
        if written < 0 {
            if errno == EINTR { continue }
            if errno == EPIPE { throw BrokenPipe() }
            let reason = errno == ENOSPC ? "the device is full" : String(cString: strerror(errno))
            throw GRUIOError.write(path: path == "-" ? "standard output" : path, reason)
        }
        offset += written
    }
}

private func currentUmask() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return mask
}

/// Writes a file in pieces to a temporary file beside it, renamed over the target by `commit()`; until then
/// (and after `abort()`) an existing file is untouched. Standard output ("-") is written straight through.
public final class AtomicFileWriter {
    private let path: String
    private let descriptor: Int32
    private let temporary: String?
    private var finished = false

    public init(path: String) throws {
        self.path = path
        var info = stat()
        if path == "-" {
            descriptor = 1
            temporary = nil
            return
        }
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw GRUIOError.write(path: path, "it is a directory") }
            descriptor = open(path, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw GRUIOError.write(path: path, String(cString: strerror(errno))) }
            temporary = nil
            return
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var template = Array((directory + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw GRUIOError.write(path: path, "its folder \(directory) is not writable (\(String(cString: strerror(errno))))")
        }
        temporary = String(cString: template)
    }

    public func write(_ bytes: [UInt8]) throws {
        do {
            try writeAll(bytes, to: descriptor, path: path)
        } catch {
            abort()
            throw error
        }
    }

    public func commit() throws {
        guard !finished else { return }
        finished = true
        guard let temporary else {
            if descriptor > 2 { close(descriptor) }
            return
        }
        defer { close(descriptor) }
        fchmod(descriptor, 0o644 & ~currentUmask())  // mkstemp makes 0600; a new file should look like any other
        guard fsync(descriptor) == 0 || errno == EINVAL, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw GRUIOError.write(path: path, reason)
        }
    }

    public func abort() {
        guard !finished else { return }
        finished = true
        if let temporary {
            close(descriptor)
            unlink(temporary)
        } else if descriptor > 2 {
            close(descriptor)
        }
    }

    deinit { abort() }
}
