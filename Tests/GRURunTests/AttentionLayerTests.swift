import Foundation
import TestSupport
import XCTest

/// The layer kinds of issue 20 beyond what the model fixtures hold: hostile numbers in each new layer's
/// config, the call arguments of the attention layers, `--through` an attention layer that returns its
/// scores, ids outside an encoding's range, and files written on Windows. The numbers of the configs Keras
/// builds are held by the fixtures (ModelFixtureTests).
final class AttentionLayerTests: XCTestCase {
    private var scratch = ""
    private var probe: HostileProbe { HostileProbe(scratch: scratch) }

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    private static let values: [(json: String, shown: String)] = [
        ("0", "0"), ("-1", "-1"), ("NaN", "nan"), ("1e20", "1e+20"), ("4611686018427387904", "4.611686018427388e+18"),
        ("[1]", "a list"), ("\"3\"", "\"3\""),
    ]

    /// (fixture, text replaced, template with {v}, layer, key, values Keras builds with).
    private static let keys: [(model: String, old: String, template: String, layer: String, key: String, accepted: Set<String>)] = [
        ("k3_mha", "\"num_heads\": 2", "\"num_heads\": {v}", "'mha'", "num_heads", []),
        ("k3_mha", "\"key_dim\": 3", "\"key_dim\": {v}", "'mha'", "key_dim", []),
        ("k3_mha", "\"value_dim\": 4", "\"value_dim\": {v}", "'mha'", "value_dim", []),
        ("k3_attention_dot", "\"score_mode\": \"dot\", \"dropout\": 0.0", "\"score_mode\": \"dot\", \"dropout\": {v}", "'att'", "dropout", ["0"]),
        ("k3_dot", "\"axes\": 2", "\"axes\": {v}", "'dot_steps'", "axes", ["-1", "[1]"]),
        ("k3_normalization", "\"axis\": [1, 2], \"invert\": false", "\"axis\": [1, {v}], \"invert\": false", "'norm_2'", "axis", ["-1"]),
        ("k3_lookup_encoding", "\"num_tokens\": 12", "\"num_tokens\": {v}", "'one_hot'", "num_tokens", []),
        ("k3_separable_conv", "\"depth_multiplier\": 2", "\"depth_multiplier\": {v}", "'sep_same'", "depth_multiplier", []),
    ]

    func testEveryNumericKeyOfTheNewLayersRefusesValuesKerasCouldNotHaveWritten() throws {
        var tried = 0
        for key in Self.keys {
            for value in Self.values where !key.accepted.contains(value.json) {
                let new = key.template.replacingOccurrences(of: "{v}", with: value.json)
                probe.expectRefusal(try probe.run(key.model, key.old, new, extra: try outputs(key.model)), says: [key.layer, key.key],
                                    value: value.shown, "\(key.model): \(new)")
                tried += 1
            }
        }
        XCTAssertEqual(tried, 52)
    }

    /// The config of the second IntegerLookup of k3_lookup_encoding from num_oov_indices to oov_method.
    private static let lookup2 = "\"num_oov_indices\": 1, \"oov_token\": -1, \"mask_token\": null, \"output_mode\": \"int\", \"sparse\": false, "
        + "\"pad_to_max_tokens\": false, \"vocabulary_dtype\": \"int64\", \"idf_weights\": null, \"vocabulary\": [2, 4, 6, 8], "
        + "\"vocabulary_size\": 5, \"oov_method\": \"floormod\""

