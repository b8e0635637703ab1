import GRUCore

/// How a convolution or pooling window meets the edges, as Keras names it.
public enum Padding: String, Sendable {
    case valid, same, causal

    /// Output length and the padding before the first position, for an input of `length`.
    func extent(length: Int, window: Int, stride: Int, dilation: Int = 1) -> (output: Int, before: Int) {
        let span = (window - 1) * dilation + 1
        switch self {
        case .valid: return (length >= span ? (length - span) / stride + 1 : 0, 0)
        case .same:
            let output = (length + stride - 1) / stride
            let total = max(0, (output - 1) * stride + span - length)
            return (output, total / 2)
        case .causal: return ((length + stride - 1) / stride, span - 1)
        }
    }
}
