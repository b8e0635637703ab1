import GRUCore

/// Keras `CategoryEncoding(num_tokens, output_mode)` of integer ids (keras/src/layers/preprocessing/
/// category_encoding.py and utils/numerical_utils.py; tf_keras/src/layers/preprocessing/category_encoding.py):
///   one_hot:   (B,) or (B, 1) -> (B, num_tokens); (B, T) -> (B, T, num_tokens) (Keras 3)
///   multi_hot: (B, T) -> (B, num_tokens), 1 where the id occurs
///   count:     (B, T) -> (B, num_tokens), how often it occurs
/// An id must be a whole number in [0, num_tokens): tf-keras refuses others; Keras 3 would drop them
/// silently, gru-run refuses them too. No weights; no mask goes on.
public struct CategoryEncoding<Scalar: GRUScalar>: UnaryLayer {
    public enum Mode: String, Sendable { case oneHot = "one_hot", multiHot = "multi_hot", count }
    public var checksItsOutput: Bool { true }
    public var keepsMask: Bool { false }
    public let name: String
    public let tokens: Int
    public let mode: Mode

    public init(name: String, tokens: Int, mode: Mode) throws {
        try requirePositive(tokens, "num_tokens", layer: name)
        guard tokens < Int(Int32.max) else { throw GRUModelError.config(layer: name, "its num_tokens \(tokens) is 2^31 or more") }
        (self.name, self.tokens, self.mode) = (name, tokens, mode)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let shape: [Int]
        switch (mode, x.shape.count) {
        case (.oneHot, 1): shape = [x.batch, tokens]
        case (.oneHot, 2): shape = x.shape[1] == 1 ? [x.batch, tokens] : x.shape + [tokens]
        case (.multiHot, 2), (.count, 2): shape = [x.batch, tokens]
        default:
            throw GRUModelError.shape(layer: name, "its output_mode \(mode.rawValue) takes ids of shape \(mode == .oneHot ? "(batch) or (batch, steps)" : "(batch, steps)"), not \(describe(x.shape))")
        }
        var out = [Scalar](repeating: 0, count: try reserveOutput(shape.reduce(1, *), of: Scalar.self, layer: name))
        let perRow = mode == .oneHot ? 1 : max(x.sampleSize, 1)
        for (i, value) in x.values.enumerated() {
            let id = Double(value)
            guard id >= 0, id < Double(tokens), id == id.rounded() else {
                throw GRUModelError.value(layer: name, "its input holds \(shownID(id)) at position \(i), not an id in [0, \(tokens)) (num_tokens \(tokens))")
            }
            let at = (i / perRow) * tokens + Int(id)
            out[at] = mode == .count ? out[at] + 1 : 1
        }
        return Tensor(values: out, shape: shape)
    }
}

/// An id as a message shows it: whole numbers without a fraction.
func shownID(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}
