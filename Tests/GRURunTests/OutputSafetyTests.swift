import Foundation
import GRUIO
import TestSupport
import XCTest

/// Outputs appear whole or not at all: every output of a run or none, special files written in place,
/// links written through, nothing left behind by a refusal or a signal.
final class OutputSafetyTests: XCTestCase {
    private var scratch = ""
    private let model = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last/model.h5")
    private let x = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last/x1.npy")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// Runs a bash script in the scratch folder with $M (model), $X (input .npy) and $GRU_RUN set.
    private func bash(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = "cd '\(scratch)' && M='\(model)' && X='\(x)' && " + script
        return try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: ["SCRIPT": quoted])
    }

    private func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch).sorted()
    }

    func testAFailedOutputLeavesTheOtherOutputsAsTheyWere() throws {
        let result = try bash("""
            echo precious > h.npy
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/null --stateful --state s.npy; cp s.npy saved.npy
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/full --state-output h.npy; echo "full $?"
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/full --stateful --state s.npy; echo "state $?"
            "$GRU_RUN" --weights "$M" --input "$X" --output y.npy --state-output /dev/full; echo "second $?"
            cat h.npy; cmp s.npy saved.npy && echo "state kept"; ls -A
            """)
        XCTAssertEqual(result.stdout, "full 74\nstate 74\nsecond 74\nprecious\nstate kept\nh.npy\ns.npy\nsaved.npy\n")
        XCTAssertEqual(result.stderr, String(repeating: "gru-run: Could not write /dev/full: the device is full.\n", count: 3))
    }

    func testAClosedStandardOutputWritesNoOtherOutput() throws {
        let big = Fixtures.path("tfkeras/large_ra1_seq")
        let result = try bash("""
            "$GRU_RUN" --weights \(big)/model.h5 --input \(big)/x1.npy --state-output h.csv | head -1 > /dev/null
            echo "status ${PIPESTATUS[0]}"; ls -A
            """)
        XCTAssertEqual(result.stdout, "status 74\n")
        XCTAssertEqual(result.stderr, "gru-run: standard output was closed before the run finished, so h.csv was not written.\n")
    }

    func testStandardOutputByNameIsWrittenInPlace() throws {
        let result = try bash("""
            "$GRU_RUN" --weights "$M" --input "$X" --output y.csv
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/stdout > a.csv; echo "stdout $?"
            [ -L /dev/stdout ] && echo "still a link"
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/fd/3 3> b.csv; echo "fd $?"
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/stdout >> b.csv
            cmp y.csv a.csv && echo "same"; cat y.csv y.csv | cmp - b.csv && echo "appended"
            "$GRU_RUN" --weights "$M" --input "$X" --output /dev/fd/7; echo "closed $?"
            ls -A
            """)
        XCTAssertEqual(result.stdout, "stdout 0\nstill a link\nfd 0\nsame\nappended\nclosed 74\na.csv\nb.csv\ny.csv\n")
        XCTAssertEqual(result.stderr, "gru-run: Could not write /dev/fd/7: descriptor 7 is not open.\n")
    }

    func testAFIFOIsWrittenNotReplaced() throws {
        let result = try bash("""
            "$GRU_RUN" --weights "$M" --input "$X" --output y.csv
            mkfifo out.csv; cat out.csv > got.csv & reader=$!
            "$GRU_RUN" --weights "$M" --input "$X" --output out.csv; echo "status $?"; wait $reader
            [ -p out.csv ] && echo "still a fifo"; cmp y.csv got.csv && echo "same"
            """)
        XCTAssertEqual(result.stdout, "status 0\nstill a fifo\nsame\n")
        XCTAssertEqual(result.stderr, "")
    }

    func testALinkIsWrittenThroughAndModesAreKept() throws {
        let result = try bash("""
            mkdir real; echo old > real/y.csv; chmod 640 real/y.csv; ln -s real/y.csv link.csv
            "$GRU_RUN" --weights "$M" --input "$X" --output link.csv; echo "status $?"
            [ -L link.csv ] && echo "link kept"; stat -c '%a' real/y.csv; grep -c , real/y.csv
            ln -s real/new.csv dangling.csv
            (umask 027; "$GRU_RUN" --weights "$M" --input "$X" --output dangling.csv); stat -c '%a' real/new.csv
            (umask 022; "$GRU_RUN" --weights "$M" --input "$X" --output fresh.csv); stat -c '%a' fresh.csv
            ls -A . real
            """)
        XCTAssertEqual(result.stdout, "status 0\nlink kept\n640\n5\n640\n644\n.:\ndangling.csv\nfresh.csv\nlink.csv\nreal\n\nreal:\nnew.csv\ny.csv\n")
        XCTAssertEqual(result.stderr, "")
    }

    func testALongOutputNameWorks() throws {
        let name = String(repeating: "n", count: 246) + ".npy"  // 250 bytes: legal, and no room for a suffix
        let result = try bash("\"$GRU_RUN\" --weights \"$M\" --input \"$X\" --output \(name); echo \"status $?\"; ls -A | wc -l")
        XCTAssertEqual(result.stdout, "status 0\n1\n")
        let y = try loadNPY(Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last/y1.npy"))
        XCTAssertNil(mismatch(try NPYArray(path: scratch + "/" + name).doubles(), y.values, shape: y.shape, tolerance: 1e-5, context: "long name"))
    }

    func testOutputsAreCheckedBeforeTheInputIsRead() throws {
        // A FIFO that no one writes: a run that opened or read its input first would wait until timeout (124).
        let result = try bash("""
            mkfifo in
            timeout 10 "$GRU_RUN" --weights "$M" --input in --output nodir/y.npy; echo "folder $?"
            timeout 10 "$GRU_RUN" --weights "$M" --input in --output y.bin; echo "format $?"
            rm in; ls -A
            """)
        XCTAssertEqual(result.stdout, "folder 74\nformat 64\n")
        XCTAssertEqual(result.stderr, "gru-run: Could not write nodir/y.npy: its folder \(scratch)/nodir does not exist.\n"
            + "gru-run: cannot tell the format of y.bin from its extension; name it .npy, .npz or .csv, or add --output-format.\n")
    }

    /// Waits (at most 10 s) until run $1 has written to its unnamed output in this folder: O_TMPFILE files
    /// show in /proc as `FOLDER/#INODE (deleted)`.
    private let waitForWrite = """
        waitwrite() { for i in $(seq 200); do for f in /proc/$1/fd/*; do case "$(readlink $f)" in "$(pwd -P)/#"*)
          grep -q '^pos:[[:space:]]*[1-9]' /proc/$1/fdinfo/${f##*/} && return;; esac; done; sleep 0.05; done; }
        """

    func testSignalsLeaveNoTemporaryFileAndSetTheStatus() throws {
        for (signal, status) in [("INT", 130), ("TERM", 143), ("HUP", 129), ("KILL", 137)] {
            // Job control on, so that the background run does not start with SIGINT ignored.
            let result = try bash(waitForWrite + """

                set -m; mkfifo in
                "$GRU_RUN" --weights "$M" --return-sequences --input in --output out.csv & run=$!
                exec 3> in; printf '1,2,3,4,5\\n' >&3
                waitwrite $run; ls -A | grep -c tmp
                kill -\(signal) $run; wait $run; echo "status $?"; exec 3>&-; rm in; ls -A
                """)
            XCTAssertEqual(result.stdout, "0\nstatus \(status)\n", "SIG\(signal): " + result.stderr)
        }
    }

    func testARefusalAfterOutputsAreOpenLeavesNothingBehind() throws {
        let result = try bash("""
            printf '1,2,3\\n' | "$GRU_RUN" --weights "$M" --output y.npy --state-output h.csv; echo "status $?"; ls -A
            """)
        XCTAssertEqual(result.stdout, "status 65\n")
        XCTAssertTrue(result.stderr.contains("expects 5"), result.stderr)
    }
}
