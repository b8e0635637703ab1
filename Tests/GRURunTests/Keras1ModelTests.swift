import Foundation
import TestSupport
import XCTest

/// Keras 1.2.2 model files (Fixtures/keras1, Fixtures/README.md): real tf-keras models written in Keras 1's
/// classes, keys and weight layouts. The built binary must give tf-keras's `model.predict` within 1e-5, the
/// Keras 1 keys must matter (Keras 2's defaults in their place give other numbers), and every Keras 1 value
/// gru-run cannot reproduce is refused with exit 65 and one sentence.
final class Keras1ModelTests: XCTestCase {
    private struct Manifest: Decodable {
        var cases: [Case]
    }

    private struct Case: Decodable {
        var name: String
        var refusal_names: String?
    }

    private let root = Fixtures.path("keras1")
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).cases
    }

    /// Runs the case's model.h5 on its x.npy; returns the output read back.
    private func run(_ name: String) throws -> (values: [Double], shape: [Int])? {
        let output = scratch + "/\(name).npy"
        let result = try GRURunBinary.run(["--weights", "\(root)/\(name)/model.h5", "--input", "\(root)/\(name)/x.npy",
                                           "--output", output, "--quiet"])
        XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
        return result.status == 0 ? try loadNPY(output) : nil
    }

    func testEveryKeras1ModelMatchesKeras() throws {
        let runnable = try cases().filter { $0.refusal_names == nil }
        XCTAssertEqual(runnable.count, 19)
        for fixture in runnable {
            guard let got = try run(fixture.name) else { continue }
            let want = try loadNPY("\(root)/\(fixture.name)/y.npy")
            XCTAssertEqual(got.shape, want.shape, fixture.name)
            guard got.shape == want.shape else { continue }
            if let message = mismatch(got.values, want.values, shape: want.shape, tolerance: 1e-5, context: fixture.name) {
                XCTFail(message)
            }
        }
    }

    /// Where a reader that ignored the Keras 1 keys (pool_length, stride, border_mode, BatchNormalization mode)
    /// would still run, Keras 2's defaults give numbers far outside the tolerance: the cases can tell.
    func testKeras1KeysChangeTheNumbers() throws {
        var compared = 0
        for fixture in try cases() where FileManager.default.fileExists(atPath: "\(root)/\(fixture.name)/y_keras2_defaults.npy") {
            let want = try loadNPY("\(root)/\(fixture.name)/y.npy")
            let defaults = try loadNPY("\(root)/\(fixture.name)/y_keras2_defaults.npy")
            guard let got = try run(fixture.name) else { continue }
            if defaults.shape == want.shape {
                XCTAssertGreaterThan(maxAbsError(defaults.values, want.values), 0.1, "\(fixture.name): Keras 2's defaults give nearly Keras 1's numbers")
                XCTAssertGreaterThan(maxAbsError(got.values, defaults.values), 0.1, "\(fixture.name): gru-run gives Keras 2's defaults' numbers")
            }
            compared += 1
        }
        // conv_maxpool, avgpool_stride_none, bn_mode1, bn_mode2, bn_mode2_axis1
        XCTAssertEqual(compared, 5)
    }

    func testEachUnreproducibleKeras1ValueIsRefusedInOneSentence() throws {
        let refusals = try cases().filter { $0.refusal_names != nil }
        XCTAssertEqual(refusals.count, 9)
        for fixture in refusals {
            let output = scratch + "/\(fixture.name).npy"
            let result = try GRURunBinary.run(["--weights", "\(root)/\(fixture.name)/model.h5", "--input",
                                               "\(root)/\(fixture.name)/x.npy", "--output", output])
            XCTAssertEqual(result.status, 65, "\(fixture.name): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(fixture.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(fixture.refusal_names!), "\(fixture.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasSuffix(".\n"), "\(fixture.name): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(fixture.name) wrote an output")
        }
    }

    /// BatchNormalization mode 2 normalizes with the statistics of `model.predict`'s batches of 32. CSV arriving
    /// in two parts with a pause between them is still computed in those batches (it is not streamed).
    func testBatchStatisticsSeePredictsBatchesOfCSVInput() throws {
        let x = try loadNPY("\(root)/bn_mode2/x.npy"), want = try loadNPY("\(root)/bn_mode2/y.npy")
        XCTAssertEqual(x.shape, [40, 7, 4])
        var samples: [String] = []
        for s in 0..<x.shape[0] {
            let rows = (0..<7).map { t in (0..<4).map { f in String(Float(x.values[(s * 7 + t) * 4 + f])) }.joined(separator: ",") }
            samples.append(rows.joined(separator: "\n") + "\n")
        }
        try samples.prefix(10).joined(separator: "\n").write(toFile: scratch + "/a.csv", atomically: true, encoding: .utf8)
        try ("\n" + samples.dropFirst(10).joined(separator: "\n")).write(toFile: scratch + "/b.csv", atomically: true, encoding: .utf8)
        let result = try GRURunBinary.shell("cd '\(scratch)' && (cat a.csv; sleep 1; cat b.csv) | \"$GRU_RUN\" --weights '\(root)/bn_mode2/model.h5' --quiet")
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = result.stdout.split(whereSeparator: { $0 == "," || $0.isWhitespace }).compactMap { Double($0) }
        XCTAssertEqual(got.count, want.values.count)
        guard got.count == want.values.count else { return }
        if let message = mismatch(got, want.values, shape: want.shape, tolerance: 1e-5, context: "bn_mode2 from CSV in two parts") {
            XCTFail(message)
        }
    }
}
