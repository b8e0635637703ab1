import Foundation
import GRUCore
import GRUIO
import TestSupport
import XCTest

/// The environment and odd inputs: GRU_RUN_KERNELS matters only to the commands that compute; .keras
/// archives with repeated members or none, synthetic bench inputs too large to hold, CSV with CR line endings
/// and int64 token ids each get one sentence (or are read as they should be).
final class CommandLineEnvironmentTests: XCTestCase {
    private var scratch = ""
    private let folder = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func testAnUnknownKernelNameStopsOnlyTheCommandsThatCompute() throws {
        let result = try GRURunBinary.shell("""
            cd '\(scratch)'; export GRU_RUN_KERNELS=AVX2; F='\(folder)'
            "$GRU_RUN" --help > /dev/null; echo "help $?"
            "$GRU_RUN" --version > /dev/null; echo "version $?"
            "$GRU_RUN" inspect "$F/model.h5" > /dev/null; echo "inspect $?"
            "$GRU_RUN" split --input "$F/x1.npy" --samples 100 > /dev/null; echo "split $?"
            "$GRU_RUN" join --output y.npy shard-00001.npy; echo "join $?"
            "$GRU_RUN" --weights "$F/model.h5" --input "$F/x1.npy" --output z.npy; echo "run $?"
            "$GRU_RUN" check --weights "$F/model.h5" --input "$F/x1.npy" --expect "$F/y1.npy"; echo "check $?"
            "$GRU_RUN" bench --weights "$F/model.h5" --repeat 1 --warmup 0; echo "bench $?"
            ls
            """)
        XCTAssertEqual(result.stdout, "help 0\nversion 0\ninspect 0\nsplit 0\njoin 0\nrun 69\ncheck 69\nbench 69\nshard-00001.npy\ny.npy\n")
        let supported = GRUKernelSet.supported.map(\.rawValue).joined(separator: ", ")
        XCTAssertEqual(result.stderr, String(repeating: "gru-run: GRU_RUN_KERNELS is 'AVX2', which names no kernels (avx512, avx2, portable do); this processor runs \(supported).\n", count: 3))
    }

    func testKerasArchivesWithRepeatedMembersOrNoneAreRefused() throws {
        let model = Fixtures.path("models/k3_concat_inputs/model.keras")
        for member in ["model.weights.h5", "config.json"] {
            let path = scratch + "/twice.keras"
            try kerasArchiveWithDuplicate(model, to: path, member: member)
            let result = try GRURunBinary.run(["inspect", path])
            XCTAssertEqual(result.status, 65, member)
            XCTAssertEqual(result.stderr, "gru-run: \(path): the archive holds 2 members named \(member), and Keras would read the last; a .keras file holds one.\n")
        }
        let empty = scratch + "/empty.keras"
        try writeFileAtomically([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18), to: empty)
        let result = try GRURunBinary.run(["inspect", empty])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: \(empty): the archive is empty, so it is no .keras model (one holds metadata.json, config.json and model.weights.h5).\n")
    }

