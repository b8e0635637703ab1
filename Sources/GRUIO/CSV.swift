import Foundation

/// A batch of sequences read from CSV: one row per timestep, one column per feature, a blank line
/// between samples; a first line of column names is skipped (rules in `CSVRows`).
public struct CSVBatch: Sendable {
    public var batch: Int
    public var timesteps: Int
    public var features: Int
    /// `(batch, timesteps, features)`, row-major.
    public var values: [Double]
    /// Column 1 of the first rows reads 0, 1, 2: an index column, if the rows have one value too many.
    public var firstColumnCounts = false
    /// What was read differently from one sample per block (a skipped index column, blocks cut into
    /// samples), as sentences to show the user.
    public var notes: [String] = []

    public var shape: [Int] { [batch, timesteps, features] }
}

public enum CSVReader {
    /// Parses CSV text held in `bytes`; `path` names it in errors. With `timesteps`, blocks of rows are cut
    /// into samples of that length (see `CSVTimesteps`).
    public static func parse(_ bytes: [UInt8], path: String, timesteps: CSVTimesteps? = nil) throws -> CSVBatch {
        var rows = CSVRows(path: path, timesteps: timesteps)
        var values: [Double] = []
        var lineNumber = 0
        var lineStart = 0
        let end = bytes.count
        while lineStart < end {
            var lineEnd = lineStart
            // Lines end with LF, CR LF or a CR alone (classic Mac OS, some spreadsheet exports).
            while lineEnd < end && bytes[lineEnd] != 0x0A && bytes[lineEnd] != 0x0D { lineEnd += 1 }
            lineNumber += 1
            if case .row(let fields, _) = try rows.take(bytes[lineStart..<lineEnd], number: lineNumber) {
                values.append(contentsOf: fields)
            }
            lineStart = lineEnd + (lineEnd + 1 < end && bytes[lineEnd] == 0x0D && bytes[lineEnd + 1] == 0x0A ? 2 : 1)
        }
        _ = try rows.finish()
        guard let features = rows.features, let timesteps = rows.sampleRows else {
            throw GRUIOError.csv(path: path, line: nil, "it holds no rows of numbers")
        }
        return CSVBatch(batch: rows.samples, timesteps: timesteps, features: features, values: values,
                        firstColumnCounts: rows.firstColumnCounts, notes: rows.notes)
    }

    /// The numbers of a row and what separates them (nil for a single value), or nil when a field is not
    /// a number. A row with a comma is split at commas; one without, at runs of spaces and tabs.
    static func parseRow(_ line: ArraySlice<UInt8>) -> (values: [Double], delimiter: CSVRows.Delimiter?)? {
        var values: [Double] = []
        if line.contains(0x2C) {
            var start = line.startIndex
            while true {
                var stop = start
                while stop < line.endIndex && line[stop] != 0x2C { stop += 1 }
                guard let value = parseNumber(line[start..<stop]) else { return nil }
                values.append(value)
                if stop == line.endIndex { return (values, .comma) }
                start = stop + 1
            }
        }
        for field in blankSeparatedFields(line) {
            guard let value = parseNumber(field) else { return nil }
            values.append(value)
        }
        return values.isEmpty ? nil : (values, values.count > 1 ? .blanks : nil)
    }

