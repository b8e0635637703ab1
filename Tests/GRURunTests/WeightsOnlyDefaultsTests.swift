import Foundation
import GRUIO
import TestSupport
import XCTest

/// Weights-only files run with no flags take the defaults of the layer that wrote them, match Keras, and say
/// on one stderr line what was assumed (Fixtures/tfkeras_defaults, Fixtures/keras3_defaults).
final class WeightsOnlyDefaultsTests: XCTestCase {
    private var scratch = ""
    private var worst: [String: Double] = [:]

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
        for (key, value) in worst.sorted(by: { $0.key < $1.key }) { print("weights-only defaults \(key): max abs error \(value)") }
    }

    private static let gruItems = "activation tanh, recurrent_activation sigmoid, return_sequences off, go_backwards off "
        + "(state otherwise with --activation, --recurrent-activation, --return-sequences, --go-backwards)"
    private static let bidirectionalItems = "activation tanh, recurrent_activation sigmoid, return_sequences off, merge_mode concat "
        + "(state otherwise with --activation, --recurrent-activation, --return-sequences, --merge-mode)"

    /// The assumption line each file gives, after "holds weights only; assumed ".
    private static let expectedLines: [String: String] = [
        "keras3_defaults/k3_gru16/model.weights.h5": "Keras 3 GRU defaults for 'gru': " + gruItems,
        "keras3_defaults/k3_ra0_gru16/model.weights.h5": "Keras 3 GRU defaults for 'gru': " + gruItems,
        "keras3_defaults/k3_bidi16/model.weights.h5": "Keras 3 GRU defaults for 'bidirectional': " + bidirectionalItems,
        "tfkeras_defaults/v2_gru16/weights.h5": "tf.keras GRU defaults for 'gru': " + gruItems,
        "tfkeras_defaults/v2_gru16/legacy.weights.h5": "tf.keras GRU defaults for 'gru': " + gruItems,
        "tfkeras_defaults/v2_gru16/model.weights.h5": "Keras 3 or tf-keras GRU defaults for 'gru': " + gruItems,
        "tfkeras_defaults/v2_bidi16/weights.h5": "tf.keras GRU defaults for 'bidirectional': " + bidirectionalItems,
        "tfkeras_defaults/v2_bidi16/model.weights.h5": "Keras 3 or tf-keras GRU defaults for 'bidirectional': " + bidirectionalItems,
        "tfkeras_defaults/v2_ra0_gru16/weights.h5": "tf.compat.v1 GRU defaults for 'gru' (a (48,) bias is its default; "
            + "tf.keras GRU(reset_after=False) would mean recurrent_activation sigmoid): activation tanh, "
            + "recurrent_activation hard_sigmoid, return_sequences off, go_backwards off (state otherwise with "
            + "--activation, --recurrent-activation, --return-sequences, --go-backwards)",
    ]

    private func line(_ path: String, _ rest: String) -> String {
        "gru-run: \(path) holds weights only; assumed \(rest)\n"
    }

    /// Runs gru-run and compares its output and final state with Keras's; returns stderr.
    @discardableResult
    private func run(_ weights: String, input: String, output: String, state: String?, flags: [String] = [],
                     label: String, tolerance: Double = 1e-5) throws -> String {
        var arguments = ["--weights", weights, "--input", input, "--output", scratch + "/y.npy"] + flags
        if state != nil { arguments += ["--state-output", scratch + "/h.npy"] }
        let result = try GRURunBinary.run(arguments)
        XCTAssertEqual(result.status, 0, "\(label): \(result.stderr)")
        guard result.status == 0 else { return result.stderr }
        for (produced, expectedPath) in [(scratch + "/y.npy", output), (scratch + "/h.npy", state)] {
            guard let expectedPath else { continue }
            let expected = try loadNPY(expectedPath)
            let got = try NPYArray(path: produced)
            XCTAssertEqual(got.shape, expected.shape, "\(label) \(expectedPath)")
            if let message = mismatch(try got.doubles(), expected.values, shape: expected.shape, tolerance: tolerance, context: label) {
                XCTFail(message)
            }
            worst[label] = max(worst[label] ?? 0, maxAbsError(try got.doubles(), expected.values))
        }
        return result.stderr
    }

    func testDefaultsFilesMatchKerasWithNoFlags() throws {
        var seen = 0
        for folder in ["keras3_defaults", "tfkeras_defaults"] {
            let manifest = try JSONValue.parse(String(contentsOfFile: Fixtures.path(folder + "/manifest.json"), encoding: .utf8))
            for entry in try XCTUnwrap(manifest["cases"]?.array) {
                let name = entry["name"]!.string!, caseFolder = Fixtures.path(folder + "/" + name)
                let call = entry["calls"]!.array![0]
                for file in entry["files"]!.array!.compactMap(\.string) {
                    let key = "\(folder)/\(name)/\(file)", path = caseFolder + "/" + file
                    let expectedLine = try XCTUnwrap(Self.expectedLines[key], key)
                    seen += 1
                    let input = caseFolder + "/" + call["input"]!.string!
                    let output = caseFolder + "/" + call["output"]!.string!, state = caseFolder + "/" + call["state"]!.string!
                    if name == "v2_ra0_gru16" {
                        // A (3U,) bias from tf-keras 2.21 is taken for the seed's v1 layer (hard_sigmoid), and the
                        // line says so; the flag it names gives Keras's numbers.
                        let result = try GRURunBinary.run(["--weights", path, "--input", input, "--output", scratch + "/y.npy"])
                        XCTAssertEqual(result.stderr, line(path, expectedLine), key)
                        let expected = try loadNPY(output)
                        XCTAssertGreaterThan(maxAbsError(try NPYArray(path: scratch + "/y.npy").doubles(), expected.values), 1e-3, key)
                        let stated = try run(path, input: input, output: output, state: state,
                                             flags: ["--recurrent-activation", "sigmoid"], label: key)
                        XCTAssertEqual(stated, line(path, "tf.compat.v1 GRU defaults for 'gru' (a (48,) bias is its default; "
                            + "tf.keras GRU(reset_after=False) would mean recurrent_activation sigmoid): activation tanh, "
                            + "return_sequences off, go_backwards off (state otherwise with --activation, --return-sequences, --go-backwards)"), key)
                        continue
                    }
                    let stderr = try run(path, input: input, output: output, state: state, label: key)
                    XCTAssertEqual(stderr, line(path, expectedLine), key)
                }
            }
        }
        XCTAssertEqual(seen, Self.expectedLines.count)
    }

    func testQuietAndFlagsShortenOrSilenceTheLine() throws {
        let folder = Fixtures.path("keras3_defaults/k3_gru16"), path = folder + "/model.weights.h5"
        let (x, y, h) = (folder + "/x.npy", folder + "/y.npy", folder + "/h.npy")
        XCTAssertEqual(try run(path, input: x, output: y, state: h, flags: ["--quiet"], label: "k3_gru16 --quiet"), "")
        let all = ["--activation", "tanh", "--recurrent-activation", "sigmoid", "--no-return-sequences", "--no-go-backwards"]
        XCTAssertEqual(try run(path, input: x, output: y, state: h, flags: all, label: "k3_gru16 all stated"), "")
        // Sequences out: the last step is Keras's last output.
        let sequence = try GRURunBinary.run(["--weights", path, "--input", x, "--output", scratch + "/seq.npy",
                                             "--recurrent-activation", "sigmoid", "--return-sequences"])
        XCTAssertEqual(sequence.status, 0, sequence.stderr)
        XCTAssertEqual(sequence.stderr, line(path, "Keras 3 GRU defaults for 'gru': activation tanh, go_backwards off "
            + "(state otherwise with --activation, --go-backwards)"))
        let produced = try NPYArray(path: scratch + "/seq.npy"), expected = try loadNPY(y)
        XCTAssertEqual(produced.shape, [3, 7, 16])
        let values = try produced.doubles()
        let last = (0..<3).flatMap { b in (0..<16).map { values[(b * 7 + 6) * 16 + $0] } }
        XCTAssertNil(mismatch(last, expected.values, shape: expected.shape, tolerance: 1e-5, context: "last step"))
        // A Bidirectional states merge_mode instead of go_backwards.
        let bidi = Fixtures.path("keras3_defaults/k3_bidi16")
        XCTAssertEqual(try run(bidi + "/model.weights.h5", input: bidi + "/x.npy", output: bidi + "/y.npy", state: bidi + "/h.npy",
                               flags: ["--activation", "tanh", "--merge-mode", "concat"], label: "k3_bidi16 flags"),
                       line(bidi + "/model.weights.h5", "Keras 3 GRU defaults for 'bidirectional': recurrent_activation sigmoid, "
                            + "return_sequences off (state otherwise with --recurrent-activation, --return-sequences)"))
    }

    func testCheckSaysTheSameLine() throws {
        let folder = Fixtures.path("tfkeras_defaults/v2_gru16"), path = folder + "/weights.h5"
        let result = try GRURunBinary.run(["check", "--weights", path, "--input", folder + "/x.npy", "--expect", folder + "/y.npy",
                                           "--expect-state", folder + "/h.npy"])
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderr)
        XCTAssertTrue(result.stdoutText.hasSuffix("PASS\n"), result.stdoutText)
        XCTAssertEqual(result.stderr, line(path, "tf.keras GRU defaults for 'gru': " + Self.gruItems))
        let quiet = try GRURunBinary.run(["check", "--weights", path, "--input", folder + "/x.npy", "--expect", folder + "/y.npy", "--quiet"])
        XCTAssertEqual(quiet.status, 0, quiet.stdoutText + quiet.stderr)
        XCTAssertEqual(quiet.stderr, "")
    }

    /// No bias: reset_after is assumed too, and named with the flag that states otherwise.
    func testALayerWithoutBiasNamesResetAfter() throws {
        let k3 = Fixtures.path("keras3/k3_no_bias_seq"), k3File = k3 + "/model.weights.h5"  // reset_after=True, sequences
        XCTAssertEqual(try run(k3File, input: k3 + "/x1.npy", output: k3 + "/y1.npy", state: nil, flags: ["--return-sequences"],
                               label: "keras3/k3_no_bias_seq"),
                       line(k3File, "Keras 3 GRU defaults for 'gru': activation tanh, recurrent_activation sigmoid, reset_after on, "
                            + "go_backwards off (state otherwise with --activation, --recurrent-activation, --no-reset-after, --go-backwards)"))
        // tf-keras 2.21, no bias: the v2 GRU's defaults are assumed; this file's seed layer needs both stated.
        let seed = Fixtures.path("tfkeras/weights_only_no_bias"), seedFile = seed + "/weights.h5"
        XCTAssertEqual(try run(seedFile, input: seed + "/x1.npy", output: seed + "/y1.npy", state: seed + "/h1.npy",
                               flags: ["--recurrent-activation", "hard_sigmoid", "--no-reset-after"], label: "tfkeras/weights_only_no_bias"),
                       line(seedFile, "tf.keras GRU defaults for 'gru': activation tanh, return_sequences off, go_backwards off "
                            + "(state otherwise with --activation, --return-sequences, --go-backwards)"))
    }

    /// The seed's own weights-only files (tf-keras 2.21, gru_v1) and older writers, each with the fewest flags.
    func testSeedAndOlderWritersWithTheirLines() throws {
        let cases: [(String, String, [String], String)] = [
            ("tfkeras/weights_only_seed_defaults", "weights.h5", [],
             "tf.compat.v1 GRU defaults for 'gru' (a (21,) bias is its default; tf.keras GRU(reset_after=False) would mean "
             + "recurrent_activation sigmoid): activation tanh, recurrent_activation hard_sigmoid, return_sequences off, go_backwards off "
             + "(state otherwise with --activation, --recurrent-activation, --return-sequences, --go-backwards)"),
            ("tfkeras/weights_only_float64", "weights.h5", ["--activation", "tanh", "--recurrent-activation", "hard_sigmoid"],
             "tf.compat.v1 GRU defaults for 'gru' (a (21,) bias is its default; tf.keras GRU(reset_after=False) would mean "
             + "recurrent_activation sigmoid): return_sequences off, go_backwards off (state otherwise with --return-sequences, --go-backwards)"),
            // The seed layer with reset_after=True: a (2, 3U) bias is taken for the v2 GRU's.
            ("tfkeras/weights_only_ra1", "weights.h5", ["--recurrent-activation", "hard_sigmoid"],
             "tf.keras GRU defaults for 'gru': activation tanh, return_sequences off, go_backwards off "
             + "(state otherwise with --activation, --return-sequences, --go-backwards)"),
            ("tfkeras/weights_only_bwd_seq", "weights.h5", ["--return-sequences", "--go-backwards"],
             "tf.compat.v1 GRU defaults for 'gru' (a (21,) bias is its default; tf.keras GRU(reset_after=False) would mean "
             + "recurrent_activation sigmoid): activation tanh, recurrent_activation hard_sigmoid "
             + "(state otherwise with --activation, --recurrent-activation)"),
            // Keras 2.1.6 standalone: hard_sigmoid, no guess.
            ("legacy/k21_gru_last", "weights.h5", [],
             "Keras 2.1.6 GRU defaults for 'gru_1': activation tanh, recurrent_activation hard_sigmoid, return_sequences off, "
             + "go_backwards off (state otherwise with --activation, --recurrent-activation, --return-sequences, --go-backwards)"),
            // CuDNNGRU fixes its activations.
            ("legacy/cudnn_gru_tfkeras_last", "weights.h5", [],
             "CuDNNGRU defaults for 'cu_dnngru_1': return_sequences off, go_backwards off (state otherwise with --return-sequences, --go-backwards)"),
        ]
        for (folder, file, flags, expectedLine) in cases {
            let caseFolder = Fixtures.path(folder), path = caseFolder + "/" + file
            let float64 = folder.hasSuffix("float64")
            let stderr = try run(path, input: caseFolder + "/x1.npy", output: caseFolder + "/y1.npy",
                                 state: FileManager.default.fileExists(atPath: caseFolder + "/h1.npy") ? caseFolder + "/h1.npy" : nil,
                                 flags: flags, label: folder, tolerance: float64 ? 1e-9 : 1e-5)
            XCTAssertEqual(stderr, line(path, expectedLine), folder)
        }
    }

    /// A guessed hard_sigmoid definition is named when hard_sigmoid is in use and --hard-sigmoid is not given.
    func testAnUnnamedLayersFileNamesTheHardSigmoidGuess() throws {
        let folder = Fixtures.path("tfkeras_defaults/v2_gru16"), path = folder + "/model.weights.h5"
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--output", scratch + "/y.npy",
                                           "--recurrent-activation", "hard_sigmoid"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, line(path, "Keras 3 or tf-keras GRU defaults for 'gru': activation tanh, hard_sigmoid keras3, "
            + "return_sequences off, go_backwards off (state otherwise with --activation, --hard-sigmoid, --return-sequences, --go-backwards)"))
        let named = Fixtures.path("keras3_defaults/k3_gru16/model.weights.h5")
        let keras3 = try GRURunBinary.run(["--weights", named, "--input", folder + "/x.npy", "--output", scratch + "/y.npy",
                                           "--recurrent-activation", "hard_sigmoid"])
        XCTAssertEqual(keras3.stderr, line(named, "Keras 3 GRU defaults for 'gru': activation tanh, return_sequences off, go_backwards off "
            + "(state otherwise with --activation, --return-sequences, --go-backwards)"))
    }

    func testFullModelFilesSayNothing() throws {
        let folder = Fixtures.path("keras3/k3_gru_seq")
        for file in ["model.keras", "model.h5"] {
            XCTAssertEqual(try run(folder + "/" + file, input: folder + "/x1.npy", output: folder + "/y1.npy", state: nil,
                                   label: "keras3/k3_gru_seq \(file)"), "", file)
        }
    }
}
