import Foundation
import GRUIO
import TestSupport
import XCTest

/// Every malformed input of Tests/Corpus (see make_corpus.py): one sentence on stderr naming the problem,
/// the sysexits status, nothing on stdout, and an existing output file left byte for byte as it was.
final class CorpusTests: XCTestCase {
    func testMalformedInputsAreRefusedCleanly() throws {
        let root = Fixtures.repositoryRoot.path
        let manifest = try JSONValue.parse(String(contentsOfFile: root + "/Tests/Corpus/cases.json", encoding: .utf8))
        let cases = try XCTUnwrap(manifest["cases"]?.array)
        XCTAssertGreaterThanOrEqual(cases.count, 35)
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let precious = scratch + "/previous-output.npy"
        for entry in cases {
            let name = entry["name"]!.string!
            var arguments = entry["args"]!.array!.compactMap(\.string)
            if !arguments.contains("--output") {
                try writeFileAtomically(Array("earlier results".utf8), to: precious)
                arguments += ["--output", precious]
            }
            let started = Date()
            let result = try GRURunBinary.run(arguments, stdin: [], directory: root)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "\(name) took too long")
            XCTAssertEqual(result.status, Int32(entry["status"]!.number!), "\(name): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.count, 2, "\(name): not one line: \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("gru-run: "), "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(entry["message"]!.string!), "\(name): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("HDF5-DIAG"), name)
            XCTAssertTrue(result.stdout.isEmpty, name)
            if arguments.last == precious {
                XCTAssertEqual(try readWholeFile(precious), Array("earlier results".utf8), "\(name) touched the output")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), ["previous-output.npy"], name)
            }
        }
    }
}
