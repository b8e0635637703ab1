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
        let model = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq/model.h5")
        let script = """
        awk 'BEGIN { srand(1); for (i = 0; i < 2000000; i++) printf "%.4f,%.4f,%.4f,%.4f,%.4f\\n", rand()-0.5, rand()-0.5, rand()-0.5, rand()-0.5, rand()-0.5 }' \
          | "$GRU_RUN" --weights \(model) --return-sequences | wc -l
        """
        let (lines, peakKB) = try runMeasuringPeak(script)
        XCTAssertEqual(lines.trimmingCharacters(in: .whitespacesAndNewlines), "2000000")
        let peakMB = Double(peakKB) / 1024
        print("streaming 2,000,000 steps: peak resident memory of the largest child \(peakMB) MB")
        XCTAssertLessThan(peakMB, 100)
    }

    /// Runs a /bin/sh script (with $GRU_RUN) and returns its stdout and the largest peak resident set, in KB,
    /// of the shell and the processes it waited for. wait4 reports this one child's tree only, whereas
    /// getrusage(RUSAGE_CHILDREN) also holds every earlier test's children (a 31 MB config takes 280 MB).
    private func runMeasuringPeak(_ script: String) throws -> (stdout: String, peakKB: Int) {
        let output = try makeTemporaryDirectory() + "/stdout"
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path) }
        let command = "GRU_RUN='\(GRURunBinary.url.path)'; export GRU_RUN; (\(script)) > '\(output)'"
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { throw POSIXError(.ENOEXEC) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
        return (try String(contentsOfFile: output, encoding: .utf8), usage.ru_maxrss)
    }
}
