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

/// `Activation`, `Softmax`, `ReLU`, `LeakyReLU`, `ELU`: an activation as a layer of its own; the mask passes.
public struct ActivationLayer<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let activation: LayerActivation

    public init(name: String, activation: LayerActivation) {
        self.name = name
        self.activation = activation
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var values = x.values
        activation.apply(&values, shape: x.shape)
        return Tensor(values: values, shape: x.shape)
    }
}

/// `PReLU`: `x` where positive, `alpha * x` elsewhere, with `alpha` learned per position (shared along
/// `shared_axes`, stored with those axes of size 1).
public struct PReLU<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// Shape of alpha without the batch axis, e.g. (T, F) or (1, F) with shared_axes=[1].
    public let alphaShape: [Int]
    public let alpha: [Scalar]

    public init(name: String, alphaShape: [Int], alpha: [Scalar]) {
        self.name = name
        self.alphaShape = alphaShape
        self.alpha = alpha
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let sample = Array(x.shape.dropFirst())
        guard sample.count == alphaShape.count, zip(sample, alphaShape).allSatisfy({ $1 == 1 || $0 == $1 }) else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)) but its alpha has shape \(describe(alphaShape))")
        }
        var values = x.values
        let size = x.sampleSize
        for i in values.indices where values[i] < 0 {
            var index = i % size, a = 0, step = 1
            var position = [Int](repeating: 0, count: sample.count)
            for axis in stride(from: sample.count - 1, through: 0, by: -1) {
                position[axis] = index % sample[axis]
                index /= sample[axis]
            }
            for axis in stride(from: sample.count - 1, through: 0, by: -1) {
                a += (alphaShape[axis] == 1 ? 0 : position[axis]) * step
                step *= alphaShape[axis]
            }
            values[i] = values[i] * alpha[a]
        }
        return Tensor(values: values, shape: x.shape)
    }
}

/// Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization: they
/// change nothing at inference (`model.predict`); the mask passes.
public struct Identity<Scalar: GRUScalar>: UnaryLayer {
    public let name: String

    public init(name: String) { self.name = name }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> { x }
}
