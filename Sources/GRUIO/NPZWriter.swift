import Foundation
import ZIPFoundation

/// Writes an `.npz` as `np.savez` does: a zip whose members `NAME.npy` are stored, not compressed, so that
/// `np.load` (and `np.load(mmap_mode=...)` readers) see the .npy bytes as they are. Streamed: each member's
/// CRC and sizes follow its bytes in a data descriptor (as Python's zipfile writes to a pipe), so nothing is
/// held twice and standard output works too. Members or an archive past 4 GB get ZIP64 records.
public final class NPZWriter {
    private let writer: AtomicFileWriter
    private let forceZip64: Bool
    private var offset: UInt64 = 0
    private var central: [UInt8] = []
    private var count = 0
    private var names = Set<String>()

    /// `forceZip64` writes every member with ZIP64 sizes, as Python's `force_zip64` does (for tests).
    public init(_ writer: AtomicFileWriter, forceZip64: Bool = false) {
        self.writer = writer
        self.forceZip64 = forceZip64
    }

    /// An array of float32 or float64 values in C order, little-endian.
    public func add<S: BinaryFloatingPoint>(name: String, values: [S], shape: [Int]) throws {
        precondition(S.self == Float.self || S.self == Double.self)
        let header = NPYWriter.header(descr: S.self == Float.self ? "<f4" : "<f8", shape: shape)
        try add(name: name, bytes: header.count + values.count * MemoryLayout<S>.size) { emit in
            try header.withUnsafeBytes { try emit($0) }
            var start = 0
            while start < values.count {
                let end = min(values.count, start + (1 << 18))
                try values[start..<end].withUnsafeBytes { try emit($0) }  // the host is little-endian
                start = end
            }
        }
    }

    /// A member `NAME.npy` of `bytes` bytes, which `body` hands to the closure it is given, in pieces.
    public func add(name: String, bytes: Int, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        precondition(names.insert(name).inserted, "an .npz member written twice")
        let fileName = Array((name + ".npy").utf8)
        let size = UInt64(bytes)
        let zip64 = forceZip64 || size >= 0xFFFF_FFFF
        let flags: UInt16 = 0x0008 | (fileName.allSatisfy { $0 < 0x80 } ? 0 : 0x0800)  // data descriptor; UTF-8 name
        let version: UInt16 = zip64 ? 45 : 20
        let start = offset

        var local = ZipBytes()
        local.u32(0x0403_4B50); local.u16(version); local.u16(flags); local.u16(0)  // stored
        local.u16(0); local.u16(0x21)  // 1980-01-01 00:00: the same archive for the same arrays
        local.u32(0)  // CRC-32, sizes: in the data descriptor
        local.u32(zip64 ? 0xFFFF_FFFF : 0); local.u32(zip64 ? 0xFFFF_FFFF : 0)
        local.u16(UInt16(fileName.count)); local.u16(zip64 ? 20 : 0)
        local.bytes += fileName
        if zip64 { local.u16(0x0001); local.u16(16); local.u64(0); local.u64(0) }
        try emit(local.bytes)

        var crc: CRC32 = 0
        var written: UInt64 = 0
        try body { piece in
            guard piece.count > 0 else { return }
            crc = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: piece.baseAddress!), count: piece.count, deallocator: .none).crc32(checksum: crc)
            try writer.write(piece)
            written += UInt64(piece.count)
        }
        precondition(written == size, "an .npz member's size differs from the size announced")
        offset += written

        var descriptor = ZipBytes()
        descriptor.u32(0x0807_4B50); descriptor.u32(crc)
        if zip64 { descriptor.u64(size); descriptor.u64(size) } else { descriptor.u32(UInt32(size)); descriptor.u32(UInt32(size)) }
        try emit(descriptor.bytes)

        // The central directory's entry: sizes and offset past 32 bits go to its ZIP64 field.
        var extra = ZipBytes()
        // An offset goes to the ZIP64 field only when it needs to, as Python's zipfile writes it (ZIPFoundation
        // reads a zero there as "not given").
        let bigSize = zip64, bigOffset = start >= 0xFFFF_FFFF
        if bigSize || bigOffset {
            extra.u16(0x0001); extra.u16(UInt16((bigSize ? 16 : 0) + (bigOffset ? 8 : 0)))
            if bigSize { extra.u64(size); extra.u64(size) }
            if bigOffset { extra.u64(start) }
        }
        var entry = ZipBytes()
        entry.u32(0x0201_4B50); entry.u16(0x0300 | version); entry.u16(version); entry.u16(flags); entry.u16(0)
        entry.u16(0); entry.u16(0x21); entry.u32(crc)
        entry.u32(bigSize ? 0xFFFF_FFFF : UInt32(size)); entry.u32(bigSize ? 0xFFFF_FFFF : UInt32(size))
        entry.u16(UInt16(fileName.count)); entry.u16(UInt16(extra.bytes.count)); entry.u16(0); entry.u16(0); entry.u16(0)
        entry.u32(0o100644 << 16)  // a regular file, rw-r--r--
        entry.u32(bigOffset ? 0xFFFF_FFFF : UInt32(start))
        entry.bytes += fileName + extra.bytes
        central += entry.bytes
        count += 1
    }

    /// The central directory and its end record (with the ZIP64 ones where counts or offsets need them).
    public func finish() throws {
        let directoryStart = offset, directorySize = UInt64(central.count)
        try emit(central)
        var end = ZipBytes()
        let zip64 = forceZip64 || count >= 0xFFFF || directoryStart >= 0xFFFF_FFFF || directorySize >= 0xFFFF_FFFF
        if zip64 {
            let recordStart = offset
            end.u32(0x0606_4B50); end.u64(44); end.u16(0x032D); end.u16(45); end.u32(0); end.u32(0)
            end.u64(UInt64(count)); end.u64(UInt64(count)); end.u64(directorySize); end.u64(directoryStart)
            end.u32(0x0706_4B50); end.u32(0); end.u64(recordStart); end.u32(1)
        }
        end.u32(0x0605_4B50); end.u16(0); end.u16(0)
        end.u16(zip64 ? 0xFFFF : UInt16(count)); end.u16(zip64 ? 0xFFFF : UInt16(count))
        end.u32(zip64 ? 0xFFFF_FFFF : UInt32(directorySize)); end.u32(zip64 ? 0xFFFF_FFFF : UInt32(directoryStart))
        end.u16(0)
        try emit(end.bytes)
    }

    private func emit(_ bytes: [UInt8]) throws {
        try writer.write(bytes)
        offset += UInt64(bytes.count)
    }
}

/// Little-endian fields of zip records.
private struct ZipBytes {
    var bytes: [UInt8] = []
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
}
