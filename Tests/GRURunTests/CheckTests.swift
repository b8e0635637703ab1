import Foundation
import GRUIO
import TestSupport
import XCTest

/// `gru-run check` against outputs Keras saved.
final class CheckTests: XCTestCase {
    private let f = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq_mask")

    func testSavedKerasOutputsPass() throws {
        let result = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy",
                                           "--expect", f + "/y1.npy", "--expect-state", f + "/h1.npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdoutText.contains("output: 210 values compared with \(f)/y1.npy, 0 differ"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("state: 35 values compared"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.hasSuffix("PASS\n"))
    }

    func testOneMovedValueFailsNamingItsPosition() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var expected = try NPYArray(path: f + "/y1.npy").floats()
        let position = (3 * 6 + 4) * 7 + 2   // [3, 4, 2]
        let original = expected[position]
        expected[position] += 1e-3
        let moved = scratch + "/moved.npy"
        try writeFileAtomically(NPYWriter.encode(expected, shape: [5, 6, 7]), to: moved)
        let result = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", moved])
        XCTAssertEqual(result.status, 1, result.stderr)
        let text = result.stdoutText
        XCTAssertTrue(text.contains("210 values compared with \(moved), 1 differ by more than 1e-05"), text)
        XCTAssertTrue(text.contains("worst at [3, 4, 2]: got "), text)
        XCTAssertTrue(text.contains("expected \(Double(original + 1e-3))"), text)
        XCTAssertTrue(text.hasSuffix("FAIL\n"))

        let json = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", moved, "--json"])
        XCTAssertEqual(json.status, 1)
        let report = try JSONValue.parse(json.stdoutText)
        XCTAssertEqual(report["passed"]?.bool, false)
        let first = report["reports"]?.array?.first
        XCTAssertEqual(first?["differing"]?.number, 1)
        XCTAssertEqual(first?["compared"]?.number, 210)
        XCTAssertEqual(first?["worst"]?["index"]?.array?.compactMap(\.number), [3, 4, 2])
        XCTAssertEqual(first?["max_abs_error"]?.number ?? 0, 1e-3, accuracy: 2e-6)
        // A loose enough tolerance passes.
        let loose = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", moved, "--atol", "2e-3"])
        XCTAssertEqual(loose.status, 0)
    }

    func testShapeMismatchAndBadInputs() throws {
        let result = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/h1.npy"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdoutText.contains("output: shape mismatch: got (5, 6, 7), \(f)/h1.npy holds (5, 7)"), result.stdoutText)
        let missing = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/none.npy"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stderr, "gru-run: \(f)/none.npy does not exist.\n")
    }
}
