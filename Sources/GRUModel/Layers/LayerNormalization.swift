import GRUCore

/// Keras `LayerNormalization`: `(x - mean) / sqrt(variance + epsilon) * gamma + beta`, mean and variance over
/// the config's `axis` (an integer or a list; -1 by default) of each sample, gamma and beta one value per
/// position on those axes (see `NormalizedAxes` for their layout). The mask passes.
public struct LayerNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let gamma: [Scalar]?, beta: [Scalar]?
    public let epsilon: Double
    /// The axes as the config lists them.
    public let axis: [Int]

    public init(name: String, axis: [Int] = [-1], gamma: [Scalar]?, beta: [Scalar]?, epsilon: Double) throws {
        if let gamma, let beta, gamma.count != beta.count {
            throw GRUModelError.config(layer: name, "its gamma holds \(gamma.count) values and its beta \(beta.count)")
        }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw GRUModelError.config(layer: name, "its epsilon \(epsilon) is not a non-negative number")
        }
        guard !axis.isEmpty else { throw GRUModelError.config(layer: name, "its axis list is empty") }
        (self.name, self.axis, self.gamma, self.beta, self.epsilon) = (name, axis, gamma, beta, epsilon)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let axes = try NormalizedAxes(axis, shape: x.shape, layer: name)
        for (what, parameter) in [("gamma", gamma), ("beta", beta)] {
            if let parameter, parameter.count != axes.parameterCount {
                throw GRUModelError.shape(layer: name, "its \(what) holds \(parameter.count) values, but axis \(axis) of an input of shape \(describe(x.shape)) needs \(axes.parameterCount)")
            }
        }
        let g = gamma.map { $0.map(Double.init) }, b = beta.map { $0.map(Double.init) }
        if axes.isLastAxis {
            // Each row of `width` values normalized on its own.
            let width = axes.parameterCount, epsilon = self.epsilon
            let values = mapRows(x.values, width: width, g ?? [Double](repeating: 1, count: width),
                                 b ?? [Double](repeating: 0, count: width), threads: threads) { from, to, g, b in
                var sum = 0.0
                for j in 0..<width { sum += Double(from[j]) }
                let mean = sum / Double(width)
                var squares = 0.0
                for j in 0..<width { squares += (Double(from[j]) - mean) * (Double(from[j]) - mean) }
                let inv = 1 / (squares / Double(width) + epsilon).squareRoot()
                for j in 0..<width { to[j] = Scalar((Double(from[j]) - mean) * inv * g[j] + b[j]) }
            }
            return Tensor(values: values, shape: x.shape)
        }
        var values = x.values
        try reserve(2 * values.count, of: Int.self, layer: name)
        let (parameter, group, groups) = axes.indices()
        let n = Double(axes.parameterCount)
        var mean = [Double](repeating: 0, count: groups), variance = mean
        for i in values.indices { mean[group[i]] += Double(values[i]) }
        for k in 0..<groups { mean[k] /= n }
        for i in values.indices { let d = Double(values[i]) - mean[group[i]]; variance[group[i]] += d * d }
        let inv = variance.map { 1 / ($0 / n + epsilon).squareRoot() }
        for i in values.indices {
            let k = group[i], p = parameter[i]
            values[i] = Scalar((Double(values[i]) - mean[k]) * inv[k] * (g?[p] ?? 1) + (b?[p] ?? 0))
        }
        return Tensor(values: values, shape: x.shape)
    }
}
