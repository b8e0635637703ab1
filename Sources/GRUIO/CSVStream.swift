import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads CSV rows as they arrive, so a long sequence never has to fit in memory. The rules are
/// `CSVReader.parse`'s (see `CSVRows`), and so are the errors, which name the line.
public final class CSVStream {
    public enum Event: Equatable {
        case row([Double])
        case endOfSample
        case end
    }

    private let descriptor: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes from `start` up to here hold no line break: a long line is searched once, not on every read.
    private var scanned = 0
    private var atEOF = false
    private var rows: CSVRows
    private var pendingEnd = false
    private var finished = false
    /// The number of the line last read.
    public private(set) var line = 0

    /// `prefix`: bytes already read from the descriptor (to look for the .npy magic), read first;
    /// `ended`: that read reached the end (`InputFile.reachedEnd`). With `timesteps`, blocks of rows are
    /// cut into samples of that length.
    public init(descriptor: Int32, path: String, prefix: [UInt8] = [], ended: Bool = false, timesteps: CSVTimesteps? = nil) {
        self.descriptor = descriptor
        self.path = path
        buffer = prefix
        atEOF = ended
        rows = CSVRows(path: path, timesteps: timesteps)
    }

    /// Column 1 of the first rows read so far counts 0, 1, 2 (see `CSVBatch.firstColumnCounts`).
    public var firstColumnCounts: Bool { rows.firstColumnCounts }

    /// What was read differently from one sample per block, as sentences for the user (complete at `.end`).
    public var notes: [String] { rows.notes }

    /// The next row, the end of a sample (a blank line, the end after rows, or a sample's last row when
    /// blocks are cut), or the end of the input.
    public func next() throws -> Event {
        if pendingEnd {
            pendingEnd = false
            return .endOfSample
        }
        if finished { return .end }
        while let content = try nextLine() {
            switch try rows.take(content, number: line) {
            case .skip: continue
            case .endOfSample: return .endOfSample
            case .row(let values, let endsSample):
                pendingEnd = endsSample
                return .row(values)
            }
        }
        finished = true
        if path == "-" && rows.rows == 0 && line == 0 {
            throw GRUIOError.csv(path: path, line: nil, "it is empty; pipe CSV or .npy data in, or give --input FILE")
        }
        return try rows.finish() ? .endOfSample : .end
    }

    /// Whether `next()` can answer without waiting for the producer: a whole line is buffered, the input
    /// has ended, or bytes are ready to be read.
    public func hasInputReady() -> Bool {
        let unread = buffer[max(start, scanned)...]
        if atEOF || unread.contains(0x0A) || unread.dropLast().contains(0x0D) { return true }
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) != 0
    }

    /// The next line without its line ending (LF, CR LF or a CR alone), or nil at the end of the input.
    private func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let lineBreak = buffer[max(start, scanned)...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                // A CR last in the buffer may be the first half of CR LF: wait for the next byte.
                if buffer[lineBreak] == 0x0D && lineBreak + 1 == buffer.count && !atEOF {
                    scanned = lineBreak
                } else {
                    let content = buffer[start..<lineBreak]
                    let crlf = buffer[lineBreak] == 0x0D && lineBreak + 1 < buffer.count && buffer[lineBreak + 1] == 0x0A
                    start = lineBreak + (crlf ? 2 : 1)
                    scanned = start
                    line += 1
                    return content
                }
            } else {
                scanned = buffer.count
            }
            if atEOF {
                guard start < buffer.count else { return nil }
                let content = buffer[start..<buffer.count]
                start = buffer.count
                line += 1
                return content
            }
            if buffer.count - start > CSVReader.maximumLineBytes {
                throw GRUIOError.csv(path: path, line: line + 1, "the line is longer than 16 MB without a line break; is this CSV?")
            }
            try fill()
        }
    }

    private func fill() throws {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw GRUIOError.read(path: path, String(cString: strerror(errno))) }
            if count == 0 { atEOF = true } else { buffer.append(contentsOf: chunk[0..<count]) }
            return
        }
    }
}

extension CSVReader {
    /// Longer lines are refused: no model has that many features, and an input without line breaks
    /// (a binary file, /dev/zero) must not be read without end.
    public static let maximumLineBytes = 16 << 20
}
