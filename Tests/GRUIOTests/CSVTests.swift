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
