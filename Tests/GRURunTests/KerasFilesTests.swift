import Foundation
import GRUIO
import TestSupport
import XCTest

/// Every file kind of Fixtures/keras3 and Fixtures/legacy through the built binary, against Keras's outputs.
final class KerasFilesTests: XCTestCase {
    private var scratch = ""
    /// Max abs error per fixture group and file kind, printed for the record.
    private var worst: [String: Double] = [:]

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
        for (key, value) in worst.sorted(by: { $0.key < $1.key }) { print("keras files \(key): max abs error \(value)") }
    }

    func testKeras3Files() throws { try runManifest("keras3") }

    func testLegacyFiles() throws { try runManifest("legacy") }

    /// A manifest's flags for a weights-only file take the seed layer's defaults as their baseline (see
    /// Fixtures/README.md): they name no --recurrent-activation where it is hard_sigmoid. gru-run takes the
    /// writer's defaults instead, so that baseline is stated.
    private func seedBaseline(_ flags: [String]) -> [String] {
        flags.isEmpty || flags.contains("--recurrent-activation") ? flags : flags + ["--recurrent-activation", "hard_sigmoid"]
    }

    private func strings(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .array(let items): return items.compactMap(\.string)
        default: return []
        }
    }

    private func runManifest(_ folder: String) throws {
        let root = Fixtures.path(folder)
        let manifest = try JSONValue.parse(String(contentsOfFile: root + "/manifest.json", encoding: .utf8))
        let cases = try XCTUnwrap(manifest["cases"]?.array)
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for entry in cases {
            let name = entry["name"]!.string!, group = entry["group"]?.string ?? ""
            let caseFolder = root + "/" + name
            let tolerance = entry["dtype"]?.string == "float64" ? 1e-9 : 1e-5
            let files = entry["files"]?.object ?? [:]
            let runnable: Set<String> = ["InputLayer", "Masking", "GRU", "CuDNNGRU", "Bidirectional"]
            let classes = (entry["model_layers"]?.array ?? []).compactMap { $0["class_name"]?.string }
            // A model with other layers (Dense, ...) runs its GRU alone: the flags name it with --layer.
            let wholeModelRuns = classes.allSatisfy(runnable.contains)
            let flagged = strings(entry["flags"])
            let layerFlag = flagged.firstIndex(of: "--layer").map { Array(flagged[$0...($0 + 1)]) } ?? []
            for (kind, file) in files.sorted(by: { $0.key < $1.key }) {
                guard let file = file.string else { continue }
                let needsFlags = kind == "weights" || kind == "weights_h5"
                let flags = seedBaseline(strings(entry["flags"]))
                if needsFlags && entry["flags"] == .null { continue }
                for call in entry["calls"]?.array ?? [] where wholeModelRuns || !layerFlag.isEmpty {
                    var arguments = ["--weights", caseFolder + "/" + file, "--input", caseFolder + "/" + call["input"]!.string!,
                                     "--output", scratch + "/y.npy", "--output-format", "npy"] + (needsFlags ? flags : layerFlag)
                    if let mask = call["mask"]?.string { arguments += ["--mask", caseFolder + "/" + mask] }
                    for state in strings(call["initial_state"]) { arguments += ["--initial-state", caseFolder + "/" + state] }
                    let expectedStates = strings(call["state"])
                    if !expectedStates.isEmpty { arguments += ["--state-output", scratch + "/h.npy"] }
                    let label = "\(folder)/\(name) \(file)"
                    try check(arguments, outputs: strings(call["output"]).map { caseFolder + "/" + $0 },
                              states: expectedStates.map { caseFolder + "/" + $0 }, tolerance: tolerance, label: label,
                              key: "\(group) \(kind)")
                }
                for layerOutput in entry["layer_outputs"]?.array ?? [] {
                    let layerName = layerOutput["name"]!.string!
                    let layerFlags = seedBaseline(strings(layerOutput["flags"]))
                    if needsFlags && layerFlags.isEmpty { continue }
                    var arguments = ["--weights", caseFolder + "/" + file, "--input", caseFolder + "/" + layerOutput["input"]!.string!,
                                     "--output", scratch + "/y.npy", "--output-format", "npy"]
                    arguments += needsFlags ? layerFlags : ["--layer", layerName]
                    if let mask = layerOutput["mask"]?.string { arguments += ["--mask", caseFolder + "/" + mask] }
                    try check(arguments, outputs: strings(layerOutput["output"]).map { caseFolder + "/" + $0 }, states: [],
                              tolerance: tolerance, label: "\(folder)/\(name) \(file) --layer \(layerName)", key: "\(group) \(kind) --layer")
                }
            }
        }
    }

    private func check(_ arguments: [String], outputs: [String], states: [String], tolerance: Double,
                       label: String, key: String) throws {
        let result = try GRURunBinary.run(arguments)
        XCTAssertEqual(result.status, 0, "\(label): \(result.stderr)")
        guard result.status == 0 else { return }
        for (produced, expectedFiles) in [(scratch + "/y.npy", outputs), (scratch + "/h.npy", states)] where !expectedFiles.isEmpty {
            let expected = try expectedFiles.map { try loadNPY($0) }
            let values = expected.flatMap(\.values)
            let shape = expected.count == 1 ? expected[0].shape : [expected.count] + expected[0].shape
            let got = try NPYArray(path: produced)
            XCTAssertEqual(got.shape, shape, "\(label) \(produced)")
            if let message = mismatch(try got.doubles(), values, shape: shape, tolerance: tolerance, context: label) {
                XCTFail(message)
            }
            worst[key] = max(worst[key] ?? 0, maxAbsError(try got.doubles(), values))
        }
    }
}

/// Bidirectional initial states given as one `(2, batch, units)` file equal two files.
final class BidirectionalStateTests: XCTestCase {
    func testOneStackedInitialStateFileEqualsTwo() throws {
        let folder = Fixtures.path("keras3/k3_bidi_initial_state_seq")
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let forward = try NPYArray(path: folder + "/h0_fw_1.npy"), backward = try NPYArray(path: folder + "/h0_bw_1.npy")
        try writeFileAtomically(NPYWriter.encode(forward.floats() + backward.floats(), shape: [2] + forward.shape),
                                to: scratch + "/h0.npy")
        let result = try GRURunBinary.run(["--weights", folder + "/model.keras", "--input", folder + "/x1.npy",
                                           "--initial-state", scratch + "/h0.npy", "--output", scratch + "/y.npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = try loadNPY(folder + "/y1.npy")
        XCTAssertNil(mismatch(try NPYArray(path: scratch + "/y.npy").doubles(), expected.values, shape: expected.shape,
                              tolerance: 1e-5, context: "stacked initial state"))
        let wrong = try GRURunBinary.run(["--weights", folder + "/model.keras", "--input", folder + "/x1.npy",
                                          "--initial-state", folder + "/h0_fw_1.npy"])
        XCTAssertEqual(wrong.status, 65)
        XCTAssertTrue(wrong.stderr.contains("it has shape (5, 7) but 3 dimensions (2, batch, units), both directions' states, are needed"), wrong.stderr)
    }
}
