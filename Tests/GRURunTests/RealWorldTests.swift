import Foundation
import GRUIO
import TestSupport
import XCTest

/// The real Keras files in ../shared/realworld (Keras 1.1 to 3.14, from public repositories), each run
/// as its README says: the GRU layer alone (cmd.txt) and the whole model (model/), against the outputs
/// real Keras computed, within 1e-5 or the case's tol.txt.
final class RealWorldTests: XCTestCase {
    private let root = Fixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/realworld").path
    private var scratch = ""

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: root) else {
            // CI always has shared/ beside the clone: there its absence is a failure, never a silent skip.
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("\(root) is not beside the repository, and CI=true: the real-world files must be checked")
                throw XCTSkip("no real-world files")
            }
            throw XCTSkip("\(root) is not beside the repository (a fresh clone without shared/ skips these; CI=true fails)")
        }
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        if !scratch.isEmpty { try? FileManager.default.removeItem(atPath: scratch) }
    }

    private func cases() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("k") }.sorted()
    }

    private func modelFile(_ folder: String) throws -> String {
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: folder)
            .first { [".h5", ".hdf5", ".keras"].contains(where: $0.hasSuffix) }, "no Keras file in \(folder)")
        return folder + "/" + name
    }

    private func tolerance(_ folder: String) throws -> Double {
        let path = folder + "/tol.txt"
        guard FileManager.default.fileExists(atPath: path) else { return 1e-5 }
        let text = String(decoding: try readWholeFile(path), as: UTF8.self)
        return try XCTUnwrap(Double(text.split(separator: "\n")[0].trimmingCharacters(in: .whitespaces)), "tol.txt of \(folder)")
    }

    private func flags(_ path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return String(decoding: try readWholeFile(path), as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// Shapes equal, NaN exactly where Keras has NaN, every other value within `tolerance`.
    private func compare(_ produced: String, _ expected: String, tolerance: Double, context: String) throws {
        let got = try loadNPY(produced), want = try loadNPY(expected)
        XCTAssertEqual(got.shape, want.shape, context)
        guard got.shape == want.shape else { return }
        for i in want.values.indices where want.values[i].isNaN != got.values[i].isNaN {
            XCTFail("\(context): value \(i) is \(got.values[i]), Keras has \(want.values[i])")
            return
        }
        let finite = want.values.indices.filter { !want.values[$0].isNaN }
        if let message = mismatch(finite.map { got.values[$0] }, finite.map { want.values[$0] }, shape: [finite.count],
                                  tolerance: tolerance, context: context) {
            XCTFail(message)
        }
    }

    func testEachGRULayerMatchesKeras() throws {
        var ran = 0
        for name in try cases() {
            let folder = root + "/" + name
            let hasState = FileManager.default.fileExists(atPath: folder + "/h.npy")
            var arguments = ["--weights", try modelFile(folder), "--input", folder + "/x.npy", "--output", scratch + "/y.npy"]
            if hasState { arguments += ["--state-output", scratch + "/h.npy"] }
            let result = try GRURunBinary.run(arguments + (try flags(folder + "/cmd.txt")) + ["--quiet"])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            guard result.status == 0 else { continue }
            let tolerance = try tolerance(folder)
            try compare(scratch + "/y.npy", folder + "/y.npy", tolerance: tolerance, context: "\(name) layer output")
            if hasState { try compare(scratch + "/h.npy", folder + "/h.npy", tolerance: tolerance, context: "\(name) layer state") }
            ran += 1
        }
        XCTAssertEqual(ran, 25)
    }

    /// `check` of each whole model against Keras's saved outputs (one --expect per output) passes, and fails
    /// once an expected value is moved.
    func testCheckPassesEachWholeModelAndCatchesAChange() throws {
        for name in try cases() {
            let folder = root + "/" + name, model = folder + "/model"
            guard FileManager.default.fileExists(atPath: model) else { continue }
            let expected = try FileManager.default.contentsOfDirectory(atPath: model)
                .filter { $0.hasPrefix("y") && $0.hasSuffix(".npy") }.sorted().map { model + "/" + $0 }
            let arguments = ["check", "--weights", try modelFile(folder), "--input", model + "/x.npy",
                             "--atol", String(try tolerance(model))] + (try flags(model + "/cmd.txt"))
            let pass = try GRURunBinary.run(arguments + expected.flatMap { ["--expect", $0] })
            XCTAssertEqual(pass.status, 0, "\(name): \(pass.stdoutText) \(pass.stderr)")
            let moved = scratch + "/moved.npy"
            let first = try NPYArray(path: expected[0])
            var values = try first.floats()
            values[values.count / 2] += 0.01
            try writeFileAtomically(NPYWriter.encode(values, shape: first.shape), to: moved)
            let fail = try GRURunBinary.run(arguments + [moved] .flatMap { ["--expect", $0] } + expected.dropFirst().flatMap { ["--expect", $0] })
            XCTAssertEqual(fail.status, 1, "\(name): \(fail.stdoutText) \(fail.stderr)")
        }
    }

    func testEachWholeModelMatchesModelPredict() throws {
        var ran = 0
        for name in try cases() {
            let folder = root + "/" + name, model = folder + "/model"
            guard FileManager.default.fileExists(atPath: model) else { continue }
            let expected = try FileManager.default.contentsOfDirectory(atPath: model)
                .filter { $0.hasPrefix("y") && $0.hasSuffix(".npy") }.sorted()
            let produced = expected.map { scratch + "/" + $0 }
            let result = try GRURunBinary.run(["--weights", try modelFile(folder), "--input", model + "/x.npy"]
                + produced.flatMap { ["--output", $0] } + (try flags(model + "/cmd.txt")))
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            guard result.status == 0 else { continue }
            let tolerance = try tolerance(model)
            for (file, out) in zip(expected, produced) {
                try compare(out, model + "/" + file, tolerance: tolerance, context: "\(name) model \(file)")
            }
            ran += 1
        }
        XCTAssertEqual(ran, 21)
    }
}
