import Foundation
import GRUCore

/// Element types gru-run reads from .npy files.
public enum NPYElement: Equatable, Sendable {
    case float(bits: Int, bigEndian: Bool)
    case integer(bytes: Int, signed: Bool, bigEndian: Bool)
    case bool

    var size: Int {
        switch self {
        case .float(let bits, _): return bits / 8
        case .integer(let bytes, _, _): return bytes
        case .bool: return 1
        }
    }
}

/// A numpy array read from `.npy` bytes: header validated as data, never evaluated; values in C order.
public struct NPYArray: Sendable {
    public var shape: [Int]
    public var element: NPYElement
    /// The raw element bytes in C order (Fortran-order files are reordered on reading). For a regular file
    /// this is a slice of its memory map, released page by page as the values are converted, so a large
    /// input is resident once, in the computation's type.
    var payload: Data
    /// The memory map `payload` points into, if any.
    var mapping: MappedFile?

    /// The `\x93NUMPY` magic that starts every .npy file.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    public var count: Int { shape.reduce(1, *) }

    /// Parses a whole .npy file held in `bytes`; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        try self.init(data: Data(bytes), path: path)
    }

    /// Reads a .npy file through a memory map (standard input, pipes and devices are read whole).
    public init(path: String) throws {
        let descriptor = try openForReading(path)
        var info = stat()
        guard descriptor != 0, fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else {
            let bytes = try readRemaining(descriptor: descriptor, after: [], path: path)
            if descriptor != 0 { close(descriptor) }
            try self.init(bytes: bytes, path: path)
            return
        }
        guard let mapping = MappedFile(descriptor: descriptor, length: Int(info.st_size)) else {
            close(descriptor)
            throw GRUIOError.read(path: path, "it could not be mapped into memory")
        }
        try self.init(data: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: mapping.base), count: mapping.length,
                                 deallocator: .none), path: path)
        if payload.count > 0, let base = payload.withUnsafeBytes({ $0.baseAddress }),
           base >= mapping.base, base < mapping.base + mapping.length {
            self.mapping = mapping
        } else {
            // Reordered (Fortran order) or empty: the payload no longer points into the map.
            payload = Data(payload)
        }
    }

    /// Parses a .npy file held in `data`.
    public init(data: Data, path: String) throws {
        let bytes = data.startIndex == 0 ? data : Data(data)  // indices below count from 0
        func fail(_ what: String) -> GRUIOError { .npy(path: path, what) }
        guard bytes.count >= 10, bytes.prefix(6).elementsEqual(NPYArray.magic) else {
            throw fail("it does not start with the .npy magic bytes")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("the header is truncated") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw fail("format version \(major).\(bytes[7]) is not 1.0, 2.0 or 3.0")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw fail("the header claims \(headerLength) bytes but the file holds \(bytes.count - headerStart) after it")
        }
        let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
        guard let header = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("the header is not text")
        }
        let fields = try NPYHeader.parse(header, fail: fail)
        let element = try NPYHeader.element(from: fields.descr, fail: fail)
        guard let count = checkedProduct(fields.shape) else {
            throw fail("shape \(describe(fields.shape)) has a negative dimension or too many values")
        }
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        let (needed, overflow) = count.multipliedReportingOverflow(by: element.size)
        guard !overflow, needed <= available else {
            throw fail("shape \(describe(fields.shape)) needs \(overflow ? "more than \(Int.max)" : String(needed)) bytes of data but the file holds \(available)")
        }
        self.shape = fields.shape
        self.element = element
        let body = bytes[(bytes.startIndex + dataStart)..<(bytes.startIndex + dataStart + needed)]
        self.payload = fields.fortranOrder && fields.shape.count > 1
            ? Data(NPYArray.fortranToC([UInt8](body), shape: fields.shape, size: element.size)) : body
    }

    /// Calls `body` with consecutive blocks of the payload, each a whole number of elements; pages of a
    /// memory map are released once their block has been read (they read back from the file if needed).
    private func forEachBlock(_ body: (UnsafeRawBufferPointer, _ first: Int, _ count: Int) -> Void) {
        let size = element.size, total = count
        let block = max(1, (1 << 20) / size)
        payload.withUnsafeBytes { raw in
            var first = 0
            while first < total {
                let n = min(block, total - first)
                body(UnsafeRawBufferPointer(rebasing: raw[(first * size)..<((first + n) * size)]), first, n)
                first += n
                mapping?.release(upTo: raw.baseAddress! + first * size)
            }
        }
    }

    /// Values as Double, whatever the stored element type.
    public func doubles() -> [Double] { converted(Double.self) }

    /// Values as Float; float32 files are read without a detour through Double.
    public func floats() -> [Float] { converted(Float.self) }

    /// The values in `T`: float32 elements from their Float value, all others from their exact Double
    /// value (numpy's astype).
    private func converted<T: BinaryFloatingPoint>(_ type: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: count) { result, initialized in
            forEachBlock { raw, first, n in
                let out = result.baseAddress! + first
                switch element {
                case .float(32, let big):
                    for i in 0..<n {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                        out[i] = T(Float(bitPattern: big ? bits.byteSwapped : bits))
                    }
                case .float(_, let big):
                    for i in 0..<n {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        out[i] = T(Double(bitPattern: big ? bits.byteSwapped : bits))
                    }
                case .bool:
                    for i in 0..<n { out[i] = raw[i] != 0 ? 1 : 0 }
                case .integer(let size, let signed, let big):
                    for i in 0..<n {
                        var value: UInt64 = 0
                        for k in 0..<size {
                            let byte = UInt64(raw[i * size + (big ? size - 1 - k : k)])
                            value |= byte << (8 * UInt64(k))
                        }
                        if signed && size < 8 && value & (1 << (8 * UInt64(size) - 1)) != 0 {
                            value |= ~0 << (8 * UInt64(size))
                        }
                        out[i] = T(signed ? Double(Int64(bitPattern: value)) : Double(value))
                    }
                }
            }
            initialized = count
        }
    }

    /// Nonzero values are true, as numpy's `astype(bool)`.
    public func bools() -> [Bool] {
        doubles().map { $0 != 0 }
    }

    private static func fortranToC(_ data: [UInt8], shape: [Int], size: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: data.count)
        let count = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: shape.count)  // C-order multi-index
        for c in 0..<count {
            var f = 0
            var stride = 1
            for axis in 0..<shape.count {
                f += index[axis] * stride
                stride *= shape[axis]
            }
            for k in 0..<size { result[c * size + k] = data[f * size + k] }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}

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
            try values[start..<end].withUnsafeBytes { try writer.write(Array($0)) }  // the host is little-endian
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
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = text.utf8.count
        return NPYArray.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
    }
}
