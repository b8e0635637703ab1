import Foundation
import GRUCore

/// Element types gru-run reads from .npy files.
public enum NPYElement: Equatable, Sendable {
    case float(bits: Int, bigEndian: Bool)
    case integer(bytes: Int, signed: Bool, bigEndian: Bool)
    case bool

    public var size: Int {
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
    /// The raw element bytes in C order, when held in memory (streams, and Fortran-order files, which are
    /// reordered on reading).
    var payload: Data
    /// A regular file's element bytes are not held: they are read from the file a block at a time when the
    /// values are converted, so a large input is resident once, in the computation's type.
    var file: InputFile?
    var fileOffset = 0

    /// The `\x93NUMPY` magic that starts every .npy file.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// Longer headers are refused: numpy writes a few hundred bytes.
    static let maximumHeaderBytes = 1 << 20

    public var count: Int { shape.reduce(1, *) }

    /// Parses a whole .npy file held in `bytes`; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        try self.init(data: Data(bytes), path: path)
    }

    /// Reads a .npy file (standard input, pipes and devices are read whole).
    public init(path: String) throws {
        try self.init(input: try InputFile(path: path))
    }

    /// Reads the header of an opened input; a regular file's values stay in the file until converted.
    public init(input: InputFile) throws {
        guard input.isRegular else {
            try self.init(bytes: try input.readAll(), path: input.path)
            return
        }
        let path = input.path
        let (headerStart, headerLength) = try NPYArray.headerExtent(try input.prefix(12), path: path, available: input.size)
        guard headerLength <= NPYArray.maximumHeaderBytes else {
            throw GRUIOError.npy(path: path, "the header claims \(headerLength) bytes, more than a .npy header needs")
        }
        let layout = try NPYArray.layout(try input.prefix(headerStart + headerLength), path: path, available: input.size)
        guard layout.fortranOrder else {
            self.init(shape: layout.shape, element: layout.element, payload: Data(), file: input, fileOffset: layout.dataStart)
            return
        }
        try MemoryBudget.reserve(MemoryBudget.bytes(layout.bytes, 2), for: "reordering \(path) from Fortran order")
        var body = [UInt8](repeating: 0, count: layout.bytes)
        let filled = try body.withUnsafeMutableBytes { try input.read(into: $0.baseAddress!, count: $0.count, offset: layout.dataStart) }
        guard filled == layout.bytes else { throw NPYArray.changed(path) }
        self.init(shape: layout.shape, element: layout.element,
                  payload: Data(NPYArray.fortranToC(body, shape: layout.shape, size: layout.element.size)), file: nil, fileOffset: 0)
    }

    private init(shape: [Int], element: NPYElement, payload: Data, file: InputFile?, fileOffset: Int) {
        self.shape = shape
        self.element = element
        self.payload = payload
        self.file = file
        self.fileOffset = fileOffset
    }

    /// Parses a .npy file held in `data`.
    public init(data: Data, path: String) throws {
        let bytes = data.startIndex == 0 ? data : Data(data)  // indices below count from 0
        let layout = try NPYArray.layout(bytes, path: path, available: bytes.count)
        self.shape = layout.shape
        self.element = layout.element
        let body = bytes[layout.dataStart..<(layout.dataStart + layout.bytes)]
        self.payload = layout.fortranOrder ? Data(NPYArray.fortranToC([UInt8](body), shape: layout.shape, size: layout.element.size)) : body
    }

    /// Where the header starts and how long it is, from the first 12 bytes.
    private static func headerExtent<C: Collection>(_ bytes: C, path: String, available: Int) throws -> (start: Int, length: Int)
        where C.Element == UInt8, C.Index == Int {
        func fail(_ what: String) -> GRUIOError { .npy(path: path, what) }
        let b = Array(bytes)
        guard b.count >= 10, b.prefix(6).elementsEqual(NPYArray.magic) else {
            throw fail("it does not start with the .npy magic bytes")
        }
        let start: Int, length: Int
        switch b[6] {
        case 1:
            (start, length) = (10, Int(b[8]) | Int(b[9]) << 8)
        case 2, 3:
            guard b.count >= 12 else { throw fail("the header is truncated") }
            (start, length) = (12, (0..<4).reduce(0) { $0 | Int(b[8 + $1]) << (8 * $1) })
        default:
            throw fail("format version \(b[6]).\(b[7]) is not 1.0, 2.0 or 3.0")
        }
        guard length <= available - start else {
            throw fail("the header claims \(length) bytes but the file holds \(available - start) after it")
        }
        return (start, length)
    }

