import GRUCore

/// Keras `ZeroPadding2D(padding)`: `((top, bottom), (left, right))` zero rows and columns around
/// `(batch, rows, cols, channels)` (`ops.pad` on axes 1 and 2), or around each channel's plane of
/// `(batch, channels, rows, cols)` with channels_first. No mask passes.
public struct ZeroPadding2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let top: Int, bottom: Int, left: Int, right: Int
    /// `data_format="channels_first"`: the spatial axes follow the channels.
    public let channelsFirst: Bool
    public var keepsMask: Bool { false }

    public init(name: String, top: Int, bottom: Int, left: Int, right: Int, channelsFirst: Bool = false) throws {
        try expectAtLeast(0, [top, bottom, left, right], "padding", layer: name)
        self.channelsFirst = channelsFirst
        (self.name, self.top, self.bottom, self.left, self.right) = (name, top, bottom, left, right)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        if channelsFirst { return try throughPlanes(x, rank: 4, layer: name) { try applyChannelsLast($0) } }
        return try applyChannelsLast(x)
    }

    func applyChannelsLast(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let (batch, rows, cols, channels) = try imageShape(x, layer: name)
        let outRows = rows + top + bottom, outCols = cols + left + right
        let count = try checkedProduct([batch, outRows, outCols, channels], layer: name)
        try reserve(count, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        for b in 0..<batch {
            for r in 0..<rows {
                let from = (b * rows + r) * cols * channels
                let to = ((b * outRows + r + top) * outCols + left) * channels
                for k in 0..<(cols * channels) { out[to + k] = x.values[from + k] }
            }
        }
        return Tensor(values: out, shape: [batch, outRows, outCols, channels])
    }
}
