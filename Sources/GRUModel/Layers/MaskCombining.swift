import GRUCore

/// How a merge layer combines its inputs' masks, which changed with Keras 3 (both read from
/// `compute_mask` in tf_keras/src/layers/merging and keras/src/layers/merging).
public enum MaskMerging: Sendable {
    /// tf-keras / Keras 2: the AND of the masks; an input without a mask counts as all true; no mask
    /// when no input has one.
    case and
    /// Keras 3: `Add`, `Subtract`, ... give the OR of the masks, or none when an input has none;
    /// `Concatenate` gives the OR over its inputs with an unmasked input counting as all true.
    case or
}

/// The AND (or the OR) of the masks given, or nil when none is.
func combined<S>(_ masks: [Mask], inputs: [Tensor<S>], or: Bool = false) -> Mask {
    let given = masks.compactMap { $0 }
    guard var result = given.first else { return nil }
    for mask in given.dropFirst() where mask.count == result.count {
        for i in result.indices { result[i] = or ? result[i] || mask[i] : result[i] && mask[i] }
    }
    return result
}
