import Foundation
import GRUCore
import GRUIO
import TestSupport
import XCTest

/// The environment and odd inputs: GRU_RUN_KERNELS matters only to the commands that compute; .keras
/// archives with repeated members or none, synthetic bench inputs too large to hold, CSV with CR line endings
/// and int64 token ids each get one sentence (or are read as they should be).
final class CommandLineEnvironmentTests: XCTestCase {
    private var scratch = ""
    private let folder = Fixtures.path("tfkeras/grid_ra1_sigmoid_fwd_seq")

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func testKerasArchivesWithRepeatedMembersOrNoneAreRefused() throws {
        let model = Fixtures.path("models/k3_concat_inputs/model.keras")
        for member in ["model.weights.h5", "config.json"] {
            let path = scratch + "/twice.keras"
            try kerasArchiveWithDuplicate(model, to: path, member: member)
            let result = try GRURunBinary.run(["inspect", path])
            XCTAssertEqual(result.status, 65, member)
            XCTAssertEqual(result.stderr, "gru-run: \(path): the archive holds 2 members named \(member), and Keras would read the last; a .keras file holds one.\n")
        }
        let empty = scratch + "/empty.keras"
        try writeFileAtomically([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18), to: empty)
        let result = try GRURunBinary.run(["inspect", empty])
        XCTAssertEqual(result.status, 65)
        XCTAssertEqual(result.stderr, "gru-run: \(empty): the archive is empty, so it is no .keras model (one holds metadata.json, config.json and model.weights.h5).\n")
    }
}
