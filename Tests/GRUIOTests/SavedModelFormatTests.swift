import Foundation
import GRUIO
import TestSupport
import XCTest

/// The pieces of the SavedModel reader against known values, tables built here, and every single-byte
/// damage of a real checkpoint index (Fixtures/savedmodel, written by tf-keras 2.21).
final class SavedModelFormatTests: XCTestCase {
    // MARK: CRC-32C

    func testCRC32CMatchesTheCastagnoliCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)  // RFC 3720 B.4
        XCTAssertEqual(CRC32C.extend(CRC32C.checksum(Array("1234".utf8)), Array("56789".utf8)), 0xE306_9283)
        for crc: UInt32 in [0, 1, 0xE306_9283, 0xFFFF_FFFF] {
            XCTAssertEqual(CRC32C.unmask(CRC32C.mask(crc)), crc)
            XCTAssertNotEqual(CRC32C.mask(crc), crc)
        }
    }

    // MARK: protobuf wire format

    func testVarintsAndFixedFieldsReadAsProtobufWritesThem() throws {
        var wire = ProtobufWire([0xAC, 0x02, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        XCTAssertEqual(try wire.varint(), 300)
        XCTAssertEqual(try wire.varint(), 1)
        XCTAssertEqual(try wire.varint(), UInt64.max)
        XCTAssertTrue(wire.isAtEnd)
        // field 1 varint 150, field 2 "hi", field 3 fixed32, field 4 fixed64
        let message: [UInt8] = [0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x1D, 1, 0, 0, 0x80, 0x21, 2, 0, 0, 0, 0, 0, 0, 0x40]
        let fields = try ProtobufWire.fields(message[...])
        XCTAssertEqual(fields.map(\.number), [1, 2, 3, 4])
        XCTAssertEqual(fields[0].varint, 150)
        XCTAssertEqual(fields[1].string, "hi")
        XCTAssertEqual(fields[2].fixed32, 0x8000_0001)
        guard case .fixed64(let value) = fields[3].value else { return XCTFail("field 4 is not fixed64") }
        XCTAssertEqual(value, 0x4000_0000_0000_0002)
    }

    func testDamagedWireDataFailsWithoutTrapping() {
        let damaged: [[UInt8]] = [
            [0x80],                                   // a varint cut short
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],  // a varint beyond 64 bits
            [0x0A, 0x05, 0x01],                       // a length past the end
            [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],     // a length of 4 GB
            [0x0B],                                   // a group (wire type 3)
            [0x00, 0x01],                             // field number 0
            [0x1D, 0x01, 0x02],                       // a fixed32 cut short
        ]
        for bytes in damaged {
            XCTAssertThrowsError(try ProtobufWire.fields(bytes[...]), "\(bytes)") { XCTAssertTrue($0 is ProtobufWire.Failure) }
        }
    }

    // MARK: the .index table

    /// A LevelDB block: entries with shared key prefixes, a restart point every `interval` entries.
    private func block(_ entries: [(String, [UInt8])], interval: Int = 2) -> [UInt8] {
        var out: [UInt8] = [], restarts: [Int] = [], previous: [UInt8] = []
        func varint(_ value: Int) {
            var v = value
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        for (i, (keyText, value)) in entries.enumerated() {
            let key = Array(keyText.utf8)
            var shared = 0
            if i % interval == 0 { restarts.append(out.count) } else {
                while shared < min(key.count, previous.count) && key[shared] == previous[shared] { shared += 1 }
            }
            varint(shared); varint(key.count - shared); varint(value.count)
            out += key[shared...] + value
            previous = key
        }
        for offset in restarts + [restarts.count] { out += withUnsafeBytes(of: UInt32(offset).littleEndian, Array.init) }
        return out
    }

    private func handle(_ offset: Int, _ size: Int) -> [UInt8] {
        var out: [UInt8] = []
        for var v in [offset, size] {
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        return out
    }

    /// data block, empty meta-index block, index block, footer; each block with its trailer.
    private func table(_ entries: [(String, [UInt8])], compression: UInt8 = 0) -> [UInt8] {
        var file: [UInt8] = []
        func append(_ contents: [UInt8]) -> [UInt8] {
            let at = file.count
            file += contents + [compression]
            file += withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(contents + [compression])).littleEndian, Array.init)
            return handle(at, contents.count)
        }
        let data = append(block(entries))
        let meta = append(block([]))
        let index = append(block([(entries.last!.0, data)], interval: 1))
        var footer = meta + index
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += withUnsafeBytes(of: LevelDBTable.magic.littleEndian, Array.init)
        return file + footer
    }

    func testATableReadsBackItsKeysThroughSharedPrefixes() throws {
        let entries: [(String, [UInt8])] = [("", [1]), ("layer-0/kernel", [2, 3]), ("layer-0/kernel/x", []),
                                            ("layer-1/bias", [4]), ("layer-1/biases", [5, 6, 7])]
        let read = try LevelDBTable(table(entries))
        XCTAssertEqual(read.entries.map { String(decoding: $0.key, as: UTF8.self) }, entries.map(\.0))
        XCTAssertEqual(read.entries.map { Array($0.value) }, entries.map(\.1))
    }

    func testADamagedTableIsRefusedWithItsReason() {
        let good = table([("a", [1, 2, 3]), ("b", [4])])
        func reason(_ bytes: [UInt8]) -> String {
            do { _ = try LevelDBTable(bytes); return "read" } catch let failure as LevelDBTable.Failure { return failure.what } catch { return "\(error)" }
        }
        var flipped = good
        flipped[3] ^= 0x01
        XCTAssertEqual(reason(flipped), "has a checksum mismatch in data block 0 (the file is damaged)")
        XCTAssertEqual(reason(Array(good.dropLast())), "does not end in a table's magic number")
        XCTAssertEqual(reason(Array(good.suffix(20))), "is 20 bytes long, shorter than a table's 48-byte footer")
        XCTAssertEqual(reason(table([("a", [1])], compression: 1)),
                       "has the index block compressed with snappy; TensorFlow writes checkpoint tables uncompressed")
    }

    /// Every single-byte change and every truncation of a real index either reads or is refused: no trap.
    func testEveryDamageOfARealIndexIsRefusedOrHarmless() throws {
        let index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("savedmodel/sm_bidi_concat/model/variables/variables.index"))))
        let keys = try LevelDBTable(index).entries.map { String(decoding: $0.key, as: UTF8.self) }
        XCTAssertTrue(keys.contains("_CHECKPOINTABLE_OBJECT_GRAPH"))
        XCTAssertTrue(keys.contains("layer_with_weights-0/forward_layer/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE"))
        var refused = 0
        for position in index.indices {
            for change: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = index
                damaged[position] ^= change
                if (try? LevelDBTable(damaged)) == nil { refused += 1 }
            }
            if (try? LevelDBTable(Array(index.prefix(position)))) == nil { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 3 * index.count)
    }

    // MARK: the tensor bundle

    func testTheCheckpointHoldsTheWeightsKerasSaved() throws {
        let bundle = try TensorBundle(prefix: Fixtures.path("savedmodel/sm_gru_f64/model/variables/variables"))
        XCTAssertEqual(bundle.shardCount, 1)
        let kernel = try bundle.floatArray("layer_with_weights-0/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE", path: "test")
        XCTAssertEqual(kernel.shape, [4, 15])
        XCTAssertEqual(kernel.bits, 64)
        let bias = try bundle.floatArray("layer_with_weights-0/cell/bias/.ATTRIBUTES/VARIABLE_VALUE", path: "test")
        XCTAssertEqual(bias.shape, [15])  // reset_after=False
        XCTAssertFalse(try bundle.scalarString("_CHECKPOINTABLE_OBJECT_GRAPH").isEmpty)
        XCTAssertEqual(bundle.shardPath(0), bundle.prefix + ".data-00000-of-00001")
    }
}
