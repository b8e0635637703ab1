import Foundation
import TestSupport
import XCTest

/// Configs of GroupNormalization, EinsumDense, UnitNormalization, RMSNormalization, Conv1DTranspose and the
/// padding, cropping and upsampling layers that Keras could not have built (or that gru-run does not run):
/// each is one sentence naming the layer, exit 65, nothing on stdout; never a trap or a number. The numbers
/// of the configs Keras builds are held by the fixtures (ModelFixtureTests).
final class LayerKindsTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws { scratch = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    private func expectRefusals(_ cases: [(model: String, old: String, new: String, says: String)]) throws {
        for (index, c) in cases.enumerated() {
            let edited = scratch + "/edited\(index).keras"
            try editedKerasArchive(Fixtures.path("models/\(c.model)/model.keras"), to: edited) { replaceOnce(&$0, c.old, c.new) }
            // One --output per output the model gives (y.npy, or y0.npy, y1.npy, ...).
            let outputs = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("models/\(c.model)")).filter { $0.hasPrefix("y") }
            let run = try GRURunBinary.run(["--weights", edited, "--input", Fixtures.path("models/\(c.model)/x.npy")]
                                           + outputs.flatMap { ["--output", scratch + "/\(index)-" + $0] })
            XCTAssertEqual(run.status, 65, "\(c.new): \(run.stderr)")
            XCTAssertTrue(run.stdout.isEmpty, c.new)
            XCTAssertTrue(run.stderr.contains(c.says), "\(c.new): \(run.stderr)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        }
    }

    func testHostileNormalizationConfigs() throws {
        try expectRefusals([
            ("k3_groupnorm", "\"groups\": 2,", "\"groups\": 3,", "3 groups do not divide the 8 channels"),
            ("k3_groupnorm", "\"groups\": 2,", "\"groups\": 16,", "16 groups do not divide the 8 channels"),
            ("k3_groupnorm", "\"groups\": 2,", "\"groups\": 0,", "groups 0 is neither a positive number nor -1"),
            ("k3_groupnorm", "\"groups\": 2,", "\"groups\": -5,", "groups -5 is neither"),
            ("k3_groupnorm", "\"groups\": 2,", "\"groups\": [],", "it takes one"),
            ("k3_groupnorm", "\"epsilon\": 0.01", "\"epsilon\": -0.01", "epsilon -0.01 is not a non-negative number"),
            ("k3_groupnorm", "\"groups\": 3, \"axis\": 1", "\"groups\": 3, \"axis\": 4", "axis 4 is outside"),
            ("k3_groupnorm", "\"groups\": 3, \"axis\": 1", "\"groups\": 3, \"axis\": 0", "axis 0 is the batch axis"),
            ("k3_unitnorm", "\"axis\": [1, 2]", "\"axis\": [1, 3]", "axis 3 is outside"),
            ("k3_unitnorm", "\"axis\": [1, 2]", "\"axis\": [2, -1]", "names axis 2 twice"),
            ("k3_unitnorm", "\"axis\": [1, 2]", "\"axis\": []", "axis list is empty"),
            ("k3_rmsnorm", "\"axis\": [1, 2]", "\"axis\": [1, 5]", "axis 5 is outside"),
            ("k3_rmsnorm", "\"epsilon\": 0.001", "\"epsilon\": -1", "epsilon -1.0 is not a non-negative number"),
        ])
    }

