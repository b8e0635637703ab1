import Foundation
import GRUIO
import TestSupport
import XCTest

/// `.npz` inputs and outputs against Keras (Fixtures/npz, made by Fixtures/make_fixtures_npz.py): a model of two
/// inputs (`tokens` ids into an Embedding, `features`) and two outputs (`score`, `label`), from tf-keras in
/// float32 and Keras 3 in float64; every output within 1e-5 (float32) or 1e-9 (float64) of `model.predict`.
final class NPZTests: XCTestCase {
    static let cases = [("tfk_two_heads", "model.h5", 1e-5), ("k3_two_heads_f64", "model.keras", 1e-9)]
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    static func folder(_ name: String) -> String { Fixtures.path("npz/" + name) }

    /// Fails unless `path` is an .npz holding exactly `expected`'s arrays, by name and in Keras's output order,
    /// each within `tolerance` and of the model's dtype.
    static func assertNPZ(_ path: String, matches expected: String, tolerance: Double, context: String,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let got = try NPZArchive(path: path), keras = try NPZArchive(path: expected)
        XCTAssertEqual(got.names, keras.names, context, file: file, line: line)
        for member in keras.members {
            let array = try XCTUnwrap(got[member.name], context, file: file, line: line)
            XCTAssertEqual(array.shape, member.array.shape, "\(context) \(member.name)", file: file, line: line)
            XCTAssertEqual(array.element, .float(bits: tolerance < 1e-6 ? 64 : 32, bigEndian: false), context, file: file, line: line)
            if let message = mismatch(try array.doubles(), try member.array.doubles(), shape: member.array.shape, tolerance: tolerance,
                                      context: "\(context) \(member.name)") {
                XCTFail(message, file: file, line: line)
            }
        }
    }

    /// np.savez by name, np.savez by order (arr_0, arr_1) and np.savez_compressed with the names in the other
    /// order all feed the same inputs; --output y.npz names the outputs as Keras's output_names.
    func testEveryArchiveOfTheInputsGivesKerasOutputs() throws {
        for (name, model, tolerance) in Self.cases {
            let folder = Self.folder(name)
            for input in ["x.npz", "x_arr.npz", "x_compressed.npz"] {
                let out = scratch + "/\(name)-\(input)"
                let result = try GRURunBinary.run(["--weights", folder + "/" + model, "--input", folder + "/" + input, "--output", out])
                XCTAssertEqual(result.status, 0, "\(name) \(input): \(result.stderr)")
                XCTAssertEqual(result.stderr, "", "\(name) \(input): integer ids for an Embedding get no note")
                try Self.assertNPZ(out, matches: folder + "/y.npz", tolerance: tolerance, context: "\(name) \(input)")
            }
            // The same arrays as two .npy inputs, written as two .npy outputs.
            let result = try GRURunBinary.run(["--weights", folder + "/" + model, "--input", folder + "/x_tokens.npy",
                                               "--input", folder + "/x_features.npy", "--output", scratch + "/s.npy", "--output", scratch + "/l.npy"])
            XCTAssertEqual(result.status, 0, result.stderr)
            for (got, keras) in [("s.npy", "y_score.npy"), ("l.npy", "y_label.npy")] {
                let a = try loadNPY(scratch + "/" + got), e = try loadNPY(folder + "/" + keras)
                XCTAssertEqual(a.shape, e.shape)
                if let message = mismatch(a.values, e.values, shape: e.shape, tolerance: tolerance, context: name + " " + keras) { XCTFail(message) }
            }
        }
    }

