import Foundation
import GRUIO
import TestSupport
import XCTest

final class InspectTests: XCTestCase {
    func testFullModelTextNamesKindVersionLayersAndConfig() throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("example/model.h5").path
        let result = try GRURunBinary.run(["inspect", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = result.stdoutText
        XCTAssertTrue(text.hasPrefix("\(path): HDF5 full model, written by Keras 2.21.0\n"), text)
        XCTAssertTrue(text.contains("hard_sigmoid: keras2: clip(0.2x+0.5, 0, 1)"), text)
        XCTAssertTrue(text.contains("  gru (GRU): 3 features -> 4 units, float32\n    activation=tanh recurrent_activation=hard_sigmoid use_bias=True reset_after=False return_sequences=True"), text)
        XCTAssertTrue(text.contains("runs: masking (mask_value 0.0) -> gru"), text)
        XCTAssertFalse(text.contains("weights only"))
    }

    func testJSONForAKeras3StackAndAWeightsOnlyBidirectional() throws {
        let stack = try GRURunBinary.run(["inspect", Fixtures.path("keras3/k3_stack_masking_2gru/model.keras"), "--json"])
        XCTAssertEqual(stack.status, 0, stack.stderr)
        let report = try JSONValue.parse(stack.stdoutText)
        XCTAssertEqual(report["kind"]?.string, "Keras 3 .keras archive")
        XCTAssertEqual(report["keras_version"]?.string, "3.15.1")
        XCTAssertEqual(report["hard_sigmoid"]?.string, "keras3: clip(x/6+0.5, 0, 1)")
        XCTAssertEqual(report["layers"]?.array?.compactMap { $0["name"]?.string }, ["input_layer", "masking", "gru", "gru_1"])
        XCTAssertEqual(report["layers"]?.array?[2]["config"]?["return_sequences"]?.string, "True")
        XCTAssertEqual(report["layers"]?.array?[3]["features"]?.number, 7)
        XCTAssertEqual(report["runs"]?.string, "masking (mask_value 0.0) -> gru -> gru_1")

        let weights = try GRURunBinary.run(["inspect", Fixtures.path("keras3/k3_bidi_concat_seq/model.weights.h5"), "--json"])
        let weightsReport = try JSONValue.parse(weights.stdoutText)
        XCTAssertEqual(weightsReport["has_config"]?.bool, false)
        let flags = weightsReport["flags_to_state"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(flags.contains("--merge-mode MODE (assumed concat)"), "\(flags)")
        XCTAssertTrue(flags.contains("--return-sequences (assumed off)"), "\(flags)")
        XCTAssertEqual(weightsReport["layers"]?.array?.first?["directions"]?["backward"]?["go_backwards"]?.string, "True")
    }

    func testABrokenFileIsRefused() throws {
        let path = Fixtures.path("npy/v1_f4_c.npy")
        let result = try GRURunBinary.run(["inspect", path])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: \(path) is not an HDF5 file (Keras .h5 files are HDF5).\n")
    }
}
