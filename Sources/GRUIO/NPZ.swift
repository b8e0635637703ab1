import Foundation
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

/// numpy's `.npz`: a zip of `.npy` members, one per array, named `NAME.npy` (`np.savez` stores them,
/// `np.savez_compressed` deflates them; `np.savez(f, a, b)` names them `arr_0`, `arr_1`, ...). Read whole into
/// memory, member by member, through ZIPFoundation, each member's CRC checked; every member must be an array.
public struct NPZArchive: Sendable {
    public struct Member: Sendable {
        /// The array's name: the member's name without `.npy`, as `np.load(f).files` lists it.
        public var name: String
        public var array: NPYArray
    }

    public let path: String
    /// In the archive's order (its central directory's).
    public var members: [Member]

    /// A zip starts with a local file header (`PK\x03\x04`), or, when empty, with its end record (`PK\x05\x06`).
    public static func isZip(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 4 && prefix[0] == 0x50 && prefix[1] == 0x4B && ((prefix[2], prefix[3]) == (3, 4) || (prefix[2], prefix[3]) == (5, 6))
    }

    public var names: [String] { members.map(\.name) }

    /// How messages name member `index`: `x.npy in a.npz`.
    public func memberPath(_ index: Int) -> String { "\(members[index].name).npy in \(path == "-" ? "standard input" : path)" }

    public subscript(name: String) -> NPYArray? { members.first { $0.name == name }?.array }

    public init(path: String, members: [Member]) {
        self.path = path
        self.members = members
    }

    public init(path: String) throws {
        try self.init(input: try InputFile(path: path))
    }

    /// An archive held in memory (`name` names it in messages).
    public init(bytes: [UInt8], name: String) throws {
        try self.init(source: .bytes(bytes), path: name)
    }

    /// Reads the archive from an opened input: a regular file where it lies, a stream (standard input, a
    /// pipe) from its bytes.
    public init(input: InputFile) throws {
        try self.init(source: input.isRegular ? .file(input.size) : .bytes(try input.readAll()), path: input.path)
    }

    private enum Source {
        case file(Int)
        case bytes([UInt8])
    }

    private init(source: Source, path: String) throws {
        func fail(_ what: String) -> GRUIOError { .npz(path: path, what) }
        let display = path == "-" ? "standard input" : path
        var held: UnnamedFile?
        defer { withExtendedLifetime(held) {} }
        let archive: Archive
        let available: UInt64
        do {
            switch source {
            case .file(let size):
                archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
                available = UInt64(size)
            case .bytes(let bytes):
                // Through a file, not ZIPFoundation's in-memory reader: that one traps on offsets past the
                // end, which a damaged archive can hold; stdio stops at the end.
                available = UInt64(bytes.count)
                let file = try UnnamedFile(bytes, for: path)
                archive = try withExtendedLifetime(file) { try Archive(url: file.url, accessMode: .read) }
                held = file
            }
        } catch let error as GRUIOError {
            throw error
        } catch {
            throw fail("it is not a readable zip archive (truncated, or not a zip at all; np.savez writes a zip)")
        }
        let entries = Array(archive)
        guard !entries.isEmpty else { throw fail("it holds no arrays") }
        // np.load keeps the last of two members of one name, a zip reader the first: neither is sure to be meant.
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.path).inserted {
            let copies = entries.filter { $0.path == entry.path }.count
            throw fail("it holds \(copies) members named \(Printable.quoted(entry.path)); np.savez writes each array once")
        }
        // Every claim is checked against the archive's size before memory is taken for it: a stored member
        // holds no more than its bytes, a deflated one at most 1032 times them (deflate's largest ratio).
        var total = 0
        for entry in entries {
            let quoted = Printable.quoted(entry.path)
            guard entry.type == .file else {
                throw fail("member \(quoted) is a \(entry.type == .directory ? "folder" : "link"), not an .npy array; an .npz holds only NAME.npy arrays")
            }
            guard entry.path.hasSuffix(".npy"), entry.path.count > 4 else {
                throw fail("member \(quoted) is not an .npy array; np.savez names each array NAME.npy")
            }
            let (size, packed) = (entry.uncompressedSize, entry.compressedSize)
            let bound = entry.isCompressed ? packed.multipliedReportingOverflow(by: 1032).partialValue + 1024 : packed
            guard packed <= available, size <= bound, size <= UInt64(Int.max / 2) else {
                throw fail("member \(quoted) claims \(size) bytes, more than its \(packed) bytes in the archive can hold: the archive is damaged")
            }
            let (sum, overflow) = total.addingReportingOverflow(Int(size))
            total = overflow ? Int.max : sum
        }
        try MemoryBudget.reserve(total, for: "reading \(display)")
        members = try entries.map { entry in
            let name = String(entry.path.dropLast(4))
            let bytes = try NPZArchive.extract(entry, of: archive, path: path)
            return Member(name: name, array: try NPYArray(data: Data(bytes), path: "\(entry.path) in \(display)"))
        }
        self.path = path
    }

    private static func extract(_ entry: Entry, of archive: Archive, path: String) throws -> [UInt8] {
        try extractCheckedMember(entry, of: archive, subject: "member \(Printable.quoted(entry.path))") { GRUIOError.npz(path: path, $0) }
    }

    /// `'a', 'b' and 'c'`, for messages.
    public static func list(_ names: [String]) -> String {
        let quoted = names.map { Printable.quoted($0) }
        guard quoted.count > 1 else { return quoted.first ?? "none" }
        return quoted.dropLast().joined(separator: ", ") + " and " + quoted.last!
    }
}

/// Bytes in a temporary file that has no name (Linux's O_TMPFILE; elsewhere one removed at once), reached
/// through /proc/self/fd while it is open.
final class UnnamedFile {
    let descriptor: Int32
    var url: URL { URL(fileURLWithPath: "/proc/self/fd/\(descriptor)") }

    init(_ bytes: [UInt8], for path: String) throws {
        let folder = FileManager.default.temporaryDirectory.path
        var made = open(folder, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)  // O_TMPFILE
        if made < 0 {
            var template = Array((folder + "/gru-run-npz-XXXXXX").utf8CString)
            made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if made >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
        }
        guard made >= 0 else {
            throw GRUIOError.read(path: path, "no temporary file could be made in \(folder) to read the archive from (\(String(cString: strerror(errno))))")
        }
        descriptor = made
        do {
            try bytes.withUnsafeBytes { try writeAll($0, to: made, path: folder) }
        } catch {
            close(made)
            throw error
        }
    }

    deinit { close(descriptor) }
}
