import Foundation
import GRUCore
import GRUIO
import TestSupport
import XCTest

/// gru-run as a user runs it: stdin and stdout, CSV, streams of stateful calls, and refusals.
final class CommandLineTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func fixture(_ name: String) throws -> FixtureCase {
        try XCTUnwrap(try Fixtures.tfKerasCases().first { $0.name == name }, "fixture \(name)")
    }

    /// CSV text of a (batch, steps, features) array: one row per step, a blank line between samples.
    private func csv(_ values: [Double], shape: [Int], header: String? = nil) -> [UInt8] {
        var text = header.map { $0 + "\n" } ?? ""
        for b in 0..<shape[0] {
            if b > 0 { text += "\n" }
            for t in 0..<shape[1] {
                let row = (0..<shape[2]).map { "\(Float(values[(b * shape[1] + t) * shape[2] + $0]))" }
                text += row.joined(separator: ",") + "\n"
            }
        }
        return Array(text.utf8)
    }

    private func parseCSV(_ bytes: [UInt8]) throws -> [Double] {
        try CSVReader.parse(bytes, path: "stdout").values
    }

    func testCSVThroughStdinAndStdoutMatchesKeras() throws {
        let f = try fixture("grid_ra1_sigmoid_bwd_seq_mask")
        let x = try loadNPY(f.path("x1.npy")), y = try loadNPY(f.path("y1.npy"))
        let result = try GRURunBinary.run(["--weights", f.path("model.h5")], stdin: csv(x.values, shape: x.shape, header: "a,b,c,d,e"))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        // One block of rows per sample, blank lines between.
        XCTAssertEqual(result.stdoutText.components(separatedBy: "\n\n").count, x.shape[0])
        if let message = mismatch(try parseCSV(result.stdout), y.values, shape: y.shape, tolerance: 1e-5, context: "csv") {
            XCTFail(message)
        }
    }

    func testNPYOnStdinIsRecognisedByItsMagic() throws {
        let f = try fixture("grid_ra0_hardsig_fwd_last")
        let bytes = try readWholeFile(f.path("x1.npy"))
        let y = try loadNPY(f.path("y1.npy"))
        let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--output-format", "npy"], stdin: bytes)
        XCTAssertEqual(result.status, 0, result.stderr)
        let array = try NPYArray(bytes: result.stdout, path: "stdout")
        XCTAssertEqual(array.shape, y.shape)
        XCTAssertNil(mismatch(try array.doubles(), y.values, shape: y.shape, tolerance: 1e-5, context: "npy"))
        // Without return_sequences a CSV holds one row per sample.
        let text = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path("x1.npy")]).stdoutText
        XCTAssertEqual(text.split(separator: "\n").count, y.shape[0])
    }

    func testTimeMajorCSVStaysSampleBySample() throws {
        let f = try fixture("time_major_ra1_seq")
        let x = try loadNPY(f.path("x1.npy")), y = try loadNPY(f.path("y1.npy"))
        let (steps, batch, features) = (x.shape[0], x.shape[1], x.shape[2])
        var sampleMajor = [Double](repeating: 0, count: x.values.count)
        for t in 0..<steps { for b in 0..<batch { for k in 0..<features {
            sampleMajor[(b * steps + t) * features + k] = x.values[(t * batch + b) * features + k]
        } } }
        let input = scratch + "/x.csv"
        try writeFileAtomically(csv(sampleMajor, shape: [batch, steps, features]), to: input)
        let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", input])
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = try parseCSV(result.stdout)
        let units = y.shape[2]
        var expected = [Double](repeating: 0, count: y.values.count)
        for t in 0..<steps { for b in 0..<batch { for u in 0..<units {
            expected[(b * steps + t) * units + u] = y.values[(t * batch + b) * units + u]
        } } }
        XCTAssertNil(mismatch(got, expected, shape: [batch, steps, units], tolerance: 1e-5, context: "time-major csv"))
    }

    /// Two calls with --state continue the stream as Keras's stateful layer does; --reset-state restarts it.
    func testStateFileCarriesAStream() throws {
        let f = try fixture("stateful_ra0_last")
        let state = scratch + "/state.npy"
        for (index, call) in f.calls.enumerated() {
            let out = scratch + "/y\(index).npy"
            let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path(call.input),
                                               "--output", out, "--state", state])
            XCTAssertEqual(result.status, 0, result.stderr)
            let expected = try loadNPY(f.path(call.output))
            XCTAssertNil(mismatch(try NPYArray(path: out).doubles(), expected.values, shape: expected.shape,
                                  tolerance: 1e-5, context: "call \(index + 1)"))
        }
        let out = scratch + "/reset.npy"
        let reset = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path(f.calls[0].input),
                                          "--output", out, "--state", state, "--reset-state"])
        XCTAssertEqual(reset.status, 0, reset.stderr)
        let first = try loadNPY(f.path(f.calls[0].output))
        XCTAssertNil(mismatch(try NPYArray(path: out).doubles(), first.values, shape: first.shape, tolerance: 1e-5, context: "reset"))
    }

    func testTrainingWithSeedIsRepeatableAndDiffersFromInference() throws {
        let f = try fixture("grid_ra0_hardsig_fwd_seq")
        func run(_ extra: [String]) throws -> [UInt8] {
            let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path("x1.npy"),
                                               "--dropout", "0.5", "--recurrent-dropout", "0.3"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout
        }
        let inference = try run([])
        let a = try run(["--training", "--seed", "7"]), b = try run(["--training", "--seed", "7"])
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, inference)
        XCTAssertNotEqual(a, try run(["--training", "--seed", "8"]))
        // Without --training the rates change nothing.
        let plain = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path("x1.npy")]).stdout
        XCTAssertEqual(inference, plain)
    }

    func testFlagsOverrideTheFileConfig() throws {
        let f = try fixture("grid_ra0_hardsig_fwd_seq")
        let last = try fixture("grid_ra0_hardsig_fwd_last")
        // The two cases share weights and input only if the script made them so; compare shapes instead.
        let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path("x1.npy"),
                                           "--no-return-sequences", "--output", scratch + "/y.npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let y = try NPYArray(path: scratch + "/y.npy")
        XCTAssertEqual(y.shape, [5, 7])
        let h = try loadNPY(f.path("h1.npy"))
        XCTAssertNil(mismatch(try y.doubles(), h.values, shape: h.shape, tolerance: 1e-5, context: "last output"))
        _ = last
        let float64 = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", f.path("x1.npy"),
                                            "--dtype", "float64", "--output", scratch + "/y64.npy"])
        XCTAssertEqual(float64.status, 0, float64.stderr)
        XCTAssertEqual(try NPYArray(path: scratch + "/y64.npy").element, .float(bits: 64, bigEndian: false))
    }

    func testRefusalsAreOneSentenceWithSysexitsStatus() throws {
        let f = try fixture("grid_ra0_hardsig_fwd_last")
        let model = f.path("model.h5"), x = f.path("x1.npy")
        let notCSV = scratch + "/junk.csv"
        try writeFileAtomically(Array("1,2,3,4,5\n1,2,x,4,5\n".utf8), to: notCSV)
        let wrongFeatures = scratch + "/three.csv"
        try writeFileAtomically(Array("1,2,3\n".utf8), to: wrongFeatures)
        let cases: [([String], Int32, String)] = [
            (["--input", x], 64, "Missing expected argument '--weights <file>'"),
            (["--weights", scratch + "/none.h5", "--input", x], 66, "\(scratch)/none.h5 does not exist."),
            (["--weights", x, "--input", x], 65, "\(x) is not an HDF5 file (Keras .h5 files are HDF5)."),
            (["--weights", model, "--input", scratch + "/none.npy"], 66, "\(scratch)/none.npy does not exist."),
            (["--weights", model, "--input", notCSV], 65, "\(notCSV), line 2: column 3 holds 'x', which is not a number."),
            (["--weights", model, "--input", wrongFeatures], 65, "\(wrongFeatures), line 1: the row has 3 features per step but layer 'gru' expects 5."),
            (["--weights", model, "--input", wrongFeatures, "--output-format", "npy"], 65, "\(wrongFeatures) has 3 features per step but layer 'gru' of \(model) expects 5."),
            (["--weights", model, "--input", x, "--units", "8"], 64, "--units 8 contradicts \(model): its recurrent kernel holds 7 units."),
            (["--weights", model, "--input", x, "--reset-after"], 64, "--reset-after contradicts \(model): its bias has shape (21,), which means reset_after=False."),
            (["--weights", model, "--input", x, "--activation", "softmax"], 64, "The value 'softmax' is invalid for '--activation <name>'. Please provide one of the following: tanh, sigmoid, hard_sigmoid, relu, linear, elu, selu, softplus, softsign, exponential, swish, gelu, relu6, leaky_relu, mish, celu, hard_tanh, hard_silu, hard_shrink, soft_shrink, tanh_shrink, log_sigmoid, sparse_plus, sparse_sigmoid, squareplus, silu, hard_swish, None."),
            (["--weights", model, "--input", x, "--output", x], 64, "--output \(x) is the same file as --input; writing it would destroy an input."),
            (["--weights", model, "--input", x, "--output", scratch + "/y.bin"], 64, "cannot tell the format of \(scratch)/y.bin from its extension; name it .npy, .npz or .csv, or add --output-format."),
            (["--weights", model, "--input", x, "--initial-state", x], 65, "\(x) is not a usable .npy array: it has shape (5, 6, 5) but 2 dimensions (batch, units) are needed."),
            (["--weights", model, "--input", x, "--mask", x], 65, "\(x) has shape (5, 6, 5); the input needs a mask of shape (5, 6) (batch, timesteps)."),
            (["--weights", model, "--input", x, "--return-state"], 64, "--return-state needs --state-output FILE to write the final state to."),
            (["--weights", model], 65, "standard input: it is empty; pipe CSV or .npy data in, or give --input FILE."),
            (["--weights", model, "--input", x, "--output", "/dev/full"], 74, "Could not write /dev/full: the device is full."),
        ]
        for (arguments, status, message) in cases {
            let result = try GRURunBinary.run(arguments, stdin: [])
            XCTAssertEqual(result.status, status, arguments.joined(separator: " ") + ": " + result.stderr)
            XCTAssertEqual(result.stderr, "gru-run: " + message + "\n", arguments.joined(separator: " "))
            XCTAssertTrue(result.stdout.isEmpty, arguments.joined(separator: " "))
        }
    }

    /// GRU_RUN_KERNELS picks the kernel build (the one bench reports and the run uses, with Keras's numbers
    /// on each); a name that is no build, or one this processor cannot run, is refused before anything runs.
    func testKernelsChosenByTheEnvironment() throws {
        let f = try fixture("grid_ra1_sigmoid_fwd_seq")
        let model = f.path("model.h5"), x = f.path("x1.npy"), y = f.path("y1.npy")
        let supported = GRUKernelSet.supported.map(\.rawValue)
        XCTAssertEqual(supported.last, "portable")
        for (value, expected) in [("", supported[0])] + supported.map({ ($0, $0) }) {
            let result = try GRURunBinary.shell("""
                GRU_RUN_KERNELS='\(value)' "$GRU_RUN" bench --weights '\(model)' --repeat 1 --warmup 0 --json | tail -1
                GRU_RUN_KERNELS='\(value)' "$GRU_RUN" check --weights '\(model)' --input '\(x)' --expect '\(y)'
                """)
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.split(separator: "\n")[0].utf8)) as? [String: Any]
            XCTAssertEqual(json?["kernels"] as? String, expected, "GRU_RUN_KERNELS='\(value)': " + result.stderr)
            XCTAssertTrue(result.stdout.hasSuffix("PASS\n"), "GRU_RUN_KERNELS='\(value)': " + result.stdout + result.stderr)
        }
        let bogus = try GRURunBinary.shell("GRU_RUN_KERNELS=sse4 \"$GRU_RUN\" --weights '\(model)' --input '\(x)'")
        XCTAssertEqual(bogus.status, 69)
        XCTAssertEqual(bogus.stderr, "gru-run: GRU_RUN_KERNELS is 'sse4', which names no kernels (avx512, avx2, portable do); this processor runs \(supported.joined(separator: ", ")).\n")
        if let missing = GRUKernelSet.allCases.first(where: { !$0.isSupported }) {
            let refused = try GRURunBinary.shell("GRU_RUN_KERNELS=\(missing.rawValue) \"$GRU_RUN\" --weights '\(model)' --input '\(x)'")
            XCTAssertEqual(refused.status, 69, refused.stderr)
        }
    }

    func testFailedRunLeavesExistingOutputUntouched() throws {
        let f = try fixture("grid_ra0_hardsig_fwd_last")
        let output = scratch + "/y.npy"
        let original: [UInt8] = Array("precious".utf8)
        try writeFileAtomically(original, to: output)
        let bad = scratch + "/bad.csv"
        try writeFileAtomically(Array("1,2\n".utf8), to: bad)
        let result = try GRURunBinary.run(["--weights", f.path("model.h5"), "--input", bad, "--output", output])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(try readWholeFile(output), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted(), ["bad.csv", "y.npy"])
    }

    func testHelpAndVersion() throws {
        let help = try GRURunBinary.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdoutText.contains("gru-run --weights model.h5 --input x.npy --output y.npy"))
        XCTAssertTrue(try GRURunBinary.run(["run", "--help"]).stdoutText.contains("--return-sequences"))
        XCTAssertEqual(try GRURunBinary.run(["--version"]).stdoutText, "0.1.0\n")
    }
}

