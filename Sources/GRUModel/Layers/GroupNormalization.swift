import GRUCore

/// Keras `GroupNormalization(groups, axis, epsilon, center, scale)`: the channels on `axis` (one integer, -1
/// by default) split into `groups` consecutive groups (`groups=-1`: one per channel); each sample's group,
/// over every other axis, normalized by its own mean and variance:
/// `(x - mean) * rsqrt(variance + epsilon) * gamma[c] + beta[c]`, gamma and beta one value per channel.
/// Keras 3 ignores the mask and passes it on. tf-keras weighs the moments by the mask broadcast to the
/// input's shape, which fails in Keras for a (batch, steps) mask unless steps equal channels; gru-run
/// refuses a tf-keras GroupNormalization that receives a mask.
public struct GroupNormalization<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let groups: Int, axis: Int
    public let epsilon: Double
    public let gamma: [Double]?, beta: [Double]?
    /// tf-keras: the mask enters the moments.
    public let masksMoments: Bool

    public init(name: String, groups: Int, axis: Int, epsilon: Double, gamma: [Scalar]?, beta: [Scalar]?, masksMoments: Bool) throws {
        guard groups >= 1 || groups == -1 else {
            throw GRUModelError.config(layer: name, "its groups \(groups) is neither a positive number nor -1")
        }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw GRUModelError.config(layer: name, "its epsilon \(epsilon) is not a non-negative number")
        }
        (self.name, self.groups, self.axis, self.epsilon, self.masksMoments) = (name, groups, axis, epsilon, masksMoments)
        (self.gamma, self.beta) = (gamma?.map(Double.init), beta?.map(Double.init))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1 else { throw GRUModelError.shape(layer: name, "it takes one input, not \(inputs.count)") }
        let mask = masks.first ?? nil
        if masksMoments, mask != nil {
            throw GRUModelError.shape(layer: name, "it receives a mask, which tf-keras's GroupNormalization broadcasts against its input's shape; gru-run does not run that")
        }
        let x = inputs[0]
        let a = try NormalizedAxes([axis], shape: x.shape, layer: name).axes[0]
        let channels = x.shape[a]
        let count = groups == -1 ? channels : groups
        guard count <= channels, channels % count == 0 else {
            throw GRUModelError.shape(layer: name, "its \(count) groups do not divide the \(channels) channels of axis \(axis) of an input of shape \(describe(x.shape))")
        }
        for (what, parameter) in [("gamma", gamma), ("beta", beta)] {
            if let parameter, parameter.count != channels {
                throw GRUModelError.shape(layer: name, "its \(what) holds \(parameter.count) values, but axis \(axis) of an input of shape \(describe(x.shape)) has \(channels) channels")
            }
        }
        // Row-major (outer, channels, inner): a sample is `outer / batch` consecutive outer rows.
        let inner = x.shape[(a + 1)...].reduce(1, *), outerPerSample = x.shape[1..<a].reduce(1, *)
        let perGroup = channels / count, n = Double(outerPerSample * perGroup * inner)
        var values = x.values
        for b in 0..<x.batch {
            for g in 0..<count {
                var sum = 0.0, squares = 0.0
                forEachIndex(b, g, outerPerSample, channels, perGroup, inner) { sum += Double(values[$0]) }
                let mean = sum / n
                forEachIndex(b, g, outerPerSample, channels, perGroup, inner) { let d = Double(values[$0]) - mean; squares += d * d }
                let inv = 1 / (squares / n + epsilon).squareRoot()
                forEachIndex(b, g, outerPerSample, channels, perGroup, inner) { i in
                    let c = (i / inner) % channels
                    values[i] = Scalar((Double(values[i]) - mean) * inv * (gamma?[c] ?? 1) + (beta?[c] ?? 0))
                }
            }
        }
        return [(Tensor(values: values, shape: x.shape), mask)]
    }

    /// Visits the flat indices of sample `b`'s group `g`.
    private func forEachIndex(_ b: Int, _ g: Int, _ outer: Int, _ channels: Int, _ perGroup: Int, _ inner: Int, _ body: (Int) -> Void) {
        for o in (b * outer)..<((b + 1) * outer) {
            for c in (g * perGroup)..<((g + 1) * perGroup) {
                let start = (o * channels + c) * inner
                for i in start..<(start + inner) { body(i) }
            }
        }
    }
}
