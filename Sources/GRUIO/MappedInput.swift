import Foundation
import GRUCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A read-only private memory map of a whole file, which keeps the file open for `pread`; unmapped and
/// closed when the last array using it goes.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let length: Int
    let descriptor: Int32

    /// Takes over `descriptor` when it succeeds.
    init?(descriptor: Int32, length: Int) {
        guard let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0),
              address != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        base = UnsafeRawPointer(address)
        self.length = length
        self.descriptor = descriptor
    }

    /// Drops the whole pages before `end` from memory; reading them again faults them back in from the file.
    func release(upTo end: UnsafeRawPointer) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = (end - base) / page * page
        if bytes > 0 { madvise(UnsafeMutableRawPointer(mutating: base), bytes, MADV_DONTNEED) }
    }

    /// Reads `count` bytes at `offset` with pread, never touching the map; false if the file ends first
    /// or the read fails.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) -> Bool {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), length)
        close(descriptor)
    }
}

extension NPYArray {
    /// The input as a source that reads each window of steps from the file when the pass needs it, so a
    /// large input is never resident whole; nil unless the file is a regular file holding `S` in
    /// little-endian C order with shape (batch, timesteps, features).
    public func fileInput<S: GRUScalar>(_ type: S.Type, path: String) -> GRUFileInput<S>? {
        guard let mapping, shape.count == 3, case .float(let bits, false) = element,
              bits == 8 * MemoryLayout<S>.size else { return nil }
        let start = payload.withUnsafeBytes { $0.baseAddress! } - mapping.base
        return GRUFileInput(mapping: mapping, offset: start, shape: shape, path: path)
    }
}

/// An .npy input read piece by piece (`GRUInputSource`); `check()` after the pass reports a failed read.
public final class GRUFileInput<S: GRUScalar>: Sendable {
    let mapping: MappedFile
    let offset: Int
    public let shape: [Int]
    let path: String
    private let failed = Atomic<Bool>(false)

    init(mapping: MappedFile, offset: Int, shape: [Int], path: String) {
        self.mapping = mapping
        self.offset = offset
        self.shape = shape
        self.path = path
    }

    public var source: GRUInputSource<S> {
        GRUInputSource { [self] samples, steps, into in read(samples, steps, into) }
    }

    /// `x[samples, steps, :]` into `into`, sample by sample; zeros where the file could not be read.
    func read(_ samples: Range<Int>, _ steps: Range<Int>, _ into: UnsafeMutablePointer<S>) {
        let (timesteps, features) = (shape[1], shape[2])
        let values = steps.count * features
        for (i, b) in samples.enumerated() {
            let out = into + i * values
            let at = offset + ((b * timesteps + steps.lowerBound) * features) * MemoryLayout<S>.size
            if !mapping.read(into: UnsafeMutableRawPointer(out), count: values * MemoryLayout<S>.size, offset: at) {
                out.initialize(repeating: 0, count: values)
                failed.store(true, ordering: .relaxed)
            }
        }
    }

    /// Keras's Masking rule over the whole input, read a block of samples at a time.
    public func maskingRule(maskValue: S) -> [Bool] {
        let (batch, timesteps, features) = (shape[0], shape[1], shape[2])
        let perSample = timesteps * features
        let block = max(1, (1 << 20) / max(1, perSample * MemoryLayout<S>.size))
        var buffer = [S](repeating: 0, count: min(batch, block) * perSample)
        var mask: [Bool] = []
        mask.reserveCapacity(batch * timesteps)
        var first = 0
        while first < batch {
            let samples = first..<min(batch, first + block)
            buffer.withUnsafeMutableBufferPointer { read(samples, 0..<timesteps, $0.baseAddress!) }
            buffer.withUnsafeBufferPointer {
                mask += GRUCore.maskingRule(UnsafeBufferPointer(rebasing: $0[0..<(samples.count * perSample)]),
                                            features: features, maskValue: maskValue)
            }
            first = samples.upperBound
        }
        return mask
    }

    /// Throws if any read since the file was opened failed (the file shrank or the device failed).
    public func check() throws {
        if failed.load(ordering: .relaxed) {
            throw GRUIOError.read(path: path, "it could not be read to the end; did it change while gru-run was reading it?")
        }
    }
}
