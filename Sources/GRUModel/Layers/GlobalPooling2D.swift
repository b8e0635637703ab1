import GRUCore

/// Keras `GlobalMaxPooling2D` / `GlobalAveragePooling2D` (channels_last): the maximum or the mean over rows
/// and columns of `(batch, rows, cols, channels)`, to `(batch, channels)`, or `(batch, 1, 1, channels)` with
/// `keepdims=True` (`ops.max` / `ops.mean` over axes [1, 2]). No mask passes.
public struct GlobalPooling2D<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let average: Bool
    public let keepDims: Bool
    public var keepsMask: Bool { false }

    public init(name: String, average: Bool, keepDims: Bool) {
        (self.name, self.average, self.keepDims) = (name, average, keepDims)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, rows, cols, channels) = try imageShape(x, layer: name)
        let pixels = rows * cols
        var out = [Scalar](repeating: 0, count: batch * channels)
        for b in 0..<batch {
            for c in 0..<channels {
                var best = -Scalar.infinity, sum = 0.0
                for p in 0..<pixels {
                    let v = x.values[(b * pixels + p) * channels + c]
                    if v > best || v.isNaN { best = v }
                    sum += Double(v)
                }
                out[b * channels + c] = average ? Scalar(sum / Double(pixels)) : best
            }
        }
        return Tensor(values: out, shape: keepDims ? [batch, 1, 1, channels] : [batch, channels])
    }
}
