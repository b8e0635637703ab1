import GRUCore
import GRUIO
import XCTest

/// The defaults a weights-only file takes, per Keras version and bias shape (README, "Weights-only files").
final class WeightsWriterTests: XCTestCase {
    private let units = 16
    private let single = [48], double = [2, 48]

    private func check(_ writer: WeightsWriter, bias: [Int]?, recurrent: Activation, resetAfter: Bool, by name: String,
                       doubted: Bool, hardSigmoid: HardSigmoidDefinition = .keras2, line: UInt = #line) {
        let (config, assumed) = weightsOnlyConfig(units: units, biasShape: bias, className: "GRU", writer: writer)
        let label = "\(writer) bias \(bias.map(describe) ?? "none")"
        XCTAssertEqual(config.activation, .tanh, label, line: line)
        XCTAssertEqual(config.recurrentActivation, recurrent, label, line: line)
        XCTAssertEqual(config.resetAfter, resetAfter, label, line: line)
        XCTAssertEqual(config.useBias, bias != nil, label, line: line)
        XCTAssertEqual(config.hardSigmoid, hardSigmoid, label, line: line)
        XCTAssertFalse(config.returnSequences || config.goBackwards, label, line: line)
        XCTAssertEqual(assumed.writer, name, label, line: line)
        XCTAssertEqual(assumed.doubt != nil, doubted, "\(label): \(assumed.doubt ?? "no doubt")", line: line)
        XCTAssertEqual(assumed.resetAfter, bias == nil, label, line: line)
        XCTAssertTrue(assumed.activations, label, line: line)
    }

    func testStandaloneKeras2DefaultsFollowTheVersion() {
        // Keras 2.0-2.2: hard_sigmoid whatever the bias says of reset_after; Keras 2.3: sigmoid, reset_after False.
        for version in ["2.0.8", "2.1.1", "2.2.4", "2.2.5", "1.2.2"] {
            let writer = WeightsWriter(kerasVersion: version)
            XCTAssertEqual(writer, .keras2(version))
            check(writer, bias: single, recurrent: .hardSigmoid, resetAfter: false, by: "Keras \(version) GRU", doubted: false)
            check(writer, bias: double, recurrent: .hardSigmoid, resetAfter: true, by: "Keras \(version) GRU", doubted: false)
            check(writer, bias: nil, recurrent: .hardSigmoid, resetAfter: false, by: "Keras \(version) GRU", doubted: false)
        }
        for version in ["2.3.0", "2.3.1"] {
            let writer = WeightsWriter(kerasVersion: version)
            XCTAssertEqual(writer, .keras23(version))
            check(writer, bias: single, recurrent: .sigmoid, resetAfter: false, by: "Keras \(version) GRU", doubted: false)
            check(writer, bias: double, recurrent: .sigmoid, resetAfter: true, by: "Keras \(version) GRU", doubted: false)
            check(writer, bias: nil, recurrent: .sigmoid, resetAfter: false, by: "Keras \(version) GRU", doubted: false)
        }
    }