/// Models that hold more than a GRU.
final class OtherModelTests: XCTestCase {
    private let folder = Fixtures.path("tfkeras_other")

    /// A model without a GRU runs whole like any other (its Dense computed here from its own weights);
    /// --layer, which runs one GRU, names the layers it could take.
    func testAModelWithoutAGRURunsWhole() throws {
        let path = folder + "/dense_only.h5"
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--output-format", "npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = try makeTemporaryDirectory() + "/y.npy"
        try Data(result.stdout).write(to: URL(fileURLWithPath: out))
        let (y, x) = (try loadNPY(out), try loadNPY(folder + "/x.npy"))
        let dense = try XCTUnwrap(try KerasReader.load(path: path).otherWeights["dense"])
        let (kernel, bias) = (dense[0], dense[1])
        XCTAssertEqual(y.shape, [x.shape[0], x.shape[1], 3])
        for row in 0..<(x.shape[0] * x.shape[1]) {
            for j in 0..<3 {
                var sum = bias.values[j]
                for k in 0..<5 { sum += x.values[row * 5 + k] * kernel.values[k * 3 + j] }
                XCTAssertEqual(y.values[row * 3 + j], sum, accuracy: 1e-5)
            }
        }
        let layer = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--layer", "dense"])
        XCTAssertEqual(layer.status, 65)
        XCTAssertEqual(layer.stderr, "gru-run: \(path): layer 'dense' is a Dense; --layer runs a GRU or Bidirectional(GRU) alone; run the model up to it with --through dense; its layers are input_1 (InputLayer), dense (Dense).\n")
    }

