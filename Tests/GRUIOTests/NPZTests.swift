import Foundation
import GRUIO
import TestSupport
import XCTest

/// The .npz reader on numpy's own archives, the writer read back (plain and ZIP64), and the element types
/// added for model inputs: float16 exactly, integers rounded once as numpy's astype rounds them.
final class NPZArchiveTests: XCTestCase {
    private let folder = Fixtures.path("npz/tfk_two_heads")

    /// np.savez (stored, ZIP64 local headers as numpy forces them) and np.savez_compressed (deflated) read
    /// to the arrays np.save wrote of the same values, in the archive's order.
    func testNumpyArchivesReadToTheirArrays() throws {
        let tokens = try NPYArray(path: folder + "/x_tokens.npy"), features = try NPYArray(path: folder + "/x_features.npy")
        for (file, names) in [("x.npz", ["tokens", "features"]), ("x_arr.npz", ["arr_0", "arr_1"]), ("x_compressed.npz", ["features", "tokens"])] {
            let archive = try NPZArchive(path: folder + "/" + file)
            XCTAssertEqual(archive.names, names, file)
            let byName = file == "x_arr.npz" ? ["arr_0": tokens, "arr_1": features] : ["tokens": tokens, "features": features]
            for member in archive.members {
                let expected = try XCTUnwrap(byName[member.name])
                XCTAssertEqual(member.array.shape, expected.shape, file)
                XCTAssertEqual(member.array.element, expected.element, file)
                XCTAssertEqual(try member.array.doubles(), try expected.doubles(), file)
            }
        }
        XCTAssertEqual(try NPZArchive(path: folder + "/x.npz").memberPath(1), "features.npy in \(folder)/x.npz")
    }

    /// What the writer writes reads back, names and values, with plain and with ZIP64 records (as Python's
    /// zipfile with force_zip64), and unzip's own test of the archive passes where unzip exists.
    func testWrittenArchivesReadBack() throws {
        for forceZip64 in [false, true] {
            let writer = AtomicFileWriter(inMemory: "w.npz")
            let npz = NPZWriter(writer, forceZip64: forceZip64)
            let floats: [Float] = [1.5, -2, .pi, 0, 1e-30, -.infinity]
            let doubles: [Double] = (0..<24).map { Double($0) / 7 }
            try npz.add(name: "first", values: floats, shape: [2, 3])
            try npz.add(name: "über", values: doubles, shape: [2, 3, 4])
            try npz.finish()
            let archive = try NPZArchive(bytes: writer.memory!, name: "w.npz")
            XCTAssertEqual(archive.names, ["first", "über"])
            XCTAssertEqual(archive["first"]?.shape, [2, 3])
            XCTAssertEqual(try archive["first"]!.floats(), floats)
            XCTAssertEqual(archive["über"]?.element, .float(bits: 64, bigEndian: false))
            XCTAssertEqual(try archive["über"]!.doubles(), doubles)
            // The same arrays give the same bytes: nothing of the clock goes in.
            let again = AtomicFileWriter(inMemory: "w.npz")
            let second = NPZWriter(again, forceZip64: forceZip64)
            try second.add(name: "first", values: floats, shape: [2, 3])
            try second.add(name: "über", values: doubles, shape: [2, 3, 4])
            try second.finish()
            XCTAssertEqual(again.memory, writer.memory)
        }
    }

    /// float16 values of every kind read exactly, little- and big-endian; integers past 2^53 rounded once to
    /// float32 (through Double first, 2^60 + 2^36 + 1 would round to 2^60, not to 2^60 + 2^37 as numpy's astype).
    func testFloat16AndLargeIntegersConvertAsNumpyDoes() throws {
        let halves: [(UInt16, Float)] = [(0x3C00, 1), (0xC100, -2.5), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x0400, 0x1p-14),
                                         (0x8000, -0.0), (0x7C00, .infinity), (0xFC00, -.infinity), (0x3555, 0.333251953125)]
        for big in [false, true] {
            var body: [UInt8] = []
            for (bits, _) in halves { withUnsafeBytes(of: big ? bits.bigEndian : bits.littleEndian) { body += $0 } }
            let array = try NPYArray(bytes: NPYWriter.header(descr: big ? ">f2" : "<f2", shape: [halves.count]) + body, path: "h.npy")
            XCTAssertEqual(array.element, .float(bits: 16, bigEndian: big))
            XCTAssertEqual(array.element.numpyName, "float16")
            XCTAssertEqual(try array.floats().map(\.bitPattern), halves.map(\.1.bitPattern))
            XCTAssertEqual(try array.doubles(), halves.map { Double($0.1) })
        }
        let value: Int64 = 1 << 60 + 1 << 36 + 1
        var body: [UInt8] = []
        for v in [value, -value] { withUnsafeBytes(of: v.littleEndian) { body += $0 } }
        let ints = try NPYArray(bytes: NPYWriter.header(descr: "<i8", shape: [2]) + body, path: "i.npy")
        let expected: Float = 0x1p60 + 0x1p37
        XCTAssertEqual(try ints.floats(), [expected, -expected])
        XCTAssertNotEqual(Float(Double(value)), expected, "through Double the value rounds twice")
        var unsigned: [UInt8] = []
        withUnsafeBytes(of: UInt64.max.bigEndian) { unsigned += $0 }
        XCTAssertEqual(try NPYArray(bytes: NPYWriter.header(descr: ">u8", shape: [1]) + unsigned, path: "u.npy").floats(), [0x1p64])
    }

    /// Fortran order reorders elements of every size, booleans and float16 included.
    func testFortranOrderOfEveryElementSize() throws {
        for (descr, size) in [("|i1", 1), ("|b1", 1), ("<f2", 2), (">u2", 2), ("<i4", 4), (">i8", 8)] {
            // A (2, 3) array whose Fortran bytes hold column by column the values 0..5 of C order [[0, 2, 4], [1, 3, 5]].
            var header = "{'descr': '\(descr)', 'fortran_order': True, 'shape': (2, 3), }"
            header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
            var body: [UInt8] = []
            for k in 0..<6 {
                var element = [UInt8](repeating: 0, count: size)
                let encoded: UInt16 = descr == "<f2" ? [0x0000, 0x3C00, 0x4000, 0x4200, 0x4400, 0x4500][k] : UInt16(descr == "|b1" ? k % 2 : k)
                let bytes = [UInt8(encoded & 0xFF), UInt8(encoded >> 8)]
                if descr.hasPrefix(">") { element[size - 1] = bytes[0]; if size > 1 { element[size - 2] = bytes[1] } }
                else { element[0] = bytes[0]; if size > 1 { element[1] = bytes[1] } }
                body += element
            }
            let array = try NPYArray(bytes: NPYArray.magic + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + body, path: "f.npy")
            XCTAssertEqual(try array.doubles(), descr == "|b1" ? [0, 0, 0, 1, 1, 1] : [0, 2, 4, 1, 3, 5], descr)
        }
    }
}
