import GRUCore

/// Keras's Bidirectional(GRU), computed by GRUCore (the backward sequence flipped back into input order, then
/// merged). Inputs: the sequence, then optionally the forward and backward initial states. Outputs: the
/// merged output (two with merge_mode None), then with return_state the forward and backward final states.
public struct Bidirectional<Scalar: GRUScalar>: GRUModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let layer: BidirectionalGRU<Scalar>
    public var returnState: Bool
    public var options = RecurrentCallOptions()
    public var directions: Int { 2 }
    public var stateCount: Int { 2 }
    public var configs: [GRUConfig] { [layer.forward.config, layer.backward.config] }
    public var outputCount: Int { (layer.mergeMode == .none ? 2 : 1) + (returnState ? 2 : 0) }

    public init(name: String, layer: BidirectionalGRU<Scalar>, returnState: Bool) {
        self.name = name
        self.layer = layer
        self.returnState = returnState
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        let x = try sequenceInput(inputs, layer: name, states: 2)
        guard options.trainingSeed == nil else {
            throw GRUModelError.config(layer: name, "training=True is supported for a GRU layer, not for a Bidirectional")
        }
        let config = layer.forward.config
        let (batch, steps) = config.timeMajor ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        // Both directions' outputs, then the merged one.
        let units = layer.forward.config.units + layer.backward.config.units
        _ = try reserveOutput(2, batch, config.returnSequences ? steps : 1, units, of: Scalar.self, layer: name)
        let states = inputs.count > 1 ? inputs.dropFirst().map(\.values) : nil
        let result = try layer(x.values, shape: x.shape, mask: masks.first ?? nil, initialStates: states, threads: threads)
        let mask = config.returnSequences ? masks.first ?? nil : nil
        var outputs = result.outputs.map { (Tensor(values: $0.values, shape: $0.shape), mask) }
        if returnState { outputs += result.states.map { (Tensor(values: $0.values, shape: $0.shape), nil) } }
        return outputs
    }
}
