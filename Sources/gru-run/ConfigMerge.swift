import GRUCore
import GRUIO

extension LayerOptions {
    /// The file's config with every given flag applied over it, checked against the weights.
    func mergedConfig(with gru: KerasGRU) throws -> GRUConfig {
        var config = gru.config
        let file = gru.path
        if let units, units != gru.units {
            throw CLIError.usage("--units \(units) contradicts \(file): its recurrent kernel holds \(gru.units) units")
        }
        if let activation { config.activation = activation }
        if let recurrentActivation { config.recurrentActivation = recurrentActivation }
        if let hardSigmoid { config.hardSigmoid = hardSigmoid }
        if let useBias {
            if useBias != (gru.bias != nil) {
                throw CLIError.usage(useBias ? "--use-bias contradicts \(file): layer \(Printable.quoted(gru.layerName)) holds no bias"
                                     : "--no-use-bias contradicts \(file): layer \(Printable.quoted(gru.layerName)) holds a bias")
            }
            config.useBias = useBias
        }
        if let resetAfter {
            if let shape = gru.biasShape, resetAfter != (shape.count == 2) {
                throw CLIError.usage("--\(resetAfter ? "" : "no-")reset-after contradicts \(file): its bias has shape \(describe(shape)), which means reset_after=\(shape.count == 2 ? "True" : "False")")
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