    /// Shape, element type and where the values lie, from bytes that hold at least the whole header;
    /// `available` is the file's whole size.
    private static func layout(_ bytes: some Collection<UInt8>, path: String, available: Int)
        throws -> (shape: [Int], element: NPYElement, fortranOrder: Bool, dataStart: Int, bytes: Int) {
        func fail(_ what: String) -> GRUIOError { .npy(path: path, what) }
        let b = Array(bytes.prefix(12))
        let (headerStart, headerLength) = try headerExtent(b, path: path, available: available)
        let headerBytes = Array(bytes.dropFirst(headerStart).prefix(headerLength))
        guard let header = String(bytes: headerBytes, encoding: b[6] == 3 ? .utf8 : .isoLatin1) else {
            throw fail("the header is not text")
        }
        let fields = try NPYHeader.parse(header, fail: fail)
        let element = try NPYHeader.element(from: fields.descr, fail: fail)
        guard let count = checkedProduct(fields.shape) else {
            throw fail("shape \(describe(fields.shape)) has a negative dimension or too many values")
        }
        let dataStart = headerStart + headerLength
        let held = available - dataStart
        let (needed, overflow) = count.multipliedReportingOverflow(by: element.size)
        guard !overflow, needed <= held else {
            throw fail("shape \(describe(fields.shape)) needs \(overflow ? "more than \(Int.max)" : String(needed)) bytes of data but the file holds \(held)")
        }
        return (fields.shape, element, fields.fortranOrder && fields.shape.count > 1, dataStart, needed)
    }

    static func changed(_ path: String) -> GRUIOError {
        .read(path: path, "it could not be read to the end; did it change while gru-run was reading it?")
    }

    /// Calls `body` with consecutive blocks of the values, each a whole number of elements; a file's values
    /// are read a block at a time.
    private func forEachBlock(_ body: (UnsafeRawBufferPointer, _ first: Int, _ count: Int) -> Void) throws {
        let size = element.size, total = count
        let block = max(1, (1 << 20) / size)
        if let file {
            var buffer = [UInt8](repeating: 0, count: min(total, block) * size)
            var first = 0
            while first < total {
                let n = min(block, total - first)
                try buffer.withUnsafeMutableBytes { raw in
                    let filled = try file.read(into: raw.baseAddress!, count: n * size, offset: fileOffset + first * size)
                    guard filled == n * size else { throw NPYArray.changed(file.path) }
                    body(UnsafeRawBufferPointer(rebasing: raw[0..<(n * size)]), first, n)
                }
                first += n
            }
            return
        }
        payload.withUnsafeBytes { raw in
            var first = 0
            while first < total {
                let n = min(block, total - first)
                body(UnsafeRawBufferPointer(rebasing: raw[(first * size)..<((first + n) * size)]), first, n)
                first += n
            }
        }
    }

    /// Values as Double, whatever the stored element type.
    public func doubles() throws -> [Double] { try converted(Double.self) }

    /// Values as Float; float32 files are read without a detour through Double.
    public func floats() throws -> [Float] { try converted(Float.self) }

