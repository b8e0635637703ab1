import Foundation
import TestSupport
import XCTest

/// A real Keras 3 fixture with one config value replaced, run by the built binary under `timeout`, so that a
/// hang fails the test (status 124) instead of blocking it; a signal shows as 128 + its number.
struct HostileProbe {
    let scratch: String

    /// Runs `model`'s fixture with `old` replaced by `new` in its config.json: the whole model on its own
    /// inputs (with `extra` arguments), or `inspect`.
    func run(_ model: String, _ old: String, _ new: String, inspect: Bool = false, extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let folder = Fixtures.path("models/\(model)")
        let edited = scratch + "/\(model)-\(UUID().uuidString).keras"
        try editedKerasArchive(folder + "/model.keras", to: edited) { replaceOnce(&$0, old, new) }
        defer { try? FileManager.default.removeItem(atPath: edited) }
        let inputs = FileManager.default.fileExists(atPath: folder + "/x.npy") ? ["x.npy"] : ["x0.npy", "x1.npy"]
        let arguments = (inspect ? ["inspect", edited] : ["--weights", edited] + inputs.flatMap { ["--input", folder + "/" + $0] }) + extra
        return try GRURunBinary.shell("timeout 20 \"$GRU_RUN\" " + arguments.map { "'\($0)'" }.joined(separator: " "))
    }

    /// The run is refused: `status`, nothing on stdout, one line on stderr holding every fragment in `says`
    /// and `value` as a word of its own (after a space, or first in a shown list or shape).
    func expectRefusal(_ result: (status: Int32, stdout: String, stderr: String), status: Int32 = 65, says: [String],
                       value: String? = nil, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if let value {
            XCTAssertTrue([" ", "[", "("].contains { result.stderr.contains($0 + value) }, "\(what): '\(value)' not in \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(result.status, status, "\(what): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "", what, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("gru-run: "), "\(what): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(what): \(result.stderr)", file: file, line: line)
        for fragment in says {
            XCTAssertTrue(result.stderr.contains(fragment), "\(what): '\(fragment)' not in \(result.stderr)", file: file, line: line)
        }
    }
}

/// Every numeric key of every layer kind gru-run runs, given each value Keras could not have written there:
/// each ends in one sentence naming the layer, the key and the value, with exit 65 (never a signal, a trace,
/// a hang or exit 0 with numbers).
final class HostileConfigTests: XCTestCase {
    private var scratch = ""
    private var probe: HostileProbe { HostileProbe(scratch: scratch) }

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// The hostile values as JSON, with how a message shows each (JSON `NaN` as Python's json writes it).
    private static let values: [(json: String, shown: String)] = [
        ("0", "0"), ("-1", "-1"), ("NaN", "nan"), ("1e20", "1e+20"), ("4611686018427387904", "4.611686018427388e+18"),
        ("[1]", "a list"), ("\"3\"", "\"3\""),
    ]

    /// One key of one fixture: `template` has `{v}` where a value goes; `accepted` are the values Keras builds
    /// that key with (tested for their numbers elsewhere).
    private struct Key {
        var model: String, old: String, template: String, layer: String, key: String
        var accepted: Set<String> = []
    }

