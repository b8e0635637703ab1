import Foundation
import GRUCore
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
            XCTAssertEqual(try array.doubles(), numbers, name)
            if entry["dtype"]!.string!.hasSuffix("f4") {
                XCTAssertEqual(try array.floats().map(Double.init), numbers, name)
            }
            // The same bytes as a slice whose indices do not start at 0.
            let padded = Data([0, 0, 0]) + (try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("npy/" + name))))
            XCTAssertEqual(try NPYArray(data: padded[3...], path: name).doubles(), numbers, name)
        }
        let mask = try NPYArray(path: Fixtures.path("npy/mask_b1.npy"))
        XCTAssertEqual(mask.element, .bool)
        XCTAssertEqual(try mask.bools(), [true, true, false, true, false, true])
    }

    func testWriterRoundTripsAndAlignsHeader() throws {
        let values: [Float] = [1.5, -0.1, .infinity, 3e-38, 7]
        let bytes = NPYWriter.encode(values, shape: [5])
        XCTAssertEqual((bytes.count - values.count * 4) % 64, 0)
        let array = try NPYArray(bytes: bytes, path: "memory")
        XCTAssertEqual(array.shape, [5])
        XCTAssertEqual(try array.floats(), values)
        let doubles: [Double] = [0.1, -2, .pi, 1e-300, 5, 6]
        XCTAssertEqual(try NPYArray(bytes: NPYWriter.encode(doubles, shape: [2, 3]), path: "m").doubles(), doubles)
    }

    /// Files larger than one conversion block read back exactly through the memory map, whatever the
    /// element type, byte order or memory order, and read again after their pages were released.
    func testLargeMappedFilesConvertAcrossBlocks() throws {
        let count = 600_007  // more than two blocks of every element size, not a whole number of pages
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("npy-large-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let values = (0..<count).map { Double(($0 * 7919) % 100_003) / 64 - 700 }  // exact in float32 too
        func file(_ descr: String, shape: String, _ encode: (Double) -> [UInt8]) throws -> String {
            var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
            var bytes = NPYArray.magic + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)] + Array(text.utf8)
            bytes.reserveCapacity(bytes.count + count * 8)
            for value in values { bytes += encode(value) }
            let path = folder.appendingPathComponent(descr.replacingOccurrences(of: "<", with: "le").replacingOccurrences(of: ">", with: "be")
                                                     + ".npy").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let f4le = try file("<f4", shape: "(\(count),)") { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
        let f4be = try file(">f4", shape: "(\(count),)") { withUnsafeBytes(of: Float($0).bitPattern.bigEndian, Array.init) }
        let f8le = try file("<f8", shape: "(\(count),)") { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let i4be = try file(">i4", shape: "(\(count),)") { withUnsafeBytes(of: Int32($0.rounded(.down)).bigEndian, Array.init) }
        for path in [f4le, f4be, f8le] {
            let array = try NPYArray(path: path)
            XCTAssertEqual(try array.doubles(), values, path)
            XCTAssertEqual(try array.floats(), values.map { Float($0) }, path)
            XCTAssertEqual(try array.doubles(), values, path + ", read a second time")
        }
        let integers = try NPYArray(path: i4be)
        XCTAssertEqual(try integers.floats(), values.map { Float($0.rounded(.down)) })
        XCTAssertEqual(try integers.doubles(), values.map { $0.rounded(.down) })
        // Fortran order: the first 7 x 85715 values as a (7, 85715) array stored column by column.
        let rows = 7, columns = count / 7
        let trimmed = Array(values.prefix(rows * columns))
        let fortranBytes = try Data(contentsOf: URL(fileURLWithPath: f8le))
        var text = "{'descr': '<f8', 'fortran_order': True, 'shape': (\(rows), \(columns)), }"
        text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
        let headerBytes = NPYArray.magic + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)] + Array(text.utf8)
        let fortranPath = folder.appendingPathComponent("fortran.npy").path
        let oldHeader = fortranBytes.count - count * 8
        try (Data(headerBytes) + fortranBytes[oldHeader..<(oldHeader + rows * columns * 8)]).write(to: URL(fileURLWithPath: fortranPath))
        let fortran = try NPYArray(path: fortranPath)
        var expected = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { expected[r * columns + c] = trimmed[c * rows + r] } }
        XCTAssertEqual(try fortran.doubles(), expected)
    }

    /// An .npy read piece by piece gives the array's values, window by window, and its Masking rule; a
    /// file that shrinks under the reader is reported, not read as zeros silently.
    func testFileInputReadsWindowsAndReportsAShrunkFile() throws {
        let (batch, steps, features) = (5, 37, 3)
        var values = (0..<(batch * steps * features)).map { Float($0 % 11) - 5 }
        for f in 0..<features { values[(2 * steps + 4) * features + f] = 0 }  // one fully masked step
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("npy-file-input-\(getpid()).npy").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(NPYWriter.encode(values, shape: [batch, steps, features])).write(to: URL(fileURLWithPath: path))
        let array = try NPYArray(path: path)
        XCTAssertNil(array.fileInput(Double.self, path: path), "float32 data is not read in place as float64")
        let file = try XCTUnwrap(array.fileInput(Float.self, path: path))
        var window = [Float](repeating: .nan, count: 2 * 10 * features)
        window.withUnsafeMutableBufferPointer { file.source.read(1..<3, 20..<30, $0.baseAddress!) }
        var expected: [Float] = []
        for b in 1..<3 { for t in 20..<30 { for f in 0..<features { expected.append(values[(b * steps + t) * features + f]) } } }
        XCTAssertEqual(window, expected)
        XCTAssertEqual(file.maskingRule(maskValue: 0), maskingRule(values, features: features, maskValue: 0))
        XCTAssertEqual(file.maskingRule(maskValue: 0).filter { !$0 }.count, 1)
        XCTAssertNoThrow(try file.check())
        XCTAssertEqual(truncate(path, off_t(200)), 0)
        window.withUnsafeMutableBufferPointer { file.source.read(3..<5, 0..<10, $0.baseAddress!) }
        XCTAssertEqual(window, [Float](repeating: 0, count: window.count), "what could not be read is zeros")
        XCTAssertThrowsError(try file.check()) { XCTAssertTrue("\($0)".contains("could not be read to the end"), "\($0)") }
    }

    /// Values are read from the file when converted: a file cut short after its header was read is
    /// reported as an error (never a signal, never zeros).
    func testAFileThatShrinksBeforeConversionIsAnError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("npy-shrinks-\(getpid()).npy").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let values = (0..<300_000).map { Double($0) }
        try writeFileAtomically(NPYWriter.encode(values, shape: [3, 1000, 100]), to: path)
        let array = try NPYArray(path: path)
        XCTAssertEqual(try array.floats().prefix(3), [0, 1, 2])
        XCTAssertEqual(truncate(path, off_t(1 << 20)), 0)
        XCTAssertThrowsError(try array.floats()) { XCTAssertTrue("\($0)".contains("could not be read to the end"), "\($0)") }
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
