import GRUCore

/// Keras `Concatenate(axis)`. The output mask: on the feature axis, the inputs' masks combined as
/// `masking` says; on the time axis, each input's mask (all true for one without) joined in time.
public struct Concatenate<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let axis: Int
    public let masking: MaskMerging

    public init(name: String, axis: Int, masking: MaskMerging = .and) {
        self.name = name
        self.axis = axis
        self.masking = masking
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard let first = inputs.first else { throw GRUModelError.shape(layer: name, "it has no inputs") }
        let rank = first.shape.count
        let a = axis < 0 ? rank + axis : axis
        guard a >= 1, a < rank, inputs.allSatisfy({ $0.shape.count == rank
            && $0.shape.enumerated().allSatisfy { i, d in i == a || d == first.shape[i] } }) else {
            throw GRUModelError.shape(layer: name, "its inputs of shapes \(inputs.map { describe($0.shape) }.joined(separator: ", ")) cannot be joined on axis \(axis)")
        }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        var values: [Scalar] = []
        values.reserveCapacity(inputs.reduce(0) { $0 + $1.values.count })
        for o in 0..<outer {
            for x in inputs {
                let block = x.shape[a] * inner
                values += x.values[(o * block)..<((o + 1) * block)]
            }
        }
        var shape = first.shape
        shape[a] = inputs.reduce(0) { $0 + $1.shape[a] }
        return [(Tensor(values: values, shape: shape), outputMask(masks, inputs: inputs, axis: a))]
    }

    private func outputMask(_ masks: [Mask], inputs: [Tensor<Scalar>], axis a: Int) -> Mask {
        guard inputs.first?.shape.count == 3, masks.contains(where: { $0 != nil }) else { return nil }
        if a == 2 {
            // An unmasked input is all true: under OR the result is all true, the same as no mask.
            return masking == .and ? combined(masks, inputs: inputs) : masks.contains(where: { $0 == nil }) ? nil : combined(masks, inputs: inputs, or: true)
        }
        // The time axis: masks (batch, T_i) joined sample by sample.
        let batch = inputs[0].batch
        var result: [Bool] = []
        for b in 0..<batch {
            for (x, mask) in zip(inputs, masks) {
                let steps = x.shape[1]
                result += mask.map { Array($0[(b * steps)..<((b + 1) * steps)]) } ?? Array(repeating: true, count: steps)
            }
        }
        return result
    }
}
