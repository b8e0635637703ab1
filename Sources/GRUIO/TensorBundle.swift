import Foundation
import GRUCore

/// A TensorFlow checkpoint in the tensor-bundle format (`tensorflow/core/util/tensor_bundle/`): the
/// `<prefix>.index` table maps each tensor's key to a BundleEntryProto (dtype, shape, shard, offset, size,
/// masked CRC-32C of the bytes); the empty key holds the BundleHeaderProto (shard count, endianness). The
/// bytes sit in `<prefix>.data-NNNNN-of-NNNNN`.
public struct TensorBundle {
    public struct Entry: Sendable {
        public var dtype: Int
        public var shape: [Int]
        public var shard: Int
        public var offset: Int
        public var size: Int
        public var maskedCRC: UInt32
        public var sliced: Bool
    }

    /// TensorFlow's DataType numbers (`types.proto`) that gru-run reads.
    enum DataType {
        static let float = 1, double = 2, int32 = 3, string = 7, int64 = 9
    }

    static let maximumIndexBytes = 1 << 30
    static let maximumShards = 100_000
    /// Shapes deeper than this are no Keras weight's.
    static let deepestShape = 32

    public let prefix: String
    public let shardCount: Int
    public let entries: [String: Entry]

    public var indexPath: String { prefix + ".index" }

    public func shardPath(_ shard: Int) -> String {
        prefix + String(format: ".data-%05d-of-%05d", shard, shardCount)
    }

    public init(prefix: String) throws {
        self.prefix = prefix
        let indexPath = prefix + ".index"
        let file = try Self.read(indexPath, limit: Self.maximumIndexBytes, what: "checkpoint index")
        let table: LevelDBTable
        do {
            table = try LevelDBTable(file)
        } catch let failure as LevelDBTable.Failure {
            throw GRUIOError.keras(path: indexPath, failure.what)
        }
        var header: (shards: Int, bigEndian: Bool)?
        var entries: [String: Entry] = [:]
        do {
            for (key, value) in table.entries {
                if key.isEmpty {
                    header = try Self.header(value)
                } else {
                    entries[String(decoding: key, as: UTF8.self)] = try Self.entry(value)
                }
            }
        } catch let failure as ProtobufWire.Failure {
            throw GRUIOError.keras(path: indexPath, "is damaged: an entry is not a readable BundleEntryProto (\(failure.what))")
        }
        guard let header else {
            throw GRUIOError.keras(path: indexPath, "has no bundle header (the entry with the empty key); it is not a TensorFlow checkpoint index")
        }
        guard !header.bigEndian else {
            throw GRUIOError.keras(path: indexPath, "was written on a big-endian machine; gru-run reads little-endian checkpoints")
        }
        guard header.shards >= 1, header.shards <= Self.maximumShards else {
            throw GRUIOError.keras(path: indexPath, "claims \(header.shards) data shards")
        }
        for (key, entry) in entries where entry.shard >= header.shards {
            throw GRUIOError.keras(path: indexPath, "places tensor \(Printable.quoted(key)) in shard \(entry.shard) of \(header.shards)")
        }
        shardCount = header.shards
        self.entries = entries
    }

    private static func header(_ bytes: ArraySlice<UInt8>) throws -> (shards: Int, bigEndian: Bool) {
        var shards = 0, bigEndian = false
        try ProtobufWire.forEachField(bytes) { field in
            switch field.number {
            case 1: shards = Int(Int32(truncatingIfNeeded: field.varint ?? 0))
            case 2: bigEndian = field.varint == 1
            default: break
            }
        }
        return (shards, bigEndian)
    }

