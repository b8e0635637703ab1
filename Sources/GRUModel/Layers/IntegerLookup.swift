import GRUCore

/// Keras `IntegerLookup(vocabulary, num_oov_indices, mask_token)` with output_mode int and invert false, its
/// vocabulary given in the config (keras/src/layers/preprocessing/index_lookup.py; tf_keras alike): each id
/// becomes its index, laid out as [mask_token (when set)] [the OOV index (num_oov_indices 1)] [vocabulary];
/// the mask token maps to 0; an id outside the vocabulary to the OOV index (with num_oov_indices 0 Keras
/// refuses it, and so does gru-run). A vocabulary may start with those special tokens itself; they are
/// dropped then. No weights; no mask goes on.
public struct IntegerLookup<Scalar: GRUScalar>: UnaryLayer {
    public var keepsMask: Bool { false }
    public let name: String
    let indices: [Double: Int]
    let maskToken: Double?
    let oovIndex: Int?

    /// `vocabulary`: the config's list, special tokens stripped by the builder; `oovIndices` 0 or 1.
    public init(name: String, vocabulary: [Double], oovIndices: Int, maskToken: Double?) throws {
        guard oovIndices == 0 || oovIndices == 1 else {
            throw GRUModelError.config(layer: name, "its num_oov_indices \(oovIndices) is not 0 or 1; gru-run does not hash ids into several OOV indices")
        }
        guard !vocabulary.isEmpty else { throw GRUModelError.config(layer: name, "its vocabulary is empty") }
        let start = (maskToken == nil ? 0 : 1) + oovIndices
        var indices: [Double: Int] = [:]
        for (k, token) in vocabulary.enumerated() {
            guard indices.updateValue(start + k, forKey: token) == nil else {
                throw GRUModelError.config(layer: name, "its vocabulary lists \(token) twice")
            }
        }
        if let maskToken, indices[maskToken] != nil {
            throw GRUModelError.config(layer: name, "its vocabulary lists its mask_token \(maskToken) after the start")
        }
        (self.name, self.indices, self.maskToken) = (name, indices, maskToken)
        oovIndex = oovIndices == 1 ? (maskToken == nil ? 0 : 1) : nil
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var values = x.values
        for (i, value) in values.enumerated() {
            let id = Double(value)
            if let maskToken, id == maskToken {
                values[i] = 0
            } else if let index = indices[id] ?? oovIndex {
                values[i] = Scalar(index)
            } else {
                throw GRUModelError.value(layer: name, "its input holds \(id) at position \(i), which is not in its vocabulary, and num_oov_indices is 0")
            }
        }
        return Tensor(values: values, shape: x.shape)
    }
}
