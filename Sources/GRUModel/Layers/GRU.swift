import GRUCore

/// What a recurrent call takes beyond Keras's config: `training=True` (dropout masks drawn from a seed, so
/// that a run can be repeated) and a report of the timesteps done.
public struct RecurrentCallOptions: Sendable {
    /// Keras's `training=True`: dropout and recurrent_dropout act, their masks drawn from this seed.
    public var trainingSeed: UInt64?
    /// Called now and then from the computing thread with the number of timesteps done.
    public var progress: (@Sendable (Int) -> Void)?

    public init(trainingSeed: UInt64? = nil, progress: (@Sendable (Int) -> Void)? = nil) {
        self.trainingSeed = trainingSeed
        self.progress = progress
    }
}

/// A recurrent layer (GRU, LSTM, SimpleRNN, RNN over cells, or a Bidirectional of one): a layer whose final
/// states can be asked for and whose call takes options.
public protocol RecurrentModelLayer<Scalar>: ModelLayer, MultipleOutputs {
    /// 1, or 2 for a Bidirectional.
    var directions: Int { get }
    /// The final states the layer gives with return_state (`(batch, units)` each, in Keras's order), which
    /// are also the initial states its call takes after its input.
    var stateCount: Int { get }
    var returnState: Bool { get set }
    var options: RecurrentCallOptions { get set }
}

/// A GRU or a Bidirectional(GRU), which a single-layer run drives.
public protocol GRUModelLayer<Scalar>: RecurrentModelLayer {
    /// Each direction's config.
    var configs: [GRUConfig] { get }
}

/// Keras's GRU layer, computed by GRUCore. Inputs: the sequence `(batch, timesteps, features)` (or
/// `(timesteps, batch, features)` when time-major), then optionally the initial state `(batch, units)`
/// (Keras's `initial_state`). Outputs: the output, then with return_state the final state. The mask goes
/// on with a returned sequence.
public struct GRU<Scalar: GRUScalar>: GRUModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let layer: GRULayer<Scalar>
    public var returnState: Bool
    public var options = RecurrentCallOptions()
    public var directions: Int { 1 }
    public var stateCount: Int { 1 }
    public var configs: [GRUConfig] { [layer.config] }
    public var outputCount: Int { returnState ? 2 : 1 }

    public init(name: String, layer: GRULayer<Scalar>, returnState: Bool) {
        self.name = name
        self.layer = layer
        self.returnState = returnState
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        let x = try sequenceInput(inputs, layer: name, states: 1)
        let config = layer.config
        let (batch, steps) = config.timeMajor ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        _ = try reserveOutput(batch, config.returnSequences ? steps : 1, config.units, of: Scalar.self, layer: name)
        let dropout = options.trainingSeed.map {
            DropoutMasks<Scalar>(config: config, batch: batch, features: layer.weights.inputDim, seed: $0)
        }
        let result = try layer(x.values, shape: x.shape, mask: masks.first ?? nil, initialState: inputs.count > 1 ? inputs[1].values : nil,
                               training: dropout, threads: threads, progress: options.progress)
        var outputs = [(Tensor(values: result.output, shape: result.outputShape), config.returnSequences ? masks.first ?? nil : nil)]
        if returnState { outputs.append((Tensor(values: result.state, shape: result.stateShape), nil)) }
        return outputs
    }
}

/// The sequence a recurrent layer reads, with at most `states` initial states after it.
func sequenceInput<S>(_ inputs: [Tensor<S>], layer: String, states: Int) throws -> Tensor<S> {
    guard let x = inputs.first, x.shape.count == 3 else {
        throw GRUModelError.shape(layer: layer, "it takes a (batch, timesteps, features) input, not \(inputs.first.map { describe($0.shape) } ?? "none")")
    }
    guard inputs.count == 1 || inputs.count == 1 + states else {
        throw GRUModelError.shape(layer: layer, "it takes its input and \(states) initial state\(states == 1 ? "" : "s"), not \(inputs.count - 1)")
    }
    return x
}
