/// The length CSV samples must have, when a model or `--timesteps` states one.
public struct CSVTimesteps: Sendable, Equatable {
    public var count: Int
    /// true (`--timesteps`): every block of rows between blank lines holds whole samples of `count` rows.
    /// false (the model's fixed input length): a block of up to `count` rows is one sample; a longer block,
    /// as `np.savetxt` writes a batch, must hold whole samples and is split into them.
    public var strict: Bool
    /// Where the length comes from, for messages: "--timesteps 6", "the input length model.h5 fixes".
    public var source: String

    public init(count: Int, strict: Bool, source: String) {
        self.count = count
        self.strict = strict
        self.source = source
    }
}

/// The rules that turn CSV lines into rows and samples, shared by the whole-file reader and the stream so
/// that both accept the same files and refuse the others with the same sentences:
/// - a blank line ends a sample; rows are numbers separated by commas (blanks around them allowed) or,
///   in a row without commas, by runs of spaces and tabs (`np.savetxt`'s default);
/// - line 1 is a header only when none of its fields is a number; a header whose first field is empty
///   (pandas' `to_csv` with its index) makes column 1 an index, skipped while it counts 0, 1, 2, ...;
/// - with `timesteps`, blocks are cut into samples of that many rows.
struct CSVRows {
    enum Outcome {
        case skip
        case row([Double], endsSample: Bool)
        case endOfSample
    }

    enum Delimiter {
        case comma, blanks
    }

    let path: String
    let timesteps: CSVTimesteps?
    private(set) var features: Int?
    /// Rows of the first sample: every sample needs as many.
    private(set) var sampleRows: Int?
    private(set) var samples = 0
    private(set) var rows = 0
    /// Whether column 1 was skipped as pandas' index.
    private(set) var skippedIndex = false
    /// Rows of blocks longer than a sample that were split, and the samples they made.
    private(set) var splitRows = 0
    private(set) var splitSamples = 0
    /// Of the first three rows, how many have the row's position (0, 1, 2) in column 1.
    private(set) var countingRows = 0
    private var headerColumns: Int?
    private var delimiter: Delimiter?
    private var rowsInSample = 0
    private var sampleStart = 0
    private var blockRows = 0
    private var blockStart = 0

    init(path: String, timesteps: CSVTimesteps?) {
        self.path = path
        self.timesteps = timesteps
    }

    /// Column 1 of the first rows reads 0, 1, 2 as an index written with the data would.
    var firstColumnCounts: Bool { rows >= 2 && countingRows == min(rows, 3) }

    private func fail(_ line: Int?, _ what: String) -> GRUIOError {
        .csv(path: path, line: line, what)
    }

    mutating func take(_ line: ArraySlice<UInt8>, number: Int) throws -> Outcome {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            return try endBlock() ? .endOfSample : .skip
        }
        guard let (parsed, delimiter) = CSVReader.parseRow(line) else {
            if number == 1, let header = CSVReader.header(line) {
                headerColumns = header.columns
                skippedIndex = header.indexFirst
                return .skip
            }
            throw fail(number, CSVReader.rowProblem(line))
        }
        var values = parsed
        if let delimiter, let earlier = self.delimiter, earlier != delimiter {
            throw fail(number, earlier == .comma ? "the values are separated by blanks but earlier rows use commas"
                                                  : "the values are separated by commas but earlier rows use blanks")
        }
        if let delimiter { self.delimiter = delimiter }
        if let headerColumns, values.count != headerColumns {
            throw fail(number, "the row has \(values.count) values but the header on line 1 names \(headerColumns) columns")
        }
        if rows < 3 && values.first == Double(rows) { countingRows += 1 }
        if skippedIndex {
            guard values[0] == Double(rows) else {
                throw fail(number, "column 1 holds \(CSVRows.shown(values[0])) where pandas' index would be \(rows) (the header's empty first field marks it as an index); write the CSV with index=False or remove that column")
            }
            values.removeFirst()
        }
        if let features, values.count != features {
            throw fail(number, "the row has \(values.count) values but earlier rows have \(features)")
        }
        features = values.count
        rows += 1
        if blockRows == 0 { blockStart = number }
        if rowsInSample == 0 { sampleStart = number }
        blockRows += 1
        rowsInSample += 1
        if let timesteps, rowsInSample == timesteps.count {
            try endSample()
            return .row(values, endsSample: true)
        }
        return .row(values, endsSample: false)
    }

    /// The end of the input: true when it ends a sample.
    mutating func finish() throws -> Bool {
        let ended = try endBlock()
        if rows == 0 { throw fail(nil, "it holds no rows of numbers") }
        return ended
    }

    /// A blank line or the end: the block's rows must be whole samples when they were being cut.
    private mutating func endBlock() throws -> Bool {
        guard blockRows > 0 else { return false }
        if let timesteps, timesteps.strict || blockRows > timesteps.count {
            guard blockRows % timesteps.count == 0 else {
                throw fail(blockStart, "the block of \(blockRows) rows starting here is not a whole number of samples of \(timesteps.count) timesteps (\(timesteps.source)); put a blank line between samples")
            }
            if blockRows > timesteps.count {
                splitRows += blockRows
                splitSamples += blockRows / timesteps.count
            }
        }
        blockRows = 0
        guard rowsInSample > 0 else { return false }
        try endSample()
        return true
    }

    private mutating func endSample() throws {
        if let sampleRows, sampleRows != rowsInSample {
            throw fail(sampleStart, "sample \(samples + 1) has \(rowsInSample) rows but the first sample has \(sampleRows); every sample needs the same number of timesteps")
        }
        sampleRows = rowsInSample
        samples += 1
        rowsInSample = 0
    }

    /// A number as a message shows it: an integer without ".0".
    static func shown(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// What was read differently from one sample per block of rows, as sentences for stderr.
    var notes: [String] {
        var notes: [String] = []
        let name = path == "-" ? "standard input" : path
        if skippedIndex {
            notes.append("\(name): column 1 was skipped as pandas' index (its header field is empty and it counts 0, 1, 2, ...).")
        }
        if let timesteps, !timesteps.strict, splitSamples > 0 {
            notes.append("\(name): \(splitRows) rows without blank lines between samples were read as \(splitSamples) samples of \(timesteps.count) timesteps, \(timesteps.source).")
        }
        // np.savetxt writes no blank lines: to a model of any length its rows are one long sample.
        if timesteps == nil, samples == 1, let sampleRows, sampleRows > 1 {
            notes.append("\(name): its \(sampleRows) rows have no blank line between them and were read as one sample of \(sampleRows) timesteps; if they hold several samples, give --timesteps T or put a blank line after each sample.")
        }
        return notes
    }
}
