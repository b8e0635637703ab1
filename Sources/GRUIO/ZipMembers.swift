import ZIPFoundation

/// A zip member's bytes, held to the size it claims and checked against its checksum (ZIPFoundation computes
/// the CRC of what it hands over and leaves the comparison to its caller). `subject` names the member in the
/// sentence `fail` makes an error of: `.npz` archives and `.keras` archives word their own.
func extractCheckedMember(_ entry: Entry, of archive: Archive, subject: String, fail: (String) -> GRUIOError) throws -> [UInt8] {
    let claimed = Int(entry.uncompressedSize)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(claimed, 64 << 20))  // a claim is not trusted with memory
    do {
        let crc = try archive.extract(entry, skipCRC32: false) { chunk in
            bytes.append(contentsOf: chunk)
            if bytes.count > claimed { throw fail("\(subject) is larger than it claims: the archive is damaged") }
        }
        guard crc == entry.checksum else {
            throw fail("\(subject) does not match its checksum: the archive is damaged")
        }
    } catch let error as GRUIOError {
        throw error
    } catch {
        throw fail("\(subject) cannot be read: the archive is damaged (truncated, or its checksum does not match)")
    }
    guard bytes.count == claimed else {
        throw fail("\(subject) holds \(bytes.count) bytes but claims \(claimed): the archive is damaged")
    }
    return bytes
}
