import GRUCore

/// Keras `IntegerLookup(vocabulary, num_oov_indices, mask_token)` with output_mode int and invert false, its
/// vocabulary given in the config (keras/src/layers/preprocessing/index_lookup.py; tf_keras alike): each id
/// becomes its index, laid out as [mask_token (when set)] [num_oov_indices OOV indices] [vocabulary];
/// the mask token maps to 0; an id outside the vocabulary to OOV index `floormod(id, num_oov_indices)` (both
/// Keras versions' way for integers; with num_oov_indices 0 Keras refuses it, and so does gru-run). A
/// vocabulary may start with those special tokens itself; the builder drops them then. No weights; no mask
/// goes on.
public struct IntegerLookup<Scalar: GRUScalar>: UnaryLayer {
    public var keepsMask: Bool { false }
    public let name: String
    let indices: [Double: Int]
    let maskToken: Double?
    let oovStart: Int, oovIndices: Int

    /// `vocabulary`: the config's list, special tokens stripped by the builder.
    public init(name: String, vocabulary: [Double], oovIndices: Int, maskToken: Double?) throws {
        guard oovIndices >= 0, oovIndices < Int(Int32.max) else {
            throw GRUModelError.config(layer: name, "its num_oov_indices \(oovIndices) is not a count from 0 below 2^31")
        }
        guard !vocabulary.isEmpty else { throw GRUModelError.config(layer: name, "its vocabulary is empty") }
        let start = (maskToken == nil ? 0 : 1) + oovIndices
        var indices: [Double: Int] = [:]
        for (k, token) in vocabulary.enumerated() {
            guard indices.updateValue(start + k, forKey: token) == nil else {
                throw GRUModelError.config(layer: name, "its vocabulary lists \(shownID(token)) twice")
            }
        }
        if let maskToken, indices[maskToken] != nil {
            throw GRUModelError.config(layer: name, "its vocabulary lists its mask_token \(shownID(maskToken)) after the start")
        }
        (self.name, self.indices, self.maskToken, self.oovIndices) = (name, indices, maskToken, oovIndices)
        oovStart = maskToken == nil ? 0 : 1
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var values = x.values
        for (i, value) in values.enumerated() {
            let id = Double(value)
            if let maskToken, id == maskToken {
                values[i] = 0
            } else if let index = indices[id] {
                values[i] = Scalar(index)
            } else if oovIndices > 0, id == id.rounded(), abs(id) < 1e15 {
                let rest = Int(id) % oovIndices
                values[i] = Scalar(oovStart + (rest < 0 ? rest + oovIndices : rest))
            } else {
                throw GRUModelError.value(layer: name, "its input holds \(shownID(id)) at position \(i), which is not in its vocabulary, and num_oov_indices is 0")
            }
        }
        return Tensor(values: values, shape: x.shape)
    }
}
