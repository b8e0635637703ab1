import Foundation
import GRUIO
import TestSupport
import XCTest

/// CSV streams: processed as read, equal to one call over the whole input.
final class StreamingTests: XCTestCase {
    /// A sample longer than the streaming chunk, with masked steps across a chunk boundary, streamed through
    /// stdin equals the batch run of the same input as .npy.
    func testStreamedCSVEqualsTheBatchRun() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let f = Fixtures.path("tfkeras/large_ra0_seq")
        let steps = 9000, features = 32
        var values = [Float](repeating: 0, count: 2 * steps * features)
        var generator = SplitMixForTests(seed: 3)
        for i in values.indices { values[i] = Float(generator.next() * 2 - 1) }
        for t in 4090..<4100 { for k in 0..<features { values[t * features + k] = 0 } }  // masked across the boundary
        let npy = scratch + "/x.npy"
        try writeFileAtomically(NPYWriter.encode(values, shape: [2, steps, features]), to: npy)
        var csv = "f" + (0..<features).map(String.init).joined(separator: ",f") + "\n"
        for b in 0..<2 {
            if b > 0 { csv += "\n" }
            for t in 0..<steps {
                csv += (0..<features).map { "\(values[(b * steps + t) * features + $0])" }.joined(separator: ",") + "\n"
            }
        }
        for extra in [["--return-sequences"], ["--no-return-sequences"]] {
            let batch = try GRURunBinary.run(["--weights", f + "/model.h5", "--input", npy, "--mask-value", "0",
                                              "--output", scratch + "/y.npy", "--state-output", scratch + "/h.npy"] + extra)
            XCTAssertEqual(batch.status, 0, batch.stderr)
            let streamed = try GRURunBinary.run(["--weights", f + "/model.h5", "--mask-value", "0",
                                                 "--state-output", scratch + "/hs.csv"] + extra, stdin: Array(csv.utf8))
            XCTAssertEqual(streamed.status, 0, streamed.stderr)
            let expected = try NPYArray(path: scratch + "/y.npy")
            // CSV prints each float so that it reads back to the same float.
            XCTAssertEqual(try CSVReader.parse(streamed.stdout, path: "stdout").values.map { Float($0) }, try expected.floats(), "\(extra)")
            XCTAssertEqual(try CSVReader.parse(try readWholeFile(scratch + "/hs.csv"), path: "h").values.map { Float($0) },
                           try NPYArray(path: scratch + "/h.npy").floats())
        }
    }

    /// Samples are independent: shards of a batch, run apart and concatenated, equal the whole run.
    func testShardsConcatenatedEqualTheWhole() throws {
        let f = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq_mask")
        let x = try NPYArray(path: f + "/x1.npy")
        let values = try x.floats()
        func csv(_ samples: Range<Int>) -> [UInt8] {
            var text = ""
            for b in samples {
                if b > samples.lowerBound { text += "\n" }
                for t in 0..<6 { text += (0..<5).map { "\(values[(b * 6 + t) * 5 + $0])" }.joined(separator: ",") + "\n" }
            }
            return Array(text.utf8)
        }
        let whole = try GRURunBinary.run(["--weights", f + "/model.h5"], stdin: csv(0..<5))
        let first = try GRURunBinary.run(["--weights", f + "/model.h5"], stdin: csv(0..<2))
        let second = try GRURunBinary.run(["--weights", f + "/model.h5"], stdin: csv(2..<5))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertEqual(first.stdout + [0x0A] + second.stdout, whole.stdout)
    }
}

/// A seeded generator for test inputs.
struct SplitMixForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
    }
}

/// The promise for long streams: 2,000,000 steps of one sample through a pipe in bounded memory.
final class StreamingMemoryTests: XCTestCase {
    func testTwoMillionStepsStayUnder100MB() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["GRU_RUN_SANITIZED"] != nil, "AddressSanitizer's shadow memory")
        // A model of any length (input (None, None, 5)): one with a fixed length would cut the rows into samples.
        let model = Fixtures.path("tfkeras/v2_gru_seq/model.h5")
        // The peak is gru-run's own, taken by a parent that runs nothing else (this test process has run
        // other, larger commands).
        let script = """
        awk 'BEGIN { srand(1); for (i = 0; i < 2000000; i++) printf "%.4f,%.4f,%.4f,%.4f,%.4f\\n", rand()-0.5, rand()-0.5, rand()-0.5, rand()-0.5, rand()-0.5 }' \
          | python3 -c 'import resource, subprocess, sys; subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)' \
            "$GRU_RUN" --weights \(model) --return-sequences --quiet | wc -l
        """
        let result = try GRURunBinary.shell(script)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "2000000")
        let peakMB = try XCTUnwrap(Double(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)), result.stderr) / 1024
        print("streaming 2,000,000 steps: peak resident memory of gru-run \(peakMB) MB")
        XCTAssertLessThan(peakMB, 100)
    }
}