    /// check --expect y.npz compares each output with the array of its name (or arr_K for the K-th); a wrong
    /// value fails naming the output, and arrays named for the other output fail on their shapes.
    func testCheckComparesByName() throws {
        for (name, model, _) in Self.cases {
            let folder = Self.folder(name), weights = folder + "/" + model
            for expect in ["y.npz", "y_arr.npz"] {
                let result = try GRURunBinary.run(["check", "--weights", weights, "--input", folder + "/x.npz", "--expect", folder + "/" + expect])
                XCTAssertEqual(result.status, 0, "\(name) \(expect): \(result.stdoutText) \(result.stderr)")
                XCTAssertTrue(result.stdoutText.hasSuffix("PASS\n"), result.stdoutText)
                XCTAssertTrue(result.stdoutText.contains("output 'score': 8 values compared with score.npy in \(folder)/\(expect == "y.npz" ? "y.npz" : "y_arr.npz")")
                              || result.stdoutText.contains("output 'score': 8 values compared with arr_0.npy in"), result.stdoutText)
            }
            let keras = try NPZArchive(path: folder + "/y.npz")
            let score = try keras["score"]!.doubles(), label = try keras["label"]!.doubles()
            var moved = label
            moved[4] += 1e-3
            let writer = try AtomicFileWriter(path: scratch + "/moved.npz")
            let npz = NPZWriter(writer)
            try npz.add(name: "label", values: moved, shape: [4, 3])
            try npz.add(name: "score", values: score, shape: [4, 2])
            try npz.finish()
            try writer.commit()
            let failed = try GRURunBinary.run(["check", "--weights", weights, "--input", folder + "/x.npz", "--expect", scratch + "/moved.npz"])
            XCTAssertEqual(failed.status, 1, failed.stderr)
            XCTAssertTrue(failed.stdoutText.contains("output 'label': 12 values compared with label.npy in \(scratch)/moved.npz, 1 differ"), failed.stdoutText)
            XCTAssertTrue(failed.stdoutText.contains("worst at [1, 1]"), failed.stdoutText)
            XCTAssertTrue(failed.stdoutText.hasSuffix("FAIL\n"))

            let swapped = try AtomicFileWriter(path: scratch + "/swapped.npz")
            let other = NPZWriter(swapped)
            try other.add(name: "score", values: label, shape: [4, 3])
            try other.add(name: "label", values: score, shape: [4, 2])
            try other.finish()
            try swapped.commit()
            let mixed = try GRURunBinary.run(["check", "--weights", weights, "--input", folder + "/x.npz", "--expect", scratch + "/swapped.npz"])
            XCTAssertEqual(mixed.status, 1)
            XCTAssertTrue(mixed.stdoutText.contains("output 'score': shape mismatch: got (4, 2), score.npy in \(scratch)/swapped.npz holds (4, 3)"), mixed.stdoutText)
        }
    }

    /// --state-output s.npz holds the recurrent layer's final state under the layer's name, the same values
    /// as --state-output s.npy; check --expect-state takes it back by that name.
    func testStatesAreNamedAfterTheirLayer() throws {
        let folder = Self.folder("tfk_two_heads"), weights = folder + "/model.h5"
        let npz = try GRURunBinary.run(["--weights", weights, "--input", folder + "/x.npz", "--output", scratch + "/y.npz", "--state-output", scratch + "/h.npz"])
        XCTAssertEqual(npz.status, 0, npz.stderr)
        let npy = try GRURunBinary.run(["--weights", weights, "--input", folder + "/x.npz", "--output", scratch + "/y2.npz", "--state-output", scratch + "/h.npy"])
        XCTAssertEqual(npy.status, 0, npy.stderr)
        let state = try NPZArchive(path: scratch + "/h.npz")
        XCTAssertEqual(state.names, ["encoder"])
        XCTAssertEqual(state["encoder"]?.shape, [4, 6])
        XCTAssertEqual(try state["encoder"]!.doubles(), try loadNPY(scratch + "/h.npy").values)
        try Self.assertNPZ(scratch + "/y.npz", matches: folder + "/y.npz", tolerance: 1e-5, context: "with --state-output")
        let check = try GRURunBinary.run(["check", "--weights", weights, "--input", folder + "/x.npz", "--expect", folder + "/y.npz",
                                          "--expect-state", scratch + "/h.npz"])
        XCTAssertEqual(check.status, 0, check.stdoutText + check.stderr)
        XCTAssertTrue(check.stdoutText.contains("state 'encoder': 24 values compared with encoder.npy in"), check.stdoutText)
    }