    /// The values in `T`, as numpy's astype gives them: float16 and float32 elements from their Float
    /// value, float64 ones from their Double value, integers rounded once to the nearest `T`, bools 0 or 1.
    private func converted<T: BinaryFloatingPoint>(_ type: T.Type) throws -> [T] {
        try MemoryBudget.reserve(MemoryBudget.bytes(count, MemoryLayout<T>.size), for: "converting \(file?.displayPath ?? "the array")")
        return try [T](unsafeUninitializedCapacity: count) { result, initialized in
            // Stored as the values are held (float32 into Float, float64 into Double, in this machine's byte
            // order): read straight into the result, without a pass over a block buffer.
            if let file, storedAsHeld(T.self) {
                let bytes = count * MemoryLayout<T>.size
                var done = 0
                while done < bytes {
                    let n = min(bytes - done, 1 << 24)
                    let filled = try file.read(into: UnsafeMutableRawPointer(result.baseAddress!) + done, count: n, offset: fileOffset + done)
                    guard filled == n else { throw NPYArray.changed(file.path) }
                    done += n
                }
                initialized = count
                return
            }
            try forEachBlock { raw, first, n in
                let out = result.baseAddress! + first
                switch element {
                case .float(32, let big):
                    for i in 0..<n {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                        out[i] = T(Float(bitPattern: big ? bits.byteSwapped : bits))
                    }
                case .float(16, let big):
                    // Every float16 value is exact in float32 and float64.
                    for i in 0..<n {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                        out[i] = T(Float(Float16(bitPattern: big ? bits.byteSwapped : bits)))
                    }
                case .float(_, let big):
                    for i in 0..<n {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        out[i] = T(Double(bitPattern: big ? bits.byteSwapped : bits))
                    }
                case .bool:
                    for i in 0..<n { out[i] = raw[i] != 0 ? 1 : 0 }
                case .integer(let size, let signed, let big):
                    // Rounded once, from the integer itself, as numpy's astype and TensorFlow's cast round
                    // (through Double first, an int64 past 2^53 would be rounded twice).
                    for i in 0..<n {
                        var value: UInt64 = 0
                        for k in 0..<size {
                            let byte = UInt64(raw[i * size + (big ? size - 1 - k : k)])
                            value |= byte << (8 * UInt64(k))
                        }
                        if signed && size < 8 && value & (1 << (8 * UInt64(size) - 1)) != 0 {
                            value |= ~0 << (8 * UInt64(size))
                        }
                        out[i] = signed ? T(Int64(bitPattern: value)) : T(value)
                    }
                }
            }
            initialized = count
        }
    }

    /// Whether the stored elements are `T`'s own bytes.
    private func storedAsHeld<T: BinaryFloatingPoint>(_ type: T.Type) -> Bool {
        #if _endian(little)
        switch element {
        case .float(32, false): return T.self == Float.self
        case .float(64, false): return T.self == Double.self
        default: return false
        }
        #else
        return false
        #endif
    }

    /// Nonzero values are true, as numpy's `astype(bool)`.
    public func bools() throws -> [Bool] {
        try doubles().map { $0 != 0 }
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
            advance(&index, through: shape)
        }
        return result
    }
}

extension NPYElement {
    /// numpy's name of the type, without the byte order (`float16`, `int32`, `uint8`, `bool`).
    public var numpyName: String {
        switch self {
        case .float(let bits, _): return "float\(bits)"
        case .integer(let bytes, let signed, _): return (signed ? "int" : "uint") + "\(bytes * 8)"
        case .bool: return "bool"
        }
    }

    /// float16, float32 or float64.
    public var isFloat: Bool {
        if case .float = self { return true }
        return false
    }

    /// The numpy type string that names this element type (`<f4`, `>i8`, `|b1`, ...).
    public var descr: String {
        switch self {
        case .float(let bits, let big): return (big ? ">" : "<") + "f\(bits / 8)"
        case .integer(let bytes, let signed, let big): return (bytes == 1 ? "|" : big ? ">" : "<") + (signed ? "i" : "u") + "\(bytes)"
        case .bool: return "|b1"
        }
    }
}

extension NPYArray {
    /// The stored bytes of elements `range` (C order), as they are in the file: for copying without
    /// converting.
    public func rawBytes(elements range: Range<Int>) throws -> [UInt8] {
        let size = element.size
        guard let file else { return Array(payload[(payload.startIndex + range.lowerBound * size)..<(payload.startIndex + range.upperBound * size)]) }
        var bytes = [UInt8](repeating: 0, count: range.count * size)
        let filled = try bytes.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: $0.count, offset: fileOffset + range.lowerBound * size) }
        guard filled == bytes.count else { throw NPYArray.changed(file.path) }
        return bytes
    }
}
