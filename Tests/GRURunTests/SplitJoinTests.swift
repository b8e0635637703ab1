import Foundation
import GRUIO
import TestSupport
import XCTest

/// split and join refuse what they cannot do properly (mixed formats, ragged CSV, stale shards, sample
/// counts out of range), open one piece at a time, and write shards as they fill.
final class SplitJoinTests: XCTestCase {
    private var scratch = ""
    private let x = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq/x1.npy")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// bash in the scratch folder with $X (an input .npy) and $GRU_RUN set.
    private func bash(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = "cd '\(scratch)' && X='\(x)' && " + script
        return try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: ["SCRIPT": quoted])
    }

    func testJoinRefusesMixedFormatsAndRaggedRows() throws {
        let result = try bash("""
            cp "$X" a.npy; printf '1,2,3\\n4,5,6\\n' > a.csv; printf '1,2,3,4\\n' > b.csv
            "$GRU_RUN" join --output y.csv a.npy a.npy; echo "npy into csv $?"
            "$GRU_RUN" join --output y.npy a.csv a.npy; echo "csv into npy $?"
            "$GRU_RUN" join --rows --output y.csv a.csv b.csv; echo "ragged $?"
            printf '1,2\\n3\\n' > c.csv; "$GRU_RUN" join --rows --output y.csv c.csv; echo "ragged within $?"
            ls
            """)
        XCTAssertEqual(result.stdout, "npy into csv 64\ncsv into npy 64\nragged 65\nragged within 65\na.csv\na.npy\nb.csv\nc.csv\n")
        XCTAssertEqual(result.stderr, """
            gru-run: a.npy holds .npy but the output y.csv is CSV; join pieces into an output of their own format.
            gru-run: a.csv holds CSV but the output y.npy is .npy; join pieces into an output of their own format.
            gru-run: b.csv has 4 columns but a.csv has 3; the pieces must hold the same columns.
            gru-run: c.csv has 2 columns before line 2 and a different number there; every row must have the same columns.

            """)
    }

    /// More pieces than the limit on open files: each piece is opened, read and closed in turn.
    func testJoinOpensOnePieceAtATime() throws {
        let result = try bash("""
            "$GRU_RUN" split --input "$X" --samples 1 --prefix p- > /dev/null
            for i in $(seq 1100); do ln p-00001.npy q$(printf %04d $i).npy; done
            ulimit -n 1024; "$GRU_RUN" join --output y.npy q*.npy; echo "status $?"
            """)
        XCTAssertEqual(result.stdout, "status 0\n", result.stderr)
        let piece = try NPYArray(path: scratch + "/p-00001.npy"), joined = try NPYArray(path: scratch + "/y.npy")
        XCTAssertEqual(joined.shape, [1100 * piece.shape[0]] + piece.shape.dropFirst())
        let values = try piece.floats()
        XCTAssertEqual(try joined.floats(), Array((0..<1100).map { _ in values }.joined()))
    }

    func testSplitSampleCountsOutOfRange() throws {
        let result = try bash("""
            "$GRU_RUN" split --input "$X" --samples 9223372036854775807; echo "largest $?"
            rm shard-00001.npy
            "$GRU_RUN" split --input "$X" --samples -3; echo "negative $?"
            "$GRU_RUN" split --input "$X" --samples 0; echo "zero $?"
            ls
            """)
        XCTAssertEqual(result.stdout, "shard-00001.npy\nlargest 0\nnegative 64\nzero 64\n")
        XCTAssertEqual(result.stderr, "gru-run: --samples must be at least 1, not -3.\ngru-run: --samples must be at least 1, not 0.\n")
    }

    /// Shards of an earlier split (or outputs named after them) would be counted and joined with new ones.
    func testSplitRefusesWhenShardsAreAlreadyThere() throws {
        let result = try bash("""
            "$GRU_RUN" split --input "$X" --samples 2 > first.txt; cp shard-00001.npy saved.npy
            "$GRU_RUN" split --input "$X" --samples 1; echo "again $?"
            cmp shard-00001.npy saved.npy && echo "kept"; rm shard-*.npy; touch shard-00002.out.npy
            "$GRU_RUN" split --input "$X" --samples 1; echo "outputs $?"
            "$GRU_RUN" split --input "$X" --samples 1 --prefix other- | head -1
            ls shard-*
            """)
        XCTAssertEqual(result.stdout, "again 64\nkept\noutputs 64\nother-00001.npy\nshard-00002.out.npy\n")
        let count = try String(decoding: readWholeFile(scratch + "/first.txt"), as: UTF8.self).split(separator: "\n").count
        XCTAssertEqual(result.stderr, """
            gru-run: shard-00001.npy is already there (\(count) files named as shards of --prefix shard-); remove them or give another --prefix, so that old shards are not mixed with new ones.
            gru-run: shard-00002.out.npy is already there (1 file named as shards of --prefix shard-); remove them or give another --prefix, so that old shards are not mixed with new ones.

            """)
    }

    /// A CSV shard is in place as soon as it holds its samples, while the input is still arriving.
    func testSplitWritesCSVShardsAsTheyFill() throws {
        let result = try bash("""
            mkfifo in
            "$GRU_RUN" split --input in --input-format csv --samples 1 > names.txt & run=$!
            exec 3> in; printf '1,2\\n3,4\\n\\n5,6\\n7,8\\n\\n' >&3
            for i in $(seq 200); do [ -e shard-00001.csv ] && break; sleep 0.05; done
            cat shard-00001.csv; ls -A | grep -c tmp
            printf '9,10\\n11,12\\n' >&3; exec 3>&-; wait $run; echo "status $?"; cat names.txt; cat shard-00003.csv
            """)
        XCTAssertEqual(result.stdout, "1.0,2.0\n3.0,4.0\n0\nstatus 0\nshard-00001.csv\nshard-00002.csv\nshard-00003.csv\n9.0,10.0\n11.0,12.0\n", result.stderr)
    }

    /// A split that fails part way (here a sample of another length) leaves none of its shards.
    func testAFailedSplitLeavesNoShard() throws {
        let result = try bash("""
            printf '1,2\\n3,4\\n\\n5,6\\n7,8\\n\\n9,10\\n' | "$GRU_RUN" split --input-format csv --samples 1; echo "status $?"; ls
            """)
        XCTAssertEqual(result.stdout, "status 65\n")
        XCTAssertEqual(result.stderr, "gru-run: standard input, line 7: sample 3 has 1 rows but the first sample has 2; every sample needs the same number of timesteps.\n")
    }
}
