import Foundation
import GRUIO
import TestSupport
import XCTest

/// Outputs that would replace an input or another output, and inputs that would share standard input, are
/// refused (usage, exit 64) before anything is written: runs with several inputs and outputs, join, split.
final class OutputSafetyOverlapTests: XCTestCase {
    private var scratch = ""
    private let concat = Fixtures.path("models/k3_concat_inputs")
    private let twoOutputs = Fixtures.path("models/k3_two_outputs")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// bash in the scratch folder with $C (two inputs x0, x1), $T (two outputs, input x) and $GRU_RUN set.
    private func bash(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = "cd '\(scratch)' && C='\(concat)' && T='\(twoOutputs)' && " + script
        return try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: ["SCRIPT": quoted])
    }

    func testAnOutputNamingAnInputOrAnotherOutputIsRefused() throws {
        let result = try bash("""
            cp "$C/x0.npy" a.npy; cp "$C/x1.npy" b.npy; cp b.npy b-saved.npy
            "$GRU_RUN" --weights "$C/model.keras" --input a.npy --input b.npy --output b.npy; echo "input $?"
            cmp b.npy b-saved.npy && echo "b kept"
            "$GRU_RUN" --weights "$T/model.keras" --input "$T/x.npy" --output y.npy --output y.npy; echo "twice $?"
            "$GRU_RUN" --weights "$T/model.keras" --input "$T/x.npy" --output y.npy --output ./y.npy; echo "same $?"
            "$GRU_RUN" --weights "$C/model.keras" --input a.npy --input b.npy --output y.npy
            "$GRU_RUN" --weights "$T/model.keras" --input a.npy --output y0.npy --output a.npy; echo "second $?"
            cmp a.npy "$C/x0.npy" && echo "a kept"; ls
            """)
        XCTAssertEqual(result.stdout, "input 64\nb kept\ntwice 64\nsame 64\nsecond 64\na kept\na.npy\nb-saved.npy\nb.npy\ny.npy\n")
        XCTAssertEqual(result.stderr, """
            gru-run: --output b.npy is the same file as --input; writing it would destroy an input.
            gru-run: --output y.npy is given twice; the second output would replace the first.
            gru-run: --output ./y.npy is given twice; the second output would replace the first.
            gru-run: --output a.npy is the same file as --input; writing it would destroy an input.

            """)
    }

    func testStandardInputFeedsOneInputOnly() throws {
        let result = try bash("""
            "$GRU_RUN" --weights "$C/model.keras" --input - --input - < "$C/x0.npy"; echo "twice $?"
            "$GRU_RUN" --weights "$C/model.keras" --input /dev/stdin --input - < "$C/x0.npy"; echo "named $?"
            "$GRU_RUN" check --weights "$C/model.keras" --input - --input - --expect "$C/y.npy" < "$C/x0.npy"; echo "check $?"
            """)
        XCTAssertEqual(result.stdout, "twice 64\nnamed 64\ncheck 64\n")
        XCTAssertEqual(result.stderr, "gru-run: --input - is given twice, and standard input can feed only one input.\n"
            + "gru-run: --input /dev/stdin and --input - both read standard input, which can feed only one of them.\n"
            + "gru-run: --input - is given twice, and standard input can feed only one input.\n")
    }

    /// Standard output takes one output: two outputs named `-` (or `-` and /dev/stdout) are refused before
    /// anything is written, instead of running into each other on the pipe.
    func testStandardOutputTakesOneOutputOnly() throws {
        let result = try bash("""
            "$GRU_RUN" --weights "$T/model.keras" --input "$T/x.npy" --output - --output - | wc -c; echo "twice ${PIPESTATUS[0]}"
            "$GRU_RUN" --weights "$T/model.keras" --input "$T/x.npy" --output /dev/stdout --output - | wc -c; echo "named ${PIPESTATUS[0]}"
            "$GRU_RUN" --weights "$T/model.keras" --input "$T/x.npy" --output - --output y1.npy > /dev/null; echo "one $?"; ls
            """)
        XCTAssertEqual(result.stdout, "0\ntwice 64\n0\nnamed 64\none 0\ny1.npy\n")
        XCTAssertEqual(result.stderr, "gru-run: --output - is given twice, and standard output can take only one output; name a file for the others.\n"
            + "gru-run: --output /dev/stdout and --output - both write standard output, which can take only one output; name a file for the others.\n")
    }

    /// Runs writing the same output and state files at once leave one run's pair, never one run's output
    /// with another's state: a GRU's last output is its final state, so the two files must hold the same numbers.
    func testConcurrentRunsLeaveOneRunsPair() throws {
        let model = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_last/model.h5")
        let x = try NPYArray(path: Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_last/x1.npy"))
        let values = try x.floats()
        for k in 0..<8 {
            try writeFileAtomically(NPYWriter.encode(values.map { $0 * Float(k + 1) / 4 }, shape: x.shape), to: scratch + "/x\(k).npy")
        }
        for round in 0..<8 {
            let result = try bash("""
                for k in 0 1 2 3 4 5 6 7; do
                  "$GRU_RUN" --weights '\(model)' --input x$k.npy --output y.npy --state-output h.npy --quiet &
                done
                wait
                """)
            XCTAssertEqual(result.status, 0, result.stderr)
            let (y, h) = (try loadNPY(scratch + "/y.npy"), try loadNPY(scratch + "/h.npy"))
            XCTAssertEqual(y.values, h.values, "round \(round): the output and the state come from different runs")
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasPrefix(".") }
            XCTAssertEqual(left, [], "round \(round)")
        }
    }

    func testJoinIntoAPieceIsRefused() throws {
        let result = try bash("""
            cp "$C/x0.npy" a.npy; cp "$C/x1.npy" a2.npy
            "$GRU_RUN" join --output a2.npy a2.npy a.npy; echo "join $?"
            cmp a2.npy "$C/x1.npy" && echo "a2 kept"; ls
            """)
        XCTAssertEqual(result.stdout, "join 64\na2 kept\na.npy\na2.npy\n")
        XCTAssertEqual(result.stderr, "gru-run: --output a2.npy is the same file as a piece; writing it would destroy an input.\n")
    }

    func testSplittingAShardWithItsOwnPrefixIsRefused() throws {
        let result = try bash("""
            cp "$C/x0.npy" shard-00001.npy
            "$GRU_RUN" split --input shard-00001.npy --samples 1 --prefix shard-; echo "split $?"
            cmp shard-00001.npy "$C/x0.npy" && echo "kept"; ls
            """)
        XCTAssertEqual(result.stdout, "split 64\nkept\nshard-00001.npy\n")
        XCTAssertEqual(result.stderr, "gru-run: --input shard-00001.npy is named as a shard of --prefix shard- (shard-00001.npy); splitting it would replace it, so give another --prefix.\n")
    }
}
