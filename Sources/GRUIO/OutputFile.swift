import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `bytes` to `path` so that a reader never sees a half-written file and a failure leaves an
/// existing file untouched (see `AtomicFileWriter`).
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let writer = try AtomicFileWriter(path: path)
    try writer.write(bytes)
    try writer.commit()
}

/// Thrown when standard output is a closed pipe: the reader has gone. `discarded` names the other outputs
/// of the run, which were then not written.
public struct BrokenPipe: Error {
    public var discarded: [String] = []
    public init(discarded: [String] = []) { self.discarded = discarded }
}

func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, min(bytes.count - offset, 1 << 20))
        if written < 0 {
            if errno == EINTR { continue }
            if errno == EPIPE { throw BrokenPipe() }
            let reason = errno == ENOSPC ? "the device is full" : String(cString: strerror(errno))
            throw GRUIOError.write(path: path == "-" ? "standard output" : path, reason)
        }
        offset += written
    }
}

/// The file mode a new file gets: 0666 less the umask, as `creat` would make it.
private func newFileMode() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return 0o666 & ~mask
}

/// Writes an output so that it appears whole or not at all. A regular file (new or existing) is written to a
/// file in the same folder that has no name (Linux's O_TMPFILE; where the file system has none, a temporary
/// `.NAME.tmp-*`) and renamed over the target by `commit()`; until then (and after `abort()`, a refusal, a
/// signal, or a crash or SIGKILL when the file has no name) an existing file is untouched and no temporary
/// file stays behind. The
/// replaced file keeps its permission bits. A symbolic link is written through: the link stays and its
/// target is replaced. Standard output ("-", /dev/stdout, /dev/fd/N), character devices and FIFOs are
/// written in place, as they are (`isDirect`).
public final class AtomicFileWriter {
    public let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let temporary: String?
    private let target: String
    private let mode: mode_t
    private let owner: (uid_t, gid_t)?
    private var cleanupSlot: Int?
    private var finished = false
    /// The bytes go to an O_TMPFILE file (`temporary` then holds the prefix of the name it is linked to).
    private var isUnnamed = false
    /// The bytes of an output kept in memory (`init(inMemory:)`).
    public private(set) var memory: [UInt8]?

    /// Whether the bytes go straight to their destination (standard output, a device, a FIFO).
    public var isDirect: Bool { temporary == nil }

    /// Whether this is the process's standard output, which a reader can close under it.
    public var isStandardOutput: Bool { descriptor == 1 && !ownsDescriptor }

    /// An output kept in memory, `name` naming it in messages: nothing touches the file system.
    public init(inMemory name: String) {
        (path, descriptor, ownsDescriptor, temporary, target, mode, owner) = (name, -1, false, nil, name, 0, nil)
        memory = []
    }

