import GRUCore

/// Keras `BatchNormalization` at inference: `(x - moving_mean) * gamma / sqrt(moving_variance + epsilon) + beta`
/// per position on the config's `axis` (Keras 3: one integer, -1 by default; tf-keras: a list, stored counted
/// from the front, so `[2]` after a sequence is its last axis), computed as TensorFlow's `batch_normalization`
/// does (`x * inv + (beta - mean * inv)`, `inv = gamma * rsqrt(variance + epsilon)`). tf-keras keeps a
/// multi-axis layer's parameters in the input's rank with 1 elsewhere; their values lie in positional order
/// either way (`NormalizedAxes`). The mask passes.
public struct BatchNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// The axes as the config lists them.
    public let axis: [Int]
    let scale: [Double], offset: [Double]

    /// `gamma` and `beta` are nil when the layer was built with `scale=False` / `center=False`.
    public init(name: String, gamma: [Scalar]?, beta: [Scalar]?, movingMean: [Scalar], movingVariance: [Scalar], epsilon: Double,
                axis: [Int] = [-1]) throws {
        let n = movingMean.count
        guard movingVariance.count == n, gamma.map({ $0.count == n }) ?? true, beta.map({ $0.count == n }) ?? true else {
            throw GRUModelError.config(layer: name, "its gamma, beta, moving_mean and moving_variance differ in length")
        }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw GRUModelError.config(layer: name, "its epsilon \(epsilon) is not a non-negative number")
        }
        guard !axis.isEmpty else { throw GRUModelError.config(layer: name, "its axis list is empty") }
        self.name = name
        self.axis = axis
        let inv = (0..<n).map { i in (1 / (Double(movingVariance[i]) + epsilon).squareRoot()) * (gamma.map { Double($0[i]) } ?? 1) }
        scale = inv
        offset = (0..<n).map { i in (beta.map { Double($0[i]) } ?? 0) - Double(movingMean[i]) * inv[i] }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let axes = try NormalizedAxes(axis, shape: x.shape, layer: name)
        guard axes.parameterCount == scale.count else {
            throw GRUModelError.shape(layer: name, "it holds \(scale.count) values per parameter, but axis \(axis) of an input of shape \(describe(x.shape)) needs \(axes.parameterCount)")
        }
        if axes.isLastAxis {
            // Rows of n values, each scaled and offset by the parameters.
            let n = scale.count
            let values = mapRows(x.values, width: n, scale, offset, threads: threads) { from, to, s, o in
                for j in 0..<n { to[j] = Scalar(Double(from[j]) * s[j] + o[j]) }
            }
            return Tensor(values: values, shape: x.shape)
        }
        var values = x.values
        try reserve(2 * values.count, of: Int.self, layer: name)
        let parameter = axes.indices().parameter
        for i in values.indices { values[i] = Scalar(Double(values[i]) * scale[parameter[i]] + offset[parameter[i]]) }
        return Tensor(values: values, shape: x.shape)
    }
}
