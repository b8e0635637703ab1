import GRUCore

/// One Keras layer, as a model runs it: tensors and their masks in, tensors and their masks out.
public protocol ModelLayer<Scalar>: Sendable {
    associatedtype Scalar: GRUScalar
    func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)]
    /// Whether the layer asks `modelAllocationCheck` for its own output (its size is not its input's).
    var checksItsOutput: Bool { get }
}

extension ModelLayer {
    public var checksItsOutput: Bool { false }
}

/// A layer whose number of outputs depends on its config (a recurrent layer with return_state, an attention
/// layer with return_attention_scores).
public protocol MultipleOutputs {
    var outputCount: Int { get }
}

/// A layer with one input and one output. `keepsMask`: whether Keras passes the input's mask on
/// (`supports_masking` with the default `compute_mask`); otherwise the mask stops here.
public protocol UnaryLayer: ModelLayer {
    var name: String { get }
    var keepsMask: Bool { get }
    func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar>
}

extension UnaryLayer {
    public var keepsMask: Bool { true }

    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1 else { throw GRUModelError.shape(layer: name, "it takes one input, not \(inputs.count)") }
        let output = try apply(inputs[0], threads: threads)
        // A mask is per timestep: it only goes on while the time axis does.
        let keep = keepsMask && output.shape.count >= 2 && output.shape.prefix(2) == inputs[0].shape.prefix(2)
        return [(output, keep ? masks.first ?? nil : nil)]
    }

    /// Checks the size of the last axis.
    func expectWidth(_ x: Tensor<Scalar>, _ width: Int) throws {
        guard x.shape.count >= 2, x.width == width else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)) but it expects \(width) values on the last axis")
        }
    }
}

/// A layer whose Keras call takes arguments besides its inputs (`use_causal_mask`,
/// `return_attention_scores`): the graph holds one copy per call, the weights shared.
public protocol AttentionCall {
    func called(with options: AttentionOptions) -> Self
}

/// The call arguments of Keras's attention layers.
public struct AttentionOptions: Sendable, Equatable {
    public var useCausalMask: Bool
    public var returnAttentionScores: Bool

    public init(useCausalMask: Bool = false, returnAttentionScores: Bool = false) {
        (self.useCausalMask, self.returnAttentionScores) = (useCausalMask, returnAttentionScores)
    }
}

/// A layer whose call takes the masks off its input tensors for every later reader (Keras 3's
/// MultiHeadAttention calls `set_keras_mask(query / value / key, None)` while the model is built).
public protocol InputMaskClearing {
    var clearsInputMasks: Bool { get }
}
