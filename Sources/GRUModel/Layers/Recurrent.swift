import GRUCore

/// Layers whose number of outputs depends on their config.
public protocol RecurrentOutputs {
    var outputCount: Int { get }
}

extension RecurrentStage {
    /// 1, or 2 for a Bidirectional: the final states the stage gives.
    public var directions: Int {
        if case .bidirectional = self { return 2 }
        return 1
    }
}

extension Recurrent: RecurrentOutputs {
    /// The output (two with merge_mode None), then one state per direction with return_state.
    public var outputCount: Int {
        switch stage {
        case .gru: return returnState ? 2 : 1
        case .bidirectional(let layer): return (layer.mergeMode == .none ? 2 : 1) + (returnState ? 2 : 0)
        }
    }
}

/// A GRU or Bidirectional(GRU) layer (GRUCore runs it). Outputs: the output, then with return_state the
/// final states (one, or forward and backward). The mask goes on with a returned sequence.
public struct Recurrent<Scalar: GRUScalar>: ModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let stage: RecurrentStage<Scalar>
    public let returnState: Bool

    public init(name: String, stage: RecurrentStage<Scalar>, returnState: Bool) {
        self.name = name
        self.stage = stage
        self.returnState = returnState
    }

    /// Extra inputs after the first are initial states (Keras's `initial_state`).
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard let x = inputs.first, x.shape.count == 3 else {
            throw GRUModelError.shape(layer: name, "it takes a (batch, timesteps, features) input, not \(inputs.first.map { describe($0.shape) } ?? "none")")
        }
        let states = inputs.count > 1 ? inputs.dropFirst().map(\.values) : nil
        try reserve(stage.outputValues(batch: x.shape[0], steps: x.shape[1]), of: Scalar.self, layer: name)
        let result = try stage(x.values, shape: x.shape, mask: masks.first ?? nil, initialStates: states, threads: threads)
        let mask = stage.returnSequences ? masks.first ?? nil : nil
        var outputs = result.outputs.map { (Tensor(values: $0.values, shape: $0.shape), mask) }
        if returnState { outputs += result.states.map { (Tensor(values: $0.values, shape: $0.shape), nil) } }
        return outputs
    }
}
