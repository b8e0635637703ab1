import Foundation
import ZIPFoundation

/// A copy of a `.keras` archive with its `config.json` changed by `edit`, every other member as it was (stored,
/// in the same order): a real model with one config value replaced, for the tests of hostile configs.
public func editedKerasArchive(_ source: String, to destination: String, _ edit: (inout String) -> Void) throws {
    try rewriteArchive(source, to: destination) { path, data in
        guard path == "config.json" else { return [(path, data)] }
        var text = String(decoding: data, as: UTF8.self)
        edit(&text)
        return [(path, Data(text.utf8))]
    }
}

/// Replaces the one occurrence of `old` in `text`; fails the edit loudly when it is absent or repeated, so a
/// test cannot pass on a config it did not change.
public func replaceOnce(_ text: inout String, _ old: String, _ new: String) {
    let parts = text.components(separatedBy: old)
    precondition(parts.count == 2, "expected one '\(old)' in the config, found \(parts.count - 1)")
    text = parts.joined(separator: new)
}

/// A copy of a `.keras` archive with member `name` stored twice (one copy after the other), as a hand-made or
/// appended-to zip can hold it.
public func kerasArchiveWithDuplicate(_ source: String, to destination: String, member name: String) throws {
    try rewriteArchive(source, to: destination) { path, data in path == name ? [(path, data), (path, data)] : [(path, data)] }
}

/// `source` rewritten with every member deflated (Keras stores them uncompressed).
public func kerasArchiveRecompressed(_ source: String, to destination: String) throws {
    try rewriteArchive(source, to: destination, method: .deflate) { [($0, $1)] }
}

/// A new archive at `destination` holding, in order, the members `members` makes of each member of `source`
/// (its path and bytes), written with `method`.
private func rewriteArchive(_ source: String, to destination: String, method: CompressionMethod = .none,
                            _ members: (String, Data) -> [(String, Data)]) throws {
    let input = try Archive(url: URL(fileURLWithPath: source), accessMode: .read)
    try? FileManager.default.removeItem(atPath: destination)
    let output = try Archive(url: URL(fileURLWithPath: destination), accessMode: .create)
    var copies: [(String, Data)] = []
    for entry in input {
        var data = Data()
        _ = try input.extract(entry) { data.append($0) }
        copies += members(entry.path, data)
    }
    for (path, bytes) in copies {
        try output.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: method) { position, size in
            bytes.subdata(in: Data.Index(position)..<Data.Index(position) + size)
        }
    }
}
