import GRUCore

/// Keras `UpSampling1D(size)`: every step of `(batch, steps, channels)` repeated `size` times
/// (`ops.repeat(x, size, axis=1)`), to `(batch, steps * size, channels)`. No mask passes (Keras 3 drops it;
/// tf-keras refuses one).
public struct UpSampling1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let size: Int
    public var keepsMask: Bool { false }

    public init(name: String, size: Int) throws {
        try expectAtLeast(1, [size], "size", layer: name)
        (self.name, self.size) = (name, size)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, steps, channels) = try sequenceShape(x, layer: name)
        let count = try checkedProduct([batch, steps, size, channels], layer: name)
        try reserve(count, of: Scalar.self, layer: name)
        var out = [Scalar]()
        out.reserveCapacity(count)
        for row in 0..<(batch * steps) {
            let slice = x.values[(row * channels)..<((row + 1) * channels)]
            for _ in 0..<size { out.append(contentsOf: slice) }
        }
        return Tensor(values: out, shape: [batch, steps * size, channels])
    }
}
