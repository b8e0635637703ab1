import GRUCore

/// Keras `UnitNormalization(axis)`: each group of values over the config's axes (an integer or a list; -1 by
/// default) divided by its L2 norm, with no weights. Keras 3 (`ops.normalize(order=2, epsilon=1e-12)`):
/// `x * min(rsqrt(sum(x^2)), 1 / 1e-12)`; tf-keras (`tf.linalg.l2_normalize`, epsilon 1e-12):
/// `x * rsqrt(max(sum(x^2), 1e-12))`. The two differ only for norms below 1e-6. The mask passes.
public struct UnitNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// The axes as the config lists them.
    public let axis: [Int]
    /// True for Keras 3's bound on the inverse norm, false for tf-keras's bound on the squared norm.
    public let keras3: Bool

    public init(name: String, axis: [Int], keras3: Bool) throws {
        guard !axis.isEmpty else { throw GRUModelError.config(layer: name, "its axis list is empty") }
        (self.name, self.axis, self.keras3) = (name, axis, keras3)
    }

    func inverseNorm(_ squares: Double) -> Double {
        keras3 ? min(1 / squares.squareRoot(), 1e12) : 1 / max(squares, 1e-12).squareRoot()
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let axes = try NormalizedAxes(axis, shape: x.shape, layer: name)
        var values = x.values
        if axes.isLastAxis {
            let width = max(axes.parameterCount, 1)
            for row in 0..<(values.count / width) {
                let slice = (row * width)..<((row + 1) * width)
                let inv = inverseNorm(values[slice].reduce(0.0) { $0 + Double($1) * Double($1) })
                for i in slice { values[i] = Scalar(Double(values[i]) * inv) }
            }
            return Tensor(values: values, shape: x.shape)
        }
        try reserve(2 * values.count, of: Int.self, layer: name)
        let (_, group, groups) = axes.indices()
        var squares = [Double](repeating: 0, count: groups)
        for i in values.indices { squares[group[i]] += Double(values[i]) * Double(values[i]) }
        let inv = squares.map(inverseNorm)
        for i in values.indices { values[i] = Scalar(Double(values[i]) * inv[group[i]]) }
        return Tensor(values: values, shape: x.shape)
    }
}
