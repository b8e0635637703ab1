import GRUCore

/// Keras `BatchNormalization` at inference, over the last axis: `(x - moving_mean) * gamma /
/// sqrt(moving_variance + epsilon) + beta`, computed as TensorFlow's `batch_normalization` does
/// (`x * inv + (beta - mean * inv)`, `inv = gamma * rsqrt(variance + epsilon)`). The mask passes.
public struct BatchNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// Keras's `axis`: -1, or the last axis counted from the batch axis (tf-keras writes 1 or 2).
    public let axis: Int
    let scale: [Double], offset: [Double]

    /// `gamma` and `beta` are nil when the layer was built with `scale=False` / `center=False`.
    public init(name: String, gamma: [Scalar]?, beta: [Scalar]?, movingMean: [Scalar], movingVariance: [Scalar], epsilon: Double,
                axis: Int = -1) throws {
        let n = movingMean.count
        guard movingVariance.count == n, gamma.map({ $0.count == n }) ?? true, beta.map({ $0.count == n }) ?? true else {
            throw GRUModelError.config(layer: name, "its gamma, beta, moving_mean and moving_variance differ in length")
        }
        self.name = name
        self.axis = axis
        let inv = (0..<n).map { i in (1 / (Double(movingVariance[i]) + epsilon).squareRoot()) * (gamma.map { Double($0[i]) } ?? 1) }
        scale = inv
        offset = (0..<n).map { i in (beta.map { Double($0[i]) } ?? 0) - Double(movingMean[i]) * inv[i] }
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard axis == -1 || axis == x.shape.count - 1 else {
            throw GRUModelError.shape(layer: name, "it normalizes axis \(axis) of an input of shape \(describe(x.shape)); gru-run normalizes the last axis")
        }
        try expectWidth(x, scale.count)
        var values = x.values
        let n = scale.count
        for i in values.indices { values[i] = Scalar(Double(values[i]) * scale[i % n] + offset[i % n]) }
        return Tensor(values: values, shape: x.shape)
    }
}
