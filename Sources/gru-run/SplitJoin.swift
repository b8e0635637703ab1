import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run split`: an input cut into shards of whole samples, to run anywhere; `gru-run join` (Join.swift)
/// puts the shards' outputs back together. Samples are independent, so the joined outputs equal one run's.
struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Cut an input (.npy, .npz or CSV) into shards of N samples each; prints the shard names.",
        discussion: """
        Refuses when files named as shards of the prefix are already there (an earlier split's shards or \
        their outputs would be mixed with the new ones).
        Example (see README, "Beyond one machine"):
          gru-run split --input x.npy --samples 1000 --prefix shard-     (shard-00001.npy, shard-00002.npy, ...)
        """)

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The input to cut: .npy, .npz (every array cut along its batch axis), or CSV with a blank line between samples.", valueName: "file"))
    var input: String = "-"

    @Option(parsing: .unconditional, help: ArgumentHelp("Samples per shard (the last may hold fewer).", valueName: "n"))
    var samples: Int

    @Option(help: ArgumentHelp("Shard names start with this (a folder may come first); a number and the input's extension follow.", valueName: "prefix"))
    var prefix: String = "shard-"

    @Option(help: ArgumentHelp("Input format, when the extension does not tell.", valueName: "npy|npz|csv"))
    var inputFormat: FileFormat?

    @Option(parsing: .unconditional, help: ArgumentHelp("Cut CSV written without blank lines between samples into samples of this many rows.", valueName: "n"))
    var timesteps: Int?

    /// CSV shards are named as they fill, before their count is known: five digits at most.
    static let csvShardLimit = 99_999

    func validate() throws {
        if samples < 1 { throw ValidationError("--samples must be at least 1, not \(samples).") }
        if let timesteps, timesteps < 1 { throw ValidationError("--timesteps must be at least 1, not \(timesteps).") }
    }

    func run() throws {
        try checkNoShardsExist()
        let file = try InputFile(path: input)
        var written: [String] = []
        do {
            if try file.isNPY(inputFormat) { try splitNPY(try NPYArray(input: file), written: &written) }
            else if try file.isNPZ(inputFormat) { try splitNPZ(try NPZArchive(input: file), written: &written) }
            else { try splitCSV(file, written: &written) }
        } catch {
            // The shards of a failed split are all new (none existed before): none stays.
            for path in written { unlink(path) }
            throw error
        }
        print(written.joined(separator: "\n"))
    }

    /// The folder the shards go to and the start of their names.
    private var folderAndStem: (folder: String, stem: String) {
        guard let slash = prefix.lastIndex(of: "/") else { return (".", prefix) }
        let folder = String(prefix[...slash])
        return (folder, String(prefix[prefix.index(after: slash)...]))
    }

    /// Whether `name` is one a split with this prefix makes, or an output named after one: the stem, at
    /// least five digits, then a dot (shard-00001.npy, shard-00001.out.npy).
    private func isShardName(_ name: String, stem: String) -> Bool {
        guard name.hasPrefix(stem) else { return false }
        let rest = name.dropFirst(stem.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        return digits.count >= 5 && rest.dropFirst(digits.count).first == "."
    }

    /// Shards of an earlier split would be counted and joined with the new ones (`ls shard-*.npy`), and the
    /// input itself may be one: both refused before anything is written.
    private func checkNoShardsExist() throws {
        let (folder, stem) = folderAndStem
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        let shards = names.filter { isShardName($0, stem: stem) }.sorted()
        let paths = shards.map { folder == "." ? $0 : folder + $0 }
        if input != "-", let same = paths.first(where: { sameFile($0, input) }) {
            throw CLIError.usage("--input \(input) is named as a shard of --prefix \(prefix) (\(same)); splitting it would replace it, so give another --prefix")
        }
        if let first = paths.first {
            throw CLIError.usage("\(first) is already there (\(paths.count) file\(paths.count == 1 ? "" : "s") named as shards of --prefix \(prefix)); remove them or give another --prefix, so that old shards are not mixed with new ones")
        }
    }

    private func name(_ index: Int, width: Int, ext: String) -> String {
        let number = String(index + 1)
        return prefix + String(repeating: "0", count: max(0, width - number.count)) + number + "." + ext
    }

    private func splitNPY(_ array: NPYArray, written: inout [String]) throws {
        guard let batch = array.shape.first, batch > 0 else {
            throw GRUIOError.npy(path: input, "it has shape \(describe(array.shape)); a batch axis with samples is needed")
        }
        let perSample = array.shape.dropFirst().reduce(1, *)
        // Not (batch + samples - 1) / samples: that overflows for --samples near Int.max.
        let count = batch / samples + (batch % samples == 0 ? 0 : 1)
        let width = max(5, String(count).count)
        for k in 0..<count {
            let first = k * samples, n = min(samples, batch - first)
            let path = name(k, width: width, ext: "npy")
            try writeFileAtomically(NPYWriter.header(descr: array.element.descr, shape: [n] + array.shape.dropFirst())
                                    + array.rawBytes(elements: (first * perSample)..<((first + n) * perSample)), to: path)
            written.append(path)
        }
    }

    /// Every array of the archive cut along its batch axis: shard k holds samples of each array, under its name.
    private func splitNPZ(_ archive: NPZArchive, written: inout [String]) throws {
        let batches = archive.members.map { $0.array.shape.first ?? 0 }
        guard let batch = batches.first, batch > 0, batches.allSatisfy({ $0 == batch }) else {
            let counts = zip(archive.names, archive.members).map { "\(Printable.quoted($0)) \(describe($1.array.shape))" }
            throw CLIError.data("\(displayName(input)) holds \(counts.joined(separator: ", ")); split cuts every array along its first (batch) axis, so each needs the same number of samples, at least 1")
        }
        let count = batch / samples + (batch % samples == 0 ? 0 : 1)
        let width = max(5, String(count).count)
        for k in 0..<count {
            let first = k * samples, n = min(samples, batch - first)
            let writer = try AtomicFileWriter(path: name(k, width: width, ext: "npz"))
            let shard = NPZWriter(writer)
            for member in archive.members {
                let array = member.array, perSample = array.shape.dropFirst().reduce(1, *)
                let header = NPYWriter.header(descr: array.element.descr, shape: [n] + array.shape.dropFirst())
                let body = try array.rawBytes(elements: (first * perSample)..<((first + n) * perSample))
                try shard.add(name: member.name, bytes: header.count + body.count) { emit in
                    try header.withUnsafeBytes { try emit($0) }
                    try body.withUnsafeBytes { try emit($0) }
                }
            }
            try shard.finish()
            try writer.commit()
            written.append(writer.path)
        }
    }

    /// CSV samples copied as they are read, a blank line between samples; each shard is put in place as soon
    /// as it holds its samples, so memory holds one sample.
    private func splitCSV(_ file: InputFile, written: inout [String]) throws {
        let stream = CSVStream(descriptor: file.descriptor, path: input, prefix: file.isRegular ? [] : file.takeBuffered(),
                               timesteps: timesteps.map { CSVTimesteps(count: $0, strict: true, source: "--timesteps \($0)") })
        var shard: AtomicFileWriter?, inShard = 0
        var rows: [[Double]] = []
        func endSample() throws {
            if shard == nil {
                guard written.count < Self.csvShardLimit else {
                    throw CLIError.usage("CSV input makes at most \(Self.csvShardLimit) shards; give a larger --samples")
                }
                shard = try AtomicFileWriter(path: name(written.count, width: 5, ext: "csv"))
            }
            if inShard > 0 { try shard!.write([0x0A]) }
            try shard!.write(CSVWriter.encode(rows.flatMap { $0 }, columns: rows.first?.count ?? 1, rowsPerBlock: nil))
            rows = []
            inShard += 1
            if inShard == samples { try finishShard() }
        }
        func finishShard() throws {
            guard let current = shard else { return }
            try current.commit()
            written.append(current.path)
            (shard, inShard) = (nil, 0)
        }
        loop: while true {
            switch try stream.next() {
            case .row(let values): rows.append(values)
            case .endOfSample: try endSample()
            case .end: break loop
            }
        }
        try finishShard()
    }
}
