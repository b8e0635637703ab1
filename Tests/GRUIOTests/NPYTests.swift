import Foundation
import GRUIO
import TestSupport
import XCTest

final class NPYTests: XCTestCase {
    /// Every header version, byte order and memory order numpy writes decodes to numpy's values.
    func testNumpyWrittenFilesDecode() throws {
        let text = try String(contentsOf: Fixtures.root.appendingPathComponent("npy/expected.json"), encoding: .utf8)
        let files = try XCTUnwrap(JSONValue.parse(text)["files"]?.array)
        XCTAssertGreaterThanOrEqual(files.count, 9)
        for entry in files where entry["dtype"]?.string != "|b1" {
            let name = entry["file"]!.string!
            let numbers = entry["values"]!.array!.map { $0.number! }
            let array = try NPYArray(path: Fixtures.path("npy/" + name))
            XCTAssertEqual(array.shape, entry["shape"]!.array!.map { Int($0.number!) }, name)
            XCTAssertEqual(array.doubles(), numbers, name)
            if entry["dtype"]!.string!.hasSuffix("f4") {
                XCTAssertEqual(array.floats().map(Double.init), numbers, name)
            }
            // The same bytes as a slice whose indices do not start at 0.
            let padded = Data([0, 0, 0]) + (try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("npy/" + name))))
            XCTAssertEqual(try NPYArray(data: padded[3...], path: name).doubles(), numbers, name)
        }
        let mask = try NPYArray(path: Fixtures.path("npy/mask_b1.npy"))
        XCTAssertEqual(mask.element, .bool)
        XCTAssertEqual(mask.bools(), [true, true, false, true, false, true])
    }

    func testWriterRoundTripsAndAlignsHeader() throws {
        let values: [Float] = [1.5, -0.1, .infinity, 3e-38, 7]
        let bytes = NPYWriter.encode(values, shape: [5])
        XCTAssertEqual((bytes.count - values.count * 4) % 64, 0)
        let array = try NPYArray(bytes: bytes, path: "memory")
        XCTAssertEqual(array.shape, [5])
        XCTAssertEqual(array.floats(), values)
        let doubles: [Double] = [0.1, -2, .pi, 1e-300, 5, 6]
        XCTAssertEqual(try NPYArray(bytes: NPYWriter.encode(doubles, shape: [2, 3]), path: "m").doubles(), doubles)
    }

    private func header(_ dict: String, version: UInt8 = 1) -> [UInt8] {
        let text = Array(dict.utf8) + [0x0A]
        return NPYArray.magic + [version, 0, UInt8(text.count), 0] + text
    }

    func testMalformedHeadersAreRefusedWithReasons() {
        let cases: [(String, [UInt8], String)] = [
            ("not npy", Array("hello world".utf8), "magic"),
            ("version", NPYArray.magic + [9, 0, 0, 0], "version 9.0"),
            ("descr", header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }") + [UInt8](repeating: 0, count: 8), "'<c8'"),
            ("shape", header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "shape"),
            ("huge", header("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"), "needs 80000000000 bytes"),
            ("overflow", header("{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999, 999999999999), }"), "too many values"),
            ("code", header("{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,), }"), "'descr'"),
            ("truncated", header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") + [0, 0, 0, 0], "holds 4"),
            ("header length", NPYArray.magic + [1, 0, 0xFF, 0x7F] + Array("{".utf8), "header claims"),
        ]
        for (name, bytes, fragment) in cases {
            XCTAssertThrowsError(try NPYArray(bytes: bytes, path: "bad.npy"), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("bad.npy is not a usable .npy array: "), "\(name): \(text)")
                XCTAssertTrue(text.contains(fragment), "\(name): \(text)")
            }
        }
    }
}
