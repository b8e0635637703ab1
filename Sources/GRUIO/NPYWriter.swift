import Foundation
import GRUCore

/// Writes .npy version 1.0 files, little-endian, C order.
public enum NPYWriter {
    /// Writes the header and then the values straight from their storage, without a second copy.
    public static func write<S: BinaryFloatingPoint>(_ values: [S], shape: [Int], to writer: AtomicFileWriter) throws {
        precondition(S.self == Float.self || S.self == Double.self)
        try writer.write(header(descr: S.self == Float.self ? "<f4" : "<f8", shape: shape))
        let chunk = 1 << 18
        var start = 0
        while start < values.count {
            let end = min(values.count, start + chunk)
            try values[start..<end].withUnsafeBytes { try writer.write($0) }  // the host is little-endian
            start = end
        }
    }

    public static func encode(_ values: [Float], shape: [Int]) -> [UInt8] {
        var bytes = header(descr: "<f4", shape: shape)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    public static func encode(_ values: [Double], shape: [Int]) -> [UInt8] {
        var bytes = header(descr: "<f8", shape: shape)
        bytes.reserveCapacity(bytes.count + values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// The magic, version 1.0, and a dict header padded with spaces and a newline to a multiple of 64 bytes.
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = text.utf8.count
        return NPYArray.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
    }
}
