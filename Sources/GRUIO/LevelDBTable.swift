/// The sorted string table of a TensorFlow checkpoint's `.index` file: LevelDB's format as TensorFlow's
/// `tsl/lib/io/{table,block,format}.cc` write it.
///
///     [data block 0][trailer] ... [data block n][trailer] [meta-index block][trailer] [index block][trailer] [footer]
///     footer (48 bytes):  meta-index handle, index handle (each varint64 offset, varint64 size), zero padding
///                         to 40 bytes, magic 0xdb4775248b80fb57 (fixed64)
///     trailer (5 bytes):  compression type (0 none, 1 snappy), masked CRC-32C of the block and that byte
///     block:              entries, then restart offsets (fixed32 each), then their count (fixed32)
///     entry:              shared key bytes, unshared key bytes, value size (varint32 each), key tail, value
///
/// The index block's values are the handles of the data blocks, in key order.
public struct LevelDBTable {
    public struct Failure: Error, Equatable {
        public var what: String
    }

    public static let magic: UInt64 = 0xDB47_7524_8B80_FB57
    static let footerSize = 48
    static let trailerSize = 5
    /// Checkpoint keys are variable paths; a longer one is damage (and would make rebuilding keys quadratic).
    static let longestKey = 1 << 16

    /// Every key and value of the table, in the table's order.
    public private(set) var entries: [(key: [UInt8], value: ArraySlice<UInt8>)] = []

    public init(_ file: [UInt8]) throws {
        guard file.count >= Self.footerSize else {
            throw Failure(what: "is \(file.count) bytes long, shorter than a table's 48-byte footer")
        }
        var footer = ProtobufWire(file[(file.count - Self.footerSize)...])
        let magicStart = file.count - 8
        let magic = (0..<8).reduce(UInt64(0)) { $0 | UInt64(file[magicStart + $1]) << (8 * UInt64($1)) }
        guard magic == Self.magic else { throw Failure(what: "does not end in a table's magic number") }
        do {
            _ = try Self.handle(&footer, fileSize: file.count)  // the meta-index: TensorFlow writes none that matter
            let index = try Self.handle(&footer, fileSize: file.count)
            let indexBlock = try Self.block(file, index, what: "the index block")
            for (number, entry) in try Self.blockEntries(indexBlock, what: "the index block").enumerated() {
                var handleWire = ProtobufWire(entry.value)
                let handle = try Self.handle(&handleWire, fileSize: file.count)
                let data = try Self.block(file, handle, what: "data block \(number)")
                entries += try Self.blockEntries(data, what: "data block \(number)")
            }
        } catch let failure as ProtobufWire.Failure {
            throw Failure(what: "is damaged: \(failure.what)")
        }
    }

    /// A block handle, checked to lie inside the file with its trailer.
    private static func handle(_ wire: inout ProtobufWire, fileSize: Int) throws -> (offset: Int, size: Int) {
        let offset = try wire.length(limit: fileSize)
        let size = try wire.length(limit: fileSize)
        guard offset + size + trailerSize <= fileSize - footerSize else {
            throw Failure(what: "is damaged: a block at \(offset) of \(size) bytes lies beyond the file's \(fileSize) bytes")
        }
        return (offset, size)
    }

    /// A block's contents after its trailer's checksum and compression type are checked.
    private static func block(_ file: [UInt8], _ handle: (offset: Int, size: Int), what: String) throws -> ArraySlice<UInt8> {
        let contents = file[handle.offset..<(handle.offset + handle.size)]
        let type = file[handle.offset + handle.size]
        let trailerStart = handle.offset + handle.size + 1
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(file[trailerStart + $1]) << (8 * UInt32($1)) }
        let actual = CRC32C.extend(CRC32C.checksum(contents), [type])
        guard CRC32C.unmask(stored) == actual else {
            throw Failure(what: "has a checksum mismatch in \(what) (the file is damaged)")
        }
        guard type == 0 else {
            throw Failure(what: "has \(what) compressed with \(type == 1 ? "snappy" : "compression type \(type)"); TensorFlow writes checkpoint tables uncompressed")
        }
        return contents
    }

    /// The key-value entries of one block, keys rebuilt from their shared prefixes.
    static func blockEntries(_ block: ArraySlice<UInt8>, what: String) throws -> [(key: [UInt8], value: ArraySlice<UInt8>)] {
        guard block.count >= 4 else { throw Failure(what: "is damaged: \(what) is too short for its restart count") }
        let end = block.endIndex
        let restarts = (0..<4).reduce(0) { $0 | Int(block[end - 4 + $1]) << (8 * $1) }
        guard restarts <= (block.count - 4) / 4 else {
            throw Failure(what: "is damaged: \(what) claims \(restarts) restart points")
        }
        let entriesEnd = end - 4 - 4 * restarts
        var wire = ProtobufWire(block[block.startIndex..<entriesEnd])
        var entries: [(key: [UInt8], value: ArraySlice<UInt8>)] = []
        var previous: [UInt8] = []
        do {
            while !wire.isAtEnd {
                let shared = try wire.length()
                let unshared = try wire.length()
                let valueSize = try wire.length()
                guard shared <= previous.count, shared + unshared <= Self.longestKey else {
                    throw Failure(what: "is damaged: an entry of \(what) shares \(shared) bytes of a \(previous.count)-byte key or is longer than \(Self.longestKey) bytes")
                }
                let key = Array(previous[0..<shared]) + (try wire.take(unshared))
                entries.append((key, try wire.take(valueSize)))
                previous = key
            }
        } catch let failure as ProtobufWire.Failure {
            throw Failure(what: "is damaged: \(what): \(failure.what)")
        }
        return entries
    }
}
