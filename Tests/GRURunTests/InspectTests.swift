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

    func testWeightsOnlyFilesNameWhoseDefaultsTheyTake() throws {
        let seedLike = Fixtures.path("tfkeras_defaults/v2_ra0_gru16/weights.h5")
        let text = try GRURunBinary.run(["inspect", seedLike])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdoutText.contains("""
              gru (GRU): 5 features -> 16 units, float32
                defaults of: tf.compat.v1 GRU (a (48,) bias is its default; tf.keras GRU(reset_after=False) would mean recurrent_activation sigmoid)
                activation=tanh recurrent_activation=hard_sigmoid use_bias=True reset_after=False
            """), text.stdoutText)
        XCTAssertTrue(text.stdoutText.contains("  --recurrent-activation NAME (assumed hard_sigmoid)\n"), text.stdoutText)
        XCTAssertEqual(text.stderr, "")

        let keras3 = try JSONValue.parse(try GRURunBinary.run(["inspect", Fixtures.path("keras3_defaults/k3_gru16/model.weights.h5"), "--json"]).stdoutText)
        XCTAssertEqual(keras3["layers"]?.array?.first?["assumed_defaults"]?.string, "Keras 3 GRU")
        let flags = keras3["flags_to_state"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(flags.contains("--recurrent-activation NAME (assumed sigmoid)"), "\(flags)")
        XCTAssertFalse(flags.contains { $0.hasPrefix("--hard-sigmoid") }, "\(flags)")

        // tf-keras writes the /layers layout without Keras 3's name attributes: which hard_sigmoid is a guess.
        let unnamed = try JSONValue.parse(try GRURunBinary.run(["inspect", Fixtures.path("tfkeras_defaults/v2_gru16/model.weights.h5"), "--json"]).stdoutText)
        XCTAssertEqual(unnamed["layers"]?.array?.first?["assumed_defaults"]?.string, "Keras 3 or tf-keras GRU")
        XCTAssertTrue((unnamed["flags_to_state"]?.array?.compactMap(\.string) ?? []).contains(
            "--hard-sigmoid keras2|keras3 (the file does not say which Keras wrote it; assumed keras3)"))

        let model = try JSONValue.parse(try GRURunBinary.run(["inspect", Fixtures.path("keras3/k3_gru_seq/model.keras"), "--json"]).stdoutText)
        XCTAssertNil(model["layers"]?.array?.last?["assumed_defaults"]?.string)
    }

    func testABrokenFileIsRefused() throws {
        let path = Fixtures.path("npy/v1_f4_c.npy")
        let result = try GRURunBinary.run(["inspect", path])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: \(path) is not an HDF5 file (Keras .h5 files are HDF5).\n")
    }

    /// A layer name holding ESC, BEL, a C1 control and a bidi override (Tests/Corpus/make_corpus.py): shown
    /// escaped, never as the bytes a terminal would act on; JSON keeps the name, as \u escapes.
    func testLayerNamesAreEscapedForTheTerminal() throws {
        let path = "Tests/Corpus/bad/control_names.h5"
        let root = Fixtures.repositoryRoot.path
        let text = try GRURunBinary.run(["inspect", path], directory: root)
        XCTAssertEqual(text.status, 0, text.stderr)
        let shown = "\\u{1B}]0;pwned\\u{07}gru\\u{9B}31m\\u{202E}evil"
        XCTAssertEqual(text.stdoutText, """
            \(path): HDF5 full model, written by Keras 2.21.0
            hard_sigmoid: keras2: clip(0.2x+0.5, 0, 1)
            layers:
              input (InputLayer)
              \(shown) (GRU): 5 features -> 7 units, float32
                activation=tanh recurrent_activation=hard_sigmoid use_bias=True reset_after=False return_sequences=False return_state=False go_backwards=False stateful=False time_major=False
            runs: \(shown)

            """)
        let json = try GRURunBinary.run(["inspect", path, "--json"], directory: root)
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertTrue(json.stdoutText.contains(#""name":"\u001b]0;pwned\u0007gru\u009b31m\u202eevil""#), json.stdoutText)
        XCTAssertEqual(json.stdout.filter { $0 < 0x20 && $0 != 0x0A }, [])
        XCTAssertFalse(json.stdoutText.unicodeScalars.contains { $0.value >= 0x80 })
        let report = try JSONValue.parse(json.stdoutText)
        XCTAssertEqual(report["layers"]?.array?[1]["name"]?.string, "\u{1B}]0;pwned\u{07}gru\u{9B}31m\u{202E}evil")
    }

    /// A 1 MB layer name is cut to 200 characters, in text and in JSON.
    func testALongNameIsCut() throws {
        let path = "Tests/Corpus/bad/long_name.keras"
        let root = Fixtures.repositoryRoot.path
        let cut = String(repeating: "n", count: 200) + "…(1048576 characters)"
        let text = try GRURunBinary.run(["inspect", path], directory: root)
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[4], "  \(cut) (GRU): 5 features -> 7 units, float32")
        XCTAssertEqual(lines.last, "runs: \(cut)")
        XCTAssertLessThan(text.stdout.count, 1000)
        let json = try GRURunBinary.run(["inspect", path, "--json"], directory: root)
        XCTAssertEqual(try JSONValue.parse(json.stdoutText)["layers"]?.array?[1]["name"]?.string, cut)
        // A refusal naming the layer stays one short line.
        let refusal = try GRURunBinary.run(["--weights", path, "--input", "Fixtures/tfkeras/grid_ra0_hardsig_fwd_last/x1.npy",
                                            "--layer", "gru"], directory: root)
        XCTAssertEqual(refusal.status, 65)
        XCTAssertEqual(refusal.stderr, "gru-run: \(path): has no layer named 'gru'; its layers are input_layer (InputLayer), \(cut) (GRU).\n")
    }
}

/// `inspect` of a whole model: the calls in the order they run, what each reads and the shapes it gives.
final class InspectModelTests: XCTestCase {
    func testAWholeModelShowsItsGraphWithShapes() throws {
        let path = Fixtures.path("tfkeras_other/gru_dense.h5")
        let text = try GRURunBinary.run(["inspect", path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdoutText.hasSuffix("""
            runs: the whole model (model.predict): masking -> encoder -> head
            graph:
              masking (Masking) <- input_2 => (1, 6, 5)
              encoder (GRU) <- masking => (1, 6, 7)
              head (Dense) <- encoder => (1, 6, 2)

            """), text.stdoutText)
        let json = try GRURunBinary.run(["inspect", path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let graph = try XCTUnwrap(object["graph"] as? [[String: Any]])
        XCTAssertEqual(graph.map { $0["name"] as? String }, ["masking", "encoder", "head"])
        XCTAssertEqual(graph.map { $0["output_shapes"] as? [[Int]] }, [[[1, 6, 5]], [[1, 6, 7]], [[1, 6, 2]]])
        XCTAssertEqual(graph.last?["inputs"] as? [String], ["encoder"])
    }
}
