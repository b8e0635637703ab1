import GRUCore

/// Keras's merge layers `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise over
/// inputs of one shape; the output mask combines the inputs' masks as `masking` says.
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
        if masking == .or, masks.contains(where: { $0 != nil }), [.maximum, .minimum, .multiply].contains(operation) {
            values = maskedKeras3(inputs, masks)
        }
        let mask = masking == .or && masks.contains(where: { $0 == nil }) ? nil : combined(masks, inputs: inputs, or: masking == .or)
        return [(Tensor(values: values, shape: first.shape), mask)]
    }
}

extension Merge {
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
