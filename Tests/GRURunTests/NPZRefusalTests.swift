import Foundation
import GRUIO
import TestSupport
import XCTest

/// A bad .npz ends in one sentence and a non-zero status, with no output written and no crash: arrays that
/// fit the model's inputs badly, and archives that are damaged or hold something else than arrays.
final class NPZRefusalTests: XCTestCase {
    private var scratch = ""
    private let folder = Fixtures.path("npz/tfk_two_heads")
    private var model: String { folder + "/model.h5" }

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func assertRefusal(_ input: String, _ status: Int32, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try GRURunBinary.run(["--weights", model, "--input", input, "--output", "y.npz"], directory: scratch)
        XCTAssertEqual(result.status, status, input, file: file, line: line)
        XCTAssertEqual(result.stderr, "gru-run: " + message + "\n", input, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/y.npz"), file: file, line: line)
    }

    /// An .npz of these members (name, .npy bytes), written by gru-run's own writer.
    private func archive(_ name: String, _ members: [(String, [UInt8])]) throws -> [UInt8] {
        let writer = try AtomicFileWriter(path: scratch + "/" + name)
        let npz = NPZWriter(writer)
        for (member, bytes) in members {
            try npz.add(name: member, bytes: bytes.count) { emit in try bytes.withUnsafeBytes { try emit($0) } }
        }
        try npz.finish()
        try writer.commit()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch + "/" + name)))
    }

    private func npy(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + path))) }

    /// Every occurrence of `old` replaced by `new` (of the same length): a member renamed in its local header
    /// and in the central directory alike.
    private func replacing(_ bytes: [UInt8], _ old: String, _ new: String) -> [UInt8] {
        let (o, n) = (Array(old.utf8), Array(new.utf8))
        precondition(o.count == n.count)
        var result = bytes, i = 0
        while i + o.count <= result.count {
            if Array(result[i..<(i + o.count)]) == o { result.replaceSubrange(i..<(i + o.count), with: n) }
            i += 1
        }
        return result
    }

    func testArraysThatDoNotFitTheInputsAreRefusedNamingBothLists() throws {
        let (tokens, features) = (try npy("x_tokens.npy"), try npy("x_features.npy"))
        let takes = "\(model) takes inputs 'tokens' and 'features'"
        let advice = "; name each array after its input, or save them in the model's order as arr_0, arr_1, ..."
        _ = try archive("missing.npz", [("tokens", tokens)])
        try assertRefusal("missing.npz", 65, "missing.npz holds array 'tokens' and \(takes): input 'features' has no array" + advice)
        _ = try archive("extra.npz", [("tokens", tokens), ("features", features), ("mask", tokens)])
        try assertRefusal("extra.npz", 65, "extra.npz holds arrays 'tokens', 'features' and 'mask' and \(takes): 'mask' matches no input" + advice)
        _ = try archive("renamed.npz", [("ids", tokens), ("features", features)])
        try assertRefusal("renamed.npz", 65, "renamed.npz holds arrays 'ids' and 'features' and \(takes): 'ids' matches no input, input 'tokens' has no array" + advice)
        _ = try archive("twice.npz", [("tokens", tokens), ("arr_0", tokens), ("features", features)])
        try assertRefusal("twice.npz", 65, "twice.npz holds arrays 'tokens', 'arr_0' and 'features' and \(takes): input 'tokens' gets both 'tokens' and 'arr_0'" + advice)
        _ = try archive("arr2.npz", [("arr_0", tokens), ("arr_1", features), ("arr_2", features)])
        try assertRefusal("arr2.npz", 65, "arr2.npz holds arrays 'arr_0', 'arr_1' and 'arr_2' and \(takes): 'arr_2' matches no input" + advice)
        // An .npz holds every input: given with another --input it is refused before anything is read.
        let result = try GRURunBinary.run(["--weights", model, "--input", folder + "/x.npz", "--input", folder + "/x_tokens.npy", "--output", "y.npz"], directory: scratch)
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stderr, "gru-run: --input \(folder)/x.npz is an .npz, which holds every input of a model; give it alone, or give one .npy or CSV file per input.\n")
    }

    func testDamagedArchivesAndMembersThatAreNoArraysAreRefused() throws {
        let (tokens, features) = (try npy("x_tokens.npy"), try npy("x_features.npy"))
        // Two members of one name: np.load would take the last, a zip reader the first.
        let pair = try archive("pair.npz", [("tokens", tokens), ("tokenX", tokens), ("features", features)])
        try writeFileAtomically(replacing(pair, "tokenX.npy", "tokens.npy"), to: scratch + "/duplicate.npz")
        try assertRefusal("duplicate.npz", 65, "duplicate.npz is not a usable .npz archive: it holds 2 members named 'tokens.npy'; np.savez writes each array once.")
        // A member that is not named as an array, and one that is but holds no .npy.
        let notes = try archive("notes.npz", [("tokens", tokens), ("notes", Array("some words".utf8))])
        try writeFileAtomically(replacing(notes, "notes.npy", "notes.txt"), to: scratch + "/text.npz")
        try assertRefusal("text.npz", 65, "text.npz is not a usable .npz archive: member 'notes.txt' is not an .npy array; np.savez names each array NAME.npy.")
        _ = try archive("words.npz", [("tokens", tokens), ("features", Array("some words, not an array".utf8))])
        try assertRefusal("words.npz", 65, "features.npy in words.npz is not a usable .npy array: it does not start with the .npy magic bytes.")
        // A member whose header claims a shape of 3e16 floats in 64 bytes: refused before any memory is taken.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000, 3), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        let huge = NPYArray.magic + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 64)
        _ = try archive("huge.npz", [("tokens", tokens), ("features", huge)])
        try assertRefusal("huge.npz", 65, "features.npy in huge.npz is not a usable .npy array: shape (100000000000, 100000, 3) needs 120000000000000000 bytes of data but the file holds 64.")
        // numpy's own archive, cut in half; and with one byte of an array changed (its CRC no longer matches).
        let saved = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/x.npz")))
        try writeFileAtomically(Array(saved.prefix(saved.count / 2)), to: scratch + "/cut.npz")
        try assertRefusal("cut.npz", 65, "cut.npz is not a usable .npz archive: it is not a readable zip archive (truncated, or not a zip at all; np.savez writes a zip).")
        var altered = saved
        let second = try XCTUnwrap((1..<altered.count - 6).filter { altered[$0..<($0 + 6)].elementsEqual(NPYArray.magic) }.dropFirst().first)
        altered[second + 140] ^= 0x40
        try writeFileAtomically(altered, to: scratch + "/altered.npz")
        try assertRefusal("altered.npz", 65, "altered.npz is not a usable .npz archive: member 'features.npy' does not match its checksum: the archive is damaged.")
        // An archive of nothing, and a zip's bytes under another name, told by their signature.
        try writeFileAtomically([0x50, 0x4B, 5, 6] + [UInt8](repeating: 0, count: 18), to: scratch + "/empty.npz")
        try assertRefusal("empty.npz", 65, "empty.npz is not a usable .npz archive: it holds no arrays.")
        try writeFileAtomically(saved, to: scratch + "/x.data")
        let sniffed = try GRURunBinary.run(["--weights", model, "--input", "x.data", "--output", "y.npz"], directory: scratch)
        XCTAssertEqual(sniffed.status, 0, sniffed.stderr)
        try NPZTests.assertNPZ(scratch + "/y.npz", matches: folder + "/y.npz", tolerance: 1e-5, context: "an .npz named x.data")
    }
}
