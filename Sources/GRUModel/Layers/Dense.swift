import GRUCore

/// Keras `Dense`: `activation(x · kernel + bias)` over the last axis; kernel `(input_dim, units)`,
/// bias `(units,)`. Any leading axes are kept, and the mask passes (Keras 2 and 3 alike).
public struct Dense<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let inputDim: Int
    public let units: Int
    /// The kernel `(inputDim, units)` and bias, packed for the product kernels when the layer is built.
    public let product: MatrixProduct<Scalar>
    public let activation: LayerActivation

    public init(name: String, inputDim: Int, units: Int, kernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try requirePositive(inputDim, "kernel's input size", layer: name)
        try requirePositive(units, "units", layer: name)
        guard kernel.count == checkedProduct([inputDim, units]), bias.map({ $0.count == units }) ?? true else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values and its bias \(bias?.count ?? 0); (\(inputDim), \(units)) and (\(units),) were expected")
        }
        (self.name, self.inputDim, self.units, self.activation) = (name, inputDim, units, activation)
        product = MatrixProduct(matrix: kernel, k: inputDim, n: units, bias: bias)
    }

    /// A Dense over a product already packed (its kernel `(inputDim, units)` read into it block by block).
    public init(name: String, product: MatrixProduct<Scalar>, activation: LayerActivation) throws {
        (self.name, self.inputDim, self.units, self.activation, self.product) = (name, product.k, product.n, activation, product)
    }

    /// One product over every row of the leading axes (a TimeDistributed(Dense) over (batch, steps) too).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try expectWidth(x, inputDim)
        let rows = x.values.count / inputDim
        _ = try reserveOutput(rows, units, of: Scalar.self, layer: name)
        let shape = Array(x.shape.dropLast()) + [units]
        return try activation.apply(Tensor(values: product(x.values, rows: rows, threads: threads), shape: shape), layer: name, threads: threads)
    }
}
