import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run split`: an input cut into shards of whole samples, to run anywhere; `gru-run join` puts the
/// shards' outputs back together. Samples are independent, so the joined outputs equal one run's.
struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cut an input (.npy or CSV) into shards of N samples each; prints the shard names.",
        discussion: """
        Example (see README, "Beyond one machine"):
          gru-run split --input x.npy --samples 1000 --prefix shard-     (shard-00001.npy, shard-00002.npy, ...)
        """)

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("The input to cut: .npy, or CSV with a blank line between samples.", valueName: "file"))
    var input: String = "-"

    @Option(help: ArgumentHelp("Samples per shard (the last may hold fewer).", valueName: "n"))
    var samples: Int

    @Option(help: ArgumentHelp("Shard names start with this (a folder may come first); a number and the input's extension follow.", valueName: "prefix"))
    var prefix: String = "shard-"

    @Option(help: ArgumentHelp("Input format, when the extension does not tell.", valueName: "npy|csv"))
    var inputFormat: FileFormat?

    @Option(help: ArgumentHelp("Cut CSV written without blank lines between samples into samples of this many rows.", valueName: "n"))
    var timesteps: Int?

    func validate() throws {
        if samples < 1 { throw ValidationError("--samples must be at least 1.") }
        if let timesteps, timesteps < 1 { throw ValidationError("--timesteps must be at least 1.") }
    }

    func run() throws {
        let file = try InputFile(path: input)
        let names = try file.isNPY(inputFormat) ? try splitNPY(try NPYArray(input: file)) : try splitCSV(file)
        print(names.joined(separator: "\n"))
    }

    private func name(_ index: Int, of count: Int, ext: String) -> String {
        let width = max(5, String(count).count)
        let number = String(index + 1)
        return prefix + String(repeating: "0", count: max(0, width - number.count)) + number + "." + ext
    }

    private func splitNPY(_ array: NPYArray) throws -> [String] {
        guard let batch = array.shape.first, batch > 0 else {
            throw GRUIOError.npy(path: input, "it has shape \(describe(array.shape)); a batch axis with samples is needed")
        }
        let perSample = array.shape.dropFirst().reduce(1, *)
        let count = (batch + samples - 1) / samples
        return try (0..<count).map { k in
            let first = k * samples, n = min(samples, batch - first)
            let path = name(k, of: count, ext: "npy")
            try writeFileAtomically(NPYWriter.header(descr: array.element.descr, shape: [n] + array.shape.dropFirst())
                                    + array.rawBytes(elements: (first * perSample)..<((first + n) * perSample)), to: path)
            return path
        }
    }

    /// CSV samples copied shard by shard as they are read, a blank line between samples.
    private func splitCSV(_ file: InputFile) throws -> [String] {
        let stream = CSVStream(descriptor: file.descriptor, path: input, prefix: file.isRegular ? [] : file.takeBuffered(),
                               timesteps: timesteps.map { CSVTimesteps(count: $0, strict: true, source: "--timesteps \($0)") })
        var shards: [[UInt8]] = [], current: [UInt8] = [], inShard = 0
        var rows: [[Double]] = []
        func endSample() {
            if inShard > 0 { current.append(0x0A) }
            current += CSVWriter.encode(rows.flatMap { $0 }, columns: rows.first?.count ?? 1, rowsPerBlock: nil)
            rows = []
            inShard += 1
            if inShard == samples { shards.append(current); current = []; inShard = 0 }
        }
        loop: while true {
            switch try stream.next() {
            case .row(let values): rows.append(values)
            case .endOfSample: endSample()
            case .end: break loop
            }
        }
        if inShard > 0 { shards.append(current) }
        return try shards.enumerated().map { k, bytes in
            let path = name(k, of: shards.count, ext: "csv")
            try writeFileAtomically(bytes, to: path)
            return path
        }
    }
}

struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join outputs of shards (.npy along the batch axis, or CSV) into one file, in the order given.",
        discussion: """
        Example:
          gru-run join --output y.npy shard-*.out.npy
        """)

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The joined output (.npy or .csv); - for standard output (CSV).", valueName: "file"))
    var output: String = "-"

    @Flag(help: "CSV pieces hold sequences (--return-sequences): a blank line goes between pieces. Pieces with blank lines in them are taken as sequences anyway.")
    var sequences = false

    @Flag(help: "CSV pieces hold one row per sample (no --return-sequences): rows are joined as they are.")
    var rows = false

    @Argument(help: ArgumentHelp("The pieces, in order.", valueName: "file"))
    var pieces: [String]

    func validate() throws {
        if pieces.isEmpty { throw ValidationError("name the pieces to join.") }
        if sequences && rows { throw ValidationError("give --sequences or --rows, not both.") }
    }

    func run() throws {
        let format = try outputFormat(for: output, override: nil, standardDefault: .csv)
        let writer = try AtomicFileWriter(path: output)
        if format == .npy {
            let arrays = try pieces.map { try NPYArray(path: $0) }
            let first = arrays[0]
            for (path, array) in zip(pieces, arrays) where array.element != first.element || array.shape.count != first.shape.count
                || array.shape.dropFirst() != first.shape.dropFirst() || array.shape.isEmpty {
                throw CLIError.data("\(path) holds \(array.element.descr) of shape \(describe(array.shape)), which does not join \(pieces[0]) (\(first.element.descr), \(describe(first.shape))) along the batch axis")
            }
            try writer.write(NPYWriter.header(descr: first.element.descr, shape: [arrays.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst()))
            for array in arrays { try writer.write(try array.rawBytes(elements: 0..<array.count)) }
        } else {
            let texts = try pieces.map { try readWholeFile($0) }
            let lines = texts.map { String(decoding: $0, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
            let blocks = sequences || lines.contains { $0.contains { $0.allSatisfy(\.isWhitespace) } }
            // Rows without blank lines are one sample's sequence or one row per sample: the files cannot say.
            if blocks && rows {
                throw CLIError.usage("the pieces hold blank lines between samples, so they are sequences; drop --rows")
            }
            if !blocks && !rows && lines.contains(where: { $0.count > 1 }) {
                throw CLIError.usage("the pieces hold several rows and no blank line: give --sequences if each piece is one sample's sequence (--return-sequences), --rows if each row is a sample")
            }
            for (k, text) in texts.enumerated() {
                if blocks && k > 0 { try writer.write([0x0A]) }
                try writer.write(text.last == 0x0A || text.isEmpty ? text : text + [0x0A])
            }
        }
        try writer.commit()
    }
}
