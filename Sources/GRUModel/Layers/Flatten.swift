import GRUCore

/// Keras `Flatten`: `(batch, ...)` to `(batch, product)`, C order (channels_last).
public struct Flatten<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public var keepsMask: Bool { false }

    public init(name: String) { self.name = name }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        Tensor(values: x.values, shape: [x.batch, x.sampleSize])
    }
}
