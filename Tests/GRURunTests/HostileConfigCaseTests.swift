import Foundation
import TestSupport
import XCTest

/// The hostile configs that used to end in a signal or a wrong number, one test each, the values Keras does
/// build with (their numbers checked), and the memory check of a run and of `inspect`.
final class HostileConfigCaseTests: XCTestCase {
    private var scratch = ""
    private var probe: HostileProbe { HostileProbe(scratch: scratch) }

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// Used to return "probabilities" with negative values and rows summing to 1.6, exit 0.
    func testSoftmaxAxisBelowTheRank() throws {
        let result = try probe.run("k3_layer_softmax", "\"axis\": -1", "\"axis\": -10")
        probe.expectRefusal(result, says: ["'softmax'", "axis -10 is outside an input of shape (3, 6, 6)"], "axis -10")
    }

    /// Used to end in SIGSEGV.
    func testSoftmaxAxisPastTheRank() throws {
        let result = try probe.run("k3_layer_softmax", "\"axis\": -1", "\"axis\": 5")
        probe.expectRefusal(result, says: ["'softmax'", "axis 5 is outside an input of shape (3, 6, 6)"], "axis 5")
    }

    /// Used to end in SIGFPE (or NaNs with exit 0 under same padding).
    func testPoolSizeZero() throws {
        let one = try probe.run("k3_conv_causal_d2_maxpool_same", "\"pool_size\": [3]", "\"pool_size\": [0]")
        probe.expectRefusal(one, says: ["'pool'", "pool_size 0 is below 1"], "MaxPooling1D pool_size [0]")
        let two = try probe.run("k3_cnn_gru", "\"pool_size\": [2, 2]", "\"pool_size\": [0, 2]")
        probe.expectRefusal(two, says: ["'max_pooling2d'", "pool_size 0 is below 1"], "MaxPooling2D pool_size [0, 2]")
    }

    /// Used to end in SIGFPE.
    func testStridesZero() throws {
        let pool = try probe.run("k3_conv_causal_d2_maxpool_same", "\"strides\": [2]", "\"strides\": [0]")
        probe.expectRefusal(pool, says: ["'pool'", "strides 0 is below 1"], "MaxPooling1D strides [0]")
        let conv = try probe.run("k3_conv_causal_d2_maxpool_same", "\"strides\": [1]", "\"strides\": [0]")
        probe.expectRefusal(conv, says: ["'conv'", "strides 0 is below 1"], "Conv1D strides [0]")
    }

    /// A padding, mask_value, data_format or a Conv2D's groups of the wrong type used to run as if it were
    /// absent ("valid", 0, "channels_last", 1), exit 0; a grouped Conv2D is refused by name.
    func testWrongTypedArgumentsAreRefused() throws {
        for value in ["0", "true", "[1, 2]"] {
            let pool = try probe.run("k3_conv_causal_d2_maxpool_same", "\"padding\": \"same\"", "\"padding\": \(value)")
            probe.expectRefusal(pool, says: ["'pool'", "has padding", "not a string"], "MaxPooling1D padding \(value)")
            let masking = try probe.run("k3_attention_masked", "\"mask_value\": 0.0", "\"mask_value\": \(value == "0" ? "\"0\"" : value)")
            probe.expectRefusal(masking, says: ["has mask_value", "not a number"], "Masking mask_value \(value)")
        }
        let format = try probe.run("k3_attention_dot", "\"data_format\": \"channels_last\"", "\"data_format\": 1")
        probe.expectRefusal(format, says: ["has data_format 1", "not a string"], "data_format 1")
        let groups = try probe.run("k3_cnn_gmp2d", "\"groups\": 1", "\"groups\": \"1\"")
        probe.expectRefusal(groups, says: ["has groups", "expected an integer"], "Conv2D groups \"1\"")
        let grouped = try probe.run("k3_cnn_gmp2d", "\"groups\": 1", "\"groups\": 2")
        probe.expectRefusal(grouped, says: ["(Conv2D) uses groups"], "Conv2D groups 2")
    }

