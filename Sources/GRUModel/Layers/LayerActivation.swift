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
    /// `x` is taken over, so that its values change in place; rows of the element-wise activations and the
    /// lanes of softmax and its kin are shared among `threads`.
    public func apply<S: GRUScalar>(_ input: consuming Tensor<S>, layer: String, threads: Int = 1) throws -> Tensor<S> {
        var x = consume input
        var values = x.values
        x.values = []
        switch self {
        case .elementwise(.linear, _):
            return Tensor(values: values, shape: x.shape)
        case .elementwise(let activation, let hardSigmoid):
            values.withUnsafeMutableBufferPointer {
                guard let base = $0.baseAddress else { return }
                let address = Int(bitPattern: base), count = $0.count, block = 1 << 14
                parallelRows((count + block - 1) / block, threads: threads, minimumPerThread: 8) { blocks in
                    let start = blocks.lowerBound * block, end = min(count, blocks.upperBound * block)
                    // The GRU's gate loops for tanh, sigmoid, hard_sigmoid and relu (vectorized on the active
                    // kernels); the others by their scalar definitions.
                    vectorActivation(activation, UnsafeMutablePointer<S>(bitPattern: address)! + start, count: end - start, hardSigmoid: hardSigmoid)
                }
            }
        case .softmax(let axis), .logSoftmax(let axis), .sparsemax(let axis):
            let lanes = try AxisLanes(shape: x.shape, axis: axis, layer: layer)
            values.withUnsafeMutableBufferPointer { v in
                guard let base = v.baseAddress else { return }
                let address = Int(bitPattern: base)
                parallelRows(lanes.outer * lanes.inner, threads: threads, minimumPerThread: 16) { range in
                    let base = UnsafeMutablePointer<S>(bitPattern: address)!
                    for lane in range {
                        overAxis(base, lanes: lanes, start: (lane / lanes.inner) * lanes.length * lanes.inner + lane % lanes.inner)
                    }
                }
            }
        case .glu(let axis):
            return try gatedLinear(Tensor(values: values, shape: x.shape), axis: axis, layer: layer)
        case .leakyRelu(let alpha):
            for i in values.indices where values[i] < 0 { values[i] = values[i] * S(alpha) }
        case .elu(let alpha):
            for i in values.indices where values[i] < 0 { values[i] = S(alpha) * S.expm1(values[i]) }
        case .relu(let maxValue, let slope, let threshold):
            // Keras backend.relu: x >= max_value -> max_value; x >= threshold -> x; else slope * (x - threshold).
            for i in values.indices {
                let v = values[i]
                if v.isNaN { continue }
                var y = v >= S(threshold) ? v : S(slope) * (v - S(threshold))
                if let maxValue, y > S(maxValue) { y = S(maxValue) }
                values[i] = y
            }
        }
        return Tensor(values: values, shape: x.shape)
    }
}
