import Foundation
import GRUCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension NPYArray {
    /// The input as a source that reads each window of steps from the file when the pass needs it, so a
    /// large input is never resident whole; nil unless the file is a regular file holding `S` in
    /// little-endian C order with shape (batch, timesteps, features).
    public func fileInput<S: GRUScalar>(_ type: S.Type, path: String) -> GRUFileInput<S>? {
        guard let file, shape.count == 3, case .float(let bits, false) = element,
              bits == 8 * MemoryLayout<S>.size else { return nil }
        return GRUFileInput(file: file, offset: fileOffset, shape: shape, path: path)
    }
}

/// An .npy input read piece by piece (`GRUInputSource`); `check()` after the pass reports a failed read.
public final class GRUFileInput<S: GRUScalar>: Sendable {
    let file: InputFile
    let offset: Int
    public let shape: [Int]
    let path: String
    private let failed = Atomic<Bool>(false)

    init(file: InputFile, offset: Int, shape: [Int], path: String) {
        self.file = file
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
            let count = values * MemoryLayout<S>.size
            if (try? file.read(into: UnsafeMutableRawPointer(out), count: count, offset: at)) != count {
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
            throw NPYArray.changed(path)
        }
    }
}