    private static func entry(_ bytes: ArraySlice<UInt8>) throws -> Entry {
        var entry = Entry(dtype: 0, shape: [], shard: 0, offset: 0, size: 0, maskedCRC: 0, sliced: false)
        try ProtobufWire.forEachField(bytes) { field in
            switch field.number {
            case 1: entry.dtype = Int(truncatingIfNeeded: field.varint ?? 0)
            case 2: entry.shape = try shape(field.bytes ?? [])
            case 3: entry.shard = Int(clamping: Int64(bitPattern: field.varint ?? 0))
            case 4: entry.offset = Int(clamping: Int64(bitPattern: field.varint ?? 0))
            case 5: entry.size = Int(clamping: Int64(bitPattern: field.varint ?? 0))
            case 6: entry.maskedCRC = field.fixed32 ?? 0
            case 7: entry.sliced = true
            default: break
            }
        }
        guard entry.shard >= 0, entry.offset >= 0, entry.size >= 0 else {
            throw ProtobufWire.Failure(what: "a negative shard, offset or size")
        }
        return entry
    }

    /// TensorShapeProto: `dim` (2) repeated, each with `size` (1); -1 is an unknown size.
    private static func shape(_ bytes: ArraySlice<UInt8>) throws -> [Int] {
        var dims: [Int] = []
        try ProtobufWire.forEachField(bytes) { field in
            guard field.number == 2, let dim = field.bytes else { return }
            guard dims.count < deepestShape else { throw ProtobufWire.Failure(what: "a shape of more than \(deepestShape) dimensions") }
            var size = 0
            try ProtobufWire.forEachField(dim) { if $0.number == 1 { size = Int(clamping: Int64(bitPattern: $0.varint ?? 0)) } }
            guard size >= 0 else { throw ProtobufWire.Failure(what: "a dimension of size \(size)") }
            dims.append(size)
        }
        return dims
    }

    /// The stored bytes of `key`, their checksum verified.
    func bytes(_ key: String) throws -> [UInt8] {
        guard let entry = entries[key] else {
            throw GRUIOError.keras(path: indexPath, "has no tensor \(Printable.quoted(key))")
        }
        guard !entry.sliced else {
            throw GRUIOError.keras(path: indexPath, "stores tensor \(Printable.quoted(key)) in slices (a partitioned variable); gru-run reads whole tensors")
        }
        let path = shardPath(entry.shard)
        guard FileManager.default.fileExists(atPath: path) else {
            throw GRUIOError.keras(path: path, "is missing: the checkpoint \(indexPath) stores tensor \(Printable.quoted(key)) in it")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw GRUIOError.unreadable(path: path) }
        defer { try? handle.close() }
        let fileSize = (try? handle.seekToEnd()).map { Int(clamping: $0) } ?? 0
        guard entry.offset <= fileSize, entry.size <= fileSize - entry.offset else {
            throw GRUIOError.keras(path: path, "is truncated or damaged: tensor \(Printable.quoted(key)) lies at \(entry.offset) for \(entry.size) bytes but the shard holds \(fileSize)")
        }
        try MemoryBudget.reserve(entry.size, for: "tensor \(Printable.quoted(key)) of \(path)")
        var bytes: [UInt8]
        do {
            try handle.seek(toOffset: UInt64(entry.offset))
            bytes = [UInt8](try handle.read(upToCount: entry.size) ?? Data())
        } catch {
            throw GRUIOError.read(path: path, "tensor \(Printable.quoted(key)) could not be read")
        }
        guard bytes.count == entry.size else {
            throw GRUIOError.keras(path: path, "is truncated: tensor \(Printable.quoted(key)) is cut short")
        }
        guard entry.dtype == DataType.string || CRC32C.unmask(entry.maskedCRC) == CRC32C.checksum(bytes) else {
            throw GRUIOError.keras(path: path, "is damaged: tensor \(Printable.quoted(key)) does not match its checksum")
        }
        return bytes
    }

