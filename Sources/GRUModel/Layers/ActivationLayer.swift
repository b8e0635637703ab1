import GRUCore

/// `Activation`, `Softmax`, `ReLU`, `LeakyReLU`, `ELU`: an activation as a layer of its own; the mask passes
/// (also through `Activation('glu')`, which halves the last axis, as Keras passes it).
public struct ActivationLayer<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let activation: LayerActivation

    public init(name: String, activation: LayerActivation) throws {
        try activation.check(layer: name)
        self.name = name
        self.activation = activation
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        if case .softmax(let axis) = activation {
            // Softmax may run over any axis, the batch's included (Keras computes it the same way).
            _ = try resolvedAxis(axis, shape: x.shape, lowest: 0, layer: name)
        }
        return try activation.apply(x, layer: name, threads: threads)
    }
}

extension LayerActivation {
    /// Refuses the parameters Keras documents as out of range (`ReLU`: max_value, negative_slope and threshold
    /// are floats >= 0, in tf_keras and keras/src layers/activations alike) and any NaN or infinity, which no
    /// layer is built with. A negative LeakyReLU slope is kept: tf-keras builds one.
    public func check(layer: String) throws {
        func require(_ value: Double, _ key: String, atLeastZero: Bool) throws {
            guard value.isFinite, !atLeastZero || value >= 0 else {
                throw GRUModelError.config(layer: layer, "its \(key) \(value) is not a \(atLeastZero ? "non-negative " : "")finite number")
            }
        }
        switch self {
        case .relu(let maxValue, let slope, let threshold):
            if let maxValue { try require(maxValue, "max_value", atLeastZero: true) }
            try require(slope, "negative_slope", atLeastZero: true)
            try require(threshold, "threshold", atLeastZero: true)
        case .leakyRelu(let alpha): try require(alpha, "negative_slope", atLeastZero: false)
        case .elu(let alpha): try require(alpha, "alpha", atLeastZero: false)
        case .elementwise, .softmax, .logSoftmax, .glu, .sparsemax: return
        }
    }
}
