import GRUCore

/// Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization: they
/// change nothing at inference (`model.predict`); the mask passes.
public struct Identity<Scalar: GRUScalar>: UnaryLayer {
    public let name: String

    public init(name: String) { self.name = name }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> { x }
}
