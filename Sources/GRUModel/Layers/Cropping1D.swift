import GRUCore

/// Keras `Cropping1D(cropping)`: `cropping = (start, end)` steps cut from `(batch, steps, channels)`
/// (`inputs[:, start:steps - end, :]`). No mask passes.
public struct Cropping1D<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let start: Int, end: Int
    public var keepsMask: Bool { false }

    public init(name: String, start: Int, end: Int) throws {
        try expectAtLeast(0, [start, end], "cropping", layer: name)
        (self.name, self.start, self.end) = (name, start, end)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, steps, channels) = try sequenceShape(x, layer: name)
        // Keras refuses a cropping that leaves no step.
        guard start < steps, end < steps - start else {
            throw GRUModelError.shape(layer: name, "its cropping (\(start), \(end)) leaves no step of an input of shape \(describe(x.shape))")
        }
        let length = steps - start - end
        var out = [Scalar]()
        out.reserveCapacity(batch * length * channels)
        for b in 0..<batch {
            let from = (b * steps + start) * channels
            out.append(contentsOf: x.values[from..<(from + length * channels)])
        }
        return Tensor(values: out, shape: [batch, length, channels])
    }
}
