import Foundation
import TestSupport
import XCTest

/// zero_output_for_mask and the normalization layers' axes, which Keras's own tests exercise: the numbers are
/// held by the fixtures (ModelFixtureTests); these tests pin what the fixtures alone would not show.
final class KerasTestFindingsTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// Masked steps (inputs all 0.0 behind a Masking layer) of each sample, as (sample, step) pairs.
    private func maskedSteps(_ x: (values: [Double], shape: [Int])) -> [(Int, Int)] {
        let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        return (0..<b).flatMap { s in (0..<t).compactMap { step in
            (0..<d).allSatisfy { x.values[(s * t + step) * d + $0] == 0 } ? (s, step) : nil
        } }
    }

    /// With zero_output_for_mask the masked steps are exactly 0 in Keras's output and in gru-run's, for every
    /// writer; --no-zero-output-for-mask brings back the carried output, which Keras's output does not hold.
    func testMaskedStepsOutputZeros() throws {
        for name in ["k3_zofm_seq", "tfk_zofm_seq", "tfk_seedgru_zofm_seq", "k3_zofm_bwd_seq_f64"] {
            let folder = Fixtures.path("models/\(name)")
            let model = folder + (name.hasPrefix("k3") ? "/model.keras" : "/model.h5")
            let x = try loadNPY(folder + "/x.npy"), expected = try loadNPY(folder + "/y.npy")
            let masked = maskedSteps(x)
            XCTAssertEqual(masked.count, 2 + 2 + 6 + 2, name)
            let units = expected.shape[2], steps = expected.shape[1]
            // go_backwards returns the sequence in processing order.
            let row = { (s: Int, step: Int) in name.contains("bwd") ? s * steps + (steps - 1 - step) : s * steps + step }
            for (s, step) in masked {
                XCTAssertEqual(expected.values[(row(s, step) * units)..<((row(s, step) + 1) * units)].map { $0 }, Array(repeating: 0, count: units), "\(name) [\(s), \(step)]")
            }
            let out = scratch + "/\(name).npy"
            let run = try GRURunBinary.run(["--weights", model, "--input", folder + "/x.npy", "--output", out])
            XCTAssertEqual(run.status, 0, run.stderr)
            let y = try loadNPY(out)
            XCTAssertEqual(y.shape, expected.shape, name)
            XCTAssertLessThan(maxAbsError(y.values, expected.values), name.hasSuffix("f64") ? 1e-9 : 1e-5, name)
            for (s, step) in masked {
                XCTAssertTrue(y.values[(row(s, step) * units)..<((row(s, step) + 1) * units)].allSatisfy { $0 == 0 }, "\(name) [\(s), \(step)]")
            }
            let carried = scratch + "/\(name)-carried.npy"
            let off = try GRURunBinary.run(["--weights", model, "--input", folder + "/x.npy", "--output", carried, "--no-zero-output-for-mask"])
            XCTAssertEqual(off.status, 0, off.stderr)
            XCTAssertGreaterThan(maxAbsError(try loadNPY(carried).values, expected.values), 1e-2, name)
        }
    }

    /// inspect shows the setting, in text and JSON, for a GRU that sets it and one inside a Bidirectional that
    /// returns its last output (where Keras turns it off).
    func testInspectShowsZeroOutputForMask() throws {
        let text = try GRURunBinary.run(["inspect", Fixtures.path("models/k3_zofm_last/model.keras")])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdoutText.contains("zero_output_for_mask=True"), text.stdoutText)
        let json = try GRURunBinary.run(["inspect", "--json", Fixtures.path("models/tfk_zofm_seq/model.h5")])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertTrue(json.stdoutText.contains("\"zero_output_for_mask\":true"), json.stdoutText)
        let bidi = try GRURunBinary.run(["inspect", Fixtures.path("models/k3_zofm_bidi_last/model.keras")])
        XCTAssertEqual(bidi.status, 0, bidi.stderr)
        XCTAssertTrue(bidi.stdoutText.contains("zero_output_for_mask=False"), bidi.stdoutText)
        XCTAssertFalse(bidi.stdoutText.contains("zero_output_for_mask=True"), bidi.stdoutText)
    }

    /// An axis Keras could not have built with is one sentence naming the layer, exit 65: never a trap, an index
    /// outside the input or a number with exit 0.
    func testHostileNormalizationAxes() throws {
        let cases: [(model: String, old: String, new: String, says: String)] = [
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [3]", "axis 3 is outside an input of shape (3, 6, 4)"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [-4]", "axis -4 is outside"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [0]", "axis 0 is the batch axis"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [1, -2]", "names axis 1 twice"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": []", "axis list is empty"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [1e20]", "not integers"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": 1.5", "not an integer"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": [\"1\"]", "not integers"),
            ("k3_ln_axis1", "\"axis\": [1]", "\"axis\": -1", "gamma holds 6 values"),
            ("k3_bn_axis1", "\"axis\": 1,", "\"axis\": 2,", "holds 6 values per parameter"),
            ("k3_bn_axis1", "\"axis\": 1,", "\"axis\": 9,", "axis 9 is outside"),
            ("k3_bn_axis1", "\"axis\": 1,", "\"axis\": -9223372036854775808,", "not an integer"),
            ("k3_bn_axis1", "\"axis\": 1,", "\"axis\": 0,", "axis 0 is the batch axis"),
        ]
        for (index, c) in cases.enumerated() {
            let edited = scratch + "/edited\(index).keras"
            try editedKerasArchive(Fixtures.path("models/\(c.model)/model.keras"), to: edited) { replaceOnce(&$0, c.old, c.new) }
            let run = try GRURunBinary.run(["--weights", edited, "--input", Fixtures.path("models/\(c.model)/x.npy")])
            XCTAssertEqual(run.status, 65, "\(c.new): \(run.stderr)")
            XCTAssertTrue(run.stdout.isEmpty, c.new)
            XCTAssertTrue(run.stderr.contains(c.says), "\(c.new): \(run.stderr)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        }
    }
}
