import Foundation
import GRUIO
import TestSupport
import XCTest

/// CSV as numpy and pandas write it, through a file (read whole) and through standard input (streamed):
/// each is read as the same samples as CSV with blank lines between samples, or refused, never read otherwise.
final class CSVInputTests: XCTestCase {
    /// tf-keras, input (None, 6, 5): the model fixes 6 timesteps.
    private let fixed = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_seq")
    /// tf-keras, input (None, None, 5): any length.
    private let open = Fixtures.path("tfkeras/activation_tanh")
    private var scratch = ""
    private var x: [Float] = []

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
        x = try NPYArray(path: fixed + "/x1.npy").floats()   // (5, 6, 5)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// The input's 30 rows: `separator` between values, `blankLines` between samples, `index` as pandas
    /// writes it (header with an empty first field, then 0, 1, 2, ...).
    private func text(separator: String = ",", blankLines: Bool, rows: Int = 30, header: String? = nil,
                      index: Bool = false) -> String {
        var text = header.map { $0 + "\n" } ?? ""
        for row in 0..<rows {
            if blankLines && row > 0 && row % 6 == 0 { text += "\n" }
            let values = (0..<5).map { "\(x[row * 5 + $0])" }
            text += ((index ? ["\(row)"] : []) + values).joined(separator: separator) + "\n"
        }
        return text
    }

    /// Runs gru-run on `text` as a file read whole (the output .npy, so nothing streams) and on standard
    /// input, streamed to CSV; both results.
    private func run(_ model: String, _ text: String, _ extra: [String] = []) throws -> (file: ProcessResult, stdin: ProcessResult) {
        let path = scratch + "/x.csv"
        try writeFileAtomically(Array(text.utf8), to: path)
        let file = try GRURunBinary.run(["--weights", model + "/model.h5", "--input", path, "--return-sequences",
                                         "--output-format", "npy"] + extra)
        let stdin = try GRURunBinary.run(["--weights", model + "/model.h5", "--return-sequences"] + extra, stdin: Array(text.utf8))
        return (file, stdin)
    }

    /// The outputs of the input with blank lines between samples: .npy from the file, CSV from stdin.
    private func reference(_ model: String) throws -> (npy: [UInt8], csv: [UInt8]) {
        let result = try run(model, text(blankLines: true))
        for run in [result.file, result.stdin] {
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(run.stderr, "")
        }
        XCTAssertEqual(try NPYArray(bytes: result.file.stdout, path: "-").shape, [5, 6, 7])
        return (result.file.stdout, result.stdin.stdout)
    }

