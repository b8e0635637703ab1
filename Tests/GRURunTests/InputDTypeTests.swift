import Foundation
import GRUIO
import TestSupport
import XCTest

/// Every dtype `model.predict` takes (Fixtures/npz, Fixtures/README.md): float16, int8 to int64, uint8 to uint64
/// and bool features, little- and big-endian, C and Fortran order, are cast to the model's float dtype as Keras
/// casts them, with one stderr line naming the layer that reads them; integer token ids of any integer dtype
/// go to the Embedding as they are, without a note.
final class InputDTypeTests: XCTestCase {
    private struct Manifest: Decodable {
        struct Case: Decodable {
            struct Files: Decodable {
                var features: [String]
                var expect: String
            }
            var name: String
            var dtype: String
            var model: String
            var dtypes: [String: Files]
            var tokens: [String]
        }
        var cases: [Case]
    }

    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func cases() throws -> [Manifest.Case] {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("npz/manifest.json")))).cases
    }

    func testEveryFeatureDTypeIsCastAsKerasCastsIt() throws {
        let all = try cases()
        XCTAssertEqual(all.map(\.dtype), ["float32", "float64"])
        for fixture in all {
            let folder = Fixtures.path("npz/" + fixture.name), model = folder + "/" + fixture.model
            let tolerance = fixture.dtype == "float64" ? 1e-9 : 1e-5
            XCTAssertEqual(Set(fixture.dtypes.keys), ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "float16"])
            for (dtype, files) in fixture.dtypes.sorted(by: { $0.key < $1.key }) {
                // C order, Fortran order, and big-endian where the type has two bytes or more.
                XCTAssertEqual(files.features.count, dtype.hasSuffix("8") || dtype == "bool" ? 2 : 3, dtype)
                for features in files.features {
                    let context = "\(fixture.name) \(features)"
                    let out = scratch + "/" + fixture.name + "-" + URL(fileURLWithPath: features).lastPathComponent + ".npz"
                    let result = try GRURunBinary.run(["--weights", model, "--input", folder + "/x_tokens.npy", "--input", folder + "/" + features,
                                                       "--output", out])
                    XCTAssertEqual(result.status, 0, "\(context): \(result.stderr)")
                    let what = dtype == "bool" ? "booleans" : "\(dtype) values"
                    let note = dtype == "float16" ? ""
                        : "gru-run: note: \(folder)/\(features) holds \(what) and layer 'join' of \(model) reads floats: they were cast to \(fixture.dtype), as Keras casts them\n"
                    XCTAssertEqual(result.stderr, note, context)
                    try NPZTests.assertNPZ(out, matches: folder + "/" + files.expect, tolerance: tolerance, context: context)
                }
            }
        }
    }

    func testTokenIDsOfEveryIntegerDTypeGoToTheEmbeddingAsTheyAre() throws {
        for fixture in try cases() {
            let folder = Fixtures.path("npz/" + fixture.name), model = folder + "/" + fixture.model
            XCTAssertEqual(fixture.tokens.count, 14)  // 8 integer dtypes, and the 6 of two bytes or more big-endian too
            for tokens in fixture.tokens {
                let out = scratch + "/" + fixture.name + "-" + URL(fileURLWithPath: tokens).lastPathComponent + ".npz"
                let result = try GRURunBinary.run(["--weights", model, "--input", folder + "/" + tokens, "--input", folder + "/x_features.npy", "--output", out])
                XCTAssertEqual(result.status, 0, "\(tokens): \(result.stderr)")
                XCTAssertEqual(result.stderr, "", tokens)
                try NPZTests.assertNPZ(out, matches: folder + "/y.npz", tolerance: fixture.dtype == "float64" ? 1e-9 : 1e-5, context: "\(fixture.name) \(tokens)")
            }
        }
    }

    /// A model of one GRU given integer features: cast with the note, and the same numbers as the same values
    /// given as float32 (exactly: a run is deterministic).
    func testIntegersIntoAOneGRUModelAreCastWithANote() throws {
        let layerCase = Fixtures.path("tfkeras/grid_ra0_hardsig_fwd_last")
        let x = try loadNPY(layerCase + "/x1.npy")
        let rounded = x.values.map { ($0 * 3).rounded() }
        var body: [UInt8] = []
        for value in rounded { withUnsafeBytes(of: Int16(value).bigEndian) { body += $0 } }
        try writeFileAtomically(NPYWriter.header(descr: ">i2", shape: x.shape) + body, to: scratch + "/ints.npy")
        try writeFileAtomically(NPYWriter.encode(rounded.map(Float.init), shape: x.shape), to: scratch + "/floats.npy")
        let ints = try GRURunBinary.run(["--weights", layerCase + "/model.h5", "--input", "ints.npy", "--output", "a.npy"], directory: scratch)
        XCTAssertEqual(ints.status, 0, ints.stderr)
        XCTAssertEqual(ints.stderr, "gru-run: note: ints.npy holds int16 values and layer 'gru' of \(layerCase)/model.h5 reads floats: they were cast to float32, as Keras casts them\n")
        let floats = try GRURunBinary.run(["--weights", layerCase + "/model.h5", "--input", "floats.npy", "--output", "b.npy"], directory: scratch)
        XCTAssertEqual(floats.status, 0, floats.stderr)
        XCTAssertEqual(floats.stderr, "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/a.npy")), try Data(contentsOf: URL(fileURLWithPath: scratch + "/b.npy")))
        XCTAssertNotEqual(try loadNPY(scratch + "/a.npy").values, try loadNPY(layerCase + "/y1.npy").values, "the integers are other inputs than x1")
    }
}
