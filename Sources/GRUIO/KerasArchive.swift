import CHDF5
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRUCore
import ZIPFoundation

/// Keras 3 `.keras` files: a zip holding `metadata.json` (keras_version), `config.json` and
/// `model.weights.h5`. The weights are read where they lie in the archive when stored (as Keras stores them),
/// else from an unnamed temporary file, else from memory.
enum KerasArchive {
    static let maximumConfigBytes = 64 << 20
    static let maximumWeightsBytes = 8 << 30

    /// Reads the archive at `path`, or from `image` when the path is a pipe or device.
    static func load(path: String, input: InputFile, image: [UInt8]?, checksummed: Bool = true) throws -> KerasModel {
        let archive: Archive
        do {
            archive = try image.map { try Archive(data: Data($0), accessMode: .read) }
                ?? Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw GRUIOError.keras(path: path, "is not a readable zip archive (a .keras file is a zip)")
        }
        if archive.makeIterator().next() == nil {
            throw GRUIOError.keras(path: path, "the archive is empty, so it is no .keras model (one holds metadata.json, config.json and model.weights.h5)")
        }
        // Inflating is gru-run's own work: the guard's clocks are for libhdf5.
        let (metadata, config) = try HDF5Guard.paused {
            (try member("metadata.json", of: archive, path: path, limit: maximumConfigBytes),
             try member("config.json", of: archive, path: path, limit: maximumConfigBytes))
        }
        let version = try KerasReader.parseConfig(String(decoding: metadata, as: UTF8.self), path: path, what: "metadata.json")["keras_version"]?.string
        let root = try KerasReader.parseConfig(String(decoding: config, as: UTF8.self), path: path, what: "config.json")
        let layers = try KerasModelConfig.layers(of: root, path: path)
        // The weights go to a file without a name in the temporary folder (page cache, not the process's
        // memory), which libhdf5 opens like any file, so that large weights are read only when their layer is
        // built; where no such file can be made, they are read into memory.
        let name = path + ":model.weights.h5"
        let file: HDF5File
        var checksum: MemberChecksum?
        if input.isRegular, let (opened, check) = try openInPlace(of: archive, input: input, name: name, checksummed: checksummed) {
            // Stored without compression (as Keras writes it): read where it lies, its checksum on the side.
            file = opened
            checksum = check
        } else if let unnamed = try HDF5Guard.paused({ try extractUnnamed("model.weights.h5", of: archive, path: path) }),
           let opened = try openNamedBriefly(unnamed, as: name) {
            file = opened
        } else {
            let weights = try HDF5Guard.paused { try member("model.weights.h5", of: archive, path: path, limit: maximumWeightsBytes) }
            file = try HDF5File(path: name, image: weights)
        }
        var model = try KerasReader.readModel(config: root, layers: layers, weights: Keras3Weights(file: file, path: path, kind: .kerasArchive),
                                              path: path, kind: .kerasArchive, version: version ?? "3")
        model.kerasVersion = version
        model.weightsChecksum = checksum
        if file.usesBackslashNames { model.notes.append(KerasReader.backslashNote) }
        return model
    }

    /// model.weights.h5 opened where it lies in the archive, when it is stored without compression and the
    /// archive's records of it agree with ZIPFoundation's; nil otherwise (it is then extracted).
    private static func openInPlace(of archive: Archive, input: InputFile, name: String, checksummed: Bool) throws -> (HDF5File, MemberChecksum?)? {
        #if os(Linux)
        let path = input.path
        let entry = try checkedEntry("model.weights.h5", of: archive, path: path, limit: maximumWeightsBytes)
        guard entry.type == .file, !entry.isCompressed,
              let member = ZipStoredMember.find("model.weights.h5", in: input),
              UInt64(member.size) == entry.uncompressedSize, member.checksum == entry.checksum else { return nil }
        // An HDF5 file written by Keras starts with its signature: anything else is refused at once.
        var signature = [UInt8](repeating: 0, count: hdf5Signature.count)
        guard member.size >= Int64(signature.count),
              try input.read(into: &signature, count: signature.count, offset: Int(member.offset)) == signature.count else { return nil }
        guard signature == hdf5Signature else { throw GRUIOError.notHDF5(path: name) }
        let checksum = checksummed ? MemberChecksum(descriptor: input.descriptor, member: member, subject: path) : nil
        let file = try HDF5File(path: name, member: input.descriptor, offset: member.offset, size: member.size)
        return (file, checksum)
        #else
        return nil
        #endif
    }

