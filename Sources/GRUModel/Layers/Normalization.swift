import GRUCore

/// Keras `Normalization(axis, invert)` with its adapted (or given) mean and variance
/// (keras/src/layers/preprocessing/normalization.py; tf_keras/src/layers/preprocessing/normalization.py):
/// `(x - mean) / max(sqrt(variance), 1e-7)`, or with invert `mean + x * max(sqrt(variance), 1e-7)`.
/// Weights, in Keras's order: `mean` and `variance` of the shape of the kept axes (`axis`, -1 by default;
/// none for axis None: one mean and variance for everything), then an int64 `count`, which only adapt uses.
/// The mean and variance lay their values over the kept axes in positional order (`NormalizedAxes`).
/// The mask passes.
public struct Normalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// The kept axes as the config lists them; empty for one mean and variance.
    public let axis: [Int]
    /// In the layer's precision, each step rounded as Keras's float ops round it.
    let mean: [Scalar], scale: [Scalar]
    public let invert: Bool

    public init(name: String, axis: [Int], mean: [Scalar], variance: [Scalar], invert: Bool) throws {
        guard mean.count == variance.count, !mean.isEmpty else {
            throw GRUModelError.config(layer: name, "its mean holds \(mean.count) values and its variance \(variance.count)")
        }
        (self.name, self.axis, self.invert) = (name, axis, invert)
        self.mean = mean
        // NaN stays NaN (a negative variance gives it, as in Keras); max() would drop it.
        self.scale = variance.map { v in
            let root = v.squareRoot()
            return root.isNaN ? root : max(root, Scalar(1e-7))
        }
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var parameter: (Int) -> Int = { _ in 0 }
        // One value (axis None, or a scalar mean given in the config) is broadcast to all.
        if !axis.isEmpty && mean.count != 1 {
            let axes = try NormalizedAxes(axis, shape: x.shape, layer: name)
            guard mean.count == axes.parameterCount else {
                throw GRUModelError.shape(layer: name, "its mean holds \(mean.count) values, but axis \(axis) of an input of shape \(describe(x.shape)) needs \(axes.parameterCount)")
            }
            if !axes.isLastAxis {
                try reserve(2 * x.values.count, of: Int.self, layer: name)
                let index = axes.indices().parameter
                parameter = { index[$0] }
            } else {
                let width = axes.parameterCount
                parameter = { $0 % width }
            }
        } else if mean.count != 1 {
            throw GRUModelError.shape(layer: name, "its mean holds \(mean.count) values, but axis None keeps one")
        } else {
            _ = try NormalizedAxes(axis.isEmpty ? [-1] : axis, shape: x.shape, layer: name)
        }
        var values = x.values
        for i in values.indices {
            let p = parameter(i)
            values[i] = invert ? mean[p] + values[i] * scale[p] : (values[i] - mean[p]) / scale[p]
        }
        return Tensor(values: values, shape: x.shape)
    }
}
