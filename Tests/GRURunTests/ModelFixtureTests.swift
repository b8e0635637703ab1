import Foundation
import GRUIO
import TestSupport
import XCTest

/// The built gru-run binary on every whole-model case in Fixtures/models (Fixtures/README.md): each output
/// equals `model.predict` of tf-keras or Keras 3 within 1e-5 (float32) or 1e-9 (float64), with its exact shape.
final class ModelFixtureTests: XCTestCase {
    private struct Manifest: Decodable {
        var cases: [Case]
    }

    private struct Case: Decodable {
        struct File: Decodable {
            var file: String
            var shape: [Int]
            var dtype: String
        }
        var name: String
        var keras: String
        var dtype: String
        var model: String
        var inputs: [File]
        var outputs: [File]

        var tolerance: Double { dtype == "float64" ? 1e-9 : 1e-5 }
    }

    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: Fixtures.path("models/manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)).cases
    }

    func testEveryModelMatchesKeras() throws {
        let all = try cases()
        XCTAssertGreaterThan(all.count, 100)
        XCTAssertEqual(Set(all.map(\.keras)), ["tf-keras", "keras3"])
        for fixture in all {
            try check(fixture)
        }
    }

    /// A wrong expected value fails, and the message names the case, the output and the worst position.
    func testAMismatchNamesTheCaseAndTheWorstPosition() throws {
        let fixture = try XCTUnwrap(try cases().first { $0.name == "tfk_gru_softmax" })
        let original = Fixtures.path("models/\(fixture.name)/\(fixture.outputs[0].file)")
        // y.npy is (3, 5) float32 in a version 1.0 header: move [1, 2] by 1e-3 and [0, 4] by 2e-5.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        let start = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
        for (index, delta) in [(7, Float(1e-3)), (4, Float(2e-5))] {
            let at = start + 4 * index
            let value = bytes[at..<(at + 4)].withUnsafeBytes { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
            withUnsafeBytes(of: (value + delta).bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        }
        let copy = scratch + "/perturbed.npy"
        try Data(bytes).write(to: URL(fileURLWithPath: copy))
        let failures = try compareOutputs(fixture, expectedPaths: [copy])
        XCTAssertEqual(failures.count, 1)
        let message = failures.first ?? ""
        XCTAssertTrue(message.hasPrefix("tfk_gru_softmax y.npy: worst at [1, 2] "), message)
        XCTAssertTrue(message.contains("2 of 15 values beyond 1e-05"), message)
    }

    private func check(_ fixture: Case) throws {
        let folder = Fixtures.path("models/" + fixture.name)
        for failure in try compareOutputs(fixture, expectedPaths: fixture.outputs.map { folder + "/" + $0.file }) {
            XCTFail(failure)
        }
    }

    /// Runs the case's model on its inputs; returns one message per output that differs from `expectedPaths`.
    private func compareOutputs(_ fixture: Case, expectedPaths: [String]) throws -> [String] {
        let folder = Fixtures.path("models/" + fixture.name)
        let outputs = fixture.outputs.map { scratch + "/" + fixture.name + "-" + $0.file }
        var arguments = ["--weights", folder + "/" + fixture.model]
        for input in fixture.inputs { arguments += ["--input", folder + "/" + input.file] }
        for output in outputs { arguments += ["--output", output] }
        let result = try GRURunBinary.run(arguments)
        guard result.status == 0 else { return ["\(fixture.name): gru-run exited \(result.status): \(result.stderr)"] }
        var failures: [String] = []
        if !result.stderr.isEmpty { failures.append("\(fixture.name): stderr \(result.stderr)") }
        for (k, (output, expectedPath)) in zip(outputs, expectedPaths).enumerated() {
            let context = "\(fixture.name) \(fixture.outputs[k].file)"
            let actual = try NPYArray(path: output)
            let expected = try loadNPY(expectedPath)
            guard actual.shape == expected.shape, expected.shape == fixture.outputs[k].shape else {
                failures.append("\(context): shape \(actual.shape), Keras gives \(expected.shape)")
                continue
            }
            if actual.element != .float(bits: fixture.dtype == "float64" ? 64 : 32, bigEndian: false) {
                failures.append("\(context): written as \(actual.element), Keras gives \(fixture.dtype)")
            }
            if let message = worstMismatch(try actual.doubles(), expected.values, shape: expected.shape,
                                           tolerance: fixture.tolerance, context: context) {
                failures.append(message)
            }
        }
        return failures
    }

    /// nil when every value is within `tolerance` (NaN matches only NaN); else the worst position in
    /// `shape`'s index space, its value, Keras's value, and how many values are beyond the tolerance.
    private func worstMismatch(_ actual: [Double], _ expected: [Double], shape: [Int], tolerance: Double, context: String) -> String? {
        var worst: (index: Int, error: Double)?
        var beyond = 0
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(a.isNaN && e.isNaN) {
            let error = abs(a - e).isNaN ? Double.infinity : abs(a - e)
            guard error > tolerance else { continue }
            beyond += 1
            if error > worst?.error ?? -1 { worst = (i, error) }
        }
        guard let worst else { return nil }
        return "\(context): worst at \(position(worst.index, shape: shape)) got \(actual[worst.index]), Keras gives "
            + "\(expected[worst.index]) (abs error \(worst.error)); \(beyond) of \(expected.count) values beyond \(tolerance)"
    }
}
