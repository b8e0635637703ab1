import Foundation

/// A batch of sequences read from CSV: one row per timestep, one column per feature, a blank line
/// between samples; a first line of column names is skipped.
public struct CSVBatch: Sendable {
    public var batch: Int
    public var timesteps: Int
    public var features: Int
    /// `(batch, timesteps, features)`, row-major.
    public var values: [Double]

    public var shape: [Int] { [batch, timesteps, features] }
}

public enum CSVReader {
    /// Parses CSV text held in `bytes`; `path` names it in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> CSVBatch {
        var values: [Double] = []
        var features: Int?
        var timesteps: Int?
        var rowsInSample = 0
        var samples = 0
        var sampleStartLine = 1
        var lineNumber = 0
        var sawData = false

        func endSample(at line: Int) throws {
            guard rowsInSample > 0 else { return }
            if let timesteps, timesteps != rowsInSample {
                throw GRUIOError.csv(path: path, line: sampleStartLine, "sample \(samples + 1) has \(rowsInSample) rows but the first sample has \(timesteps); every sample needs the same number of timesteps")
            }
            timesteps = rowsInSample
            samples += 1
            rowsInSample = 0
        }

        var lineStart = 0
        let end = bytes.count
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            lineNumber += 1
            var contentEnd = lineEnd
            if contentEnd > lineStart && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let line = bytes[lineStart..<contentEnd]
            lineStart = lineEnd + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                try endSample(at: lineNumber)
                continue
            }
            guard let fields = parseRow(line) else {
                if !sawData && lineNumber == 1 && isHeader(line) { continue }
                throw GRUIOError.csv(path: path, line: lineNumber, rowProblem(line))
            }
            sawData = true
            if let features, fields.count != features {
                throw GRUIOError.csv(path: path, line: lineNumber, "the row has \(fields.count) values but earlier rows have \(features)")
            }
            if rowsInSample == 0 { sampleStartLine = lineNumber }
            features = fields.count
            values.append(contentsOf: fields)
            rowsInSample += 1
        }
        try endSample(at: lineNumber + 1)
        guard let features, let timesteps, samples > 0 else {
            throw GRUIOError.csv(path: path, line: nil, "it holds no rows of numbers")
        }
        return CSVBatch(batch: samples, timesteps: timesteps, features: features, values: values)
    }

    /// The numbers of a row, or nil when a field is not a number.
    static func parseRow(_ line: ArraySlice<UInt8>) -> [Double]? {
        var fields: [Double] = []
        var start = line.startIndex
        while true {
            var stop = start
            while stop < line.endIndex && line[stop] != 0x2C { stop += 1 }
            guard let value = parseNumber(line[start..<stop]) else { return nil }
            fields.append(value)
            if stop == line.endIndex { return fields }
            start = stop + 1
        }
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

    /// A line of column names: printable text in which some field holds a letter or underscore.
    static func isHeader(_ line: ArraySlice<UInt8>) -> Bool {
        guard let text = String(bytes: line, encoding: .utf8),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { return false }
        return text.split(separator: ",").contains { field in
            parseNumber(ArraySlice(field.utf8)) == nil && field.unicodeScalars.contains { $0.properties.isAlphabetic || $0 == "_" }
        }
    }

    static func rowProblem(_ line: ArraySlice<UInt8>) -> String {
        guard let text = String(bytes: line, encoding: .utf8),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
            return "the row holds binary data, not comma-separated numbers"
        }
        var column = 0
        for field in text.split(separator: ",", omittingEmptySubsequences: false) {
            column += 1
            if parseNumber(ArraySlice(field.utf8)) == nil {
                let shown = field.trimmingCharacters(in: .whitespaces)
                return shown.isEmpty ? "column \(column) is empty" : "column \(column) holds '\(shown.prefix(32))', which is not a number"
            }
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