    public init(path: String) throws {
        self.path = path
        if let standard = try Self.openDescriptor(path) {
            (descriptor, ownsDescriptor, temporary, target, mode, owner) = (standard, false, nil, path, 0, nil)
            return
        }
        let resolved = try Self.resolveLinks(path)
        target = resolved
        var info = stat()
        let exists = stat(resolved, &info) == 0
        if exists && (info.st_mode & S_IFMT) == S_IFDIR { throw GRUIOError.write(path: path, "it is a directory") }
        if exists && (info.st_mode & S_IFMT) != S_IFREG {
            descriptor = open(resolved, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw GRUIOError.write(path: path, String(cString: strerror(errno))) }
            (ownsDescriptor, temporary, mode, owner) = (true, nil, 0, nil)
            return
        }
        mode = exists ? info.st_mode & 0o7777 : newFileMode()
        owner = exists ? (info.st_uid, info.st_gid) : nil
        let url = URL(fileURLWithPath: resolved)
        let directory = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw GRUIOError.write(path: path, "its folder \(directory) does not exist")
        }
        // The temporary name stays within the 255-byte limit however long the output's name is.
        var stem = Array(url.lastPathComponent.utf8.prefix(200))
        while let last = stem.last, last & 0xC0 == 0x80 || last >= 0xC0 { stem.removeLast() }
        let base = directory + "/." + String(decoding: stem, as: UTF8.self) + ".tmp-"
        // Linux: a file with no name until `commit()`, so that no crash or SIGKILL can leave one behind.
        if let unnamed = Self.openUnnamed(in: directory) {
            (descriptor, ownsDescriptor, temporary) = (unnamed, true, base)
            isUnnamed = true
            return
        }
        var template = Array((base + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard made >= 0 else {
            throw GRUIOError.write(path: path, "its folder \(directory) is not writable (\(String(cString: strerror(errno))))")
        }
        descriptor = made
        ownsDescriptor = true
        let name = String(cString: template)
        temporary = name
        cleanupSlot = Cleanup.remember(name)
    }

    /// An O_TMPFILE file in `directory`, or nil where the kernel or the file system has none (the named
    /// temporary is used then), or /proc, which `commit()` links it through, is not mounted.
    private static func openUnnamed(in directory: String) -> Int32? {
        #if os(Linux)
        guard access("/proc/self/fd", X_OK) == 0 else { return nil }
        let tmpfile: Int32 = 0o20000000 | O_DIRECTORY  // O_TMPFILE, a macro Swift does not import
        let made = open(directory, tmpfile | O_WRONLY | O_CLOEXEC, 0o600)
        return made >= 0 ? made : nil
        #else
        return nil
        #endif
    }

    /// Gives the unnamed file a name: linked to a fresh temporary name (linkat cannot replace a file), which
    /// is renamed over the target at once; the name exists only between the two calls.
    private func linkUnnamed(prefix: String) -> Bool {
        for _ in 0..<100 {
            let name = prefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let slot = Cleanup.remember(name)
            defer { Cleanup.forget(slot) }
            if linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0 {
                if errno == EEXIST { continue }
                return false
            }
            guard rename(name, target) == 0 else {
                let saved = errno
                unlink(name)
                errno = saved
                return false
            }
            return true
        }
        errno = EEXIST
        return false
    }

    /// Standard output and `/dev/fd/N`-style names of descriptors this process already holds.
    private static func openDescriptor(_ path: String) throws -> Int32? {
        let number: Int32?
        switch path {
        case "-", "/dev/stdout": number = 1
        case "/dev/stderr": number = 2
        case "/dev/stdin": number = 0
        default:
            let prefixes = ["/dev/fd/", "/proc/self/fd/", "/proc/\(getpid())/fd/"]
            guard let prefix = prefixes.first(where: { path.hasPrefix($0) }) else { return nil }
            number = Int32(path.dropFirst(prefix.count))
        }
        guard let number else { return nil }
        if number == 1 && StandardStreams.outputWasClosed {
            throw GRUIOError.write(path: "-", "it is closed; give --output FILE or leave standard output open")
        }
        let flags = fcntl(number, F_GETFL)
        guard flags >= 0 else { throw GRUIOError.write(path: path, "descriptor \(number) is not open") }
        guard flags & O_ACCMODE != O_RDONLY else { throw GRUIOError.write(path: path, "descriptor \(number) is open for reading only") }
        return number
    }

    /// The file a path names once its symbolic links are followed (the last one may point at a file that
    /// does not exist yet).
    private static func resolveLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length > 0 else { throw GRUIOError.write(path: path, "its link cannot be read") }
            let link = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : URL(fileURLWithPath: current).deletingLastPathComponent().path + "/" + link
        }
        throw GRUIOError.write(path: path, "it is a chain of more than 40 symbolic links")
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if memory != nil { return memory!.append(contentsOf: bytes) }
        do {
            try writeAll(bytes, to: descriptor, path: path)
        } catch {
            abort()
            throw error
        }
    }

    /// Puts the written file in place (a rename); nothing to do for a direct output.
    public func commit() throws {
        guard !finished else { return }
        finished = true
        guard let temporary else {
            if ownsDescriptor { close(descriptor) }
            return
        }
        defer {
            close(descriptor)
            Cleanup.forget(cleanupSlot)
        }
        fchmod(descriptor, mode)  // mkstemp and O_TMPFILE make 0600
        if let owner, geteuid() == 0 { _ = fchown(descriptor, owner.0, owner.1) }
        // Not forced to the disk (no fsync): the file is whole for every reader once it has its name, as any
        // file written through the page cache is; waiting for the disk would cost a large output as much
        // time as computing it.
        guard isUnnamed ? linkUnnamed(prefix: temporary) : rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            if !isUnnamed { unlink(temporary) }
            throw GRUIOError.write(path: path, reason)
        }
    }

    /// Drops what was written; an existing file stays as it was.
    public func abort() {
        guard !finished else { return }
        finished = true
        if let temporary {
            close(descriptor)
            if !isUnnamed { unlink(temporary) }
            Cleanup.forget(cleanupSlot)
        } else if ownsDescriptor {
            close(descriptor)
        }
    }

    deinit { abort() }
}

/// A run's outputs, opened before the work starts and committed together: all of them appear, or none.
/// Files are filled first and direct outputs (standard output, devices) last, so a failure on either
/// leaves every file as it was; the renames come only once every byte is out.
public final class OutputSet {
    public let writers: [AtomicFileWriter]

    /// The first `inMemory` outputs are kept in memory (`AtomicFileWriter(inMemory:)`), the others written.
    public init(_ paths: [String], inMemory: Int = 0) throws {
        var writers: [AtomicFileWriter] = []
        for (index, path) in paths.enumerated() {
            writers.append(index < inMemory ? AtomicFileWriter(inMemory: path) : try AtomicFileWriter(path: path))
        }
        self.writers = writers
    }

    /// Runs `fill` for each output, files before direct ones, then commits them all; on any failure
    /// nothing is committed. A closed standard output becomes `BrokenPipe` naming the outputs dropped.
    public func write(_ fill: [(AtomicFileWriter) throws -> Void]) throws {
        precondition(fill.count == writers.count)
        let order = writers.indices.filter { !writers[$0].isDirect } + writers.indices.filter { writers[$0].isDirect }
        try guarded {
            for index in order { try fill[index](writers[index]) }
            // Runs that write the same set of files (an output and its state) commit one set at a time, so
            // that the files left are all one run's.
            let files = writers.filter { !$0.isDirect }
            let lock = files.count > 1 ? DirectoryLock(folderOf: files[0].path) : nil
            defer { lock?.release() }
            for writer in writers { try writer.commit() }
        }
    }

    /// Runs `body` (which may write to direct outputs as it goes); any failure aborts every output.
    public func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch is BrokenPipe {
            let dropped = writers.filter { !$0.isStandardOutput }.map(\.path)
            abort()
            throw BrokenPipe(discarded: dropped)
        } catch {
            abort()
            throw error
        }
    }

    public func abort() {
        for writer in writers { writer.abort() }
    }
}

/// An exclusive flock(2) on a folder, held while a run commits its outputs there; released on close. A
/// folder that cannot be opened or locked (a file system without locks) is committed to unlocked.
final class DirectoryLock {
    private var descriptor: Int32

    init?(folderOf path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        descriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                return nil
            }
        }
    }

    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