    /// split cuts every array of an .npz along the batch axis; the shards' outputs joined equal one run's .npz
    /// byte for byte.
    func testSplitAndJoinCutEveryArray() throws {
        let folder = Self.folder("tfk_two_heads"), weights = folder + "/model.h5"
        let split = try GRURunBinary.run(["split", "--input", folder + "/x.npz", "--samples", "3", "--prefix", "shard-"], directory: scratch)
        XCTAssertEqual(split.status, 0, split.stderr)
        XCTAssertEqual(split.stdoutText, "shard-00001.npz\nshard-00002.npz\n")
        let first = try NPZArchive(path: scratch + "/shard-00001.npz"), second = try NPZArchive(path: scratch + "/shard-00002.npz")
        let whole = try NPZArchive(path: folder + "/x.npz")
        XCTAssertEqual(first.names, ["tokens", "features"])
        XCTAssertEqual(first["features"]?.shape, [3, 5, 3])
        XCTAssertEqual(second["tokens"]?.shape, [1, 5])
        XCTAssertEqual(first["tokens"]?.element, whole["tokens"]?.element)
        XCTAssertEqual(try first["features"]!.doubles() + second["features"]!.doubles(), try whole["features"]!.doubles())
        XCTAssertEqual(try first["tokens"]!.doubles() + second["tokens"]!.doubles(), try whole["tokens"]!.doubles())
        for shard in ["shard-00001", "shard-00002"] {
            let run = try GRURunBinary.run(["--weights", weights, "--input", shard + ".npz", "--output", "y-" + shard + ".npz"], directory: scratch)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let join = try GRURunBinary.run(["join", "--output", "y.npz", "y-shard-00001.npz", "y-shard-00002.npz"], directory: scratch)
        XCTAssertEqual(join.status, 0, join.stderr)
        let one = try GRURunBinary.run(["--weights", weights, "--input", folder + "/x.npz", "--output", "whole.npz"], directory: scratch)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/y.npz")), try Data(contentsOf: URL(fileURLWithPath: scratch + "/whole.npz")))
        try Self.assertNPZ(scratch + "/y.npz", matches: folder + "/y.npz", tolerance: 1e-5, context: "joined")
        // Pieces of other arrays do not join.
        let mixed = try GRURunBinary.run(["join", "--output", "z.npz", "y-shard-00001.npz", "shard-00002.npz"], directory: scratch)
        XCTAssertEqual(mixed.status, 65)
        XCTAssertEqual(mixed.stderr, "gru-run: shard-00002.npz holds arrays 'tokens' and 'features' but y-shard-00001.npz holds 'score' and 'label'; joined pieces hold the same arrays.\n")
    }

    /// One GRU run alone (--layer) reads an .npz of one array and writes one named after the layer.
    func testALayerRunTakesAnArchiveOfOneArray() throws {
        let layerCase = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")
        let x = try NPYArray(path: layerCase + "/x1.npy")
        let writer = try AtomicFileWriter(path: scratch + "/x.npz")
        let npz = NPZWriter(writer)
        try npz.add(name: "x", values: try x.floats(), shape: x.shape)
        try npz.finish()
        try writer.commit()
        let result = try GRURunBinary.run(["--weights", layerCase + "/weights.h5", "--recurrent-activation", "hard_sigmoid", "--layer", "gru",
                                           "--input", "x.npz", "--output", "y.npz", "--quiet"], directory: scratch)
        XCTAssertEqual(result.status, 0, result.stderr)
        let y = try NPZArchive(path: scratch + "/y.npz"), keras = try loadNPY(layerCase + "/y1.npy")
        XCTAssertEqual(y.names, ["gru"])
        XCTAssertEqual(y["gru"]?.shape, keras.shape)
        if let message = mismatch(try y["gru"]!.doubles(), keras.values, shape: keras.shape, tolerance: 1e-5, context: "layer from .npz") { XCTFail(message) }
        // CSV on standard output: the archive is not taken for CSV rows to stream.
        let csv = try GRURunBinary.run(["--weights", layerCase + "/weights.h5", "--layer", "gru", "--input", "x.npz", "--quiet"], directory: scratch)
        let plain = try GRURunBinary.run(["--weights", layerCase + "/weights.h5", "--layer", "gru", "--input", layerCase + "/x1.npy", "--quiet"], directory: scratch)
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertEqual(csv.stdoutText, plain.stdoutText)
        XCTAssertEqual(csv.stdoutText.split(separator: "\n").count, 5)
        let two = try GRURunBinary.run(["--weights", layerCase + "/weights.h5", "--layer", "gru", "--input", Self.folder("tfk_two_heads") + "/x.npz",
                                        "--output", "z.npy"], directory: scratch)
        XCTAssertEqual(two.status, 65)
        XCTAssertEqual(two.stderr, "gru-run: \(Self.folder("tfk_two_heads"))/x.npz holds 2 arrays ('tokens' and 'features') where one is read; give an .npz of one array, or an .npy.\n")
    }
}
