import GRUCore

/// Keras `Cropping2D(cropping)`: `((top, bottom), (left, right))` rows and columns cut from
/// `(batch, rows, cols, channels)` (`inputs[:, top:rows - bottom, left:cols - right, :]`), or from each
/// channel's plane of `(batch, channels, rows, cols)` with channels_first. No mask passes.
public struct Cropping2D<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let top: Int, bottom: Int, left: Int, right: Int
    /// `data_format="channels_first"`: the spatial axes follow the channels.
    public let channelsFirst: Bool
    public var keepsMask: Bool { false }

    public init(name: String, top: Int, bottom: Int, left: Int, right: Int, channelsFirst: Bool = false) throws {
        try expectAtLeast(0, [top, bottom, left, right], "cropping", layer: name)
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
        // Keras refuses a cropping that leaves no row or no column.
        guard top < rows, bottom < rows - top, left < cols, right < cols - left else {
            throw GRUModelError.shape(layer: name, "its cropping ((\(top), \(bottom)), (\(left), \(right))) leaves nothing of an input of shape \(describe(x.shape))")
        }
        let outRows = rows - top - bottom, outCols = cols - left - right
        var out = [Scalar]()
        out.reserveCapacity(batch * outRows * outCols * channels)
        for b in 0..<batch {
            for r in 0..<outRows {
                let from = ((b * rows + r + top) * cols + left) * channels
                out.append(contentsOf: x.values[from..<(from + outCols * channels)])
            }
        }
        return Tensor(values: out, shape: [batch, outRows, outCols, channels])
    }
}
