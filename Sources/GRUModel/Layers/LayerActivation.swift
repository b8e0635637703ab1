import GRUCore

/// An activation a Keras layer names: the element-wise ones GRUCore implements, and those that work over
/// an axis (softmax, log_softmax, glu, sparsemax).
public enum LayerActivation: Sendable, Equatable {
    case elementwise(Activation, HardSigmoidDefinition)
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
    /// Splits the axis in halves a | b and gives `a * sigmoid(b)`: the axis halves.
    case glu(axis: Int)
    case sparsemax(axis: Int)
    /// `LeakyReLU(alpha)`, `ELU(alpha)`, `ReLU(max_value, negative_slope, threshold)`: Keras's advanced
    /// activation layers, with their parameters.
    case leakyRelu(alpha: Double)
    case elu(alpha: Double)
    case relu(maxValue: Double?, negativeSlope: Double, threshold: Double)

    public static let linear = LayerActivation.elementwise(.linear, .keras2)

    /// The activation of `x`, computed in the layer `layer` (named in errors).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func apply<S: GRUScalar>(_ x: Tensor<S>, layer: String) throws -> Tensor<S> {
        var values = x.values
        switch self {
        case .elementwise(.linear, _):
            return x
        case .elementwise(let activation, let hardSigmoid):
            values.withUnsafeMutableBufferPointer {
                guard let base = $0.baseAddress else { return }
                activation.apply(base, count: $0.count, hardSigmoid: hardSigmoid)
            }
        case .softmax(let axis), .logSoftmax(let axis), .sparsemax(let axis):
            let lanes = try AxisLanes(shape: x.shape, axis: axis, layer: layer)
            values.withUnsafeMutableBufferPointer { v in
                guard let base = v.baseAddress else { return }
                lanes.forEach { overAxis(base, lanes: lanes, start: $0) }
            }
        case .glu(let axis):
            return try gatedLinear(x, axis: axis, layer: layer)
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
        return Tensor(values: values, shape: x.shape)
    }
}
