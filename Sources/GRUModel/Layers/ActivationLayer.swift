import GRUCore

/// `Activation`, `Softmax`, `ReLU`, `LeakyReLU`, `ELU`: an activation as a layer of its own; the mask passes
/// (also through `Activation('glu')`, which halves the last axis, as Keras passes it).
public struct ActivationLayer<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let activation: LayerActivation

    public init(name: String, activation: LayerActivation) {
        self.name = name
        self.activation = activation
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try activation.apply(x, layer: name)
    }
}
