import Foundation
import GRUIO
import TestSupport
import XCTest

/// Stateful models run a chunk of time at a time (Fixtures/models_stateful): `--state FILE` carries the
/// recurrent layer's states (an LSTM's h and c) from one call to the next as Keras carries them between
/// `predict` calls, so each chunk's output equals Keras's; `--reset-state` starts again from zeros.
final class StatefulModelTests: XCTestCase {
    private struct Manifest: Decodable {
        var cases: [Case]
    }

    private struct Case: Decodable {
        struct File: Decodable {
            var file: String
            var shape: [Int]
        }
        struct Chunk: Decodable {
            var input: File
            var output: File
        }
        var name: String
        var dtype: String
        var model: String
        var chunks: [Chunk]
    }

    func testChunksCarryTheStatesAsKerasDoes() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models_stateful/manifest.json"))))
        XCTAssertEqual(manifest.cases.count, 3)
        for fixture in manifest.cases {
            let folder = Fixtures.path("models_stateful/" + fixture.name)
            let state = scratch + "/\(fixture.name)-state.npy"
            let tolerance = fixture.dtype == "float64" ? 1e-9 : 1e-5
            XCTAssertGreaterThan(fixture.chunks.count, 1)
            for (k, chunk) in fixture.chunks.enumerated() {
                let out = scratch + "/\(fixture.name)-\(k).npy"
                let run = try GRURunBinary.run(["--weights", folder + "/" + fixture.model, "--input", folder + "/" + chunk.input.file,
                                                "--output", out, "--state", state])
                XCTAssertEqual(run.status, 0, "\(fixture.name) chunk \(k): \(run.stderr)")
                let (got, want) = (try loadNPY(out), try loadNPY(folder + "/" + chunk.output.file))
                XCTAssertEqual(got.shape, chunk.output.shape, "\(fixture.name) chunk \(k)")
                XCTAssertNil(mismatch(got.values, want.values, shape: want.shape, tolerance: tolerance, context: "\(fixture.name) chunk \(k)"))
            }
            // The file holds h and c: (2, batch, units).
            XCTAssertEqual(try loadNPY(state).shape.first, 2, fixture.name)
            // Starting a later chunk from zeros gives other numbers: the states matter.
            let last = fixture.chunks.last!, out = scratch + "/\(fixture.name)-reset.npy"
            let run = try GRURunBinary.run(["--weights", folder + "/" + fixture.model, "--input", folder + "/" + last.input.file,
                                            "--output", out, "--state", state, "--reset-state"])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertGreaterThan(maxAbsError(try loadNPY(out).values, try loadNPY(folder + "/" + last.output.file).values), 1e-3, fixture.name)
        }
    }

    /// A state file that holds the wrong number of states is refused in one sentence.
    func testAStateFileOfTheWrongKindIsRefused() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = Fixtures.path("models_stateful/tfk_stateful_lstm")
        let state = scratch + "/state.npy"
        try writeFileAtomically(NPYWriter.encode([Float](repeating: 0, count: 3 * 3 * 5), shape: [3, 3, 5]), to: state)
        let run = try GRURunBinary.run(["--weights", folder + "/model.h5", "--input", folder + "/x0.npy", "--output", scratch + "/y.npy", "--state", state])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("holds 3 states; the model's recurrent layer carries 2"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/y.npy"))
    }
}
