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

    /// check compares in memory: a TMPDIR that is a file, or missing, changes nothing and nothing is made;
    /// SIGTERM leaves nothing behind either.
    func testCheckNeedsNoScratchFiles() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let run = "\"$GRU_RUN\" check --weights '\(f)/model.h5' --input '\(f)/x1.npy' --expect '\(f)/y1.npy' --expect-state '\(f)/h1.npy'"
        let result = try GRURunBinary.shell("""
            cd '\(scratch)'; touch afile; mkdir tmp
            TMPDIR="$PWD/afile" \(run) | tail -1
            TMPDIR="$PWD/missing" \(run) | tail -1
            TMPDIR="$PWD/tmp" \(run) --json | grep -c '"passed": true'
            ls; ls -A tmp
            """)
        XCTAssertEqual(result.stdout, "PASS\nPASS\n1\nafile\ntmp\n")
        XCTAssertEqual(result.stderr, "")
    }

    /// make example ends with check's verdict on the shipped example: Keras's own output must pass.
    func testMakeExampleChecksTheExampleAgainstKeras() throws {
        let root = Fixtures.repositoryRoot.path
        let makefile = String(decoding: try readWholeFile(root + "/Makefile"), as: UTF8.self)
        XCTAssertTrue(makefile.contains("/gru-run check --weights example/model.h5 --input example/input.csv \\\n\t\t--expect example/expected.csv\n"))
        let result = try GRURunBinary.run(["check", "--weights", "example/model.h5", "--input", "example/input.csv",
                                           "--expect", "example/expected.csv"], directory: root)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdoutText.hasPrefix("output: 40 values compared with example/expected.csv, 0 differ"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.hasSuffix("\nPASS\n"), result.stdoutText)
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

    /// NaN matches only NaN, +inf only +inf and -inf only -inf, whatever the tolerances.
    func testNaNMatchesOnlyNaNAndInfinityOnlyItself() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let linear = Fixtures.path("tfkeras/activation_linear")
        var x = try NPYArray(path: linear + "/x1.npy").floats()   // (5, 6, 5)
        // Sample 0, step 0: the candidate of unit 6 overflows to +inf (the signs of its kernel column),
        // while its update gate is 0 (later steps of sample 0 hold NaNs from it). Sample 1 starts with a
        // NaN, which all its outputs carry.
        for (k, sign) in [Float(-1), -1, -1, -1, 1].enumerated() { x[k] = 3e38 * sign }
        x[30] = .nan
        let input = scratch + "/x.npy", output = scratch + "/y.npy"
        try writeFileAtomically(NPYWriter.encode(x, shape: [5, 6, 5]), to: input)
        let run = try GRURunBinary.run(["--weights", linear + "/model.h5", "--input", input, "--output", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        let got = try NPYArray(path: output).floats()
        let infinity = try XCTUnwrap(got.firstIndex(of: .infinity), "no +inf in the output to compare")
        XCTAssertEqual(infinity, 6)
        let nan = 42   // [1, 0, 0]
        XCTAssertTrue(got[nan].isNaN)
        XCTAssertTrue(got[0].isFinite)

        func check(_ change: (inout [Float]) -> Void, _ extra: [String] = []) throws -> JSONValue {
            var expected = got
            change(&expected)
            let path = scratch + "/expected.npy"
            try writeFileAtomically(NPYWriter.encode(expected, shape: [5, 6, 7]), to: path)
            let result = try GRURunBinary.run(["check", "--weights", linear + "/model.h5", "--input", input, "--expect", path, "--json"] + extra)
            let report = try JSONValue.parse(result.stdoutText)
            XCTAssertEqual(result.status, report["passed"]?.bool == true ? 0 : 1, result.stderr)
            return report
        }
        let same = try check { _ in }
        XCTAssertEqual(same["passed"]?.bool, true)
        XCTAssertEqual(same["reports"]?.array?.first?["differing"]?.number, 0)
        XCTAssertEqual(same["reports"]?.array?.first?["max_abs_error"]?.number, 0)
        let cases: [(String, (inout [Float]) -> Void, [String], [Double])] = [
            ("+inf against -inf", { $0[infinity] = -.infinity }, ["--atol", "1e30", "--rtol", "1"], [0, 0, 6]),
            ("+inf against a finite number", { $0[infinity] = 3e38 }, ["--rtol", "1"], [0, 0, 6]),
            ("a finite number against +inf", { $0[0] = .infinity }, ["--rtol", "1"], [0, 0, 0]),
            ("NaN against a number", { $0[nan] = 0.5 }, ["--atol", "1e30"], [1, 0, 0]),
            ("a number against NaN", { $0[0] = .nan }, ["--atol", "1e30"], [0, 0, 0]),
        ]
        for (name, change, extra, index) in cases {
            let report = try check(change, extra)
            let first = report["reports"]?.array?.first
            XCTAssertEqual(report["passed"]?.bool, false, name)
            XCTAssertEqual(report["status"]?.string, "fail", name)
            XCTAssertEqual(first?["differing"]?.number, 1, name)
            XCTAssertEqual(first?["max_abs_error"]?.string, "inf", name)
            XCTAssertEqual(first?["worst"]?["index"]?.array?.compactMap(\.number), index, name)
        }
    }

    /// A refusal under --json: one object on stdout with the refusal's status and message, the same
    /// sentence on stderr, and the refusal's exit status.
    func testJSONRefusalIsOneObjectOnStdout() throws {
        let missing = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/none.npy", "--json"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stderr, "gru-run: \(f)/none.npy does not exist.\n")
        XCTAssertEqual(missing.stdoutText, "{\"status\": \"error\", \"exit\": 66, \"passed\": false, \"message\": \"\(f)/none.npy does not exist.\"}\n")

        let usage = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/y1.npy", "--json", "--rtol=-1"])
        XCTAssertEqual(usage.status, 64)
        XCTAssertEqual(usage.stderr, "gru-run: --rtol must be a number of at least 0.\n")
        let object = try JSONValue.parse(usage.stdoutText)
        XCTAssertEqual(object, .object(["status": .string("error"), "exit": .number(64), "passed": .bool(false),
                                        "message": .string("--rtol must be a number of at least 0.")]))

        let pass = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/y1.npy", "--json"])
        XCTAssertEqual(pass.status, 0)
        XCTAssertTrue(pass.stdoutText.hasPrefix("{\"status\": \"pass\", \"exit\": 0, \"passed\": true, \"atol\": 1e-05, "), pass.stdoutText)
        // Without --json nothing but the sentence.
        let plain = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", f + "/none.npy"])
        XCTAssertEqual(plain.stdoutText, "")
    }

    /// A path a terminal would act on is escaped in the report, in the refusal and in its JSON.
    func testFileNamesAreEscapedInReportsAndRefusals() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let odd = scratch + "/y\u{1B}[31m\u{9B}\u{202E}.npy"
        try FileManager.default.copyItem(atPath: f + "/y1.npy", toPath: odd)
        let shown = scratch + "/y\\u{1B}[31m\\u{9B}\\u{202E}.npy"
        let result = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", odd])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdoutText.hasPrefix("output: 210 values compared with \(shown), 0 differ"), result.stdoutText)
        let missing = scratch + "/none\u{1B}]0;x\u{07}.npy"
        let refusal = try GRURunBinary.run(["check", "--weights", f + "/model.h5", "--input", f + "/x1.npy", "--expect", missing, "--json"])
        XCTAssertEqual(refusal.status, 66)
        XCTAssertEqual(refusal.stderr, "gru-run: \(scratch)/none\\u{1B}]0;x\\u{07}.npy does not exist.\n")
        XCTAssertEqual(refusal.stdoutText, "{\"status\": \"error\", \"exit\": 66, \"passed\": false, \"message\": \"\(scratch)/none\\u001b]0;x\\u0007.npy does not exist.\"}\n")
    }

    /// README.md's CI recipe: an inner layer's output, saved by Keras (the GRU named "encoder" behind a Masking
    /// layer, in a tf-keras Masking -> GRU -> Dense model), checked with --through; one moved value fails.
    func testTheREADMEsCIRecipeChecksAnInnerLayerThroughItsName() throws {
        let folder = Fixtures.path("tfkeras_other")
        let command = ["check", "--weights", folder + "/gru_dense.h5", "--input", folder + "/x.npy", "--through", "encoder"]
        let pass = try GRURunBinary.run(command + ["--expect", folder + "/y_encoder.npy"])
        XCTAssertEqual(pass.status, 0, pass.stderr + pass.stdoutText)
        XCTAssertTrue(pass.stdoutText.hasSuffix("PASS\n"), pass.stdoutText)
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var expected = try NPYArray(path: folder + "/y_encoder.npy").floats()
        expected[(1 * 6 + 3) * 7 + 3] += 1e-3   // [1, 3, 3]
        try writeFileAtomically(NPYWriter.encode(expected, shape: [3, 6, 7]), to: scratch + "/moved.npy")
        let fail = try GRURunBinary.run(command + ["--expect", scratch + "/moved.npy"])
        XCTAssertEqual(fail.status, 1, fail.stderr)
        XCTAssertTrue(fail.stdoutText.contains("[1, 3, 3]"), fail.stdoutText)

        let readme = String(decoding: try readWholeFile(Fixtures.repositoryRoot.appendingPathComponent("README.md").path), as: UTF8.self)
        for line in ["np.save(\"y.npy\", m.predict(x))", "keras.Model(m.inputs, m.get_layer(\"encoder\").output)",
                     "GRU(64, name=\"encoder\")", "gru-run check --weights m.h5 --input x.npy --expect y.npy",
                     "gru-run check --weights m.h5 --input x.npy --through encoder --expect y_encoder.npy"] {
            XCTAssertTrue(readme.contains(line), "README.md: " + line)
        }
    }
}
