import GRUCore

/// Keras `GlobalMaxPooling2D` / `GlobalAveragePooling2D`: the maximum or the mean over rows and columns of
/// `(batch, rows, cols, channels)` (axes [1, 2]), or of `(batch, channels, rows, cols)` with
/// `data_format="channels_first"` (axes [2, 3]), to `(batch, channels)`; with `keepdims=True`
/// `(batch, 1, 1, channels)` / `(batch, channels, 1, 1)`. No mask passes.
public struct GlobalPooling2D<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let average: Bool
    public let keepDims: Bool
    public let channelsFirst: Bool
    public var keepsMask: Bool { false }

    public init(name: String, average: Bool, keepDims: Bool, channelsFirst: Bool = false) {
        (self.name, self.average, self.keepDims, self.channelsFirst) = (name, average, keepDims, channelsFirst)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, first, rows, last) = try imageShape(x, layer: name)
        let (pixels, channels) = channelsFirst ? (rows * last, first) : (first * rows, last)
        // Where value (b, pixel, c) lies.
        let (pixelStride, channelStride) = channelsFirst ? (1, pixels) : (channels, 1)
        var out = [Scalar](repeating: 0, count: batch * channels)
        for b in 0..<batch {
            for c in 0..<channels {
                var best = -Scalar.infinity, sum = 0.0
                for p in 0..<pixels {
                    let v = x.values[b * pixels * channels + p * pixelStride + c * channelStride]
                    if v > best || v.isNaN { best = v }
                    sum += Double(v)
                }
                out[b * channels + c] = average ? Scalar(sum / Double(pixels)) : best
            }
        }
        let kept = channelsFirst ? [batch, channels, 1, 1] : [batch, 1, 1, channels]
        return Tensor(values: out, shape: keepDims ? kept : [batch, channels])
    }
}
