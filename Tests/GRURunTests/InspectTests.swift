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
        XCTAssertEqual(report["hard_sigmoid"]?.string, "keras3")
        XCTAssertEqual(report["hard_sigmoid_formula"]?.string, "clip(x/6+0.5, 0, 1)")
        XCTAssertEqual(report["layers"]?.array?.compactMap { $0["name"]?.string }, ["input_layer", "masking", "gru", "gru_1"])
        XCTAssertEqual(report["layers"]?.array?[2]["config"]?["return_sequences"]?.bool, true)
        XCTAssertEqual(report["layers"]?.array?[1]["config"]?["mask_value"]?.number, 0)
        XCTAssertEqual(report["layers"]?.array?[3]["features"]?.number, 7)
        // A stack runs as a graph like any other model: its Masking layer is one of its calls.
        XCTAssertEqual(report["runs"]?.string, "the whole model (model.predict): masking -> gru -> gru_1")
        XCTAssertEqual(report["run_order"]?.array?.compactMap(\.string), ["masking", "gru", "gru_1"])
        XCTAssertEqual(report["assumptions"]?.array?.count, 0)

        let weights = try GRURunBinary.run(["inspect", Fixtures.path("keras3/k3_bidi_concat_seq/model.weights.h5"), "--json"])
        let weightsReport = try JSONValue.parse(weights.stdoutText)
        XCTAssertEqual(weightsReport["has_config"]?.bool, false)
        let flags = weightsReport["flags_to_state"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(flags.contains("--merge-mode MODE (assumed concat)"), "\(flags)")
        XCTAssertTrue(flags.contains("--return-sequences (assumed off)"), "\(flags)")
        XCTAssertEqual(weightsReport["layers"]?.array?.first?["directions"]?["backward"]?["go_backwards"]?.bool, true)
        let assumptions = weightsReport["assumptions"]?.array ?? []
        let mergeMode = assumptions.first { $0["setting"]?.string == "merge_mode" }
        XCTAssertEqual(mergeMode?["assumed"]?.string, "concat")
        XCTAssertEqual(mergeMode?["flag"]?.string, "--merge-mode MODE")
        XCTAssertEqual(assumptions.first { $0["setting"]?.string == "return_sequences" }?["assumed"]?.bool, false)
        XCTAssertEqual(assumptions.first { $0["setting"]?.string == "mask_value" }?["assumed"], .null)
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
        XCTAssertEqual(keras3["layers"]?.array?.first?["assumed_defaults"]?["writer"]?.string, "Keras 3 GRU")
        XCTAssertEqual(keras3["layers"]?.array?.first?["assumed_defaults"]?["doubt"], .null)
        let flags = keras3["flags_to_state"]?.array?.compactMap(\.string) ?? []
        XCTAssertTrue(flags.contains("--recurrent-activation NAME (assumed sigmoid)"), "\(flags)")
        XCTAssertFalse(flags.contains { $0.hasPrefix("--hard-sigmoid") }, "\(flags)")

        // tf-keras writes the /layers layout without Keras 3's name attributes: which hard_sigmoid is a guess.
        let unnamed = try JSONValue.parse(try GRURunBinary.run(["inspect", Fixtures.path("tfkeras_defaults/v2_gru16/model.weights.h5"), "--json"]).stdoutText)
        XCTAssertEqual(unnamed["layers"]?.array?.first?["assumed_defaults"]?["writer"]?.string, "Keras 3 or tf-keras GRU")
        let guess = unnamed["assumptions"]?.array?.first { $0["setting"]?.string == "hard_sigmoid" }
        XCTAssertEqual(guess?["assumed"]?.string, "keras3")
        XCTAssertEqual(guess?["reason"]?.string, "the file does not say which Keras wrote it")
        XCTAssertTrue((unnamed["flags_to_state"]?.array?.compactMap(\.string) ?? []).contains(
            "--hard-sigmoid keras2|keras3 (the file does not say which Keras wrote it; assumed keras3)"))

        let model = try JSONValue.parse(try GRURunBinary.run(["inspect", Fixtures.path("keras3/k3_gru_seq/model.keras"), "--json"]).stdoutText)
        XCTAssertEqual(model["layers"]?.array?.last?["assumed_defaults"], .null)
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
                activation=tanh recurrent_activation=hard_sigmoid use_bias=True reset_after=False return_sequences=False return_state=False go_backwards=False zero_output_for_mask=False stateful=False time_major=False
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
            inputs (in --input order):
              input_2: (batch, 6, 5) float32
            outputs (in --output order):
              head: (batch, 6, 2) float32
            graph:
              masking (Masking) <- input_2 => (batch, 6, 5); mask_value=0
              encoder (GRU) <- masking => (batch, 6, 7); units=7 activation=tanh recurrent_activation=hard_sigmoid use_bias=True return_sequences=True
              head (Dense) <- encoder => (batch, 6, 2); units=2 activation=linear use_bias=True

            """), text.stdoutText)
        let json = try GRURunBinary.run(["inspect", path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let graph = try XCTUnwrap(object["graph"] as? [[String: Any]])
        XCTAssertEqual(graph.map { $0["name"] as? String }, ["masking", "encoder", "head"])
        XCTAssertEqual(graph.map { $0["output_shapes"] as? [[Int]] }, [[[6, 5]], [[6, 7]], [[6, 2]]])
        XCTAssertEqual(graph.last?["inputs"] as? [String], ["encoder"])
        XCTAssertEqual((graph[1]["settings"] as? [String: Any])?["units"] as? Int, 7)
    }

    /// Inputs and outputs are listed in the order --input and --output take them, which is the model's
    /// (`Model([x, context], ...)`), not the order its layers are listed in (context first here).
    func testInputsAndOutputsAreListedInTheOrderTheFlagsTakeThem() throws {
        let path = Fixtures.path("models/tfk_initial_state/model.h5")
        let text = try GRURunBinary.run(["inspect", path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdoutText.contains("""
            inputs (in --input order):
              x: (batch, 6, 4) float32
              context: (batch, 3) float32
            outputs (in --output order):

            """), text.stdoutText)
        let json = try GRURunBinary.run(["inspect", path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let inputs = try XCTUnwrap(object["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.map { $0["name"] as? String }, ["x", "context"])
        XCTAssertEqual(inputs.map { $0["shape"] as? [Int] }, [[6, 4], [3]])
        XCTAssertEqual(inputs.map { $0["dtype"] as? String }, ["float32", "float32"])
        let outputs = try XCTUnwrap(object["outputs"] as? [[String: Any]])
        XCTAssertEqual(outputs.count, 1)
        // The same order runs the model: the inputs given as inspect lists them match Keras.
        let folder = Fixtures.path("models/tfk_initial_state")
        let check = try GRURunBinary.run(["check", "--weights", path, "--input", folder + "/x0.npy", "--input", folder + "/x1.npy",
                                          "--expect", folder + "/y.npy"])
        XCTAssertEqual(check.status, 0, check.stderr)
    }
}

/// `inspect --json` is typed: every field has the JSON type README.md's schema gives it, in every kind of file.
final class InspectJSONTypeTests: XCTestCase {
    private enum Kind: String { case string, number, bool, null, array, object }

    private func kind(_ value: Any) -> Kind {
        if value is NSNull { return .null }
        if value is String { return .string }
        if value is [Any] { return .array }
        if value is [String: Any] { return .object }
        // JSONSerialization gives true and false as a boolean NSNumber subclass.
        return String(describing: type(of: value)).contains("Boolean") ? .bool : .number
    }

    private func check(_ object: [String: Any], _ schema: [String: Set<Kind>], _ context: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(object.keys), Set(schema.keys), context, file: file, line: line)
        for (key, kinds) in schema {
            guard let value = object[key] else { continue }
            XCTAssertTrue(kinds.contains(kind(value)), "\(context).\(key) is \(kind(value)), not one of \(kinds.map(\.rawValue))", file: file, line: line)
        }
    }

    func testEveryFieldHasItsType() throws {
        let files = ["keras3/k3_stack_masking_2gru/model.keras", "keras3/k3_bidi_concat_seq/model.weights.h5",
                     "tfkeras_defaults/v2_ra0_gru16/weights.h5", "tfkeras_defaults/v2_gru16/model.weights.h5",
                     "tfkeras_other/gru_dense.h5"].map(Fixtures.path)
        let configTypes: [String: Set<Kind>] = [
            "activation": [.string], "recurrent_activation": [.string], "use_bias": [.bool], "reset_after": [.bool],
            "return_sequences": [.bool], "return_state": [.bool], "go_backwards": [.bool], "zero_output_for_mask": [.bool], "stateful": [.bool], "time_major": [.bool],
            "mask_value": [.number], "merge_mode": [.string, .null],
        ]
        var seen = Set<String>()
        for path in files {
            let result = try GRURunBinary.run(["inspect", path, "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any], path)
            check(report, ["path": [.string], "kind": [.string], "keras_version": [.string, .null], "hard_sigmoid": [.string],
                           "hard_sigmoid_formula": [.string], "has_config": [.bool], "layers": [.array], "runs": [.string],
                           "run_order": [.array], "assumptions": [.array], "flags_to_state": [.array], "graph": [.array, .null],
                           "graph_note": [.string, .null], "inputs": [.array, .null], "outputs": [.array, .null]], path)
            XCTAssertTrue(["keras2", "keras3"].contains(report["hard_sigmoid"] as? String), path)
            XCTAssertTrue((report["run_order"] as? [Any])?.allSatisfy { $0 is String } ?? false, path)
            for layer in report["layers"] as? [[String: Any]] ?? [] {
                check(layer, ["name": [.string], "class": [.string], "units": [.number, .null], "features": [.number, .null],
                              "dtype": [.string, .null], "config": [.object], "directions": [.object, .null],
                              "assumed_defaults": [.object, .null]], path + " layer")
                let configs = [layer["config"]] + ((layer["directions"] as? [String: Any])?.values.map { $0 } ?? [])
                for case let config as [String: Any] in configs {
                    for (key, value) in config {
                        seen.insert(key)
                        XCTAssertTrue(configTypes[key]?.contains(kind(value)) ?? false, "\(path) config \(key) is \(kind(value))")
                    }
                }
                if let assumed = layer["assumed_defaults"] as? [String: Any] {
                    check(assumed, ["writer": [.string], "doubt": [.string, .null]], path + " assumed_defaults")
                }
            }
            let assumptions = report["assumptions"] as? [[String: Any]] ?? []
            for assumption in assumptions {
                check(assumption, ["setting": [.string], "assumed": [.string, .bool, .null], "per_layer": [.object, .null],
                                   "flag": [.string], "reason": [.string, .null]], path + " assumption")
            }
            XCTAssertEqual(assumptions.count, (report["flags_to_state"] as? [String])?.count, path)
            XCTAssertEqual(assumptions.isEmpty, report["has_config"] as? Bool, path)
            for call in report["graph"] as? [[String: Any]] ?? [] {
                check(call, ["name": [.string], "class": [.string], "inputs": [.array], "output_shapes": [.array], "settings": [.object]], path + " graph")
            }
        }
        XCTAssertTrue(seen.isSuperset(of: ["use_bias", "mask_value", "merge_mode", "activation"]), "\(seen)")
    }
}
