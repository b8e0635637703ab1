import GRUCore

/// Keras `UpSampling2D(size, interpolation)`, `(batch, rows, cols, channels)` to
/// `(batch, rows * size[0], cols * size[1], channels)` (channels_first: each channel's plane alike). `nearest`: every row repeated `size[0]` times and every
/// column `size[1]` times (`ops.repeat` on axes 1 and 2). `bilinear`: `tf.image.resize` without antialiasing,
/// which is TensorFlow's ResizeBilinear with half-pixel centers, computed in Float32 whatever the input's type
/// (both Keras versions return float32 there): for output row `i`, `in = (i + 0.5) * (rows / out_rows) - 0.5`,
/// rows `max(floor(in), 0)` and `min(ceil(in), rows - 1)`, weight `in - floor(in)`; the same for columns;
/// `top = tl + (tr - tl) * x_lerp`, `bottom = bl + (br - bl) * x_lerp`, `top + (bottom - top) * y_lerp`.
/// No mask passes.
public struct UpSampling2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let size: (Int, Int)
    public let bilinear: Bool
    /// `data_format="channels_first"`: the spatial axes follow the channels.
    public let channelsFirst: Bool
    public var keepsMask: Bool { false }

    public init(name: String, size: (Int, Int), bilinear: Bool = false, channelsFirst: Bool = false) throws {
        try expectAtLeast(1, [size.0, size.1], "size", layer: name)
        self.channelsFirst = channelsFirst
        (self.name, self.size, self.bilinear) = (name, size, bilinear)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        if channelsFirst { return try throughPlanes(x, rank: 4, layer: name) { try applyChannelsLast($0) } }
        return try applyChannelsLast(x)
    }

    func applyChannelsLast(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let (batch, rows, cols, channels) = try imageShape(x, layer: name)
        let count = try checkedProduct([batch, rows, size.0, cols, size.1, channels], layer: name)
        try reserve(count, of: Scalar.self, layer: name)
        if bilinear { return resized(x, rows: rows, cols: cols, channels: channels) }
        var out = [Scalar]()
        out.reserveCapacity(count)
        var line = [Scalar]()
        line.reserveCapacity(cols * size.1 * channels)
        for b in 0..<batch {
            for r in 0..<rows {
                line.removeAll(keepingCapacity: true)
                for c in 0..<cols {
                    let at = ((b * rows + r) * cols + c) * channels
                    for _ in 0..<size.1 { line.append(contentsOf: x.values[at..<(at + channels)]) }
                }
                for _ in 0..<size.0 { out.append(contentsOf: line) }
            }
        }
        return Tensor(values: out, shape: [batch, rows * size.0, cols * size.1, channels])
    }

    /// TensorFlow's `compute_interpolation_weights` with the half-pixel scaler, in Float32.
    private func weights(input: Int, output: Int) -> [(lower: Int, upper: Int, lerp: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { i in
            let position = (Float(i) + 0.5) * scale - 0.5
            let below = position.rounded(.down)
            return (max(Int(below), 0), min(Int(position.rounded(.up)), input - 1), position - below)
        }
    }

    private func resized(_ x: Tensor<Scalar>, rows: Int, cols: Int, channels: Int) -> Tensor<Scalar> {
        let outRows = rows * size.0, outCols = cols * size.1
        let ys = weights(input: rows, output: outRows), xs = weights(input: cols, output: outCols)
        let values = x.values.map { Float($0) }
        var out = [Scalar](repeating: 0, count: x.batch * outRows * outCols * channels)
        for b in 0..<x.batch {
            for (i, y) in ys.enumerated() {
                for (j, w) in xs.enumerated() {
                    let tl = ((b * rows + y.lower) * cols + w.lower) * channels, tr = ((b * rows + y.lower) * cols + w.upper) * channels
                    let bl = ((b * rows + y.upper) * cols + w.lower) * channels, br = ((b * rows + y.upper) * cols + w.upper) * channels
                    let at = ((b * outRows + i) * outCols + j) * channels
                    for c in 0..<channels {
                        let top = values[tl + c] + (values[tr + c] - values[tl + c]) * w.lerp
                        let bottom = values[bl + c] + (values[br + c] - values[bl + c]) * w.lerp
                        out[at + c] = Scalar(top + (bottom - top) * y.lerp)
                    }
                }
            }
        }
        return Tensor(values: out, shape: [x.batch, outRows, outCols, channels])
    }
}
