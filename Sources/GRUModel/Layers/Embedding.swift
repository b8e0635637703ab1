import GRUCore

/// Keras `Embedding`: integer ids `(batch, T)` to rows of `embeddings (input_dim, output_dim)`, giving
/// `(batch, T, output_dim)`. With `mask_zero` id 0 masks its step. An id that is not a whole number in
/// `[0, input_dim)` is refused (Keras on CPU fails on it too).
public struct Embedding<Scalar: GRUScalar>: ModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let inputDim: Int
    public let outputDim: Int
    public let embeddings: [Scalar]
    public let maskZero: Bool

    public init(name: String, inputDim: Int, outputDim: Int, embeddings: [Scalar], maskZero: Bool) throws {
        try requirePositive(inputDim, "input_dim", layer: name)
        try requirePositive(outputDim, "output_dim", layer: name)
        guard embeddings.count == checkedProduct([inputDim, outputDim]) else {
            throw GRUModelError.config(layer: name, "its embeddings hold \(embeddings.count) values, not (\(inputDim), \(outputDim))")
        }
        // Token ids travel in the computation's type: past 2^24, float32 would round one id onto another.
        guard Scalar.significandBitCount >= 52 || inputDim <= 1 << 24 else {
            throw GRUModelError.config(layer: name, "its \(inputDim) token ids cannot all be told apart in float32; run with --dtype float64")
        }
        (self.name, self.inputDim, self.outputDim, self.embeddings, self.maskZero) = (name, inputDim, outputDim, embeddings, maskZero)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1 else { throw GRUModelError.shape(layer: name, "it takes one input, not \(inputs.count)") }
        let ids = inputs[0]
        let count = try reserveOutput(ids.values.count, outputDim, of: Scalar.self, layer: name)
        for (position, id) in ids.values.enumerated() {
            guard id == id.rounded(), id >= 0, id < Scalar(inputDim) else {
                // A whole number is shown as one (16777218, not 16777218.0): ids come from integer arrays.
                let shown = id == id.rounded() && id.magnitude < 9e18 ? String(Int64(id)) : "\(id)"
                throw GRUModelError.value(layer: name, "input \(position) is \(shown), not a token id in 0..<\(inputDim)")
            }
        }
        // Every id checked above: each position's row is copied whole.
        let (outputDim, values) = (outputDim, ids.values)
        let out: [Scalar] = embeddings.withUnsafeBufferPointer { table in
            unfilledOutput(count) { out in
                for (position, id) in values.enumerated() {
                    (out + position * outputDim).update(from: table.baseAddress! + Int(id) * outputDim, count: outputDim)
                }
            }
        }
        let mask: Mask = maskZero ? values.map { $0 != 0 } : nil
        return [(Tensor(values: out, shape: ids.shape + [outputDim]), ids.shape.count == 2 ? mask : nil)]
    }
}
