import GRUCore

/// Keras `UpSampling2D(size, interpolation="nearest")` (channels_last): every row of `(batch, rows, cols,
/// channels)` repeated `size[0]` times and every column `size[1]` times (`ops.repeat` on axes 1 and 2). No
/// mask passes. Bilinear interpolation is refused where the factory reads the config.
public struct UpSampling2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let size: (Int, Int)
    public var keepsMask: Bool { false }

    public init(name: String, size: (Int, Int)) throws {
        try expectAtLeast(1, [size.0, size.1], "size", layer: name)
        (self.name, self.size) = (name, size)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, rows, cols, channels) = try imageShape(x, layer: name)
        let count = try checkedProduct([batch, rows, size.0, cols, size.1, channels], layer: name)
        try reserve(count, of: Scalar.self, layer: name)
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
}