    /// model.weights.h5 stored in a .keras archive is read where it lies, and its checksum is still held to:
    /// one weight's last bit changed in place (a number a run would otherwise get slightly wrong) stops a run,
    /// a check and a bench with one sentence, writes nothing, and leaves `inspect`, which reads no weight
    /// values, working. The same archive with its weights deflated (extracted, not read in place) runs alike.
    func testKerasWeightsReadInPlaceAreHeldToTheirChecksum() throws {
        let model = Fixtures.path("models/k3_cnn_gru")
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: model + "/model.keras")))
        let gru = try KerasReader.loadGRU(path: model + "/model.keras")
        // A kernel value whose float32 bytes occur once in the archive: its place in the stored member.
        var found: Int?
        for value in gru.kernel.prefix(200) {
            let bytes = withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { Array($0) }
            let places = (0...(original.count - 4)).filter { original[$0] == bytes[0] && Array(original[$0..<($0 + 4)]) == bytes }
            if places.count == 1 { found = places[0]; break }
        }
        let place = try XCTUnwrap(found)
        var damaged = original
        damaged[place] ^= 1
        try writeFileAtomically(damaged, to: scratch + "/damaged.keras")
        let deflated = scratch + "/deflated.keras"
        try kerasArchiveRecompressed(model + "/model.keras", to: deflated)
        let result = try GRURunBinary.shell("""
            cd '\(scratch)'; M='\(model)'
            "$GRU_RUN" --weights damaged.keras --input "$M/x.npy" --output y.npy; echo "run $?"
            "$GRU_RUN" check --weights damaged.keras --input "$M/x.npy" --expect "$M/y.npy"; echo "check $?"
            "$GRU_RUN" bench --weights damaged.keras --repeat 1 --warmup 0 > /dev/null; echo "bench $?"
            "$GRU_RUN" inspect damaged.keras > /dev/null; echo "inspect $?"
            "$GRU_RUN" --weights deflated.keras --input "$M/x.npy" --output deflated.npy; echo "deflated $?"
            "$GRU_RUN" --weights "$M/model.keras" --input "$M/x.npy" --output stored.npy; echo "stored $?"
            cmp deflated.npy stored.npy && echo same
            ls
            """)
        XCTAssertEqual(result.stdout, "run 65\ncheck 65\nbench 65\ninspect 0\ndeflated 0\nstored 0\nsame\ndamaged.keras\ndeflated.keras\ndeflated.npy\nstored.npy\n")
        XCTAssertEqual(result.stderr, String(repeating: "gru-run: damaged.keras: model.weights.h5 does not match its checksum: the archive is damaged.\n", count: 3))
        let stored = try NPYArray(path: scratch + "/stored.npy").doubles(), expected = try NPYArray(path: model + "/y.npy").doubles()
        XCTAssertLessThan(zip(stored, expected).map { abs($0 - $1) }.max() ?? 1, 1e-5)
    }

    /// A file under /dev on a file system (/dev/shm) is written in the format its extension names; a device
    /// without an extension (/dev/stdout) as standard output is.
    func testOutputsUnderDevGoByTheirExtension() throws {
        guard access("/dev/shm", W_OK) == 0 else { throw XCTSkip("/dev/shm is not writable here") }
        let name = "/dev/shm/gru-run-test-" + UUID().uuidString
        defer { for ext in ["npy", "csv"] { unlink(name + "." + ext) } }
        let result = try GRURunBinary.shell("""
            F='\(folder)'
            "$GRU_RUN" --weights "$F/model.h5" --input "$F/x1.npy" --output '\(name).npy' && head -c 6 '\(name).npy' | tail -c 5; echo
            "$GRU_RUN" --weights "$F/model.h5" --input "$F/x1.npy" --output '\(name).csv' && head -c 6 '\(name).csv' | grep -c NUMPY
            "$GRU_RUN" --weights "$F/model.h5" --input "$F/x1.npy" --output /dev/stdout | head -c 6 | grep -c NUMPY
            """)
        XCTAssertEqual(result.stdout, "NUMPY\n0\n0\n", result.stderr)
    }

    /// A synthetic input too large to hold, or whose size overflows, is refused as memory (71) before any
    /// allocation.
    func testBenchRefusesSyntheticInputsTooLargeToHold() throws {
        for (batch, timesteps) in [("100000", "100000"), ("1", "4611686018427387904")] {
            let result = try GRURunBinary.run(["bench", "--weights", folder + "/model.h5", "--batch", batch, "--timesteps", timesteps,
                                               "--repeat", "1", "--warmup", "0"])
            XCTAssertEqual(result.status, 71, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("gru-run: a synthetic input of \(batch) samples of \(timesteps) timesteps needs "), result.stderr)
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
        }
    }

    /// A file that is one Bidirectional(GRU), or a Bidirectional named with --layer, is timed alone, both
    /// directions counted; a plain GRU reports one direction.
    func testBenchTimesABidirectionalLayer() throws {
        let bidirectional = Fixtures.path("keras3/k3_bidi_concat_seq")
        for args in [["--weights", bidirectional + "/model.h5"], ["--weights", bidirectional + "/model.keras", "--layer", "bidirectional"],
                     ["--weights", folder + "/model.h5"]] {
            let result = try GRURunBinary.run(["bench"] + args + ["--input", (args[1].contains("bidi") ? bidirectional : folder) + "/x1.npy",
                                                                  "--repeat", "1", "--warmup", "0", "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let directions = args[1].contains("bidi") ? 2 : 1
            XCTAssertTrue(result.stdoutText.contains("\"directions\": \(directions)"), result.stdoutText)
            XCTAssertEqual(result.stdoutText.contains(" bidirectional float"), directions == 2, result.stdoutText)
        }
    }

    /// A model of two inputs is timed on one --input per input (or on synthetic ones); its GRU's FLOPs are
    /// counted over the tensor it reads (the concatenation, 5 features), not over the first input. A count of
    /// files that differs from the model's inputs, or an .npz, is refused in one sentence.
    func testBenchTimesAModelOfTwoInputs() throws {
        let fixture = Fixtures.path("models/k3_concat_inputs")
        let result = try GRURunBinary.run(["bench", "--weights", fixture + "/model.keras", "--input", fixture + "/x0.npy",
                                           "--input", fixture + "/x1.npy", "--repeat", "3", "--warmup", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(result.stdoutText.split(separator: "\n").last)
        let fields = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
        XCTAssertEqual(fields["input_shapes"] as? [[Int]], [[3, 6, 3], [3, 6, 2]])
        let gflops = try XCTUnwrap(fields["gflops"] as? Double), median = try XCTUnwrap(fields["median_ms"] as? Double)
        // 2 * B * T * 3U * (D + U) with B 3, T 6, U 6 and D 5.
        XCTAssertEqual(gflops * median * 1e6, 2.0 * 3 * 6 * 18 * 11, accuracy: 1e-6)
        let synthetic = try GRURunBinary.run(["bench", "--weights", fixture + "/model.keras", "--batch", "4", "--repeat", "1", "--warmup", "0"])
        XCTAssertEqual(synthetic.status, 0, synthetic.stderr)
        XCTAssertTrue(synthetic.stdoutText.contains("input (4, 6, 3) and (4, 6, 2) float32"), synthetic.stdoutText)
        for inputs in [[fixture + "/x0.npy"], [fixture + "/x0.npy", fixture + "/x1.npy", fixture + "/x1.npy"], [scratch + "/x.npz"]] {
            let refused = try GRURunBinary.run(["bench", "--weights", fixture + "/model.keras"] + inputs.flatMap { ["--input", $0] })
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertEqual(refused.stderr.filter { $0 == "\n" }.count, 1, refused.stderr)
        }
    }

    /// CSV whose lines end with a CR alone reads as with LF, whole or streamed.
    func testCSVWithCarriageReturnLineEndings() throws {
        let example = Fixtures.repositoryRoot.path + "/example"
        let result = try GRURunBinary.shell("""
            cd '\(scratch)'; E='\(example)'
            "$GRU_RUN" --weights "$E/model.h5" --input "$E/input.csv" --output lf.csv
            tr '\\n' '\\r' < "$E/input.csv" > cr.csv; grep -c . cr.csv
            "$GRU_RUN" --weights "$E/model.h5" --input cr.csv --output cr-out.csv && cmp lf.csv cr-out.csv && echo "file equal"
            "$GRU_RUN" --weights "$E/model.h5" < cr.csv > piped.csv && cmp lf.csv piped.csv && echo "stream equal"
            """)
        XCTAssertEqual(result.stdout, "1\nfile equal\nstream equal\n", result.stderr)
    }

    /// An int64 token id is named as it is, not as the float32 it would round to.
    func testTokenIdsAreNamedExactly() throws {
        let model = Fixtures.path("models/k3_embed_int64")
        let x = try NPYArray(path: model + "/x.npy")
        var ids = try x.doubles().map { Int64($0) }
        for (id, status, message) in [(Int64(16_777_217), Int32(65), "ids.npy is not a usable .npy array: value 1 is the integer 16777217, which float32 cannot hold exactly; run with --dtype float64."),
                                      (16_777_218, 65, "is 16777218, not a token id in 0..<")] {
            ids[1] = id
            let bytes = ids.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
            try writeFileAtomically(NPYWriter.header(descr: "<i8", shape: x.shape) + bytes, to: scratch + "/ids.npy")
            let result = try GRURunBinary.run(["--weights", model + "/model.keras", "--input", scratch + "/ids.npy"], directory: scratch)
            XCTAssertEqual(result.status, status, result.stderr)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
            XCTAssertFalse(result.stderr.contains("1677721"  + "6"), result.stderr)
        }
    }
}
