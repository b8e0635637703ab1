import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run join`: the outputs of shards put back together, in the order given. Pieces are opened one at a
/// time (a first pass checks them all, a second copies them), so their number is not bounded by the limit
/// on open files, and memory holds one piece at most.
struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join outputs of shards (.npy or .npz along the batch axis, or CSV) into one file, in the order given.",
        discussion: """
        The pieces and the output must be of one format (.npy, .npz or CSV); .npz pieces hold the same arrays.
        Example:
          gru-run join --output y.npy y-shard-*.npy
        """)

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The joined output (.npy, .npz or .csv); - for standard output (CSV).", valueName: "file"))
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
        if pieces.contains(where: isStandardInput) {
            throw CLIError.usage("join reads each piece twice (to check them all first), so a piece cannot be standard input")
        }
        try checkDistinct(inputs: pieces.map { ("a piece", $0) }, outputs: [("--output", output)])
        let names: [FileFormat: String] = [.npy: ".npy", .npz: ".npz", .csv: "CSV"]
        for piece in pieces {
            let prefix = try InputFile(path: piece).prefix(NPYArray.magic.count)
            let held: FileFormat = prefix == NPYArray.magic ? .npy : NPZArchive.isZip(prefix) ? .npz : .csv
            if held != format {
                throw CLIError.usage("\(piece) holds \(names[held]!) but the output \(displayName(output)) is \(names[format]!); join pieces into an output of their own format")
            }
        }
        let writer = try AtomicFileWriter(path: output)
        switch format {
        case .npy: try joinNPY(to: writer)
        case .npz: try joinNPZ(to: writer)
        case .csv: try joinCSV(to: writer)
        }
        try writer.commit()
    }

    /// Each array of the pieces joined along its batch axis, under its name: the pieces must hold the same
    /// names, and each name the same dtype and trailing shape. A piece is read once to check and once per
    /// array to copy, one piece in memory at a time.
    private func joinNPZ(to writer: AtomicFileWriter) throws {
        let first = try NPZArchive(path: pieces[0])
        var batches = [Int](repeating: 0, count: first.members.count)
        for path in pieces {
            let archive = try NPZArchive(path: path)
            guard Set(archive.names) == Set(first.names), archive.names.count == first.names.count else {
                throw CLIError.data("\(path) holds arrays \(NPZArchive.list(archive.names)) but \(pieces[0]) holds \(NPZArchive.list(first.names)); joined pieces hold the same arrays")
            }
            for (k, member) in first.members.enumerated() {
                let array = archive[member.name]!, model = member.array
                guard array.element == model.element, !array.shape.isEmpty, array.shape.count == model.shape.count,
                      array.shape.dropFirst() == model.shape.dropFirst() else {
                    throw CLIError.data("\(archive.memberPath(archive.names.firstIndex(of: member.name)!)) is \(array.element.descr) of shape \(describe(array.shape)), which does not join \(first.memberPath(k)) (\(model.element.descr), \(describe(model.shape))) along the batch axis")
                }
                let (sum, overflow) = batches[k].addingReportingOverflow(array.shape[0])
                guard !overflow else { throw CLIError.data("the pieces hold more samples than a .npy can say") }
                batches[k] = sum
            }
        }
        let joined = NPZWriter(writer)
        for (k, member) in first.members.enumerated() {
            let array = member.array
            let header = NPYWriter.header(descr: array.element.descr, shape: [batches[k]] + array.shape.dropFirst())
            let perSample = array.shape.dropFirst().reduce(1, *)
            try joined.add(name: member.name, bytes: header.count + batches[k] * perSample * array.element.size) { emit in
                try header.withUnsafeBytes { try emit($0) }
                for path in pieces {
                    let piece = try NPZArchive(path: path)[member.name]!
                    try piece.rawBytes(elements: 0..<piece.count).withUnsafeBytes { try emit($0) }
                }
            }
        }
        try joined.finish()
    }

    private func joinNPY(to writer: AtomicFileWriter) throws {
        let first = try NPYArray(path: pieces[0])
        var batch = 0
        for path in pieces {
            let array = try NPYArray(path: path)
            if array.element != first.element || array.shape.count != first.shape.count
                || array.shape.dropFirst() != first.shape.dropFirst() || array.shape.isEmpty {
                throw CLIError.data("\(path) holds \(array.element.descr) of shape \(describe(array.shape)), which does not join \(pieces[0]) (\(first.element.descr), \(describe(first.shape))) along the batch axis")
            }
            let (sum, overflow) = batch.addingReportingOverflow(array.shape[0])
            guard !overflow else { throw CLIError.data("the pieces hold more samples than a .npy can say") }
            batch = sum
        }
        try writer.write(NPYWriter.header(descr: first.element.descr, shape: [batch] + first.shape.dropFirst()))
        let chunk = max(1, (1 << 24) / first.element.size)  // 16 MB of elements at a time
        for path in pieces {
            let array = try NPYArray(path: path)
            for start in stride(from: 0, to: array.count, by: chunk) {
                try writer.write(try array.rawBytes(elements: start..<min(array.count, start + chunk)))
            }
        }
    }

    /// One piece's lines: whether one is blank, and the columns of its rows (nil when they differ).
    private func lines(of path: String) throws -> (text: [UInt8], blank: Bool, rows: Int, columns: Int?, ragged: Int?) {
        let text = try readWholeFile(path)
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        var columns: Int?, blank = false, rows = 0
        for (number, line) in lines.enumerated() {
            if line.allSatisfy(\.isWhitespace) { blank = true; continue }
            rows += 1
            let count = line.split(separator: ",", omittingEmptySubsequences: false).count
            if let columns, columns != count { return (text, blank, rows, columns, number + 1) }
            columns = columns ?? count
        }
        return (text, blank, rows, columns, nil)
    }

    private func joinCSV(to writer: AtomicFileWriter) throws {
        // First pass: what the pieces hold, checked before a byte is written.
        var blocks = sequences, several = false
        var columns: (count: Int, path: String)?
        for path in pieces {
            let piece = try lines(of: path)
            if let line = piece.ragged {
                throw CLIError.data("\(path) has \(piece.columns!) columns before line \(line) and a different number there; every row must have the same columns")
            }
            if let count = piece.columns {
                if let seen = columns, seen.count != count {
                    throw CLIError.data("\(path) has \(count) columns but \(seen.path) has \(seen.count); the pieces must hold the same columns")
                }
                columns = columns ?? (count, path)
            }
            blocks = blocks || piece.blank
            several = several || piece.rows > 1
        }
        // Rows without blank lines are one sample's sequence or one row per sample: the files cannot say.
        if blocks && rows {
            throw CLIError.usage("the pieces hold blank lines between samples, so they are sequences; drop --rows")
        }
        if !blocks && !rows && several {
            throw CLIError.usage("the pieces hold several rows and no blank line: give --sequences if each piece is one sample's sequence (--return-sequences), --rows if each row is a sample")
        }
        for (k, path) in pieces.enumerated() {
            let text = try readWholeFile(path)
            if blocks && k > 0 { try writer.write([0x0A]) }
            try writer.write(text.last == 0x0A || text.isEmpty ? text : text + [0x0A])
        }
    }
}