    func testHostileEinsumDenseConfigs() throws {
        let says = "gru-run runs the forms Keras's EinsumDense builds"
        try expectRefusals([
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc,cd->abe\"", "has an output letter in neither operand"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"aac,cd->abd\"", "repeats a letter"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc,cd\"", says),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc...,cd->abd\"", "not at the same end of the output"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"ab.c,cd->abd\"", says),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc,cd,de->abe\"", "does not take two operands"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abcx,cd->abd\"", "takes 4 input axes, not an input of shape (3, 6, 6)"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc,xd->abd\"", "kernel letter in neither"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abd,cd->abd\"", "kernel letter in neither"),
            ("k3_einsum", "\"abc,cd->abd\"", "\"abc,cd->bd\"", "does not start with the input's first (batch) axis 'a'"),
            ("k3_einsum", "\"bias_axes\": \"d\"", "\"bias_axes\": \"z\"", "bias_axes 'z' are not letters of the output"),
            ("k3_einsum", "\"bias_axes\": \"d\"", "\"bias_axes\": \"b\"", "bias holds 5 values, but bias_axes 'b'"),
        ])
    }

    func testHostileShapeLayerConfigs() throws {
        try expectRefusals([
            ("k3_seq_shapes", "\"size\": 2", "\"size\": 0", "size 0 must be 1 or more"),
            ("k3_seq_shapes", "\"size\": 2", "\"size\": -2", "size -2 must be 1 or more"),
            ("k3_seq_shapes", "\"size\": 2", "\"size\": 2.5", "not an integer"),
            ("k3_seq_shapes", "\"padding\": [1, 2]", "\"padding\": [-1, 2]", "padding -1, 2 must be 0 or more"),
            ("k3_seq_shapes", "\"padding\": [1, 2]", "\"padding\": [1, 2, 3]", "not integers or pairs of them"),
            ("k3_seq_shapes", "\"cropping\": [2, 0]", "\"cropping\": [9, 0]", "leaves no step"),
            ("k3_image_layers", "\"cropping\": [[0, 1]", "\"cropping\": [[0, 9]", "leaves nothing"),
            ("k3_image_layers", "\"padding\": [[1, 1]", "\"padding\": [[1, -1]", "must be 0 or more"),
            ("k3_image_layers", "\"interpolation\": \"nearest\"", "\"interpolation\": \"bicubic\"", "uses interpolation 'bicubic'; gru-run runs nearest and bilinear"),
            ("k3_image_layers", "\"size\": [2, 2]", "\"size\": [2, 0]", "size 2, 0 must be 1 or more"),
            ("k3_image_layers", "\"size\": [2, 2]", "\"size\": [2, 2, 2]", "it takes two"),
            ("k3_gap_keepdims_masked", "\"data_format\": \"channels_last\", \"keepdims\": true", "\"data_format\": \"channels_first\", \"keepdims\": true",
             "it averages channels_first with a mask"),
            ("k3_gap_keepdims_masked", "\"data_format\": \"channels_last\", \"keepdims\": true", "\"data_format\": \"channels_middle\", \"keepdims\": true",
             "uses data_format 'channels_middle'"),
            ("k3_conv1d_transpose", "\"output_padding\": [1]", "\"output_padding\": [3]", "output_padding 3 is not between 0 and its strides 3"),
            ("k3_conv1d_transpose", "\"strides\": [2]", "\"strides\": [0]", "must be 1 or more"),
        ])
    }

    /// A size whose output cannot fit in memory, or whose count would overflow, is refused, not trapped on.
    func testHugeUpSamplingIsRefused() throws {
        let edited = scratch + "/huge.keras"
        try editedKerasArchive(Fixtures.path("models/k3_seq_shapes/model.keras"), to: edited) { replaceOnce(&$0, "\"size\": 2", "\"size\": 999999999") }
        let run = try GRURunBinary.run(["--weights", edited, "--input", Fixtures.path("models/k3_seq_shapes/x.npy")])
        XCTAssertEqual(run.status, 71, run.stderr)  // the memory refusal
        XCTAssertTrue(run.stdout.isEmpty)
        XCTAssertTrue(run.stderr.contains("layer 'up'"), run.stderr)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        // Past Int's range the count itself is refused.
        try expectRefusals([("k3_image_layers", "\"size\": [2, 2]", "\"size\": [999999999, 999999999]", "is too large")])
    }
}
