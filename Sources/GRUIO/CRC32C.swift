/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TensorFlow's checkpoints and tables use it,
/// and the "masked" form they store (`tensorflow/tsl/lib/hash/crc32c.h`: a stored CRC of data that holds
/// CRCs is rotated and offset so that it is not itself a CRC of them).
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC of `bytes` continuing from `crc` (0 to start).
    public static func extend<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        var value = ~crc
        for byte in bytes { value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8) }
        return ~value
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 { extend(0, bytes) }

    private static let maskDelta: UInt32 = 0xA282_EAD8

    public static func mask(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ maskDelta }

    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- maskDelta
        return (rotated >> 17) | (rotated << 15)
    }
}