/// A whole model fed CSV through a pipe computes the samples that have arrived whenever the input pauses.
final class ModelStreamingTests: XCTestCase {
    /// The input pauses right after a sample's last row, before its end is read (rows cut by the model's fixed
    /// length): the samples that are whole run, and the one in progress waits for its rows.
    func testAPauseAfterASamplesLastRow() throws {
        let folder = Fixtures.path("models/tfk_gru_dense1")
        let x = try loadNPY(folder + "/x.npy"), want = try loadNPY(folder + "/y.npy")
        XCTAssertEqual(x.shape, [3, 6, 4])
        let rows = (0..<18).map { r in (0..<4).map { String(Float(x.values[r * 4 + $0])) }.joined(separator: ",") + "\n" }
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for (name, cut) in [("a", 0..<6), ("b", 6..<13), ("c", 13..<18)] {
            try rows[cut].joined().write(toFile: "\(scratch)/\(name).csv", atomically: true, encoding: .utf8)
        }
        let result = try GRURunBinary.shell("cd '\(scratch)' && (cat a.csv; sleep 1; cat b.csv; sleep 1; cat c.csv) | \"$GRU_RUN\" --weights '\(folder)/model.h5' --quiet")
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = result.stdout.split(whereSeparator: { $0 == "," || $0.isWhitespace }).compactMap { Double($0) }
        XCTAssertEqual(got.count, 3)
        XCTAssertLessThan(maxAbsError(got, want.values), 1e-5)
    }

    /// One endless sample piped to a model of any length: the memory check refuses it in a sentence (71)
    /// before the allocator would end the process.
    func testAnEndlessSampleIsRefusedUnderAMemoryLimit() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let model = scratch + "/any_length.keras"
        try editedKerasArchive(Fixtures.path("keras3/k3_stack_masking_2gru/model.keras"), to: model) {
            replaceOnce(&$0, #""batch_shape": [null, 6, 5]"#, #""batch_shape": [null, null, 5]"#)
        }
        let result = try GRURunBinary.shell("""
            yes 0.1,0.2,0.3,0.4,0.5 2>/dev/null | head -n 30000000 2>/dev/null | (ulimit -v 400000; "$GRU_RUN" --weights '\(model)' > /dev/null); echo "status $?"
            """)
        XCTAssertEqual(result.stdout, "status 71\n", result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("gru-run: reading standard input (a sample of ") && result.stderr.hasSuffix("under the address-space limit (ulimit -v).\n")
                      && result.stderr.filter { $0 == "\n" }.count == 1, result.stderr)
    }

    /// A model with a Dense head streamed in three chunks with --state: each call starts from the GRU state
    /// the one before saved, and the last chunk's output is Keras's output for the whole sequence.
    func testAWholeModelStreamsInChunksWithState() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = Fixtures.path("models/k3_gru_dense1")
        let model = scratch + "/any_length.keras"
        try editedKerasArchive(folder + "/model.keras", to: model) {
            replaceOnce(&$0, #""batch_shape": [null, 6, 4]"#, #""batch_shape": [null, null, 4]"#)
        }
        let x = try loadNPY(folder + "/x.npy"), want = try loadNPY(folder + "/y.npy")
        XCTAssertEqual(x.shape, [3, 6, 4])
        let state = scratch + "/state.npy"
        var last: [Double] = []
        for (index, steps) in [0..<2, 2..<5, 5..<6].enumerated() {
            var chunk: [Float] = []
            for b in 0..<3 { for t in steps { for f in 0..<4 { chunk.append(Float(x.values[(b * 6 + t) * 4 + f])) } } }
            let input = scratch + "/x\(index).npy", out = scratch + "/y\(index).npy"
            try Data(NPYWriter.encode(chunk, shape: [3, steps.count, 4])).write(to: URL(fileURLWithPath: input))
            let run = try GRURunBinary.run(["--weights", model, "--input", input, "--output", out, "--state", state])
            XCTAssertEqual(run.status, 0, run.stderr)
            last = try loadNPY(out).values
            XCTAssertEqual(try loadNPY(state).shape.count, 2, "the state file holds (batch, units)")
        }
        XCTAssertLessThan(maxAbsError(last, want.values), 1e-5)
        // Without the carried state the last chunk alone is another answer.
        let alone = try GRURunBinary.run(["--weights", model, "--input", scratch + "/x2.npy", "--output", scratch + "/alone.npy",
                                          "--state", state, "--reset-state"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertGreaterThan(maxAbsError(try loadNPY(scratch + "/alone.npy").values, want.values), 1e-3)
    }

    /// A model that declares its batch size (batch_input_shape, as stateful models do) given another: run as
    /// given, and said on stderr; given its own batch, nothing is said.
    func testADeclaredBatchSizeOtherThanTheInputsIsSaid() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = Fixtures.path("models/k3_gru_dense1")
        let want = try loadNPY(folder + "/y.npy")
        for batch in [7, 3] {
            let model = scratch + "/batch\(batch).keras"
            try editedKerasArchive(folder + "/model.keras", to: model) {
                replaceOnce(&$0, #""batch_shape": [null, 6, 4]"#, #""batch_shape": [\#(batch), 6, 4]"#)
            }
            let out = scratch + "/y\(batch).npy"
            let run = try GRURunBinary.run(["--weights", model, "--input", folder + "/x.npy", "--output", out])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertLessThan(maxAbsError(try loadNPY(out).values, want.values), 1e-5)
            if batch == 7 {
                XCTAssertEqual(run.stderr, "gru-run: note: input 'x' of \(model) declares a batch of 7 (batch_input_shape, as a stateful model must) and was given 3 samples; they were run as one batch of 3.\n")
            } else {
                XCTAssertEqual(run.stderr, "")
            }
        }
    }
}