    /// NaN or 1e20 where a count goes used to end in SIGILL with no message.
    func testNaNAndHugeCounts() throws {
        let cases: [(model: String, old: String, template: String, layer: String)] = [
            ("k3_repeat_vector", "\"batch_shape\": [null, 6, 4]", "\"batch_shape\": [null, {v}, 4]", "'x' has batch_shape"),
            ("k3_repeat_vector", "\"n\": 4", "\"n\": {v}", "'repeat' (RepeatVector) has n"),
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [{v}, 4]", "'reshape' (Reshape) has target_shape"),
            ("k3_permute_gru", "\"dims\": [2, 1]", "\"dims\": [{v}, 1]", "'permute' (Permute) has dims"),
        ]
        for c in cases {
            for (value, shown) in [("NaN", "nan"), ("1e20", "1e+20")] {
                let new = c.template.replacingOccurrences(of: "{v}", with: value)
                probe.expectRefusal(try probe.run(c.model, c.old, new), says: [c.layer, shown], new)
            }
        }
    }

    /// Used to ask for 4.3 GB past the memory check.
    func testRepeatVectorMinusOne() throws {
        let result = try probe.run("k3_repeat_vector", "\"n\": 4", "\"n\": -1")
        probe.expectRefusal(result, says: ["'repeat'", "n -1 is below 1"], "n -1")
    }

    /// A causal Conv1D with dilation_rate 2^62 used to overflow its window and exit 0.
    func testCausalConvolutionWithAHugeDilation() throws {
        let huge = try probe.run("k3_conv_causal_d2_maxpool_same", "\"dilation_rate\": [2]", "\"dilation_rate\": [4611686018427387904]")
        probe.expectRefusal(huge, says: ["'conv'", "dilation_rate", "4.611686018427388e+18"], "dilation_rate 2^62")
    }

