import GRUCore

/// Keras `Concatenate(axis)`. The output mask: where any input has a mask, the inputs' masks (all true
/// for one without) joined by AND over the time axis, as Keras's `Concatenate.compute_mask` does for the
/// feature axis.
public struct Concatenate<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let axis: Int

    public init(name: String, axis: Int) {
        self.name = name
        self.axis = axis
    }

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
        return [(Tensor(values: values, shape: shape), rank == 3 && a == 2 ? combined(masks, inputs: inputs) : nil)]
    }
}

/// Keras's merge layers `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise over
/// inputs of one shape; the output mask is the AND of the inputs' masks.
public struct Merge<Scalar: GRUScalar>: ModelLayer {
    public enum Operation: String, Sendable { case add, subtract, multiply, average, maximum, minimum }
    public let name: String
    public let operation: Operation

    public init(name: String, operation: Operation) {
        self.name = name
        self.operation = operation
    }

    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard let first = inputs.first, inputs.allSatisfy({ $0.shape == first.shape }) else {
            throw GRUModelError.shape(layer: name, "its inputs have shapes \(inputs.map { describe($0.shape) }.joined(separator: ", ")); they must be equal")
        }
        guard operation != .subtract || inputs.count == 2 else {
            throw GRUModelError.shape(layer: name, "Subtract takes two inputs, not \(inputs.count)")
        }
        var values = first.values
        for x in inputs.dropFirst() {
            for i in values.indices {
                switch operation {
                case .add, .average: values[i] += x.values[i]
                case .subtract: values[i] -= x.values[i]
                case .multiply: values[i] *= x.values[i]
                case .maximum: values[i] = Swift.max(values[i], x.values[i])
                case .minimum: values[i] = Swift.min(values[i], x.values[i])
                }
            }
        }
        if operation == .average { for i in values.indices { values[i] /= Scalar(inputs.count) } }
        return [(Tensor(values: values, shape: first.shape), combined(masks, inputs: inputs))]
    }
}

/// The AND of the masks given, or nil when none is.
func combined<S>(_ masks: [Mask], inputs: [Tensor<S>]) -> Mask {
    let given = masks.compactMap { $0 }
    guard var result = given.first else { return nil }
    for mask in given.dropFirst() where mask.count == result.count {
        for i in result.indices { result[i] = result[i] && mask[i] }
    }
    return result
}