    func testTFKerasDefaultsFollowTheTensorFlowGeneration() {
        // TensorFlow 1 only: its tf.keras GRU is the v1 layer.
        for version in ["2.0.8-tf", "2.1.5-tf", "2.1.6-tf"] {
            let writer = WeightsWriter(kerasVersion: version)
            XCTAssertEqual(writer, .tensorFlow1(version))
            let name = "TensorFlow 1 tf.keras GRU (Keras \(version))"
            check(writer, bias: single, recurrent: .hardSigmoid, resetAfter: false, by: name, doubted: false)
            check(writer, bias: double, recurrent: .hardSigmoid, resetAfter: true, by: name, doubted: false)
            check(writer, bias: nil, recurrent: .hardSigmoid, resetAfter: false, by: name, doubted: false)
        }
        // 2.2.4-tf is TensorFlow 1.13-1.15 and 2.0-2.1: every choice is a guess.
        let both = WeightsWriter(kerasVersion: "2.2.4-tf")
        XCTAssertEqual(both, .tensorFlow1Or2("2.2.4-tf"))
        check(both, bias: single, recurrent: .hardSigmoid, resetAfter: false, by: "tf.compat.v1 GRU", doubted: true)
        check(both, bias: double, recurrent: .sigmoid, resetAfter: true, by: "tf.keras GRU", doubted: true)
        check(both, bias: nil, recurrent: .hardSigmoid, resetAfter: false, by: "tf.compat.v1 GRU", doubted: true)
        // TensorFlow 2 (2.3.0-tf in TF 2.2, 2.4.0 in TF 2.3-2.5, keras 2.6-2.15, tf-keras): the v2 GRU, except
        // that a (3U,) bias is taken for the seed's v1 layer.
        for version in ["2.3.0-tf", "2.4.0", "2.6.0", "2.14.0", "2.15.1", "2.21.0"] {
            let writer = WeightsWriter(kerasVersion: version)
            XCTAssertEqual(writer, .tensorFlow2(version))
            check(writer, bias: single, recurrent: .hardSigmoid, resetAfter: false, by: "tf.compat.v1 GRU", doubted: true)
            check(writer, bias: double, recurrent: .sigmoid, resetAfter: true, by: "tf.keras GRU", doubted: false)
            check(writer, bias: nil, recurrent: .sigmoid, resetAfter: true, by: "tf.keras GRU", doubted: false)
        }
    }

    func testKeras3AndUnknownWriters() {
        for writer in [WeightsWriter(kerasVersion: "3.10.0"), .keras3] {
            XCTAssertEqual(writer, .keras3)
            check(writer, bias: single, recurrent: .sigmoid, resetAfter: false, by: "Keras 3 GRU", doubted: false, hardSigmoid: .keras3)
            check(writer, bias: double, recurrent: .sigmoid, resetAfter: true, by: "Keras 3 GRU", doubted: false, hardSigmoid: .keras3)
            check(writer, bias: nil, recurrent: .sigmoid, resetAfter: true, by: "Keras 3 GRU", doubted: false, hardSigmoid: .keras3)
        }
        let layout = WeightsWriter.keras3OrTFKeras
        check(layout, bias: single, recurrent: .sigmoid, resetAfter: false, by: "Keras 3 or tf-keras GRU", doubted: false, hardSigmoid: .keras3)
        check(layout, bias: double, recurrent: .sigmoid, resetAfter: true, by: "Keras 3 or tf-keras GRU", doubted: false, hardSigmoid: .keras3)
        XCTAssertTrue(weightsOnlyConfig(units: units, biasShape: double, className: "GRU", writer: layout).1.hardSigmoid)
        XCTAssertFalse(weightsOnlyConfig(units: units, biasShape: double, className: "GRU", writer: .keras3).1.hardSigmoid)

        let unknown = WeightsWriter(kerasVersion: nil)
        XCTAssertEqual(unknown, .unknown)
        check(unknown, bias: single, recurrent: .hardSigmoid, resetAfter: false, by: "tf.compat.v1 GRU", doubted: true)
        check(unknown, bias: double, recurrent: .sigmoid, resetAfter: true, by: "tf.keras GRU", doubted: true)
        check(unknown, bias: nil, recurrent: .hardSigmoid, resetAfter: false, by: "tf.compat.v1 GRU", doubted: true)
        XCTAssertTrue(weightsOnlyConfig(units: units, biasShape: nil, className: "GRU", writer: unknown).1.hardSigmoid)
    }

    func testCuDNNGRUFixesItsActivations() {
        for writer in [WeightsWriter(kerasVersion: "2.1.6"), WeightsWriter(kerasVersion: "2.21.0")] {
            let (config, assumed) = weightsOnlyConfig(units: units, biasShape: double, className: "CuDNNGRU", writer: writer)
            XCTAssertEqual(config.activation, .tanh)
            XCTAssertEqual(config.recurrentActivation, .sigmoid)
            XCTAssertTrue(config.resetAfter)
            XCTAssertEqual(assumed.writer, "CuDNNGRU")
            XCTAssertNil(assumed.doubt)
            XCTAssertFalse(assumed.activations || assumed.resetAfter || assumed.hardSigmoid)
        }
    }
}
