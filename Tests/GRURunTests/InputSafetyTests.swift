import Foundation
import GRUIO
import TestSupport
import XCTest

/// Inputs by any name read as files do; limits of memory, time and descriptors end in a sentence.
final class InputSafetyTests: XCTestCase {
    private var scratch = ""
    private let folder = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
        // x.csv: the fixture's input as CSV, a blank line between samples; y.npy: gru-run's output on it.
        let x = try NPYArray(path: folder + "/x1.npy")
        let values = try x.floats(), features = x.shape[2]
        var text = ""
        for b in 0..<x.shape[0] {
            if b > 0 { text += "\n" }
            for t in 0..<x.shape[1] {
                let row = (0..<features).map { "\(values[(b * x.shape[1] + t) * features + $0])" }
                text += row.joined(separator: ",") + "\n"
            }
        }
        try writeFileAtomically(Array(text.utf8), to: scratch + "/x.csv")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// Runs a bash script in the scratch folder with $M, $X (the fixture's model and .npy input) and $L
    /// (Tests/Corpus/large) set.
    private func bash(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let prelude = "cd '\(scratch)' && M='\(folder)/model.h5' && X='\(folder)/x1.npy' && L='\(Fixtures.repositoryRoot.path)/Tests/Corpus/large' && "
        return try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: ["SCRIPT": prelude + script])
    }

    func testEveryNameOfAnInputReadsLikeTheFile() throws {
        let result = try bash("""
            "$GRU_RUN" --weights "$M" --input x.csv --output ref.csv
            "$GRU_RUN" --weights "$M" --input "$X" --output ref.npy
            cat x.csv | "$GRU_RUN" --weights "$M" --input /dev/stdin --output a.csv && cmp a.csv ref.csv && echo "stdin csv"
            cat "$X" | "$GRU_RUN" --weights "$M" --input /dev/stdin --output a.npy && cmp a.npy ref.npy && echo "stdin npy"
            "$GRU_RUN" --weights "$M" --input <(cat x.csv) --output b.csv && cmp b.csv ref.csv && echo "substitution csv"
            "$GRU_RUN" --weights "$M" --input <(cat "$X") --output b.npy && cmp b.npy ref.npy && echo "substitution npy"
            "$GRU_RUN" --weights "$M" --input <(cat x.csv) --output c.npy && echo "csv to npy"
            mkfifo fifo; (cat "$X" > fifo &); "$GRU_RUN" --weights "$M" --input fifo --output d.npy && cmp d.npy ref.npy && echo "fifo"
            "$GRU_RUN" --weights <(cat "$M") --input "$X" --output e.npy && cmp e.npy ref.npy && echo "weights from a pipe"
            cp "$X" noext; "$GRU_RUN" --weights "$M" --input noext --output f.npy && cmp f.npy ref.npy && echo "npy by its magic"
            """)
        XCTAssertEqual(result.stdout, "stdin csv\nstdin npy\nsubstitution csv\nsubstitution npy\ncsv to npy\nfifo\nweights from a pipe\nnpy by its magic\n")
        XCTAssertEqual(result.stderr, "")
        let y = try loadNPY(folder + "/y1.npy")
        XCTAssertNil(mismatch(try NPYArray(path: scratch + "/c.npy").doubles(), y.values, shape: y.shape, tolerance: 1e-5, context: "csv"))
    }

    /// The same for a whole model (Masking -> GRU -> Dense head), whose input is told .npy or CSV once.
    func testEveryNameOfAWholeModelsInputReadsLikeTheFile() throws {
        let model = Fixtures.path("tfkeras_other/gru_dense.h5")
        let result = try bash("""
            "$GRU_RUN" --weights \(model) --input x.csv --output ref.csv
            "$GRU_RUN" --weights \(model) --input "$X" --output ref.npy
            cat "$X" | "$GRU_RUN" --weights \(model) --output-format npy > a.npy && cmp a.npy ref.npy && echo "stdin npy"
            cat "$X" | "$GRU_RUN" --weights \(model) --input /dev/stdin --output b.npy && cmp b.npy ref.npy && echo "dev stdin npy"
            cat x.csv | "$GRU_RUN" --weights \(model) > c.csv && cmp c.csv ref.csv && echo "stdin csv"
            "$GRU_RUN" --weights \(model) --input <(cat x.csv) --output d.npy && "$GRU_RUN" --weights \(model) --input x.csv --output e.npy && cmp d.npy e.npy && echo "substitution csv to npy"
            """)
        XCTAssertEqual(result.stdout, "stdin npy\ndev stdin npy\nstdin csv\nsubstitution csv to npy\n")
        XCTAssertEqual(result.stderr, "")
    }

    func testClosedOrFullStandardStreamsKeepTheExitStatus() throws {
        let result = try bash("""
            "$GRU_RUN" --weights missing.h5 2>&-; echo "closed stderr $?"
            "$GRU_RUN" --weights missing.h5 2>/dev/full; echo "full stderr $?"
            "$GRU_RUN" --weights "$M" <&-; echo "closed stdin $?"
            "$GRU_RUN" --weights "$M" --input "$X" >&-; echo "closed stdout $?"
            "$GRU_RUN" inspect "$M" >&-; echo "closed stdout inspect $?"
            """)
        XCTAssertEqual(result.stdout, "closed stderr 66\nfull stderr 66\nclosed stdin 74\nclosed stdout 74\nclosed stdout inspect 74\n")
        XCTAssertEqual(result.stderr, """
            gru-run: Could not read standard input: it is closed; pipe CSV or .npy data in, or give --input FILE.
            gru-run: Could not write standard output: it is closed; give --output FILE or leave standard output open.
            gru-run: could not write standard output: Bad file descriptor.

            """)
    }

    func testMemoryLimitsAreRefusedWithASentence() throws {
        // 300 MB of address space: gru-run itself maps about 70 MB.
        let result = try bash("""
            ulimit -v 300000
            "$GRU_RUN" --weights "$L/gru4096_weights.h5" --input "$X" --output a.npy; echo "weights $?"
            TMPDIR=/nonexistent "$GRU_RUN" --weights "$L/member_400mb.keras" --input "$X" --output a.npy; echo "archive $?"
            "$GRU_RUN" --weights "$L/member_400mb.keras" --input "$X" --output a.npy; echo "archive on disk $?"
            "$GRU_RUN" --weights "$M" --input /dev/zero --output a.npy; echo "zero to npy $?"
            "$GRU_RUN" --weights "$M" --input /dev/zero --output a.csv; echo "zero to csv $?"
            ls -A
            """)
        XCTAssertEqual(result.stdout, "weights 71\narchive 71\narchive on disk 65\nzero to npy 65\nzero to csv 65\nx.csv\n")
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 5, result.stderr)
        XCTAssertTrue(lines[0].hasPrefix("gru-run: reading dataset /gru/gru/gru_cell/recurrent_kernel:0 of "), result.stderr)
        XCTAssertTrue(lines[1].hasPrefix("gru-run: model.weights.h5 of "), result.stderr)
        for line in lines.prefix(2) {
            XCTAssertTrue(line.contains(" MB of memory, but only ") && line.hasSuffix("under the address-space limit (ulimit -v)."), String(line))
        }
        // Where the member can go to a temporary file it needs no memory, and its first bytes, which are no
        // HDF5 signature, stop it before the rest is written.
        XCTAssertTrue(lines[2].hasSuffix("member_400mb.keras:model.weights.h5 is not an HDF5 file (Keras .h5 files are HDF5)."), String(lines[2]))
        for line in lines.suffix(2) {
            XCTAssertEqual(line, "gru-run: /dev/zero, line 1: the line is longer than 16 MB without a line break; is this CSV?")
        }
    }

    func testALargeNPYIsReadInPiecesUnderAnAddressSpaceLimit() throws {
        // 600 MB of zeros (a sparse file) under a 300 MB limit: float32 is read a window at a time; float64
        // into a float32 model would need 300 MB converted and is refused.
        let (batch, steps, features) = (2000, 15000, 5)
        for (name, descr, size) in [("big32.npy", "<f4", 4), ("big64.npy", "<f8", 8)] {
            let header = NPYWriter.header(descr: descr, shape: [batch, steps * 4 / size, features])
            let path = scratch + "/" + name
            try writeFileAtomically(header, to: path)
            XCTAssertEqual(truncate(path, off_t(header.count + batch * steps * features * 4)), 0)
        }
        try writeFileAtomically(NPYWriter.header(descr: "<f4", shape: [1, steps, features]) + [UInt8](repeating: 0, count: steps * features * 4),
                                to: scratch + "/one.npy")
        let result = try bash("""
            "$GRU_RUN" --weights "$M" --input one.npy --output one.csv
            (ulimit -v 300000; "$GRU_RUN" --weights "$M" --input big32.npy --output big32.csv; echo "float32 $?"
             "$GRU_RUN" --weights "$M" --input big64.npy --output big64.csv; echo "float64 $?")
            sort -u big32.csv | cmp - one.csv && echo "every sample as one"; wc -l < big32.csv
            """)
        XCTAssertEqual(result.stdout, "float32 0\nfloat64 71\nevery sample as one\n\(batch)\n")
        XCTAssertTrue(result.stderr.hasPrefix("gru-run: converting big64.npy needs "), result.stderr)
    }

    /// A whole model whose Embedding output cannot fit under the limit is refused before it is allocated:
    /// 4,000,000 samples of 6 ids (96 MB) become 576 MB of vectors.
    func testAWholeModelLayerThatCannotFitIsRefused() throws {
        let header = NPYWriter.header(descr: "<i4", shape: [4_000_000, 6])
        try writeFileAtomically(header, to: scratch + "/ids.npy")
        XCTAssertEqual(truncate(scratch + "/ids.npy", off_t(header.count + 4_000_000 * 6 * 4)), 0)
        let model = Fixtures.path("models/tfk_embed_mask_gru/model.h5")
        let result = try bash("(ulimit -v 500000; \"$GRU_RUN\" --weights \(model) --input ids.npy --output y.npy); echo \"status $?\"; ls -A")
        XCTAssertEqual(result.stdout, "status 71\nids.npy\nx.csv\n")
        XCTAssertTrue(result.stderr.hasPrefix("gru-run: the output of layer 'embed' needs 550 MB of memory, but only "), result.stderr)
    }

    func testAHugeModelConfigIsReadAndLongLinesAreRefusedQuickly() throws {
        // ulimit -t: CPU seconds; a quadratic search of a long line would be killed by SIGXCPU.
        let result = try bash("""
            gzip -dc "$L/big_config.h5.gz" > big.h5
            "$GRU_RUN" --weights big.h5 --input "$X" --output big.npy; echo "config $?"
            head -c 17000000 /dev/zero | tr '\\0' 1 > long.csv
            (ulimit -t 10; "$GRU_RUN" --weights "$M" --input long.csv --output a.npy; echo "file $?"
             "$GRU_RUN" --weights "$M" < long.csv; echo "stream $?")
            """)
        XCTAssertEqual(result.stdout, "config 0\nfile 65\nstream 65\n")
        XCTAssertEqual(result.stderr, "gru-run: long.csv, line 1: the line is longer than 16 MB without a line break; is this CSV?\n"
            + "gru-run: standard input, line 1: the line is longer than 16 MB without a line break; is this CSV?\n")
        let y = try loadNPY(folder + "/y1.npy")
        XCTAssertNil(mismatch(try NPYArray(path: scratch + "/big.npy").doubles(), y.values, shape: y.shape, tolerance: 1e-5, context: "big config"))
    }

    func testStreamedRowsAreWrittenAsTheyArrive() throws {
        let process = Process()
        process.executableURL = GRURunBinary.url
        process.arguments = ["--weights", folder + "/model.h5", "--return-sequences"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        defer { process.terminate() }
        // Two rows, and the input stays open: both output rows must come before any more input does.
        try input.fileHandleForWriting.write(contentsOf: Data("1,2,3,4,5\n2,3,4,5,6\n".utf8))
        final class Lines: @unchecked Sendable { var text = ""; let done = DispatchSemaphore(value: 0) }
        let lines = Lines()
        let reader = output.fileHandleForReading
        Thread {
            while lines.text.filter({ $0 == "\n" }).count < 2 {
                let data = reader.availableData
                if data.isEmpty { break }
                lines.text += String(decoding: data, as: UTF8.self)
            }
            lines.done.signal()
        }.start()
        XCTAssertEqual(lines.done.wait(timeout: .now() + 30), .success, "no output while the input stayed open")
        XCTAssertEqual(lines.text.split(separator: "\n").count, 2, lines.text)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
