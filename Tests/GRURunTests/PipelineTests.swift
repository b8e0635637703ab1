import Foundation
import GRUIO
import TestSupport
import XCTest

/// gru-run in shell pipelines and side by side with itself.
final class PipelineTests: XCTestCase {
    func testAClosedStdoutEndsQuietly() throws {
        let f = Fixtures.path("tfkeras/large_ra1_seq")
        // A long CSV output into `head -1`: gru-run's later writes meet a closed pipe.
        let result = try GRURunBinary.shell("(\"$GRU_RUN\" --weights \(f)/model.h5 --input \(f)/x1.npy; echo \"status $?\" >&2) | head -1")
        XCTAssertEqual(result.stderr, "status 0\n")
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 1, result.stdout)
    }

    func testStdinAtEndOfFileIsAnErrorNotAHang() throws {
        let f = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")
        let result = try GRURunBinary.shell("\"$GRU_RUN\" --weights \(f)/model.h5 < /dev/null")
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: standard input: it is empty; pipe CSV or .npy data in, or give --input FILE.\n")
    }

    func testConcurrentRunsAllSucceedAndShareOneOutputSafely() throws {
        let f = Fixtures.path("tfkeras/large_ra0_seq")
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var script = ""
        for i in 0..<8 { script += "\"$GRU_RUN\" --weights \(f)/model.h5 --input \(f)/x1.npy --output \(scratch)/y\(i).npy & " }
        script += "\"$GRU_RUN\" --weights \(f)/model.h5 --input \(f)/x1.npy --output \(scratch)/same.npy & "
        script += "\"$GRU_RUN\" --weights \(f)/model.h5 --input \(f)/x1.npy --output \(scratch)/same.npy & wait"
        let result = try GRURunBinary.shell(script)
        XCTAssertEqual(result.stderr, "")
        let expected = try loadNPY(f + "/y1.npy")
        for name in (0..<8).map({ "y\($0).npy" }) + ["same.npy"] {
            let got = try NPYArray(path: scratch + "/" + name)
            XCTAssertNil(mismatch(try got.doubles(), expected.values, shape: expected.shape, tolerance: 1e-5, context: name))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch).count, 9, "temporary files left behind")
    }
}