    /// Without --layer the whole model runs: its Dense head over the GRU's output (Keras's own).
    func testTheWholeModelRunsItsHeadOverTheGRU() throws {
        let path = folder + "/gru_dense.h5"
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--output-format", "npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let encoded = try loadNPY(folder + "/y_encoder.npy")
        let head = try XCTUnwrap(try KerasReader.load(path: path).otherWeights["head"])
        let (kernel, bias) = (head[0], head[1])
        let (units, outputs) = (kernel.shape[0], kernel.shape[1])
        var expected: [Double] = []
        for row in 0..<(encoded.values.count / units) {
            for o in 0..<outputs {
                expected.append((0..<units).reduce(bias.values[o]) { $0 + encoded.values[row * units + $1] * kernel.values[$1 * outputs + o] })
            }
        }
        let got = try NPYArray(bytes: result.stdout, path: "stdout")
        XCTAssertEqual(got.shape, Array(encoded.shape.dropLast()) + [outputs])
        XCTAssertNil(mismatch(try got.doubles(), expected, shape: got.shape, tolerance: 1e-5, context: "whole model"))
    }

    /// --through stops at a layer: the encoder's output, behind the model's Masking layer, is Keras's.
    func testThroughWritesAnInnerLayersOutput() throws {
        let path = folder + "/gru_dense.h5"
        let expected = try loadNPY(folder + "/y_encoder.npy")
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--through", "encoder", "--output-format", "npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = try NPYArray(bytes: result.stdout, path: "stdout")
        XCTAssertEqual(got.shape, expected.shape)
        XCTAssertNil(mismatch(try got.doubles(), expected.values, shape: expected.shape, tolerance: 1e-5, context: "through"))
        let missing = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--through", "nosuch"])
        XCTAssertEqual(missing.status, 65)
        XCTAssertEqual(missing.stderr, "gru-run: \(path): has no layer named 'nosuch' that the model runs; its layers are input_2, masking, encoder, head.\n")
        let both = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--through", "encoder", "--layer", "encoder"])
        XCTAssertEqual(both.status, 64)
    }

