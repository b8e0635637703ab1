import GRUCore

/// Keras's merge layers `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise, with
/// numpy's broadcasting (keras/src/layers/merging/base_merge.py, tf_keras alike: an input of lower rank is
/// first expanded at axis 1 until the ranks agree, then every axis must be equal or 1); the output mask
/// combines the inputs' masks as `masking` says.
public struct Merge<Scalar: GRUScalar>: ModelLayer {
    public enum Operation: String, Sendable { case add, subtract, multiply, average, maximum, minimum }
    public let name: String
    public let operation: Operation
    public let masking: MaskMerging

    public init(name: String, operation: Operation, masking: MaskMerging = .and) {
        self.name = name
        self.operation = operation
        self.masking = masking
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ given: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard !given.isEmpty else { throw GRUModelError.shape(layer: name, "it has no inputs") }
        let inputs = try broadcast(given)
        let first = inputs[0]
        // A mask covers its tensor's leading axes; an input repeated along them would need its mask repeated,
        // which Keras does not do (it concatenates the masks and fails).
        for (x, mask) in zip(given, masks) where mask != nil && x.shape.dropLast() != first.shape.dropLast() {
            throw GRUModelError.shape(layer: name, "an input of shape \(describe(x.shape)) carries a mask but is broadcast to \(describe(first.shape))")
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
        if masking == .or, masks.contains(where: { $0 != nil }), [.maximum, .minimum, .multiply].contains(operation) {
            values = maskedKeras3(inputs, masks)
        }
        let mask = masking == .or && masks.contains(where: { $0 == nil }) ? nil : combined(masks, inputs: inputs, or: masking == .or)
        return [(Tensor(values: values, shape: first.shape), mask)]
    }
}

extension Merge {
    /// The inputs brought to one shape: each of lower rank expanded at axis 1, then repeated along every axis
    /// where it has 1 and another input more. Inputs already of that shape are returned as they are.
    func broadcast(_ inputs: [Tensor<Scalar>]) throws -> [Tensor<Scalar>] {
        let rank = inputs.map(\.shape.count).max() ?? 0
        let shapes = inputs.map { x in x.shape.count == rank ? x.shape : [x.shape[0]] + Array(repeating: 1, count: rank - x.shape.count) + x.shape.dropFirst() }
        var shape = shapes[0]
        for other in shapes.dropFirst() {
            for axis in 0..<rank where other[axis] != shape[axis] {
                guard shape[axis] == 1 || other[axis] == 1 else {
                    throw GRUModelError.shape(layer: name, "its inputs have shapes \(inputs.map { describe($0.shape) }.joined(separator: ", ")), which do not broadcast to one shape")
                }
                shape[axis] = max(shape[axis], other[axis])
            }
        }
        if inputs.allSatisfy({ $0.shape == shape }) { return inputs }
        let count = shape.reduce(1, *)
        try reserve(count * inputs.count, of: Scalar.self, layer: name)
        return zip(inputs, shapes).map { x, own in
            if own == shape { return Tensor(values: x.values, shape: shape) }
            // The input's strides, 0 along the axes it is repeated on.
            var strides = [Int](repeating: 0, count: rank), step = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                strides[axis] = own[axis] == 1 ? 0 : step
                step *= own[axis]
            }
            var values = [Scalar](), coordinate = [Int](repeating: 0, count: rank)
            values.reserveCapacity(count)
            for _ in 0..<count {
                values.append(x.values[zip(coordinate, strides).reduce(0) { $0 + $1.0 * $1.1 }])
                advance(&coordinate, through: shape)
            }
            return Tensor(values: values, shape: shape)
        }
    }

    /// Keras 3's `Maximum`, `Minimum` (`_apply_merge_op_and_or_mask`) and `Multiply` look at the masks: a
    /// masked step of one input takes the running result's value (Maximum, Minimum) or 1 (Multiply), and a
    /// masked step of the running result takes the input's; Multiply gives 0 where every input is masked
    /// when all have masks. Masks are per (sample, step) and hold for all of that step's features.
    func maskedKeras3(_ inputs: [Tensor<Scalar>], _ masks: [Mask]) -> [Scalar] {
        let width = inputs[0].values.count / max(1, masks.compactMap { $0?.count }.first ?? 1)
        func keep(_ mask: Mask, _ i: Int) -> Bool { mask.map { $0[i / width] } ?? true }
        var out = inputs[0].values
        if operation == .multiply {
            for i in out.indices where !keep(masks[0], i) { out[i] = 1 }
            for (x, mask) in zip(inputs.dropFirst(), masks.dropFirst()) {
                for i in out.indices { out[i] *= keep(mask, i) ? x.values[i] : 1 }
            }
            if masks.allSatisfy({ $0 != nil }), let any = combined(masks, inputs: inputs, or: true) {
                for i in out.indices where !any[i / width] { out[i] = 0 }
            }
            return out
        }
        var outMask = masks[0]
        for (x, mask) in zip(inputs.dropFirst(), masks.dropFirst()) {
            for i in out.indices {
                let value = keep(mask, i) ? x.values[i] : out[i]
                if !keep(outMask, i) { out[i] = value }
                out[i] = operation == .maximum ? Swift.max(out[i], value) : Swift.min(out[i], value)
            }
            outMask = outMask != nil && mask != nil ? combined([outMask, mask], inputs: inputs, or: true) : nil
        }
        return out
    }
}
