import GRUCore

/// Keras `TimeDistributed(layer)`: the inner layer applied to every timestep, as one batch of
/// `batch * timesteps` samples. The mask passes.
public struct TimeDistributed<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let inner: any ModelLayer<Scalar>

    public init(name: String, inner: any ModelLayer<Scalar>) {
        self.name = name
        self.inner = inner
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1, inputs[0].shape.count >= 3 else {
            throw GRUModelError.shape(layer: name, "it takes one input with a time axis")
        }
        let x = inputs[0]
        let (batch, steps) = (x.shape[0], x.shape[1])
        let merged = Tensor(values: x.values, shape: [batch * steps] + x.shape.dropFirst(2))
        let outputs = try inner.call([merged], masks: [nil], threads: threads)
        guard outputs.count == 1 else { throw GRUModelError.shape(layer: name, "its inner layer gives \(outputs.count) outputs") }
        let y = outputs[0].0
        return [(Tensor(values: y.values, shape: [batch, steps] + y.shape.dropFirst()), masks.first ?? nil)]
    }
}
