#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CHDF5

/// Where a zip member stored without compression lies in its archive: its bytes are the member, so a reader
/// can take them in place. Found from the archive's central directory (zip64 included) and the member's own
/// local header; nil for a member that is compressed, encrypted, absent, or whose records disagree.
struct ZipStoredMember {
    let offset: Int64
    let size: Int64
    let checksum: UInt32

    /// The member `name` of the archive `input` (a regular file).
    static func find(_ name: String, in input: InputFile) -> ZipStoredMember? {
        let fileSize = Int64(input.size)
        func read(_ count: Int, at offset: Int64) -> [UInt8]? {
            guard count >= 0, offset >= 0, offset <= fileSize - Int64(count) else { return nil }
            if count == 0 { return [] }
            var bytes = [UInt8](repeating: 0, count: count)
            let got = bytes.withUnsafeMutableBytes { try? input.read(into: $0.baseAddress!, count: count, offset: Int(offset)) }
            return got == count ? bytes : nil
        }
        func u16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> Int64 { Int64(u16(b, i)) | Int64(u16(b, i + 2)) << 16 }
        func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32 }

        // The end-of-central-directory record: within the last 64 KB + 22 bytes (its comment is at most 65535).
        let tailLength = Int(min(fileSize, 65_557))
        guard tailLength >= 22, let tail = read(tailLength, at: fileSize - Int64(tailLength)) else { return nil }
        guard let end = stride(from: tailLength - 22, through: 0, by: -1).first(where: {
            tail[$0] == 0x50 && tail[$0 + 1] == 0x4B && tail[$0 + 2] == 0x05 && tail[$0 + 3] == 0x06
        }) else { return nil }
        var directoryOffset = u32(tail, end + 16), directorySize = u32(tail, end + 12), entries = Int64(u16(tail, end + 10))
        if directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF || entries == 0xFFFF {
            // zip64: the locator just before the record names the zip64 record.
            let locatorAt = fileSize - Int64(tailLength) + Int64(end) - 20
            guard let locator = read(20, at: locatorAt), u32(locator, 0) == 0x0706_4B50,
                  let recordAt = Int64(exactly: u64(locator, 8)), let record = read(56, at: recordAt), u32(record, 0) == 0x0606_4B50,
                  let count = Int64(exactly: u64(record, 32)), let size = Int64(exactly: u64(record, 40)),
                  let offset = Int64(exactly: u64(record, 48)) else { return nil }
            (entries, directorySize, directoryOffset) = (count, size, offset)
        }
        guard directorySize <= 256 << 20, let directory = read(Int(directorySize), at: directoryOffset) else { return nil }
        let wanted = Array(name.utf8)
        var found: ZipStoredMember?, at = 0
        for _ in 0..<entries {
            guard at + 46 <= directory.count, u32(directory, at) == 0x0201_4B50 else { return nil }
            let flags = u16(directory, at + 8), method = u16(directory, at + 10)
            let checksum = UInt32(u32(directory, at + 16))
            var compressed = UInt64(u32(directory, at + 20)), size = UInt64(u32(directory, at + 24))
            let nameLength = u16(directory, at + 28), extraLength = u16(directory, at + 30), commentLength = u16(directory, at + 32)
            var local = UInt64(u32(directory, at + 42))
            let next = at + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { return nil }
            if Array(directory[(at + 46)..<(at + 46 + nameLength)]) == wanted {
                // Two members of one name: which one is meant is for the caller's checks to say, not this one.
                guard found == nil else { return nil }
                // The zip64 extra field holds, in this order, the fields whose 32-bit slots are all ones.
                var extra = at + 46 + nameLength
                let extraEnd = extra + extraLength
                while extra + 4 <= extraEnd {
                    let id = u16(directory, extra), length = u16(directory, extra + 2)
                    guard extra + 4 + length <= extraEnd else { return nil }
                    if id == 1 {
                        var field = extra + 4
                        for slot in [0, 1, 2] {
                            let value: UInt64
                            switch slot {
                            case 0: value = size
                            case 1: value = compressed
                            default: value = local
                            }
                            guard value == 0xFFFF_FFFF else { continue }
                            guard field + 8 <= extra + 4 + length else { return nil }
                            let wide = u64(directory, field)
                            field += 8
                            switch slot {
                            case 0: size = wide
                            case 1: compressed = wide
                            default: local = wide
                            }
                        }
                    }
                    extra += 4 + length
                }
                guard method == 0, flags & 1 == 0, compressed == size,
                      let size = Int64(exactly: size), let local = Int64(exactly: local),
                      let header = read(30, at: local), u32(header, 0) == 0x0403_4B50 else { return nil }
                let dataAt = local + 30 + Int64(u16(header, 26)) + Int64(u16(header, 28))
                guard dataAt <= fileSize, size <= fileSize - dataAt else { return nil }
                found = ZipStoredMember(offset: dataAt, size: size, checksum: checksum)
            }
            at = next
        }
        return found
    }
}

/// The CRC-32 of a stored member, computed on a thread of its own while the member is read in place (a whole
/// extraction would check it before any use): a run waits for it before it computes anything.
public final class MemberChecksum: @unchecked Sendable {
    private let lock = NSCondition()
    private var outcome: Bool?
    private let subject: String

    init(descriptor: Int32, member: ZipStoredMember, subject: String) {
        self.subject = subject
        // A descriptor of its own, so that the caller may close theirs.
        let own = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        let thread = Thread { [self] in
            let matches = own >= 0 && Self.checksum(own, member) == member.checksum
            if own >= 0 { close(own) }
            lock.lock()
            outcome = matches
            lock.broadcast()
            lock.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private static func checksum(_ descriptor: Int32, _ member: ZipStoredMember) -> UInt32? {
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var crc: UInt32 = 0, done: Int64 = 0
        while done < member.size {
            let want = Int(min(Int64(chunk), member.size - done))
            guard readFully(descriptor, into: buffer, count: want, offset: Int(member.offset + done)) == want else { return nil }
            crc = chdf5_crc32(crc, buffer, want)
            done += Int64(want)
        }
        return crc
    }

    /// Returns once the checksum is known; throws where it does not match (or the member could not be read).
    public func verify() throws {
        lock.lock()
        while outcome == nil { lock.wait() }
        let matches = outcome!
        lock.unlock()
        guard matches else {
            throw GRUIOError.keras(path: subject, "model.weights.h5 does not match its checksum: the archive is damaged")
        }
    }
}
