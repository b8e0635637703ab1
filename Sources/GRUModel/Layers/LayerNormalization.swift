import GRUCore

/// Keras `LayerNormalization` over the last axis: `(x - mean) / sqrt(variance + epsilon) * gamma + beta`,
/// mean and variance over each position's features. The mask passes.
public struct LayerNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let gamma: [Scalar]?, beta: [Scalar]?
    public let epsilon: Double
    public let width: Int

    public init(name: String, width: Int, gamma: [Scalar]?, beta: [Scalar]?, epsilon: Double) throws {
        guard gamma.map({ $0.count == width }) ?? true, beta.map({ $0.count == width }) ?? true else {
            throw GRUModelError.config(layer: name, "its gamma and beta do not hold \(width) values")
        }
        (self.name, self.width, self.gamma, self.beta, self.epsilon) = (name, width, gamma, beta, epsilon)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try expectWidth(x, width)
        var values = x.values
        for row in 0..<(values.count / width) {
            let slice = (row * width)..<((row + 1) * width)
            let mean = values[slice].reduce(0.0) { $0 + Double($1) } / Double(width)
            let variance = values[slice].reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(width)
            let inv = 1 / (variance + epsilon).squareRoot()
            for (k, i) in slice.enumerated() {
                values[i] = Scalar((Double(values[i]) - mean) * inv * (gamma.map { Double($0[k]) } ?? 1) + (beta.map { Double($0[k]) } ?? 0))
            }
        }
        return Tensor(values: values, shape: x.shape)
    }
}
