import GRUCore

/// Keras `MaxPooling1D` / `AveragePooling1D` (channels_last): windows of `pool_size` every `strides`
/// steps; valid or same padding (an average counts only the steps inside the input).
public struct Pooling1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let poolSize: Int, stride: Int
    public let padding: Padding
    public let average: Bool
    public var keepsMask: Bool { false }

    public init(name: String, poolSize: Int, stride: Int, padding: Padding, average: Bool) throws {
        try requirePositive(poolSize, "pool_size", layer: name)
        try requirePositive(stride, "strides", layer: name)
        // Keras pools with valid or same padding only.
        guard padding != .causal else { throw GRUModelError.config(layer: name, "its padding 'causal' is not a pooling padding (valid or same)") }
        (self.name, self.poolSize, self.stride, self.padding, self.average) = (name, poolSize, stride, padding, average)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 3 else { throw GRUModelError.shape(layer: name, "it takes a (batch, steps, channels) input, not \(describe(x.shape))") }
        let (steps, channels) = (x.shape[1], x.shape[2])
        let (length, before) = padding.extent(length: steps, window: poolSize, stride: stride)
        guard length >= 1 else { throw GRUModelError.shape(layer: name, "its input of \(steps) steps is shorter than its pool_size \(poolSize)") }
        let count = try reserveOutput(x.batch, length, channels, of: Scalar.self, layer: name)
        // Window by window, the channels of a step contiguous (the inner loops run over channels, branch-free);
        // the samples shared among the threads. Every (sample, step) cell is written.
        let (poolSize, stride, average) = (poolSize, stride, average)
        let out: [Scalar] = x.values.withUnsafeBufferPointer { input in
            unfilledOutput(count) { output in
                guard count > 0, let first = input.baseAddress else { return }
                let (source, target) = (Int(bitPattern: first), Int(bitPattern: output))
                parallelRows(x.batch, threads: threads, minimumPerThread: 1) { samples in
                    let input = UnsafePointer<Scalar>(bitPattern: source)!, output = UnsafeMutablePointer<Scalar>(bitPattern: target)!
                    var sums = [Double](repeating: 0, count: channels)
                    for b in samples {
                        for t in 0..<length {
                            let start = max(0, t * stride - before), end = min(steps, t * stride - before + poolSize)
                            let cell = output + (b * length + t) * channels
                            if average {
                                for c in 0..<channels { sums[c] = 0 }
                                for s in start..<end {
                                    let row = input + (b * steps + s) * channels
                                    for c in 0..<channels { sums[c] += Double(row[c]) }
                                }
                                let n = Double(max(1, end - start))
                                for c in 0..<channels { cell[c] = Scalar(sums[c] / n) }
                            } else {
                                for c in 0..<channels { cell[c] = -Scalar.infinity }
                                for s in start..<end {
                                    let row = input + (b * steps + s) * channels
                                    // A NaN wins, as in tf.nn.max_pool.
                                    for c in 0..<channels { cell[c] = row[c] > cell[c] || row[c] != row[c] ? row[c] : cell[c] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(values: out, shape: [x.batch, length, channels])
    }
}