    /// --state-output of a whole model: its one GRU's final state, here the last row of Keras's sequence
    /// output (masked steps repeat the output before them).
    func testStateOutputOfAWholeModelIsItsGRUsFinalState() throws {
        let path = folder + "/gru_dense.h5"
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy", "--output", scratch + "/y.npy",
                                           "--state-output", scratch + "/h.npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let encoded = try loadNPY(folder + "/y_encoder.npy")
        let (batch, steps, units) = (encoded.shape[0], encoded.shape[1], encoded.shape[2])
        let last = (0..<batch).flatMap { b in (0..<units).map { encoded.values[(b * steps + steps - 1) * units + $0] } }
        let state = try NPYArray(path: scratch + "/h.npy")
        XCTAssertEqual(state.shape, [batch, units])
        XCTAssertNil(mismatch(try state.doubles(), last, shape: state.shape, tolerance: 1e-5, context: "state"))
        XCTAssertEqual(try NPYArray(path: scratch + "/y.npy").shape, [batch, steps, 2])
    }

    func testAModelWithALayerOutsideTheListIsRefusedNamingIt() throws {
        let path = Fixtures.repositoryRoot.path + "/Tests/Corpus/models/gru_lambda.h5"
        let result = try GRURunBinary.run(["--weights", path, "--input", folder + "/x.npy"])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: \(path): layer 'double' is a Lambda, which gru-run does not run; run the model up to 'gru' with --through gru, or run 'gru' alone on your input with --layer gru.\n")
    }

