import Foundation
import TestSupport
import XCTest

/// How a model's calls are ordered and cut: `--through NAME` against Keras's
/// `keras.Model(m.inputs, m.get_layer(NAME).output)` (Fixtures/through), configs listed in any order, cycles.
final class GraphTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    private struct Manifest: Decodable {
        struct Case: Decodable {
            struct Through: Decodable { var layer: String; var file: String; var shape: [Int] }
            var name: String
            var model: String
            var inputs: [String]
            var throughs: [Through]
        }
        var cases: [Case]
    }

    /// Every layer of Fixtures/through, run with --through, gives Keras's sub-model output: layers after it
    /// (an LSTM, a Lambda, a custom class) are never built, a shared layer gives its first call's output and
    /// an InputLayer's name gives the input.
    func testThroughMatchesKerasSubModels() throws {
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("through/manifest.json"))))
        XCTAssertEqual(manifest.cases.count, 4)
        for fixture in manifest.cases {
            let folder = Fixtures.path("through/\(fixture.name)")
            for through in fixture.throughs {
                let out = scratch + "/\(fixture.name)-\(through.layer).npy"
                let run = try GRURunBinary.run(["--weights", folder + "/" + fixture.model] + fixture.inputs.flatMap { ["--input", folder + "/" + $0] }
                                               + ["--through", through.layer, "--output", out])
                XCTAssertEqual(run.status, 0, "\(fixture.name) --through \(through.layer): \(run.stderr)")
                let (got, expected) = (try loadNPY(out), try loadNPY(folder + "/" + through.file))
                XCTAssertEqual(got.shape, through.shape, "\(fixture.name) --through \(through.layer)")
                XCTAssertLessThan(maxAbsError(got.values, expected.values), 1e-5, "\(fixture.name) --through \(through.layer)")
            }
        }
        // The shared Dense's two calls differ, so the first call's output is told from the second's.
        let shared = Fixtures.path("through/k3_shared")
        let second = scratch + "/second.npy"
        XCTAssertEqual(try GRURunBinary.run(["--weights", shared + "/model.keras", "--input", shared + "/x1.npy", "--input", shared + "/x0.npy",
                                             "--through", "shared", "--output", second]).status, 0)
        XCTAssertGreaterThan(maxAbsError(try loadNPY(second).values, try loadNPY(shared + "/y_shared.npy").values), 1e-2)
    }

    /// The whole model is refused at its first layer gru-run does not run (a Lambda after the LSTM), naming the
    /// --through that works; --layer is not offered, since the GRU reads a Dense's output and not the model's input.
    func testRefusalOffersTheThroughThatRuns() throws {
        for name in ["tfk_later_unsupported/model.h5", "k3_later_unsupported/model.keras"] {
            let path = Fixtures.path("through/" + name)
            let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("through/k3_later_unsupported/x.npy")])
            XCTAssertEqual(run.status, 65, run.stderr)
            XCTAssertEqual(run.stderr, "gru-run: \(path): layer 'double' is a Lambda, which gru-run does not run; run the model up to 'lstm' with --through lstm.\n")
        }
        let unknown = try GRURunBinary.run(["--weights", Fixtures.path("through/k3_shared/model.keras"), "--through", "nothing"])
        XCTAssertEqual(unknown.status, 65, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("has no layer named 'nothing' that the model runs; its layers are x0, x1, shared, add, gru"), unknown.stderr)
    }

    /// A model used as a layer runs as its own layers: `--through` its name gives its first call's outputs,
    /// as `m.get_layer("encoder").output` does (nested_siamese outputs that call as its second output).
    func testThroughANestedModelGivesItsFirstCall() throws {
        for name in ["tfk_nested_siamese/model.h5", "k3_nested_siamese/model.keras", "tfk_nested_siamese_f64/model.h5"] {
            let folder = Fixtures.path("models/" + (name as NSString).deletingLastPathComponent)
            let out = scratch + "/encoder.npy"
            let run = try GRURunBinary.run(["--weights", Fixtures.path("models/" + name), "--input", folder + "/x0.npy", "--input", folder + "/x1.npy",
                                            "--through", "encoder", "--output", out])
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            let (got, expected) = (try loadNPY(out), try loadNPY(folder + "/y1.npy"))
            XCTAssertEqual(got.shape, expected.shape, name)
            XCTAssertLessThan(maxAbsError(got.values, expected.values), name.contains("f64") ? 1e-9 : 1e-5, name)
            // Swapped inputs: the first call now reads the other input, and the answer changes.
            let swapped = try GRURunBinary.run(["--weights", Fixtures.path("models/" + name), "--input", folder + "/x1.npy", "--input", folder + "/x0.npy",
                                                "--through", "encoder", "--output", out])
            XCTAssertEqual(swapped.status, 0, swapped.stderr)
            XCTAssertGreaterThan(maxAbsError(try loadNPY(out).values, expected.values), 1e-2, name)
        }
        // tf-keras numbers a nested model's calls from 1: the corpus model holding a functional model and a
        // Sequential, as layers, runs.
        let nested = Fixtures.repositoryRoot.path + "/Tests/Corpus/models/nested.h5"
        let run = try GRURunBinary.shell("printf '1,2,3,4\\n5,6,7,8\\n9,1,2,3\\n4,5,6,7\\n8,9,1,2\\n' | \"$GRU_RUN\" --weights \(nested)",
                                         environment: ["GRU_RUN": GRURunBinary.url.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        // GRU(3, return_sequences) -> Dense(2): one row of 2 per step.
        XCTAssertEqual(run.stdout.split(separator: "\n").map { $0.split(separator: ",").count }, [2, 2, 2, 2, 2], run.stdout)
    }

    /// Nested models that cannot be flattened into one graph end in one sentence each.
    func testBrokenNestedModelsAreRefused() throws {
        let source = Fixtures.path("models/k3_nested_siamese/model.keras")
        func refused(_ name: String, _ edit: (inout String) -> Void, _ expected: String) throws {
            let path = scratch + "/\(name).keras"
            try editedKerasArchive(source, to: path, edit)
            let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("models/k3_nested_siamese/x0.npy"),
                                            "--input", Fixtures.path("models/k3_nested_siamese/x1.npy")])
            XCTAssertEqual(run.status, 65, "\(name): \(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("gru-run: \(path): ") && run.stderr.contains(expected) && run.stderr.filter { $0 == "\n" }.count == 1,
                          "\(name): \(run.stderr)")
        }
        let firstCall = #"{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 6, 4], "dtype": "float32", "keras_history": ["a", 0, 0]}}]"#
        try refused("two-inputs", { replaceOnce(&$0, firstCall, firstCall.replacingOccurrences(of: #"{"args": ["#, with: #"{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 6, 4], "dtype": "float32", "keras_history": ["b", 0, 0]}}, "#)) },
                    "nested model 'encoder' is called on 2 tensors but takes 1")
        try refused("cycle", { replaceOnce(&$0, firstCall, firstCall.replacingOccurrences(of: #"["a", 0, 0]"#, with: #"["diff", 0, 0]"#)) },
                    "the model's layers form a cycle: ")
        try refused("own-output", { replaceOnce(&$0, firstCall, firstCall.replacingOccurrences(of: #"["a", 0, 0]"#, with: #"["encoder", 0, 0]"#)) },
                    "the model's layers form a cycle: 'encoder/enc_gru' -> 'encoder/enc_bn' -> 'encoder/enc_dense' -> 'encoder/enc_gru'")
        try refused("deep", { text in
            // The encoder wrapped in 17 Sequentials, each holding the one before.
            let root = try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            var config = root["config"] as! [String: Any]
            var layers = config["layers"] as! [[String: Any]]
            var wrapped = layers[2]
            for depth in 0..<17 {
                wrapped = ["class_name": "Sequential", "config": ["name": "wrap\(depth)", "layers": [wrapped]], "name": "wrap\(depth)",
                           "inbound_nodes": wrapped["inbound_nodes"]!]
            }
            layers[2] = wrapped
            config["layers"] = layers
            text = String(decoding: try! JSONSerialization.data(withJSONObject: ["class_name": "Functional", "config": config]), as: UTF8.self)
        }, "nests models more than 16 deep")
    }

    /// A functional Keras 3 config of k3_gru_dense1's GRU and Dense with `chain` linear Activation layers
    /// in front, listed as `order` arranges them: the same numbers as the model itself.
    private func chainModel(_ chain: Int, _ name: String, edit: (inout [[String: Any]]) -> Void = { _ in }) throws -> String {
        let path = scratch + "/\(name).keras"
        try editedKerasArchive(Fixtures.path("models/k3_gru_dense1/model.keras"), to: path) { text in
            let root = try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            let original = (root["config"] as! [String: Any])["layers"] as! [[String: Any]]
            func tensor(_ from: String, _ shape: [Any]) -> [String: Any] {
                ["class_name": "__keras_tensor__", "config": ["shape": shape, "dtype": "float32", "keras_history": [from, 0, 0]]]
            }
            func called(_ layer: [String: Any], _ name: String, reads: String, shape: [Any]) -> [String: Any] {
                var layer = layer
                layer["name"] = name
                layer["inbound_nodes"] = [["args": [tensor(reads, shape)], "kwargs": [String: Any]()]]
                return layer
            }
            var layers: [[String: Any]] = [original[0].merging(["name": "x", "inbound_nodes": [Any]()]) { $1 }]
            var previous = "x"
            for i in 0..<chain {
                let activation: [String: Any] = ["module": "keras.layers", "class_name": "Activation", "registered_name": NSNull(),
                                                 "config": ["name": "a\(i)", "activation": "linear", "dtype": "float32", "trainable": true]]
                layers.append(called(activation, "a\(i)", reads: previous, shape: [NSNull(), 6, 4]))
                previous = "a\(i)"
            }
            layers.append(called(original[1], "gru", reads: previous, shape: [NSNull(), 6, 4]))
            layers.append(called(original[2], "head", reads: "gru", shape: [NSNull(), 8]))
            edit(&layers)
            let config: [String: Any] = ["name": "chain", "trainable": true, "layers": layers,
                                         "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0]]]
            let model: [String: Any] = ["module": "keras.src.models.functional", "class_name": "Functional",
                                        "config": config, "registered_name": "Functional"]
            text = String(decoding: try! JSONSerialization.data(withJSONObject: model), as: UTF8.self)
        }
        return path
    }

    /// Ordering costs the same whatever order the config lists its layers in: 50,000 layers listed backwards
    /// run (a quadratic ordering took minutes at that size), and give the model's numbers.
    func testAChainListedInAnyOrderRuns() throws {
        let fixture = Fixtures.path("models/k3_gru_dense1")
        for (name, edit) in [("forward", { (_: inout [[String: Any]]) in }), ("reversed", { (layers: inout [[String: Any]]) in layers.reverse() })] {
            let path = try chainModel(50_000, name, edit: edit)
            let run = try GRURunBinary.shell("timeout 60 \"$GRU_RUN\" check --weights \(path) --input \(fixture)/x.npy --expect \(fixture)/y.npy --atol 1e-5",
                                             environment: ["GRU_RUN": GRURunBinary.url.path])
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            XCTAssertTrue(run.stdout.hasSuffix("PASS\n"), "\(name): \(run.stdout)")
        }
    }

    /// Layers that read each other in a ring are named as a cycle; a layer reading a tensor nobody makes is
    /// named with that tensor.
    func testCyclesAndMissingTensorsAreNamed() throws {
        let ring = try chainModel(3, "ring") { layers in
            var first = layers[1]
            first["inbound_nodes"] = [["args": [["class_name": "__keras_tensor__", "config": ["shape": [NSNull(), 6, 4], "dtype": "float32", "keras_history": ["a2", 0, 0]]]], "kwargs": [String: Any]()]]
            layers[1] = first
        }
        let run = try GRURunBinary.run(["--weights", ring, "--input", Fixtures.path("models/k3_gru_dense1/x.npy")])
        XCTAssertEqual(run.status, 65, run.stderr)
        XCTAssertTrue(run.stderr.contains("the model's layers form a cycle: 'a0' -> 'a1' -> 'a2' -> 'a0'"), run.stderr)
        let missing = try chainModel(1, "missing") { layers in
            var gru = layers[2]
            gru["inbound_nodes"] = [["args": [["class_name": "__keras_tensor__", "config": ["shape": [NSNull(), 6, 4], "dtype": "float32", "keras_history": ["ghost", 0, 0]]]], "kwargs": [String: Any]()]]
            layers[2] = gru
        }
        let refused = try GRURunBinary.run(["--weights", missing, "--input", Fixtures.path("models/k3_gru_dense1/x.npy")])
        XCTAssertEqual(refused.status, 65, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("layer 'gru' reads a tensor that no layer makes (output 0 of call 0 of 'ghost')"), refused.stderr)
    }
}
