import Foundation
import TestSupport
import XCTest

/// Activation names where the fixtures alone would not show what gru-run does: the serialized-object
/// form of a name, the names that cannot apply where they are written, and the flags' names. The numbers
/// of every name are held by the fixtures (`models/*_dense_*`, `*_layer_act_*`, `*_gru_act_*`,
/// `*_gru_ract_*`, checked by ModelFixtureTests).
final class ActivationTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    private func run(_ model: String, editedBy edit: (inout String) -> Void, case name: String) throws -> ProcessResult {
        let edited = scratch + "/\(name).keras"
        try editedKerasArchive(Fixtures.path("models/\(model)/model.keras"), to: edited, edit)
        return try GRURunBinary.run(["--weights", edited, "--input", Fixtures.path("models/\(model)/x.npy"),
                                     "--output", scratch + "/\(name).npy"])
    }

    /// Keras 3 may write an activation as `{"module": "keras.activations", "class_name": "function",
    /// "config": NAME}`: the same numbers as the plain name, for a Dense, an Activation layer and a GRU.
    func testSerializedFunctionObjectsMeanTheirName() throws {
        let cases: [(model: String, old: String)] = [
            ("k3_dense_celu", "\"activation\": \"celu\""),
            ("k3_layer_act_sparsemax", "\"activation\": \"sparsemax\""),
            ("k3_gru_ract_squareplus", "\"recurrent_activation\": \"squareplus\""),
        ]
        for (index, c) in cases.enumerated() {
            let key = c.old.components(separatedBy: "\"")[1], name = c.old.components(separatedBy: "\"")[3]
            let object = "\"\(key)\": {\"module\": \"keras.activations\", \"class_name\": \"function\", \"config\": \"\(name)\", \"registered_name\": \"function\"}"
            let result = try run(c.model, editedBy: { replaceOnce(&$0, c.old, object) }, case: "object\(index)")
            XCTAssertEqual(result.status, 0, "\(c.model): \(result.stderr)")
            let actual = try loadNPY(scratch + "/object\(index).npy"), expected = try loadNPY(Fixtures.path("models/\(c.model)/y.npy"))
            XCTAssertEqual(actual.shape, expected.shape, c.model)
            XCTAssertNil(mismatch(actual.values, expected.values, shape: expected.shape, tolerance: 1e-5, context: c.model))
        }
    }

    /// softmax, log_softmax, glu and sparsemax work over an axis, so no GRU gate can be one; threshold has no
    /// defaults, so Keras cannot call it by name. Each is one sentence naming the layer, the key and the
    /// name, exit 65, and nothing written.
    func testNamesThatCannotApplyAreRefused() throws {
        let cases: [(model: String, old: String, new: String, says: [String])] = [
            ("k3_gru_act_celu", "\"recurrent_activation\": \"sigmoid\"", "\"recurrent_activation\": \"softmax\"",
             ["layer 'gru'", "recurrent_activation 'softmax'", "works over an axis"]),
            ("k3_gru_act_celu", "\"activation\": \"celu\"", "\"activation\": \"glu\"",
             ["layer 'gru'", "activation 'glu'", "cannot be a GRU's activation"]),
            ("k3_dense_celu", "\"activation\": \"celu\"", "\"activation\": \"threshold\"",
             ["layer 'head'", "activation 'threshold'", "default_value"]),
            ("k3_layer_act_celu", "\"activation\": \"celu\"", "\"activation\": \"celu6\"",
             ["layer 'act'", "activation 'celu6'", "does not implement", "sparse_plus", "sparsemax"]),
        ]
        for (index, c) in cases.enumerated() {
            let result = try run(c.model, editedBy: { replaceOnce(&$0, c.old, c.new) }, case: "refused\(index)")
            XCTAssertEqual(result.status, 65, "\(c.new): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/refused\(index).npy"), c.new)
            for words in c.says { XCTAssertTrue(result.stderr.contains(words), "\(c.new): \(result.stderr)") }
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }

    /// `--recurrent-activation` takes the new element-wise names and sets the model's GRU gate: the file's own
    /// name gives Keras's numbers and another name does not; an axis name is refused at the door (exit 64).
    func testFlagsTakeTheElementwiseNames() throws {
        let folder = Fixtures.path("models/k3_gru_ract_squareplus")
        let expected = try loadNPY(folder + "/y.npy")
        for (name, matches) in [("squareplus", true), ("sparse_plus", false), ("hard_swish", false)] {
            let output = scratch + "/flag_\(name).npy"
            let result = try GRURunBinary.run(["--weights", folder + "/model.keras", "--input", folder + "/x.npy",
                                               "--output", output, "--recurrent-activation", name])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            let actual = try loadNPY(output)
            let differs = mismatch(actual.values, expected.values, shape: expected.shape, tolerance: 1e-5, context: name)
            XCTAssertEqual(differs == nil, matches, "\(name): \(differs ?? "matches Keras")")
        }
        let refused = try GRURunBinary.run(["--weights", folder + "/model.keras", "--input", folder + "/x.npy",
                                            "--recurrent-activation", "softmax"])
        XCTAssertEqual(refused.status, 64, refused.stderr)
    }
}
