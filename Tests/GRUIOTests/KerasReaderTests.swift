import GRUCore
import GRUIO
import TestSupport
import XCTest

final class KerasReaderTests: XCTestCase {
    /// Both file kinds of every case hold the weights Keras reported, and the full model its config.
    func testFixtureFilesReadBackKerasWeightsAndConfig() throws {
        for fixture in try Fixtures.tfKerasCases() {
            let full = try KerasReader.loadGRU(path: fixture.path(fixture.files["model"]!))
            let weightsOnly = try KerasReader.loadGRU(path: fixture.path(fixture.files["weights"]!))
            XCTAssertEqual(full.kind, .fullModel)
            XCTAssertEqual(weightsOnly.kind, .weightsOnly)
            XCTAssertEqual(full.config, fixture.config.with(hardSigmoid: .keras2), fixture.name)
            XCTAssertEqual(full.maskValue, fixture.mask_value, fixture.name)
            XCTAssertEqual(full.bits, fixture.isFloat64 ? 64 : 32, fixture.name)
            let kernel = try loadNPY(fixture.path(fixture.weights["kernel"]!!))
            let recurrent = try loadNPY(fixture.path(fixture.weights["recurrent_kernel"]!!))
            for gru in [full, weightsOnly] {
                XCTAssertEqual(gru.kernel, kernel.values, fixture.name)
                XCTAssertEqual(gru.recurrentKernel, recurrent.values, fixture.name)
                XCTAssertEqual(gru.inputDim, kernel.shape[0])
                if let biasFile = fixture.weights["bias"] ?? nil {
                    let bias = try loadNPY(fixture.path(biasFile))
                    XCTAssertEqual(gru.bias, bias.values, fixture.name)
                    XCTAssertEqual(gru.biasShape, bias.shape, fixture.name)
                } else {
                    XCTAssertNil(gru.bias, fixture.name)
                }
            }
            // A weights-only file decides units, use_bias and reset_after by its shapes alone.
            XCTAssertEqual(weightsOnly.config.units, fixture.layer.units)
            XCTAssertEqual(weightsOnly.config.useBias, fixture.layer.use_bias, fixture.name)
            if fixture.layer.use_bias {
                XCTAssertEqual(weightsOnly.config.resetAfter, fixture.layer.reset_after, fixture.name)
            }
            // tf-keras 2.21 wrote these files (keras_version 2.21.0, TensorFlow 2 era): a (3U,) bias takes the
            // seed v1 GRU's defaults, a (2, 3U) bias or none the v2 GRU's (sigmoid; reset_after True).
            let seed = fixture.layer.use_bias && !fixture.layer.reset_after
            XCTAssertEqual(weightsOnly.config.recurrentActivation, seed ? .hardSigmoid : .sigmoid, fixture.name)
            XCTAssertEqual(weightsOnly.config.resetAfter, fixture.layer.use_bias ? fixture.layer.reset_after : true, fixture.name)
            XCTAssertEqual(weightsOnly.config.hardSigmoid, .keras2, fixture.name)
            XCTAssertEqual(weightsOnly.assumed?.writer, seed ? "tf.compat.v1 GRU" : "tf.keras GRU", fixture.name)
            XCTAssertEqual(weightsOnly.assumed?.resetAfter, !fixture.layer.use_bias, fixture.name)
            XCTAssertNil(full.assumed, fixture.name)
            XCTAssertFalse(weightsOnly.config.returnSequences)
        }
    }

    func testErrorsNameTheFile() throws {
        let npy = Fixtures.path("npy/v1_f4_c.npy")
        XCTAssertThrowsError(try KerasReader.loadGRU(path: npy)) {
            XCTAssertEqual("\($0)", "\(npy) is not an HDF5 file (Keras .h5 files are HDF5).")
        }
        XCTAssertThrowsError(try KerasReader.loadGRU(path: "/nonexistent/model.h5")) {
            XCTAssertEqual("\($0)", "/nonexistent/model.h5 does not exist.")
            XCTAssertEqual(($0 as? GRUIOError)?.exitCode, 66)
        }
        let model = try Fixtures.tfKerasCases().first { $0.mask_value != nil }!
        let path = model.path("model.h5")
        XCTAssertThrowsError(try KerasReader.loadGRU(path: path, layer: "nope")) {
            XCTAssertTrue("\($0)".contains("has no layer named 'nope'; its layers are "), "\($0)")
        }
        XCTAssertThrowsError(try KerasReader.loadGRU(path: path, layer: "masking")) {
            XCTAssertTrue("\($0)".contains("layer 'masking' is a Masking, not a GRU"), "\($0)")
        }
    }
}

extension GRUConfig {
    func with(hardSigmoid: HardSigmoidDefinition) -> GRUConfig {
        var copy = self
        copy.hardSigmoid = hardSigmoid
        return copy
    }
}