    private static let keys: [Key] = [
        Key(model: "k3_repeat_vector", old: "\"n\": 4", template: "\"n\": {v}", layer: "'repeat'", key: "n"),
        Key(model: "k3_repeat_vector", old: "\"batch_shape\": [null, 6, 4]", template: "\"batch_shape\": [null, {v}, 4]", layer: "'x'", key: "batch_shape"),
        Key(model: "k3_repeat_vector", old: "\"units\": 6", template: "\"units\": {v}", layer: "'encoder'", key: "units"),
        Key(model: "k3_permute_gru", old: "\"dims\": [2, 1]", template: "\"dims\": [2, {v}]", layer: "'permute'", key: "dims"),
        Key(model: "k3_reshape_gru_flatten", old: "\"target_shape\": [6, 4]", template: "\"target_shape\": [6, {v}]", layer: "'reshape'",
            key: "target_shape", accepted: ["-1"]),
        Key(model: "k3_reshape_gru_flatten", old: "\"batch_shape\": [null, 24]", template: "\"batch_shape\": [null, {v}]", layer: "'x'", key: "batch_shape"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"filters\": 6", template: "\"filters\": {v}", layer: "'conv'", key: "filters"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"kernel_size\": [3]", template: "\"kernel_size\": [{v}]", layer: "'conv'", key: "kernel_size"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"dilation_rate\": [2]", template: "\"dilation_rate\": [{v}]", layer: "'conv'", key: "dilation_rate"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"strides\": [1]", template: "\"strides\": [{v}]", layer: "'conv'", key: "strides"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"pool_size\": [3]", template: "\"pool_size\": [{v}]", layer: "'pool'", key: "pool_size"),
        Key(model: "k3_conv_causal_d2_maxpool_same", old: "\"strides\": [2]", template: "\"strides\": [{v}]", layer: "'pool'", key: "strides"),
        Key(model: "k3_cnn_gru", old: "\"filters\": 4", template: "\"filters\": {v}", layer: "'conv2d'", key: "filters"),
        Key(model: "k3_cnn_gru", old: "\"kernel_size\": [3, 3]", template: "\"kernel_size\": [3, {v}]", layer: "'conv2d'", key: "kernel_size"),
        Key(model: "k3_cnn_gru", old: "\"strides\": [1, 1]", template: "\"strides\": [1, {v}]", layer: "'conv2d'", key: "strides"),
        Key(model: "k3_cnn_gru", old: "\"dilation_rate\": [1, 1]", template: "\"dilation_rate\": [{v}, 1]", layer: "'conv2d'", key: "dilation_rate"),
        Key(model: "k3_cnn_gru", old: "\"pool_size\": [2, 2]", template: "\"pool_size\": [2, {v}]", layer: "'max_pooling2d'", key: "pool_size"),
        Key(model: "k3_cnn_gru", old: "\"strides\": [2, 2]", template: "\"strides\": [{v}, 2]", layer: "'max_pooling2d'", key: "strides"),
        Key(model: "k3_cnn_gru", old: "\"batch_shape\": [null, 4, 8, 8, 1]", template: "\"batch_shape\": [null, 4, {v}, 8, 1]", layer: "'x'", key: "batch_shape"),
        Key(model: "k3_concat_inputs", old: "\"axis\": -1", template: "\"axis\": {v}", layer: "'concat'", key: "axis", accepted: ["-1"]),
        Key(model: "k3_concat_inputs", old: "\"keras_history\": [\"a\", 0, 0]", template: "\"keras_history\": [\"a\", {v}, 0]", layer: "'concat'",
            key: "inbound_nodes", accepted: ["0"]),
        Key(model: "k3_merge_add", old: "\"output_layers\": [\"head\", 0, 0]", template: "\"output_layers\": [\"head\", 0, {v}]", layer: "'head'",
            key: "output_layers", accepted: ["0"]),
        Key(model: "k3_layer_softmax", old: "\"axis\": -1", template: "\"axis\": {v}", layer: "'softmax'", key: "axis", accepted: ["0", "-1", "[1]"]),
        Key(model: "k3_layer_relu_params", old: "\"max_value\": 1.5", template: "\"max_value\": {v}", layer: "'relu'", key: "max_value",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_layer_relu_params", old: "\"negative_slope\": 0.1", template: "\"negative_slope\": {v}", layer: "'relu'", key: "negative_slope",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_layer_relu_params", old: "\"threshold\": 0.3", template: "\"threshold\": {v}", layer: "'relu'", key: "threshold",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_layer_leakyrelu", old: "\"negative_slope\": 0.2", template: "\"negative_slope\": {v}", layer: "'leaky'", key: "negative_slope",
            accepted: ["0", "-1", "1e20", "4611686018427387904"]),
        Key(model: "k3_layer_elu", old: "\"alpha\": 0.7", template: "\"alpha\": {v}", layer: "'elu'", key: "alpha",
            accepted: ["0", "-1", "1e20", "4611686018427387904"]),
        Key(model: "k3_stacked_noise", old: "\"rate\": 0.5, \"seed\"", template: "\"rate\": {v}, \"seed\"", layer: "'dropout_1'", key: "rate", accepted: ["0"]),
        Key(model: "k3_stacked_noise", old: "\"stddev\": 0.5", template: "\"stddev\": {v}", layer: "'gaussian_noise'", key: "stddev",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_stacked_noise", old: "\"l1\": 0.01", template: "\"l1\": {v}", layer: "'activity_regularization'", key: "l1",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_embed_mask_gru", old: "\"input_dim\": 12", template: "\"input_dim\": {v}", layer: "'embed'", key: "input_dim"),
        Key(model: "k3_embed_mask_gru", old: "\"output_dim\": 6", template: "\"output_dim\": {v}", layer: "'embed'", key: "output_dim"),
        Key(model: "k3_layer_prelu_shared", old: "\"shared_axes\": [1]", template: "\"shared_axes\": [{v}]", layer: "'prelu'", key: "shared_axes"),
        Key(model: "k3_gru_dense1", old: "\"units\": 1", template: "\"units\": {v}", layer: "'head'", key: "units"),
        Key(model: "k3_bn_axis1", old: "\"axis\": 1,", template: "\"axis\": {v},", layer: "'bn'", key: "axis", accepted: ["[1]"]),
        Key(model: "k3_bn_axis1", old: "\"epsilon\": 0.001, \"center\": true, \"scale\": true, \"beta_initializer\"",
            template: "\"epsilon\": {v}, \"center\": true, \"scale\": true, \"beta_initializer\"", layer: "'bn'", key: "epsilon",
            accepted: ["0", "1e20", "4611686018427387904"]),
        Key(model: "k3_ln_axis1", old: "\"axis\": [1]", template: "\"axis\": [{v}]", layer: "'ln'", key: "axis"),
        Key(model: "k3_ln_axis1", old: "\"epsilon\": 0.001", template: "\"epsilon\": {v}", layer: "'ln'", key: "epsilon",
            accepted: ["0", "1e20", "4611686018427387904"]),
        // A NaN or an infinite mask_value is a value Keras compares against (a NaN masks nothing, in Keras too).
        Key(model: "k3_masking_gru_gap", old: "\"mask_value\": 0.0", template: "\"mask_value\": {v}", layer: "'masking'", key: "mask_value",
            accepted: ["0", "-1", "NaN", "1e20", "4611686018427387904"]),
    ]

    func testEveryNumericKeyRefusesValuesKerasCouldNotHaveWritten() throws {
        var tried = 0
        for key in Self.keys {
            for value in Self.values where !key.accepted.contains(value.json) {
                let new = key.template.replacingOccurrences(of: "{v}", with: value.json)
                let result = try probe.run(key.model, key.old, new)
                // A list shows as "a list"; the other values as Swift prints them.
                probe.expectRefusal(result, says: [key.layer, key.key], value: value.shown, "\(key.model): \(new)")
                tried += 1
            }
        }
        XCTAssertGreaterThan(tried, 200)
    }
}
