import GRUIO
import TestSupport
import XCTest

/// The built gru-run binary on every fixture case, through the full model file and the weights-only file.
final class FixtureRunTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func testFullModelFilesMatchKeras() throws {
        for fixture in try Fixtures.tfKerasCases() {
            try runCase(fixture, weightsFile: fixture.path(fixture.files["model"]!), flags: [])
        }
    }

    func testWeightsOnlyFilesWithFlagsMatchKeras() throws {
        for fixture in try Fixtures.tfKerasCases() {
            try runCase(fixture, weightsFile: fixture.path(fixture.files["weights"]!), flags: flagsForWeightsOnly(fixture))
        }
    }

    /// The flags a user adds to a weights-only file: whatever differs from the defaults gru-run takes for it.
    /// These files say keras_version 2.21.0 (tf-keras, TensorFlow 2 era): a (3U,) bias means the seed v1 GRU's
    /// defaults (hard_sigmoid), a (2, 3U) bias or none the v2 GRU's (sigmoid, and reset_after True when no bias
    /// tells). use_bias and reset_after come from the weight shapes when a bias exists, the dtype from the weights.
    private func flagsForWeightsOnly(_ fixture: FixtureCase) -> [String] {
        let layer = fixture.layer
        let defaultRecurrent = layer.use_bias && !layer.reset_after ? "hard_sigmoid" : "sigmoid"
        var flags: [String] = []
        if let activation = layer.activation, activation != "tanh" { flags += ["--activation", activation] }
        if let recurrent = layer.recurrent_activation, recurrent != defaultRecurrent { flags += ["--recurrent-activation", recurrent] }
        if layer.return_sequences { flags.append("--return-sequences") }
        if layer.go_backwards { flags.append("--go-backwards") }
        if layer.time_major == true { flags.append("--time-major") }
        if layer.stateful { flags.append("--stateful") }
        // Without a bias nothing in the file tells the variant apart.
        if !layer.use_bias && !layer.reset_after { flags.append("--no-reset-after") }
        if let value = fixture.mask_value { flags += ["--mask-value", String(value)] }
        return flags
    }

    private func runCase(_ fixture: FixtureCase, weightsFile: String, flags: [String]) throws {
        let folder = scratch + "/" + fixture.name + "-" + URL(fileURLWithPath: weightsFile).lastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let stateFile = folder + "/stream-state.npy"
        for (index, call) in fixture.calls.enumerated() {
            let output = folder + "/y\(index).npy", state = folder + "/h\(index).npy"
            var arguments = ["--weights", weightsFile, "--input", fixture.path(call.input), "--output", output,
                             "--state-output", state] + flags
            if let mask = call.mask { arguments += ["--mask", fixture.path(mask)] }
            if let initial = call.initial_state { arguments += ["--initial-state", fixture.path(initial)] }
            if fixture.layer.stateful { arguments += ["--state", stateFile] }
            let result = try GRURunBinary.run(arguments)
            XCTAssertEqual(result.status, 0, "\(fixture.name): \(result.stderr)")
            if weightsFile.hasSuffix("/model.h5") {
                XCTAssertEqual(result.stderr, "", fixture.name)
            } else {
                // What the flags leave unstated is named on one line (its exact form: WeightsOnlyDefaultsTests).
                XCTAssertTrue(result.stderr.hasPrefix("gru-run: \(weightsFile) holds weights only; assumed "), "\(fixture.name): \(result.stderr)")
                XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "\(fixture.name): \(result.stderr)")
            }
            guard result.status == 0 else { continue }
            try compare(output, fixture.path(call.output), fixture: fixture)
            try compare(state, fixture.path(call.state), fixture: fixture)
            if fixture.layer.stateful { try compare(stateFile, fixture.path(call.state), fixture: fixture) }
        }
    }

    private func compare(_ actualPath: String, _ expectedPath: String, fixture: FixtureCase) throws {
        let actual = try NPYArray(path: actualPath)
        let expected = try loadNPY(expectedPath)
        XCTAssertEqual(actual.shape, expected.shape, "\(fixture.name) \(expectedPath)")
        XCTAssertEqual(actual.element, .float(bits: fixture.isFloat64 ? 64 : 32, bigEndian: false), fixture.name)
        if let message = mismatch(try actual.doubles(), expected.values, shape: expected.shape, tolerance: fixture.tolerance,
                                  context: "\(fixture.name) \(URL(fileURLWithPath: expectedPath).lastPathComponent)") {
            XCTFail(message)
        }
    }
}
