// A reader of the protobuf wire format, written by hand: a SavedModel needs a handful of messages
// (SavedModel, MetaGraphDef, SavedObjectGraph, SavedObject, SavedMetadata, TrackableObjectGraph,
// BundleHeaderProto, BundleEntryProto) and a few fields of each, so a new package dependency and its
// generated code would be far more than the job. Every length and count is checked against the bytes
// that are left before it is used; a damaged message ends in `ProtobufWire.Failure`, never a trap.

/// One field of a message as read off the wire.
public struct ProtobufField {
    public enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }
    public var number: Int
    public var value: Value

    public var varint: UInt64? { if case .varint(let v) = value { return v } else { return nil } }
    public var bytes: ArraySlice<UInt8>? { if case .bytes(let b) = value { return b } else { return nil } }
    public var fixed32: UInt32? { if case .fixed32(let v) = value { return v } else { return nil } }
    public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}

/// Reads the fields of one message (or any byte run) in order.
public struct ProtobufWire {
    public struct Failure: Error, Equatable {
        public var what: String
    }

    private let bytes: ArraySlice<UInt8>
    private var at: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        at = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public var isAtEnd: Bool { at >= bytes.endIndex }
    public var offset: Int { at - bytes.startIndex }

    /// A base-128 varint of at most 10 bytes.
    public mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < bytes.endIndex else { throw Failure(what: "a varint runs past the end") }
            let byte = bytes[at]
            at += 1
            guard shift < 64, !(shift == 63 && byte > 1) else { throw Failure(what: "a varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A varint that must fit `limit` (a length, an offset, a count).
    public mutating func length(limit: Int = Int(Int32.max)) throws -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw Failure(what: "a length of \(value) is out of range") }
        return Int(value)
    }

    public mutating func fixed32() throws -> UInt32 {
        guard bytes.endIndex - at >= 4 else { throw Failure(what: "a fixed32 runs past the end") }
        let value = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
        at += 4
        return value
    }

    public mutating func fixed64() throws -> UInt64 {
        guard bytes.endIndex - at >= 8 else { throw Failure(what: "a fixed64 runs past the end") }
        let value = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        at += 8
        return value
    }

    public mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, bytes.endIndex - at >= count else { throw Failure(what: "a field of \(count) bytes runs past the end") }
        defer { at += count }
        return bytes[at..<(at + count)]
    }

    /// The next field, or nil at the end of the message. Groups (wire types 3 and 4, retired) are refused.
    public mutating func field() throws -> ProtobufField? {
        guard !isAtEnd else { return nil }
        let key = try varint()
        let number = key >> 3
        guard number >= 1, number <= 0x1FFF_FFFF else { throw Failure(what: "a field number of \(number) is out of range") }
        switch key & 7 {
        case 0: return ProtobufField(number: Int(number), value: .varint(try varint()))
        case 1: return ProtobufField(number: Int(number), value: .fixed64(try fixed64()))
        case 2: return ProtobufField(number: Int(number), value: .bytes(try take(try length())))
        case 5: return ProtobufField(number: Int(number), value: .fixed32(try fixed32()))
        default: throw Failure(what: "field \(number) has wire type \(key & 7), which these messages do not use")
        }
    }

    /// Every field of `bytes`, in order.
    public static func fields(_ bytes: ArraySlice<UInt8>) throws -> [ProtobufField] {
        var wire = ProtobufWire(bytes)
        var fields: [ProtobufField] = []
        while let field = try wire.field() { fields.append(field) }
        return fields
    }

    /// Calls `body` with each field of `bytes`, without collecting them (large messages).
    public static func forEachField(_ bytes: ArraySlice<UInt8>, _ body: (ProtobufField) throws -> Void) throws {
        var wire = ProtobufWire(bytes)
        while let field = try wire.field() { try body(field) }
    }
}