    /// Both runs succeeded with the reference's outputs.
    private func assertSame(_ result: (file: ProcessResult, stdin: ProcessResult), _ expected: (npy: [UInt8], csv: [UInt8]),
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.file.status, 0, result.file.stderr, file: file, line: line)
        XCTAssertEqual(result.stdin.status, 0, result.stdin.stderr, file: file, line: line)
        XCTAssertEqual(result.file.stdout, expected.npy, file: file, line: line)
        XCTAssertEqual(result.stdin.stdout, expected.csv, file: file, line: line)
    }

    func testSavetxtOfABatchIsSplitIntoTheModelsTimestepsSayingSo() throws {
        let expected = try reference(fixed)
        let savetxt = try run(fixed, text(blankLines: false))
        assertSame(savetxt, expected)
        for (result, name) in [(savetxt.file, scratch + "/x.csv"), (savetxt.stdin, "standard input")] {
            XCTAssertEqual(result.stderr, "gru-run: note: \(name): 30 rows without blank lines between samples were read as 5 samples of 6 timesteps, the input length \(fixed)/model.h5 fixes.\n")
        }
        let quiet = try run(fixed, text(blankLines: false), ["--quiet"])
        XCTAssertEqual([quiet.file.stderr, quiet.stdin.stderr], ["", ""])
        assertSame(quiet, expected)
        // np.savetxt's own layout: spaces between values, its header after "# ".
        assertSame(try run(fixed, text(separator: " ", blankLines: false, header: "# a b c d e"), ["--quiet"]), expected)
        assertSame(try run(fixed, text(separator: "\t", blankLines: true)), expected)
    }

    func testRowsThatAreNotWholeSamplesAreRefused() throws {
        let short = try run(fixed, text(blankLines: false, rows: 29))
        for (result, name) in [(short.file, scratch + "/x.csv"), (short.stdin, "standard input")] {
            XCTAssertEqual(result.status, 65)
            XCTAssertEqual(result.stderr, "gru-run: \(name), line 1: the block of 29 rows starting here is not a whole number of samples of 6 timesteps (the input length \(fixed)/model.h5 fixes); put a blank line between samples.\n")
        }
    }

    func testTimestepsFlagForAModelOfAnyLength() throws {
        let expected = try reference(open)
        let split = try run(open, text(blankLines: false), ["--timesteps", "6"])
        assertSame(split, expected)
        XCTAssertEqual([split.file.stderr, split.stdin.stderr], ["", ""])

        let uneven = try run(open, text(blankLines: false), ["--timesteps", "4"])
        XCTAssertEqual(uneven.file.status, 65)
        XCTAssertEqual(uneven.file.stderr, "gru-run: \(scratch)/x.csv, line 1: the block of 30 rows starting here is not a whole number of samples of 4 timesteps (--timesteps 4); put a blank line between samples.\n")
        XCTAssertEqual(uneven.stdin.status, 65)
        XCTAssertEqual(uneven.stdin.stderr, "gru-run: standard input, line 1: the block of 30 rows starting here is not a whole number of samples of 4 timesteps (--timesteps 4); put a blank line between samples.\n")

        let contradicts = try run(fixed, text(blankLines: true), ["--timesteps", "3"])
        XCTAssertEqual(contradicts.file.status, 64)
        XCTAssertEqual(contradicts.file.stderr, "gru-run: --timesteps 3 contradicts \(fixed)/model.h5, whose input has a fixed length of 6 timesteps.\n")
        let npy = try GRURunBinary.run(["--weights", open + "/model.h5", "--input", fixed + "/x1.npy", "--timesteps", "3"])
        XCTAssertEqual(npy.status, 65)
        XCTAssertEqual(npy.stderr, "gru-run: \(fixed)/x1.npy has 6 timesteps per sample but --timesteps says 3.\n")
        let zero = try GRURunBinary.run(["--weights", open + "/model.h5", "--input", fixed + "/x1.npy", "--timesteps", "0"])
        XCTAssertEqual(zero.status, 64)
        XCTAssertEqual(zero.stderr, "gru-run: --timesteps must be at least 1.\n")
    }

    func testPandasIndexColumnIsSkippedOrRefused() throws {
        let expected = try reference(fixed)
        let indexed = try run(fixed, text(blankLines: true, header: ",a,b,c,d,e", index: true))
        assertSame(indexed, expected)
        for (result, name) in [(indexed.file, scratch + "/x.csv"), (indexed.stdin, "standard input")] {
            XCTAssertEqual(result.stderr, "gru-run: note: \(name): column 1 was skipped as pandas' index (its header field is empty and it counts 0, 1, 2, ...).\n")
        }
        // No header: the column could be data, so it is not dropped; one feature too many names it.
        let bare = try run(fixed, text(blankLines: true, index: true))
        let hint = "column 1 counts 0, 1, 2, ... like an index written with the data (pandas' to_csv writes one unless index=False); remove that column."
        XCTAssertEqual(bare.file.status, 65)
        XCTAssertEqual(bare.file.stderr, "gru-run: \(scratch)/x.csv has 6 features per step but layer 'gru' of \(fixed)/model.h5 expects 5; " + hint + "\n")
        XCTAssertEqual(bare.stdin.status, 65)
        XCTAssertEqual(bare.stdin.stderr, "gru-run: standard input, line 1: the row has 6 features per step but layer 'gru' expects 5; " + hint + "\n")
        XCTAssertTrue(bare.stdin.stdout.isEmpty)
    }

    func testABadTokenOnTheFirstRowIsRefusedNotTakenForAHeader() throws {
        for (first, message) in [("1.0,oops,2,3,4", "column 2 holds 'oops', which is not a number."),
                                  ("1,2,3,4,NA", "column 5 holds 'NA', which is not a number."),
                                  ("1,2\t3,4,5,6", "column 2 holds '2<tab>3', which is not a number.")] {
            let result = try run(fixed, first + "\n" + text(blankLines: false, rows: 5))
            XCTAssertEqual(result.file.status, 65)
            XCTAssertEqual(result.file.stderr, "gru-run: \(scratch)/x.csv, line 1: " + message + "\n")
            XCTAssertEqual(result.stdin.status, 65)
            XCTAssertEqual(result.stdin.stderr, "gru-run: standard input, line 1: " + message + "\n")
        }
    }
}
