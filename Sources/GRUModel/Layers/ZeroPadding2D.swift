import GRUCore

/// Keras `ZeroPadding2D(padding)` (channels_last): `((top, bottom), (left, right))` zero rows and columns
/// around `(batch, rows, cols, channels)` (`ops.pad` on axes 1 and 2). No mask passes.
public struct ZeroPadding2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let top: Int, bottom: Int, left: Int, right: Int
    public var keepsMask: Bool { false }

    public init(name: String, top: Int, bottom: Int, left: Int, right: Int) throws {
        try expectAtLeast(0, [top, bottom, left, right], "padding", layer: name)
        (self.name, self.top, self.bottom, self.left, self.right) = (name, top, bottom, left, right)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
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
