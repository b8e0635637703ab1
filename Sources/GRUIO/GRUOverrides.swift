import GRUCore
import GRUModel

/// The GRU arguments a user gives over a file's config (the command line's layer flags), as data: the
/// library applies them where it builds the layer.
public struct GRUOverrides: Sendable {
    public var units: Int?
    public var activation: Activation?
    public var recurrentActivation: Activation?
    public var hardSigmoid: HardSigmoidDefinition?
    public var useBias: Bool?
    public var resetAfter: Bool?
    public var returnSequences: Bool?
    public var returnState: Bool?
    public var goBackwards: Bool?
    public var zeroOutputForMask: Bool?
    public var timeMajor: Bool?
    public var stateful: Bool?
    public var unroll: Bool?
    public var implementation: Int?
    public var dropout: Double?
    public var recurrentDropout: Double?
    public var mergeMode: MergeMode?
    /// Options of the call itself (training, progress).
    public var call = RecurrentCallOptions()

    public init() {}

    /// Whether any argument of the layer's config is given.
    public var changesConfig: Bool {
        units != nil || activation != nil || recurrentActivation != nil || hardSigmoid != nil || useBias != nil
            || resetAfter != nil || returnSequences != nil || returnState != nil || goBackwards != nil
            || zeroOutputForMask != nil || timeMajor != nil || stateful != nil || unroll != nil
            || implementation != nil || dropout != nil || recurrentDropout != nil || mergeMode != nil
    }

    /// The file's config with every given argument applied over it, checked against the weights.
    public func config(of gru: KerasGRU) throws -> GRUConfig {
        var config = gru.config
        let file = gru.path
        if let units, units != gru.units {
            throw GRUIOError.usage("--units \(units) contradicts \(file): its recurrent kernel holds \(gru.units) units")
        }
        if let activation { config.activation = activation }
        if let recurrentActivation { config.recurrentActivation = recurrentActivation }
        if let hardSigmoid { config.hardSigmoid = hardSigmoid }
        if let useBias {
            if useBias != (gru.bias != nil) {
                throw GRUIOError.usage(useBias ? "--use-bias contradicts \(file): layer \(Printable.quoted(gru.layerName)) holds no bias"
                                       : "--no-use-bias contradicts \(file): layer \(Printable.quoted(gru.layerName)) holds a bias")
            }
            config.useBias = useBias
        }
        if let resetAfter {
            if let shape = gru.biasShape, resetAfter != (shape.count == 2) {
                throw GRUIOError.usage("--\(resetAfter ? "" : "no-")reset-after contradicts \(file): its bias has shape \(describe(shape)), which means reset_after=\(shape.count == 2 ? "True" : "False")")
            }
            config.resetAfter = resetAfter
        }
        if let returnSequences { config.returnSequences = returnSequences }
        if let returnState { config.returnState = returnState }
        if let goBackwards { config.goBackwards = goBackwards }
        if let zeroOutputForMask { config.zeroOutputForMask = zeroOutputForMask }
        if let timeMajor { config.timeMajor = timeMajor }
        if let stateful { config.stateful = stateful }
        if let unroll { config.unroll = unroll }
        if let implementation { config.implementation = implementation }
        if let dropout { config.dropout = dropout }
        if let recurrentDropout { config.recurrentDropout = recurrentDropout }
        return config
    }
}

extension KerasLayer {
    /// The GRU or Bidirectional(GRU) as a model layer computing in `S`, `overrides` applied (a
    /// Bidirectional's directions keep their own go_backwards). `returnState`: the layer also gives its
    /// final states.
    public func recurrentLayer<S: GRUScalar>(_ type: S.Type, overrides: GRUOverrides = GRUOverrides(),
                                             returnState: Bool) throws -> any GRUModelLayer<S> {
        switch self {
        case .gru(let gru):
            var layer = GRU(name: gru.layerName, layer: try GRULayer(config: try overrides.config(of: gru), weights: try gru.weights(S.self)),
                            returnState: returnState)
            layer.options = overrides.call
            return layer
        case .bidirectional(let bidirectional):
            if overrides.goBackwards != nil {
                throw GRUIOError.usage("--go-backwards does not apply to Bidirectional layer \(Printable.quoted(bidirectional.name)), whose directions are fixed")
            }
            if overrides.stateful == true {
                throw GRUIOError.usage("--state and --stateful are not supported for Bidirectional layer \(Printable.quoted(bidirectional.name))")
            }
            var directions: [GRULayer<S>] = []
            for direction in [bidirectional.forward, bidirectional.backward] {
                var config = try overrides.config(of: direction)
                config.goBackwards = direction.config.goBackwards
                directions.append(try GRULayer(config: config, weights: try direction.weights(S.self)))
            }
            var layer = Bidirectional(name: bidirectional.name,
                                      layer: try BidirectionalGRU(forward: directions[0], backward: directions[1],
                                                                  mergeMode: overrides.mergeMode ?? bidirectional.mergeMode),
                                      returnState: returnState)
            layer.options = overrides.call
            return layer
        default:
            throw GRUIOError.usage("layer \(Printable.quoted(name)) is \(Printable.withArticle(className)), not a GRU or Bidirectional(GRU)")
        }
    }
}
