import Foundation
import GRUIO
import TestSupport
import XCTest

/// The README's recipes beyond one machine, run as written: GNU parallel over (simulated) remote hosts,
/// a Slurm array job driven by a loop, and split / join for .npy and CSV. The joined output must equal
/// one run byte for byte.
final class RecipeTests: XCTestCase {
    private var scratch = ""
    private let folder = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq")
    private let recipes = Fixtures.repositoryRoot.path + "/Examples/recipes"

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
        try FileManager.default.copyItem(atPath: folder + "/model.h5", toPath: scratch + "/model.h5")
        try FileManager.default.copyItem(atPath: folder + "/x1.npy", toPath: scratch + "/x.npy")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// bash in the scratch folder, the built gru-run first on PATH.
    private func bash(_ script: String, _ environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let bin = GRURunBinary.url.deletingLastPathComponent().path
        let prelude = "cd '\(scratch)' && export PATH='\(bin)':\"$PATH\" && "
        return try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: environment.merging(["SCRIPT": prelude + script]) { $1 })
    }

    /// The README shows each recipe script as it is in Examples/recipes.
    func testTheREADMEShowsTheRecipesAsTheyAre() throws {
        let readme = String(decoding: try readWholeFile(Fixtures.repositoryRoot.path + "/README.md"), as: UTF8.self)
        for name in ["parallel.sh", "slurm-job.sh"] {
            let script = String(decoding: try readWholeFile(recipes + "/" + name), as: UTF8.self)
            XCTAssertTrue(readme.contains(script), "README.md does not hold Examples/recipes/\(name) as it is")
        }
    }

    func testGNUParallelAcrossHostsEqualsOneRun() throws {
        // Without SHELL here (as under a CI runner) the jobs still run: a remote login sets its own.
        let result = try bash("""
            unset SHELL
            gru-run --weights model.h5 --input x.npy --output whole.npy
            sh '\(recipes)/parallel.sh' && cmp y.npy whole.npy && echo "equal"
            find hosts -type f | wc -l
            sh '\(recipes)/parallel.sh' && cmp y.npy whole.npy && echo "equal again"
            """, ["HOSTS": "host1,host2", "SAMPLES": "2", "PARALLEL_SSH": recipes + "/fakessh", "FAKE_HOSTS": scratch + "/hosts"])
        XCTAssertEqual(result.stdout, "equal\n0\nequal again\n", result.stderr)
        // Each shard ran on a host of its own folder: both hosts were used.
        let hosts = try FileManager.default.contentsOfDirectory(atPath: scratch + "/hosts").sorted()
        XCTAssertEqual(hosts, ["host1", "host2"])
    }

    /// Without HOSTS the recipe stops before any work, saying what to set (GNU parallel alone would say
    /// "Cannot run any jobs").
    func testGNUParallelWithoutHostsSaysWhatToSet() throws {
        let result = try bash("unset HOSTS; sh '\(recipes)/parallel.sh'")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("HOSTS: names no hosts: set HOSTS to the ssh hosts to run on"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/shards.txt"))
    }

    func testSlurmArrayJobEqualsOneRun() throws {
        let result = try bash("""
            gru-run --weights model.h5 --input x.npy --output whole.npy
            gru-run split --input x.npy --samples 2 --prefix shard- > shards.txt
            for i in $(seq 1 $(wc -l < shards.txt)); do SLURM_ARRAY_TASK_ID=$i sh '\(recipes)/slurm-job.sh'; done
            gru-run join --output y.npy out-*.npy && cmp y.npy whole.npy && echo "equal"
            cat shards.txt
            """)
        XCTAssertEqual(result.stdout, "equal\nshard-00001.npy\nshard-00002.npy\nshard-00003.npy\n", result.stderr)
    }

    func testCSVShardsJoinWithAndWithoutSequences() throws {
        // CSV input with blank lines between samples, cut one sample a shard.
        let x = try NPYArray(path: scratch + "/x.npy")
        let values = try x.floats(), (batch, steps, features) = (x.shape[0], x.shape[1], x.shape[2])
        var text = ""
        for b in 0..<batch {
            if b > 0 { text += "\n" }
            for t in 0..<steps { text += (0..<features).map { "\(values[(b * steps + t) * features + $0])" }.joined(separator: ",") + "\n" }
        }
        try writeFileAtomically(Array(text.utf8), to: scratch + "/x.csv")
        let runs = try bash("""
            gru-run --weights model.h5 --input x.csv --output seq.csv --return-sequences
            gru-run --weights model.h5 --input x.csv --output last.csv --no-return-sequences
            gru-run split --input x.csv --samples 1 --prefix p- > shards.txt
            for f in $(cat shards.txt); do
              gru-run --weights model.h5 --input $f --output ${f%.csv}.seq.csv --return-sequences
              gru-run --weights model.h5 --input $f --output ${f%.csv}.last.csv --no-return-sequences
            done
            gru-run join --output joined-seq.csv $(sed 's/\\.csv$/.seq.csv/' shards.txt); echo "ambiguous $?"
            gru-run join --sequences --output joined-seq.csv $(sed 's/\\.csv$/.seq.csv/' shards.txt) && cmp joined-seq.csv seq.csv && echo "sequences equal"
            gru-run join --output joined-last.csv $(sed 's/\\.csv$/.last.csv/' shards.txt) && cmp joined-last.csv last.csv && echo "rows equal"
            gru-run split --input x.csv --samples 2 --prefix q- > pairs.txt
            for f in $(cat pairs.txt); do gru-run --weights model.h5 --input $f --output ${f%.csv}.seq.csv --return-sequences; done
            gru-run join --output joined-pairs.csv $(sed 's/\\.csv$/.seq.csv/' pairs.txt) && cmp joined-pairs.csv seq.csv && echo "blocks equal"
            """)
        XCTAssertEqual(runs.stdout, "ambiguous 64\nsequences equal\nrows equal\nblocks equal\n", runs.stderr)
        XCTAssertEqual(runs.stderr, "gru-run: the pieces hold several rows and no blank line: give --sequences if each piece is one sample's sequence (--return-sequences), --rows if each row is a sample.\n")
    }
}