    func testRefusedConfigsAndCallArguments() throws {
        let cases: [(model: String, old: String, new: String, says: [String])] = [
            ("k3_mha_cross", "\"use_causal_mask\": true, \"return_attention_scores\": true",
             "\"use_causal_mask\": true, \"return_attention_scores\": true, \"attention_mask\": [1]", ["'mha'", "explicit attention_mask"]),
            ("k3_attention_concat_causal", "\"kwargs\": {\"use_causal_mask\": true}", "\"kwargs\": {\"use_causal_mask\": \"yes\"}",
             ["'att'", "use_causal_mask \"yes\", not true or false"]),
            ("k3_attention_concat_causal", "\"score_mode\": \"concat\"", "\"score_mode\": \"general\"", ["'att'", "score_mode \"general\""]),
            ("k3_mha", "\"attention_axes\": [1]", "\"attention_axes\": [2]", ["'mha'", "attention_axes [2]"]),
            ("k3_mha", "\"use_gate\": false", "\"use_gate\": true", ["'mha'", "use_gate"]),
            ("k3_mha", "\"value_dim\": 4", "\"value_dim\": 5", ["'mha'", "value kernel of shape (8, 2, 4)"]),
            ("k3_lookup_encoding", "\"output_mode\": \"count\"", "\"output_mode\": \"tf_idf\"", ["'count'", "output_mode \"tf_idf\""]),
            ("k3_lookup_encoding", "\"num_tokens\": 12", "\"num_tokens\": 6", ["'one_hot'", "not an id in [0, 6)"]),
            ("k3_lookup_encoding", "\"vocabulary\": [2, 4, 6, 8]", "\"vocabulary\": null", ["'lookup_2'", "vocabulary outside its config"]),
            ("k3_lookup_encoding", "\"vocabulary\": [2, 4, 6, 8]", "\"vocabulary\": [2, 4, 2, 8]", ["'lookup_2'", "lists 2 twice"]),
            ("k3_lookup_encoding", Self.lookup2, Self.lookup2.replacingOccurrences(of: "\"num_oov_indices\": 1", with: "\"num_oov_indices\": 2")
                .replacingOccurrences(of: "floormod", with: "farmhash"), ["'lookup_2'", "oov_method \"farmhash\""]),
            ("k3_lookup_encoding", Self.lookup2, Self.lookup2.replacingOccurrences(of: "\"num_oov_indices\": 1", with: "\"num_oov_indices\": 0"),
             ["'lookup_2'", "not in its vocabulary, and num_oov_indices is 0"]),
        ]
        for c in cases {
            probe.expectRefusal(try probe.run(c.model, c.old, c.new, extra: try outputs(c.model)), says: c.says, "\(c.model): \(c.new)")
        }
    }

    /// tf-keras's deprecated `causal` config key masks as `use_causal_mask=True` in the call does.
    func testCausalInTheConfigMasksAsTheCallArgumentDoes() throws {
        let folder = Fixtures.path("models/k3_attention_concat_causal")
        let edited = scratch + "/causal.keras"
        try editedKerasArchive(folder + "/model.keras", to: edited) {
            replaceOnce(&$0, "\"kwargs\": {\"use_causal_mask\": true}", "\"kwargs\": {}")
            replaceOnce(&$0, "\"score_mode\": \"concat\"", "\"score_mode\": \"concat\", \"causal\": true")
        }
        let run = try GRURunBinary.run(["--weights", edited, "--input", folder + "/x.npy", "--output", scratch + "/y.npy"])
        XCTAssertEqual(run.status, 0, run.stderr)
        try expectClose(scratch + "/y.npy", folder + "/y.npy", tolerance: 1e-5)
    }

    /// `--through` an Attention that returns its scores gives both of its outputs.
    func testThroughAnAttentionLayerGivesItsScoresToo() throws {
        let folder = Fixtures.path("models/k3_attention_dot")
        let run = try GRURunBinary.run(["--weights", folder + "/model.keras", "--input", folder + "/x.npy", "--through", "att",
                                        "--output", scratch + "/a.npy", "--output", scratch + "/w.npy"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try loadNPY(scratch + "/a.npy").shape, [3, 6, 6])
        try expectClose(scratch + "/w.npy", folder + "/y1.npy", tolerance: 1e-5)
    }

    /// Group names written with backslashes (Keras on Windows) are read as "/", and a note says so.
    func testFilesSavedOnWindowsRunWithANote() throws {
        for (name, file) in [("k3_mha_windows", "model.keras"), ("tfk_mha_windows", "model.h5")] {
            let folder = Fixtures.path("windows/" + name)
            let run = try GRURunBinary.run(["--weights", folder + "/" + file, "--input", folder + "/x.npy", "--output", scratch + "/y.npy"])
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            XCTAssertEqual(run.stderr, "gru-run: note: the file names its groups with backslashes (saved on Windows); gru-run reads them as '/'\n", name)
            try expectClose(scratch + "/y.npy", folder + "/y.npy", tolerance: 1e-5)
            let quiet = try GRURunBinary.run(["--weights", folder + "/" + file, "--input", folder + "/x.npy", "--output", scratch + "/q.npy", "--quiet"])
            XCTAssertEqual(quiet.status, 0, quiet.stderr)
            XCTAssertEqual(quiet.stderr, "", name)
        }
    }

    /// One --output per output the fixture's model gives, so that a run gets as far as its layers.
    private func outputs(_ model: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("models/" + model)).filter { $0.hasPrefix("y") }.sorted()
            .flatMap { ["--output", scratch + "/out-" + $0] }
    }

    private func expectClose(_ actual: String, _ expected: String, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let (a, e) = (try loadNPY(actual), try loadNPY(expected))
        XCTAssertEqual(a.shape, e.shape, file: file, line: line)
        if let message = mismatch(a.values, e.values, shape: e.shape, tolerance: tolerance, context: expected) {
            XCTFail(message, file: file, line: line)
        }
    }
}
