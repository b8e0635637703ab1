import GRUCore

/// Keras `MaxPooling2D` / `AveragePooling2D` (channels_last), valid or same padding.
public struct Pooling2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let poolSize: (Int, Int), strides: (Int, Int)
    public let padding: Padding
    public let average: Bool
    public var keepsMask: Bool { false }

    public init(name: String, poolSize: (Int, Int), strides: (Int, Int), padding: Padding, average: Bool) throws {
        for (key, value) in [("pool_size", poolSize.0), ("pool_size", poolSize.1), ("strides", strides.0), ("strides", strides.1)] {
            try requirePositive(value, key, layer: name)
        }
        guard padding != .causal else { throw GRUModelError.config(layer: name, "its padding 'causal' is not a pooling padding (valid or same)") }
        (self.name, self.poolSize, self.strides, self.padding, self.average) = (name, poolSize, strides, padding, average)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 4 else { throw GRUModelError.shape(layer: name, "it takes a (batch, rows, cols, channels) input, not \(describe(x.shape))") }
        let (rows, cols, channels) = (x.shape[1], x.shape[2], x.shape[3])
        let (outRows, top) = padding.extent(length: rows, window: poolSize.0, stride: strides.0)
        let (outCols, left) = padding.extent(length: cols, window: poolSize.1, stride: strides.1)
        guard outRows >= 1, outCols >= 1 else {
            throw GRUModelError.shape(layer: name, "its input of \(rows) x \(cols) is smaller than its pool_size \(poolSize.0) x \(poolSize.1)")
        }
        let count = try reserveOutput(x.batch, outRows, outCols, channels, of: Scalar.self, layer: name)
        // Window by window, the channels of a cell contiguous (the inner loops run over channels, branch-free);
        // the (sample, output row) pairs shared among the threads. Every output cell is written.
        let (poolSize, strides, average) = (poolSize, strides, average)
        let out: [Scalar] = x.values.withUnsafeBufferPointer { input in
            unfilledOutput(count) { output in
                guard count > 0, let first = input.baseAddress else { return }
                let (source, target) = (Int(bitPattern: first), Int(bitPattern: output))
                parallelRows(x.batch * outRows, threads: threads, minimumPerThread: 1) { items in
                    let input = UnsafePointer<Scalar>(bitPattern: source)!, output = UnsafeMutablePointer<Scalar>(bitPattern: target)!
                    var sums = [Double](repeating: 0, count: channels)
                    for item in items {
                        let (b, r) = (item / outRows, item % outRows)
                        let r0 = max(0, r * strides.0 - top), r1 = min(rows, r * strides.0 - top + poolSize.0)
                        for c in 0..<outCols {
                            let c0 = max(0, c * strides.1 - left), c1 = min(cols, c * strides.1 - left + poolSize.1)
                            let cell = output + (item * outCols + c) * channels
                            if average {
                                for k in 0..<channels { sums[k] = 0 }
                                for i in r0..<r1 {
                                    for j in c0..<c1 {
                                        let pixel = input + ((b * rows + i) * cols + j) * channels
                                        for k in 0..<channels { sums[k] += Double(pixel[k]) }
                                    }
                                }
                                let n = Double(max(1, (r1 - r0) * (c1 - c0)))
                                for k in 0..<channels { cell[k] = Scalar(sums[k] / n) }
                            } else {
                                for k in 0..<channels { cell[k] = -Scalar.infinity }
                                for i in r0..<r1 {
                                    for j in c0..<c1 {
                                        let pixel = input + ((b * rows + i) * cols + j) * channels
                                        // A NaN wins, as in tf.nn.max_pool.
                                        for k in 0..<channels { cell[k] = pixel[k] > cell[k] || pixel[k] != pixel[k] ? pixel[k] : cell[k] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(values: out, shape: [x.batch, outRows, outCols, channels])
    }
}
