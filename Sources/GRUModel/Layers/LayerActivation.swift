import GRUCore

/// An activation a Keras layer names: the element-wise ones GRUCore implements, and softmax over an axis.
public enum LayerActivation: Sendable, Equatable {
    case elementwise(Activation, HardSigmoidDefinition)
    case softmax(axis: Int)
    /// `LeakyReLU(alpha)`, `ELU(alpha)`, `ReLU(max_value, negative_slope, threshold)`: Keras's advanced
    /// activation layers, with their parameters.
    case leakyRelu(alpha: Double)
    case elu(alpha: Double)
    case relu(maxValue: Double?, negativeSlope: Double, threshold: Double)

    public static let linear = LayerActivation.elementwise(.linear, .keras2)

    /// Applies the activation in place to a tensor of `shape`.
    public func apply<S: GRUScalar>(_ values: inout [S], shape: [Int]) {
        switch self {
        case .elementwise(.linear, _):
            return
        case .elementwise(let activation, let hardSigmoid):
            for i in values.indices { values[i] = activation(values[i], hardSigmoid: hardSigmoid) }
        case .softmax(let axis):
            let rank = shape.count
            let a = axis < 0 ? rank + axis : axis
            let length = shape[a], inner = shape[(a + 1)...].reduce(1, *), outer = values.count / max(1, length * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * length * inner + i
                    var largest = -Double.infinity
                    for k in 0..<length { largest = max(largest, Double(values[base + k * inner])) }
                    var sum = 0.0
                    var exps = [Double](repeating: 0, count: length)
                    for k in 0..<length {
                        exps[k] = Double.exp(Double(values[base + k * inner]) - largest)
                        sum += exps[k]
                    }
                    for k in 0..<length { values[base + k * inner] = S(exps[k] / sum) }
                }
            }
        case .leakyRelu(let alpha):
            for i in values.indices where values[i] < 0 { values[i] = values[i] * S(alpha) }
        case .elu(let alpha):
            for i in values.indices where values[i] < 0 { values[i] = S(alpha) * S.expm1(values[i]) }
        case .relu(let maxValue, let slope, let threshold):
            // Keras backend.relu: x >= max_value -> max_value; x >= threshold -> x; else slope * (x - threshold).
            for i in values.indices {
                let x = values[i]
                if x.isNaN { continue }
                var y = x >= S(threshold) ? x : S(slope) * (x - S(threshold))
                if let maxValue, y > S(maxValue) { y = S(maxValue) }
                values[i] = y
            }
        }
    }
}