    func testLayerRunsTheGRUWithItsMask() throws {
        let path = folder + "/gru_dense.h5"
        let expected = try loadNPY(folder + "/y_encoder.npy")
        for (file, extra) in [(path, []), (folder + "/gru_dense_weights.h5", ["--mask-value", "0", "--return-sequences"])] {
            let result = try GRURunBinary.run(["--weights", file, "--input", folder + "/x.npy", "--layer", "encoder",
                                               "--output-format", "npy"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let got = try NPYArray(bytes: result.stdout, path: "stdout")
            XCTAssertEqual(got.shape, expected.shape)
            XCTAssertNil(mismatch(try got.doubles(), expected.values, shape: expected.shape, tolerance: 1e-5, context: file))
        }
    }
}

/// The conventions of a command-line tool: help with examples, completions, --quiet.
final class ConventionTests: XCTestCase {
    func testCompletionScriptsForEachShell() throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try GRURunBinary.run(["--generate-completion-script", shell])
            XCTAssertEqual(result.status, 0, shell)
            XCTAssertTrue(result.stdoutText.contains("return-sequences"), shell)
            XCTAssertTrue(result.stdoutText.contains("check"), shell)
        }
    }

    func testHelpShowsEachUse() throws {
        let help = try GRURunBinary.run(["--help"]).stdoutText
        for use in ["cat x.csv | gru-run --weights model.h5 > y.csv", "gru-run check --weights model.h5", "gru-run inspect model.h5"] {
            XCTAssertTrue(help.contains(use), use)
        }
        XCTAssertTrue(try GRURunBinary.run(["check", "--help"]).stdoutText.contains("--expect-state"))
        XCTAssertTrue(try GRURunBinary.run(["bench", "--help"]).stdoutText.contains("--repeat"))
    }

    /// The help names each file kind --weights reads, and the defaults a weights-only file takes (as README.md).
    func testHelpNamesEveryFileKindAndTheWeightsOnlyDefaults() throws {
        let help = try GRURunBinary.run(["--help"]).stdoutText
        for kind in [".keras", ".weights.h5", ".h5", "save_weights", "recurrent_activation sigmoid, reset_after True",
                     "hard_sigmoid, reset_after False", "tf.compat.v1 GRU"] {
            XCTAssertTrue(help.contains(kind), kind)
        }
        let run = try GRURunBinary.run(["run", "--help"]).stdoutText
        for kind in [".keras", ".weights.h5", ".h5"] { XCTAssertTrue(run.contains(kind), "run --help: " + kind) }
    }

    func testQuietIsAcceptedAndNothingIsPrintedToAPipe() throws {
        let f = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")
        let result = try GRURunBinary.run(["--weights", f + "/model.h5", "--input", f + "/x1.npy", "--quiet"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "")
    }
}
