import GRUCore

/// Keras `Masking(mask_value)`: a step whose features all equal the value is masked, and its features are
/// set to zero in the output (Keras multiplies by the mask).
public struct Masking<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let maskValue: Scalar

    public init(name: String, maskValue: Scalar) {
        self.name = name
        self.maskValue = maskValue
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1, inputs[0].shape.count == 3 else {
            throw GRUModelError.shape(layer: name, "it takes one (batch, timesteps, features) input")
        }
        let x = inputs[0]
        let mask = maskingRule(x.values, features: x.width, maskValue: maskValue)
        var values = x.values
        for (step, keep) in mask.enumerated() where !keep {
            for f in 0..<x.width { values[step * x.width + f] = 0 }
        }
        return [(Tensor(values: values, shape: x.shape), mask)]
    }
}