    /// A DT_FLOAT or DT_DOUBLE tensor, little-endian. `integers`: a DT_INT32 or DT_INT64 tensor is read too
    /// (as doubles, `bits` 0), as an .h5 file's integer datasets are for a layer other than a recurrent one
    /// (Normalization's int64 `count`).
    public func floatArray(_ key: String, path: String, integers: Bool = false) throws -> HDF5FloatArray {
        guard let entry = entries[key] else {
            throw GRUIOError.keras(path: indexPath, "has no tensor \(Printable.quoted(key))")
        }
        let width: Int
        switch entry.dtype {
        case DataType.float: width = 4
        case DataType.double: width = 8
        case DataType.int32 where integers: width = 4
        case DataType.int64 where integers: width = 8
        default:
            throw GRUIOError.keras(path: path, "variable \(Printable.quoted(key)) has TensorFlow dtype \(entry.dtype); gru-run reads float32 and float64 weights")
        }
        guard let count = entry.shape.reduce(Optional(1), { total, dim in total.flatMap { $0.multipliedReportingOverflow(by: dim).overflow ? nil : $0 * dim } }),
              count.multipliedReportingOverflow(by: width).overflow == false, count * width == entry.size else {
            throw GRUIOError.keras(path: indexPath, "is damaged: tensor \(Printable.quoted(key)) of shape \(describe(entry.shape)) has \(entry.size) bytes")
        }
        let raw = try bytes(key)  // checked against the shard's size before anything is allocated
        try MemoryBudget.reserve(MemoryBudget.bytes(count, 8), for: "tensor \(Printable.quoted(key)) of \(path)")
        let dtype = entry.dtype
        let values: [Double] = raw.withUnsafeBytes { buffer in
            switch dtype {
            case DataType.float:
                return (0..<count).map { Double(Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))) }
            case DataType.double:
                return (0..<count).map { Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            case DataType.int32:
                return (0..<count).map { Double(Int32(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))) }
            default:
                return (0..<count).map { Double(Int64(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            }
        }
        let floating = dtype == DataType.float || dtype == DataType.double
        return HDF5FloatArray(shape: entry.shape, values: values, bits: floating ? width * 8 : 0)
    }

    /// A scalar DT_STRING tensor: `[varint64 length][masked CRC-32C of the length][bytes]`, the entry's
    /// checksum over the length (as 4 bytes), the length's checksum and the bytes.
    public func scalarString(_ key: String) throws -> [UInt8] {
        guard let entry = entries[key], entry.dtype == DataType.string, entry.shape.isEmpty else {
            throw GRUIOError.keras(path: indexPath, "has no scalar string tensor \(Printable.quoted(key))")
        }
        let raw = try bytes(key)
        var wire = ProtobufWire(raw)
        let damaged = GRUIOError.keras(path: shardPath(entry.shard), "is damaged: tensor \(Printable.quoted(key)) does not match its checksum")
        do {
            let length = try wire.length(limit: raw.count)
            var lengthBytes: [UInt8] = []
            if length <= Int(UInt32.max) {
                lengthBytes = (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
            } else {
                lengthBytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
            }
            var crc = CRC32C.checksum(lengthBytes)
            let lengthCRC = try wire.fixed32()
            guard CRC32C.unmask(lengthCRC) == crc else { throw damaged }
            crc = CRC32C.extend(crc, (0..<4).map { UInt8(truncatingIfNeeded: lengthCRC >> (8 * $0)) })
            let text = try wire.take(length)
            guard wire.isAtEnd, CRC32C.unmask(entry.maskedCRC) == CRC32C.extend(crc, text) else { throw damaged }
            return Array(text)
        } catch is ProtobufWire.Failure {
            throw damaged
        }
    }

    /// A whole small file, or a sentence saying why not.
    static func read(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GRUIOError.keras(path: path, "is missing: a SavedModel keeps its \(what) there")
        }
        guard FileManager.default.isReadableFile(atPath: path) else { throw GRUIOError.unreadable(path: path) }
        let size = fileSize(atPath: path) ?? 0
        guard size <= limit else {
            throw GRUIOError.keras(path: path, "is \(size) bytes, more than gru-run reads as a \(what)")
        }
        try MemoryBudget.reserve(size, for: "the \(what) \(path)")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GRUIOError.read(path: path, "the \(what) could not be read")
        }
        return [UInt8](data)
    }
}
