import Foundation
import GRUIO
import TestSupport
import XCTest

/// The first mistakes a user makes, each answered with what to do instead.
final class UsageHintTests: XCTestCase {
    private var scratch = ""
    private let layerCase = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func assertRefusal(_ arguments: [String], _ status: Int32, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try GRURunBinary.run(arguments, stdin: [], directory: scratch)
        XCTAssertEqual(result.status, status, arguments.joined(separator: " "), file: file, line: line)
        XCTAssertEqual(result.stderr, "gru-run: " + message + "\n", arguments.joined(separator: " "), file: file, line: line)
        XCTAssertTrue(result.stdout.isEmpty, file: file, line: line)
    }

    /// An .npy file of int64 token ids, (2, 6).
    private func writeIDs(_ path: String) throws {
        var header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 6), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
            + (0..<12).flatMap { id -> [UInt8] in (0..<8).map { UInt8(truncatingIfNeeded: (id + 1) >> ($0 * 8)) } }
        try writeFileAtomically(bytes, to: path)
    }

    /// A SavedModel with no Keras model in it (here an empty saved_model.pb) is named with the way to save one.
    func testASavedModelFolderIsNamedWithTheWayToSaveAKerasFile() throws {
        try FileManager.default.createDirectory(atPath: scratch + "/exported", withIntermediateDirectories: true)
        try writeFileAtomically([], to: scratch + "/exported/saved_model.pb")
        let sentence = "is a TensorFlow SavedModel that holds a TensorFlow graph and no Keras model; gru-run runs Keras models: save the model with model.save(\"m.keras\"), model.save(\"m.h5\") or tf-keras's model.save(\"dir\")."
        try assertRefusal(["--weights", "exported", "--input", layerCase + "/x1.npy"], 65, "exported " + sentence)
        try assertRefusal(["--weights", "exported/saved_model.pb", "--input", layerCase + "/x1.npy"], 65, "exported " + sentence)
        try assertRefusal(["inspect", "exported"], 65, "exported " + sentence)
    }

    func testOneSampleWithoutItsBatchAxisIsToldHowToAddIt() throws {
        try writeFileAtomically(NPYWriter.encode([Float](repeating: 0.5, count: 30), shape: [6, 5]), to: scratch + "/x.npy")
        let model = layerCase + "/model.h5"
        try assertRefusal(["--weights", model, "--input", "x.npy"], 65,
                          "x.npy is not a usable .npy array: it has shape (6, 5) but 3 dimensions (batch, timesteps, features) are needed; for one sample add a batch axis: x[None] or x.reshape(1, 6, 5).")
        try assertRefusal(["--weights", model, "--input", "x.npy", "--time-major"], 65,
                          "x.npy is not a usable .npy array: it has shape (6, 5) but 3 dimensions (timesteps, batch, features) are needed; for one sample add a batch axis: x[:, None] or x.reshape(6, 1, 5).")
    }

    func testTokenIDsGivenToAGRULayerPointAtTheEmbedding() throws {
        try writeIDs(scratch + "/ids.npy")
        // A model of one GRU takes integers as Keras's predict does (cast to floats), but not of a token ids' shape.
        try assertRefusal(["--weights", layerCase + "/model.h5", "--input", "ids.npy"], 65,
                          "ids.npy is not a usable .npy array: it has shape (2, 6) but 3 dimensions (batch, timesteps, features) are needed; integers of shape (batch, timesteps) look like token ids, which layer 'gru' of \(layerCase)/model.h5 cannot take: they go through an Embedding first.")
        // A real Keras 2.0.4 model: Embedding -> GRU -> Dense.
        let embedded = Fixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/realworld/k2.0.4_cse5393_embedding_gru/gru.h5").path
        guard FileManager.default.fileExists(atPath: embedded) else { return }
        try assertRefusal(["--weights", embedded, "--input", "ids.npy", "--layer", "gru_2"], 65,
                          "ids.npy is not a usable .npy array: it holds integers; inputs must be float16, float32 or float64; token ids go through the model's Embedding 'embedding_2' in front of layer 'gru_2', which turns them into vectors of 50 features: run the whole model without --layer.")
    }

    func testParserRefusalsPointAtTheUsage() throws {
        try assertRefusal(["--weight", "m.h5"], 64, "Unknown option '--weight'. Did you mean '--weights'?")
        try assertRefusal(["check", "--weights", "m.h5", "--expecct", "y.npy"], 64, "Unknown option '--expecct'. Did you mean '--expect'?")
        try assertRefusal([], 64, "give the model with --weights FILE and the input with --input FILE, as in gru-run --weights model.h5 --input x.npy (gru-run --help lists every flag).")
        try assertRefusal(["m.h5", "x.npy"], 64, "files go through flags ('m.h5', 'x.npy' came without one): give the model with --weights FILE and the input with --input FILE, as in gru-run --weights m.h5 --input x.npy.")
        try assertRefusal(["--weights", "m.h5", "x.csv"], 64, "files go through flags ('x.csv' came without one): give the model with --weights FILE and the input with --input FILE, as in gru-run --weights m.h5 --input x.csv.")
        try assertRefusal(["check"], 64, "give the model with --weights FILE, the input with --input FILE and the outputs Keras saved with --expect FILE, as in gru-run check --weights model.h5 --input x.npy --expect y.npy (gru-run check --help lists every flag).")
        try assertRefusal(["inspect"], 64, "give the Keras file to inspect, as in gru-run inspect model.h5.")
        // A missing flag with nothing else wrong keeps the parser's sentence.
        try assertRefusal(["--input", "x.npy"], 64, "Missing expected argument '--weights <file>'")
    }

    /// Standard input on a terminal (a pseudo-terminal here): one line says what gru-run waits for; Ctrl-D ends it.
    func testReadingATerminalSaysWhatItWaitsFor() throws {
        // posix_openpt and friends by hand (Glibc's module does not export them): Linux's TIOCSPTLCK and TIOCGPTN.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(master, 0)
        defer { close(master) }
        var unlock: Int32 = 0, number: UInt32 = 0
        XCTAssertEqual(ioctl(master, 0x4004_5431, &unlock), 0)
        XCTAssertEqual(ioctl(master, 0x8004_5430, &number), 0)
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(terminal, 0)
        let process = Process()
        process.executableURL = GRURunBinary.url
        process.arguments = ["--weights", layerCase + "/model.h5"]
        let output = Pipe(), error = Pipe()
        process.standardInput = FileHandle(fileDescriptor: terminal, closeOnDealloc: true)
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // A run that waits on is a failure, not a hung test.
        DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if process.isRunning { process.terminate() } }
        // Ctrl-D at the start of a line: the terminal's end of input.
        XCTAssertEqual(write(master, [UInt8(4)], 1), 1)
        let stderr = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(stderr, """
            gru-run: reading CSV or .npy from standard input (Ctrl-D to end); give --input FILE to read a file
            gru-run: standard input: it is empty; pipe CSV or .npy data in, or give --input FILE.

            """)
        XCTAssertEqual(process.terminationStatus, 65)
        // From a pipe the run says nothing of the kind.
        let piped = try GRURunBinary.run(["--weights", layerCase + "/model.h5"], stdin: [])
        XCTAssertFalse(piped.stderr.contains("Ctrl-D"))
    }
}