    /// The first bytes of every HDF5 file (at offset 0 of a file Keras writes).
    private static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The member `name` written to an unnamed file (O_TMPFILE) in the temporary folder, its descriptor open
    /// for reading; nil where no such file can be made or written (no /proc, no O_TMPFILE, a full disk).
    private static func extractUnnamed(_ name: String, of archive: Archive, path: String) throws -> Int32? {
        #if os(Linux)
        let entry = try checkedEntry(name, of: archive, path: path, limit: maximumWeightsBytes)
        guard access("/proc/self/fd", X_OK) == 0 else { return nil }
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let claimed = Int(entry.uncompressedSize)
        // Only where the folder's disk has room for it, with 1 GB to spare.
        var disk = statvfs()
        guard statvfs(folder, &disk) == 0, UInt64(disk.f_bavail) * UInt64(disk.f_frsize) > entry.uncompressedSize + (1 << 30) else { return nil }
        let tmpfile: Int32 = 0o20000000 | O_DIRECTORY  // O_TMPFILE, a macro Swift does not import
        let descriptor = open(folder, tmpfile | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return nil }
        var written = 0, checksum: UInt32 = 0
        struct WriteFailed: Error {}
        do {
            // The checksum by zlib as the bytes go (ZIPFoundation's own is a byte-at-a-time loop), in 1 MB reads.
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { chunk in
                written += chunk.count
                if written > claimed { throw GRUIOError.keras(path: path, "\(name) is larger than it claims") }
                // An HDF5 file written by Keras starts with its signature: anything else is refused at once,
                // before the rest is written anywhere.
                if written == chunk.count, !chunk.starts(with: hdf5Signature) {
                    throw GRUIOError.notHDF5(path: path + ":" + name)
                }
                try chunk.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress else { return }
                    checksum = chdf5_crc32(checksum, base.assumingMemoryBound(to: UInt8.self), bytes.count)
                    var offset = 0
                    while offset < bytes.count {
                        let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { throw WriteFailed() }
                        offset += n
                    }
                }
            }
            guard written == claimed, checksum == entry.checksum else {
                throw GRUIOError.keras(path: path, "\(name) could not be extracted: the archive is damaged")
            }
        } catch let error as GRUIOError {
            close(descriptor)
            throw error
        } catch is WriteFailed {
            close(descriptor)
            return nil
        } catch {
            close(descriptor)
            throw GRUIOError.keras(path: path, "\(name) could not be extracted: the archive is damaged")
        }
        return descriptor
        #else
        return nil
        #endif
    }

    /// libhdf5 opens by name and resolves the name's links (an unnamed file's /proc/self/fd/N leads nowhere):
    /// the file is given a name in the temporary folder for as long as libhdf5 takes to open it, then the
    /// name goes (a signal in between removes it too). Closes `unnamed`; nil where no name can be made.
    private static func openNamedBriefly(_ unnamed: Int32, as name: String) throws -> HDF5File? {
        defer { close(unnamed) }
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        for _ in 0..<100 {
            let temporary = folder + "/.gru-run-weights-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + ".h5"
            let slot = Cleanup.remember(temporary)
            defer { Cleanup.forget(slot) }
            guard linkat(AT_FDCWD, "/proc/self/fd/\(unnamed)", AT_FDCWD, temporary, AT_SYMLINK_FOLLOW) == 0 else {
                if errno == EEXIST { continue }
                return nil
            }
            defer { unlink(temporary) }
            return try HDF5File(path: name, opening: temporary)
        }
        return nil
    }

    /// The one member `name`, its claimed size within `limit`.
    private static func checkedEntry(_ name: String, of archive: Archive, path: String, limit: Int) throws -> Entry {
        guard let entry = archive[name] else {
            let names = archive.map(\.path).prefix(8).map { Printable.name($0) }.joined(separator: ", ")
            throw GRUIOError.keras(path: path, "the archive has no \(name) (it holds \(names.isEmpty ? "nothing" : names)); a .keras file holds metadata.json, config.json and model.weights.h5")
        }
        // Keras reads the last of two members of one name and a zip reader the first: neither is sure to be meant.
        let copies = archive.reduce(0) { $0 + ($1.path == name ? 1 : 0) }
        guard copies == 1 else {
            throw GRUIOError.keras(path: path, "the archive holds \(copies) members named \(name), and Keras would read the last; a .keras file holds one")
        }
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw GRUIOError.keras(path: path, "\(name) claims \(entry.uncompressedSize) bytes, more than gru-run accepts")
        }
        return entry
    }

    private static func member(_ name: String, of archive: Archive, path: String, limit: Int) throws -> [UInt8] {
        let entry = try checkedEntry(name, of: archive, path: path, limit: limit)
        // The member, and the copy libhdf5 makes of an in-memory file.
        try MemoryBudget.reserve(MemoryBudget.bytes(Int(entry.uncompressedSize), 2), for: "\(name) of \(path)")
        return try extractCheckedMember(entry, of: archive, subject: name) { GRUIOError.keras(path: path, $0) }
    }
}
