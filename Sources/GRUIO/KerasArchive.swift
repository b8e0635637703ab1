import Foundation
import GRUCore
import ZIPFoundation

/// Keras 3 `.keras` files: a zip holding `metadata.json` (keras_version), `config.json` and
/// `model.weights.h5`. The weights are opened from memory; nothing is extracted to disk.
enum KerasArchive {
    static let maximumConfigBytes = 64 << 20
    static let maximumWeightsBytes = 8 << 30

    /// Reads the archive at `path`, or from `image` when the path is a pipe or device.
    static func load(path: String, image: [UInt8]? = nil) throws -> KerasModel {
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
        let (metadata, config, weights) = try HDF5Guard.paused {
            (try member("metadata.json", of: archive, path: path, limit: maximumConfigBytes),
             try member("config.json", of: archive, path: path, limit: maximumConfigBytes),
             try member("model.weights.h5", of: archive, path: path, limit: maximumWeightsBytes))
        }
        let version = try KerasReader.parseConfig(String(decoding: metadata, as: UTF8.self), path: path, what: "metadata.json")["keras_version"]?.string
        let root = try KerasReader.parseConfig(String(decoding: config, as: UTF8.self), path: path, what: "config.json")
        let layers = try KerasModelConfig.layers(of: root, path: path)
        let file = try HDF5File(path: path + ":model.weights.h5", image: weights)
        var model = try KerasReader.readModel(config: root, layers: layers, weights: Keras3Weights(file: file, path: path, kind: .kerasArchive),
                                              path: path, kind: .kerasArchive, version: version ?? "3")
        model.kerasVersion = version
        if file.usesBackslashNames { model.notes.append(KerasReader.backslashNote) }
        return model
    }

    private static func member(_ name: String, of archive: Archive, path: String, limit: Int) throws -> [UInt8] {
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
        // The member, and the copy libhdf5 makes of an in-memory file.
        try MemoryBudget.reserve(MemoryBudget.bytes(Int(entry.uncompressedSize), 2), for: "\(name) of \(path)")
        let claimed = Int(entry.uncompressedSize)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(claimed, 64 << 20))  // a claim is not trusted with memory
        do {
            _ = try archive.extract(entry, skipCRC32: false) { chunk in
                bytes.append(contentsOf: chunk)
                if bytes.count > claimed { throw GRUIOError.keras(path: path, "\(name) is larger than it claims") }
            }
        } catch let error as GRUIOError {
            throw error
        } catch {
            throw GRUIOError.keras(path: path, "\(name) could not be extracted: the archive is damaged")
        }
        return bytes
    }
}