    /// Reshape takes exactly one -1; Permute takes a permutation of 1...rank-1; Concatenate and the merge
    /// layers take inputs that fit together.
    func testShapesThatDoNotFit() throws {
        let cases: [(model: String, old: String, new: String, says: String)] = [
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [-1, -1]", "target_shape (-1, -1) holds more than one -1"),
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [-1, 5]", "24 values per sample cannot take target_shape (-1, 5)"),
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [-2, 4]", "target_shape (-2, 4) holds -2"),
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": []", "target_shape is empty"),
            ("k3_permute_gru", "\"dims\": [2, 1]", "\"dims\": [2, 2]", "dims [2, 2] are not an ordering of the axes 1 to 2"),
            ("k3_permute_gru", "\"dims\": [2, 1]", "\"dims\": []", "dims list is empty"),
            ("k3_permute_gru", "\"dims\": [2, 1]", "\"dims\": [1, 2, 3]", "dims [1, 2, 3] do not reorder the axes of an input of shape (3, 6, 4)"),
            ("k3_concat_inputs", "\"axis\": -1", "\"axis\": 1", "(3, 6, 3), (3, 6, 2) cannot be joined on axis 1"),
            ("k3_merge_add", "\"keras_history\": [\"gru_b\", 0, 0]", "\"keras_history\": [\"x\", 0, 0]", "shapes (3, 6), (3, 6, 4), which do not broadcast to one shape"),
        ]
        for c in cases { probe.expectRefusal(try probe.run(c.model, c.old, c.new), says: [c.says], c.new) }
    }

    /// An output larger than memory is refused before it is allocated, exit 71: under a 4 GB address-space
    /// limit, whatever the machine holds.
    func testAnOutputPastMemory() throws {
        let folder = Fixtures.path("models/k3_repeat_vector")
        let edited = scratch + "/big.keras"
        try editedKerasArchive(folder + "/model.keras", to: edited) { replaceOnce(&$0, "\"n\": 4", "\"n\": 999999999") }
        let result = try GRURunBinary.shell("ulimit -v 4000000; timeout 20 \"$GRU_RUN\" --weights '\(edited)' --input '\(folder)/x.npy'")
        probe.expectRefusal(result, status: 71, says: ["the output of layer 'repeat' needs", "ulimit -v"], "n 999999999")
    }

    /// The values Keras does build with give Keras's numbers: a Reshape's one -1, a bare number where Keras 3
    /// writes a list of one, Softmax over a listed axis or over the batch.
    func testValuesKerasBuildsWith() throws {
        let same: [(model: String, old: String, new: String)] = [
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [6, -1]"),
            ("k3_reshape_gru_flatten", "\"target_shape\": [6, 4]", "\"target_shape\": [-1, 4]"),
            ("k3_conv_causal_d2_maxpool_same", "\"kernel_size\": [3]", "\"kernel_size\": 3"),
            ("k3_conv_causal_d2_maxpool_same", "\"dilation_rate\": [2]", "\"dilation_rate\": 2"),
            ("k3_layer_softmax", "\"axis\": -1", "\"axis\": [-1]"),
            ("k3_layer_softmax", "\"axis\": -1", "\"axis\": 2"),
        ]
        for c in same {
            let out = scratch + "/same.npy"
            let result = try probe.run(c.model, c.old, c.new, extra: ["--output", out])
            XCTAssertEqual(result.status, 0, "\(c.new): \(result.stderr)")
            let y = try loadNPY(out), expected = try loadNPY(Fixtures.path("models/\(c.model)/y.npy"))
            XCTAssertEqual(y.shape, expected.shape, c.new)
            XCTAssertLessThan(maxAbsError(y.values, expected.values), 1e-5, c.new)
        }
        // Softmax over the batch axis: for every (step, unit) the three samples' values sum to 1.
        let out = scratch + "/batch.npy"
        let result = try probe.run("k3_layer_softmax", "\"axis\": -1", "\"axis\": 0", extra: ["--output", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let y = try loadNPY(out)
        XCTAssertEqual(y.shape, [3, 6, 6])
        for position in 0..<36 {
            XCTAssertEqual((0..<3).reduce(0.0) { $0 + y.values[$1 * 36 + position] }, 1, accuracy: 1e-5, "position \(position)")
        }
        XCTAssertGreaterThan(maxAbsError(y.values, try loadNPY(Fixtures.path("models/k3_layer_softmax/y.npy")).values), 1e-2)
    }

    /// inspect runs one sample of the declared shape only when it and every layer's output fit its limit and
    /// memory; otherwise, and for a config a layer refuses, it says why in a sentence.
    func testInspectOfHostileConfigs() throws {
        let cases: [(model: String, old: String, new: String, says: String)] = [
            ("k3_repeat_vector", "\"batch_shape\": [null, 6, 4]", "\"batch_shape\": [null, 100000000, 4]",
             "input 'x' of shape (100000000, 4) would need 1525 MB of the 256 MB it allows each tensor."),
            ("k3_repeat_vector", "\"n\": 4", "\"n\": 999999999", "layer 'repeat' would need 22888 MB of the 256 MB it allows each tensor."),
            ("k3_layer_softmax", "\"axis\": -1", "\"axis\": 5",
             "the whole model does not run: layer 'softmax': its axis 5 is outside an input of shape (1, 6, 6)."),
        ]
        for c in cases {
            let result = try probe.run(c.model, c.old, c.new, inspect: true)
            XCTAssertEqual(result.status, 0, "\(c.new): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains(c.says), "\(c.new): \(result.stdout)")
            XCTAssertFalse(result.stdout.contains("graph:"), c.new)
        }
        let nan = try probe.run("k3_repeat_vector", "\"batch_shape\": [null, 6, 4]", "\"batch_shape\": [null, NaN, 4]", inspect: true)
        probe.expectRefusal(nan, says: ["'x' has batch_shape holding nan"], "inspect batch_shape NaN")
    }
}
