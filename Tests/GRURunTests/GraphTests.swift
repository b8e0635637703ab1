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

    /// The whole model is refused at its first layer gru-run does not run, naming the --through that works;
    /// --layer is not offered, since the GRU reads a Dense's output and not the model's input.
    func testRefusalOffersTheThroughThatRuns() throws {
        for name in ["tfk_later_unsupported/model.h5", "k3_later_unsupported/model.keras"] {
            let path = Fixtures.path("through/" + name)
            let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("through/k3_later_unsupported/x.npy")])
            XCTAssertEqual(run.status, 65, run.stderr)
            XCTAssertEqual(run.stderr, "gru-run: \(path): layer 'lstm' is an LSTM, which gru-run does not run; run the model up to 'gru' with --through gru.\n")
        }
        let unknown = try GRURunBinary.run(["--weights", Fixtures.path("through/k3_shared/model.keras"), "--through", "nothing"])
        XCTAssertEqual(unknown.status, 65, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("has no layer named 'nothing' that the model runs; its layers are x0, x1, shared, add, gru"), unknown.stderr)
    }

    /// tf-keras numbers a nested model's calls from 1; read so, the model is refused at its nested model, by
    /// name and class, instead of as a graph that does not connect.
    func testANestedModelIsNamed() throws {
        let path = Fixtures.repositoryRoot.path + "/Tests/Corpus/models/nested.h5"
        let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("through/k3_later_unsupported/x.npy")])
        XCTAssertEqual(run.status, 65, run.stderr)
        XCTAssertEqual(run.stderr, "gru-run: \(path): layer 'encoder' is a Functional, which gru-run does not run.\n")
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