    /// The fields of a row without commas: runs of anything but spaces and tabs.
    static func blankSeparatedFields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var index = line.startIndex
        while index < line.endIndex {
            while index < line.endIndex && (line[index] == 0x20 || line[index] == 0x09) { index += 1 }
            let start = index
            while index < line.endIndex && line[index] != 0x20 && line[index] != 0x09 { index += 1 }
            if index > start { fields.append(line[start..<index]) }
        }
        return fields
    }

    /// A decimal number, or numpy's nan / inf spellings, with surrounding blanks allowed.
    static func parseNumber(_ field: ArraySlice<UInt8>) -> Double? {
        var low = field.startIndex, high = field.endIndex
        while low < high && (field[low] == 0x20 || field[low] == 0x09) { low += 1 }
        while high > low && (field[high - 1] == 0x20 || field[high - 1] == 0x09) { high -= 1 }
        guard low < high, high - low <= 64 else { return nil }
        for byte in field[low..<high] {
            // Digits, sign, point, exponent and the letters of nan / inf / infinity only.
            guard (0x30...0x39).contains(byte) || byte == 0x2B || byte == 0x2D || byte == 0x2E
                || "eEnNaAiIfFtTyY".utf8.contains(byte) else { return nil }
        }
        let text = String(decoding: field[low..<high], as: UTF8.self)
        return Double(text)
    }

    /// The fields of a line as text, split as `parseRow` splits them; nil for binary data.
    static func textFields(_ line: ArraySlice<UInt8>) -> [Substring]? {
        guard let text = String(bytes: line, encoding: .utf8),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { return nil }
        if text.contains(",") { return text.split(separator: ",", omittingEmptySubsequences: false) }
        return blankSeparatedFields(line).map { Substring(String(decoding: $0, as: UTF8.self)) }
    }

    /// A line of column names: text none of whose fields is a number. `np.savetxt` writes its header after
    /// "# "; a first field left empty is where pandas' `to_csv` names its index.
    static func header(_ line: ArraySlice<UInt8>) -> (columns: Int, indexFirst: Bool)? {
        var content = line
        if content.first == UInt8(ascii: "#") { content = content.dropFirst() }
        guard let fields = textFields(content), !fields.isEmpty, !fields.contains(where: { parseNumber(ArraySlice($0.utf8)) != nil }) else {
            return nil
        }
        let indexFirst = content.contains(0x2C) && fields.count >= 2 && fields[0].allSatisfy { $0 == " " || $0 == "\t" }
        return (fields.count, indexFirst)
    }

    static func rowProblem(_ line: ArraySlice<UInt8>) -> String {
        guard let fields = textFields(line) else {
            return "the row holds binary data, not comma-separated numbers"
        }
        for (index, field) in fields.enumerated() where parseNumber(ArraySlice(field.utf8)) == nil {
            let shown = field.trimmingCharacters(in: .whitespaces)
            return shown.isEmpty ? "column \(index + 1) is empty" : "column \(index + 1) holds '\(Printable.name(shown, limit: 32))', which is not a number"
        }
        return "the row is not comma-separated numbers"
    }
}

/// Writes numbers as CSV, printed so that each reads back to the same float.
public enum CSVWriter {
    /// Encodes and writes a block of rows at a time, so the text never exists whole in memory.
    public static func write<S: BinaryFloatingPoint & LosslessStringConvertible>(
        _ values: [S], columns: Int, rowsPerBlock: Int?, to writer: AtomicFileWriter) throws {
        let rows = columns > 0 ? values.count / columns : 0
        let step = max(1, 4096 / max(1, columns))
        var row = 0
        while row < rows {
            let end = min(rows, row + step)
            var text = ""
            for r in row..<end {
                if let block = rowsPerBlock, r > 0, r % block == 0 { text += "\n" }
                for column in 0..<columns {
                    if column > 0 { text += "," }
                    text += values[r * columns + column].description
                }
                text += "\n"
            }
            try writer.write(Array(text.utf8))
            row = end
        }
    }

    /// `rows` rows of `columns` values each, with a blank line after every `rowsPerBlock` rows except the last.
    public static func encode<S: BinaryFloatingPoint & LosslessStringConvertible>(
        _ values: [S], columns: Int, rowsPerBlock: Int? = nil) -> [UInt8] {
        var text = ""
        text.reserveCapacity(values.count * 12)
        let rows = columns > 0 ? values.count / columns : 0
        for row in 0..<rows {
            if let block = rowsPerBlock, row > 0, row % block == 0 { text += "\n" }
            for column in 0..<columns {
                if column > 0 { text += "," }
                text += values[row * columns + column].description
            }
            text += "\n"
        }
        return Array(text.utf8)
    }
}
