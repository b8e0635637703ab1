import Foundation
import GRUIO
import XCTest

final class CSVTests: XCTestCase {
    private func parse(_ text: String) throws -> CSVBatch {
        try CSVReader.parse(Array(text.utf8), path: "x.csv")
    }

    func testSamplesSeparatedByBlankLinesWithHeader() throws {
        let batch = try parse("a,b\n1,2\n3,4\n\n5,6\n7,8\n")
        XCTAssertEqual(batch.shape, [2, 2, 2])
        XCTAssertEqual(batch.values, [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testWindowsLineEndsSpacesRepeatedBlanksAndNumpySpellings() throws {
        let batch = try parse("1, nan\r\n-inf ,inf\r\n\r\n\r\n1e-5,-0\r\n2.5E3,+4\r\n")
        XCTAssertEqual(batch.shape, [2, 2, 2])
        XCTAssertTrue(batch.values[1].isNaN)
        XCTAssertEqual(batch.values[2], -.infinity)
        XCTAssertEqual(batch.values[3], .infinity)
        XCTAssertEqual(Array(batch.values[4...]), [1e-5, -0.0, 2500, 4])
    }

    func testErrorsNameTheLine() {
        let cases: [(String, String)] = [
            ("", "x.csv: it holds no rows of numbers."),
            ("1,2\n3\n", "x.csv, line 2: the row has 1 values but earlier rows have 2."),
            ("1,2\n3,x\n", "x.csv, line 2: column 2 holds 'x', which is not a number."),
            ("1,2\n3,4\n\n5,6\n", "x.csv, line 4: sample 2 has 1 rows but the first sample has 2; every sample needs the same number of timesteps."),
            ("1,2\n\u{01}\u{02},3\n", "x.csv, line 2: the row holds binary data, not comma-separated numbers."),
            ("1,,2\n", "x.csv, line 1: column 2 is empty."),
            ("h1,h2\nh3,h4\n", "x.csv, line 2: column 1 holds 'h3', which is not a number."),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text)) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testWriterPrintsRoundTrippingNumbers() throws {
        let values: [Float] = [0.1, -1.0000001, 3.4028235e38, 1e-45, .nan, -.infinity]
        let text = String(decoding: CSVWriter.encode(values, columns: 3, rowsPerBlock: 1), as: UTF8.self)
        XCTAssertEqual(text, "0.1,-1.0000001,3.4028235e+38\n\n1e-45,nan,-inf\n")
        let back = try parse(text).values.map { Float($0) }
        XCTAssertEqual(Array(back[0..<4]), Array(values[0..<4]))
        XCTAssertTrue(back[4].isNaN)
        XCTAssertEqual(back[5], -.infinity)
    }
}

/// The rules for CSV as numpy and pandas write it, checked on the whole-file reader and on the stream,
/// which must agree on every value, every sample boundary and every message.
final class CSVRulesTests: XCTestCase {
    private let modelLength = CSVTimesteps(count: 3, strict: false, source: "the input length m.h5 fixes")
    private let flagLength = CSVTimesteps(count: 3, strict: true, source: "--timesteps 3")

    /// Samples read by the stream: rows grouped at each end of sample, with the notes.
    private func stream(_ text: String, _ timesteps: CSVTimesteps?) throws -> (samples: [[[Double]]], notes: [String], counts: Bool) {
        let descriptor = open("/dev/null", O_RDONLY)
        defer { close(descriptor) }
        let stream = CSVStream(descriptor: descriptor, path: "x.csv", prefix: Array(text.utf8), timesteps: timesteps)
        var samples: [[[Double]]] = [], current: [[Double]] = []
        loop: while true {
            switch try stream.next() {
            case .row(let values): current.append(values)
            case .endOfSample: samples.append(current); current = []
            case .end: break loop
            }
        }
        return (samples, stream.notes, stream.firstColumnCounts)
    }

    /// Parses with both readers; returns the whole-file result after checking that the stream agrees.
    private func read(_ text: String, _ timesteps: CSVTimesteps? = nil, file: StaticString = #filePath,
                      line: UInt = #line) throws -> CSVBatch {
        let batch = try CSVReader.parse(Array(text.utf8), path: "x.csv", timesteps: timesteps)
        let streamed = try stream(text, timesteps)
        let rows = stride(from: 0, to: batch.values.count, by: batch.features).map { Array(batch.values[$0..<$0 + batch.features]) }
        let samples = stride(from: 0, to: rows.count, by: batch.timesteps).map { Array(rows[$0..<$0 + batch.timesteps]) }
        let bits = { (samples: [[[Double]]]) in samples.map { $0.map { $0.map(\.bitPattern) } } }  // NaN equals NaN
        XCTAssertEqual(bits(streamed.samples), bits(samples), "stream and whole-file reader differ", file: file, line: line)
        XCTAssertEqual(streamed.notes, batch.notes, file: file, line: line)
        XCTAssertEqual(streamed.counts, batch.firstColumnCounts, file: file, line: line)
        return batch
    }

    private func refuse(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        refuse(text, nil, message, file: file, line: line)
    }

    /// Both readers refuse `text` with `message`.
    private func refuse(_ text: String, _ timesteps: CSVTimesteps?, _ message: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CSVReader.parse(Array(text.utf8), path: "x.csv", timesteps: timesteps), file: file, line: line) {
            XCTAssertEqual("\($0)", message, "whole file", file: file, line: line)
        }
        XCTAssertThrowsError(try stream(text, timesteps), file: file, line: line) {
            XCTAssertEqual("\($0)", message, "stream", file: file, line: line)
        }
    }

    func testAFirstRowWithANumberIsDataSoABadTokenThereIsRefused() throws {
        refuse("1.0,oops,2\n3,4,5\n", "x.csv, line 1: column 2 holds 'oops', which is not a number.")
        refuse("1,2,NA\n3,4,5\n", "x.csv, line 1: column 3 holds 'NA', which is not a number.")
        refuse("nan,x\n1,2\n", "x.csv, line 1: column 2 holds 'x', which is not a number.")
        refuse("a,1e5\n1,2\n", "x.csv, line 1: column 1 holds 'a', which is not a number.")
        // A line of names only is a header, however it is spelt.
        XCTAssertEqual(try read("a,b,c\n1,2,3\n").values, [1, 2, 3])
        XCTAssertEqual(try read("x_1, -, ?\n1,2,3\n").values, [1, 2, 3])
        XCTAssertEqual(try read("# a b c\n1 2 3\n").values, [1, 2, 3])   // np.savetxt(header="a b c")
        XCTAssertEqual(try read("# a,b,c\n1 2 3\n").values, [1, 2, 3])
        // The numbers numpy writes stay numbers.
        let numbers = try read("nan,inf,-inf,NaN\n+1.5e-3,-0,Infinity,1E+2\n").values
        XCTAssertTrue(numbers[0].isNaN && numbers[3].isNaN)
        XCTAssertEqual(Array(numbers[1...2]), [.infinity, -.infinity])
        XCTAssertEqual(Array(numbers[4...]), [0.0015, -0.0, .infinity, 100])
        refuse("a,b\n1,2,3\n", "x.csv, line 2: the row has 3 values but the header on line 1 names 2 columns.")
    }

    func testAModelsLengthSplitsABlockOfWholeSamplesAndSaysSo() throws {
        let six = "1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n"
        let split = try read(six, modelLength)
        XCTAssertEqual(split.shape, [2, 3, 2])
        XCTAssertEqual(split.values, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6])
        XCTAssertEqual(split.notes, ["x.csv: 6 rows without blank lines between samples were read as 2 samples of 3 timesteps, the input length m.h5 fixes."])
        // Blank lines already between samples: nothing to say.
        let separate = try read("1,1\n2,2\n3,3\n\n4,4\n5,5\n6,6\n", modelLength)
        XCTAssertEqual(separate.shape, [2, 3, 2])
        XCTAssertEqual(separate.notes, [])
        // A block shorter than the model's length is one sample, as tf-keras runs it.
        XCTAssertEqual(try read("1,1\n2,2\n", modelLength).shape, [1, 2, 2])
        refuse("1,1\n2,2\n3,3\n4,4\n", modelLength,
               "x.csv, line 1: the block of 4 rows starting here is not a whole number of samples of 3 timesteps (the input length m.h5 fixes); put a blank line between samples.")
        refuse("1,1\n2,2\n3,3\n\n4,4\n5,5\n6,6\n7,7\n8,8\n", modelLength,
               "x.csv, line 5: the block of 5 rows starting here is not a whole number of samples of 3 timesteps (the input length m.h5 fixes); put a blank line between samples.")
        refuse("1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n\n7,7\n", modelLength,
               "x.csv, line 8: sample 3 has 1 rows but the first sample has 3; every sample needs the same number of timesteps.")
    }

    func testTimestepsFlagCutsEveryBlock() throws {
        let batch = try read("1\n2\n3\n4\n5\n6\n\n7\n8\n9\n", flagLength)
        XCTAssertEqual(batch.shape, [3, 3, 1])
        XCTAssertEqual(batch.notes, [])
        refuse("1\n2\n", flagLength,
               "x.csv, line 1: the block of 2 rows starting here is not a whole number of samples of 3 timesteps (--timesteps 3); put a blank line between samples.")
    }

    /// np.savetxt's rows (no blank lines) to a model of any length are one long sample: said, naming
    /// --timesteps; blank lines between samples, one row, or a known length say nothing.
    func testOneLongSampleIsSaid() throws {
        XCTAssertEqual(try read("1\n2\n3\n4\n").notes,
                       ["x.csv: its 4 rows have no blank line between them and were read as one sample of 4 timesteps; if they hold several samples, give --timesteps T or put a blank line after each sample."])
        XCTAssertEqual(try read("1\n2\n\n3\n4\n").notes, [])
        XCTAssertEqual(try read("1,2,3\n").notes, [])
        XCTAssertEqual(try read("1\n2\n3\n4\n5\n6\n", flagLength).notes, [])
    }

    func testPandasIndexColumnIsSkippedWhileItCounts() throws {
        let batch = try read(",a,b\n0,0.5,1.5\n1,2.5,3.5\n2,4.5,5.5\n")
        XCTAssertEqual(batch.shape, [1, 3, 2])
        XCTAssertEqual(batch.values, [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        XCTAssertEqual(batch.notes, ["x.csv: column 1 was skipped as pandas' index (its header field is empty and it counts 0, 1, 2, ...).",
                                     "x.csv: its 3 rows have no blank line between them and were read as one sample of 3 timesteps; if they hold several samples, give --timesteps T or put a blank line after each sample."])
        refuse(",a,b\n0,0.5,1.5\n2,2.5,3.5\n",
               "x.csv, line 3: column 1 holds 2 where pandas' index would be 1 (the header's empty first field marks it as an index); write the CSV with index=False or remove that column.")
        refuse(",a,b\n5,0.5,1.5\n",
               "x.csv, line 2: column 1 holds 5 where pandas' index would be 0 (the header's empty first field marks it as an index); write the CSV with index=False or remove that column.")
        // Without a header the column is data; the reader only says that it counts.
        let plain = try read("0,0.5\n1,2.5\n2,4.5\n3,9\n")
        XCTAssertEqual(plain.shape, [1, 4, 2])
        XCTAssertTrue(plain.firstColumnCounts)
        XCTAssertFalse(try read("0,0.5\n1,2.5\n5,4.5\n").firstColumnCounts)
        XCTAssertFalse(try read("0,0.5\n").firstColumnCounts)
    }

    func testBlankSeparatedRowsAsNumpyWritesThem() throws {
        let batch = try read("1.000000000000000000e+00 2.000000000000000000e+00\n3\t4\n  5   6  \n\n7 8\n9 10\n11\t \t12\n")
        XCTAssertEqual(batch.shape, [2, 3, 2])
        XCTAssertEqual(batch.values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try read("1, 2 ,\t3\n4,5,6\n").values, [1, 2, 3, 4, 5, 6])
        refuse("1,2\n3 4\n", "x.csv, line 2: the values are separated by blanks but earlier rows use commas.")
        refuse("1 2\n3,4\n", "x.csv, line 2: the values are separated by commas but earlier rows use blanks.")
        refuse("1 2\n3 x\n", "x.csv, line 2: column 2 holds 'x', which is not a number.")
        refuse("1,2\n3 4,5\n", "x.csv, line 2: column 1 holds '3 4', which is not a number.")
    }

    func testATabInAMessageReadsAsTab() {
        XCTAssertThrowsError(try CSVReader.parse(Array("1,2\t3\n".utf8), path: "x.csv")) {
            XCTAssertEqual(Printable.text("\($0)"), "x.csv, line 1: column 2 holds '2<tab>3', which is not a number.")
        }
    }
}
