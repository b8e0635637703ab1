import GRUCore

/// One cell of a recurrent layer: a GRU (Keras's GRU, or an RNN over a GRUCell) or an LSTM / SimpleRNN
/// (Keras's LSTM, CuDNNLSTM, SimpleRNN, or an RNN over an LSTMCell / SimpleRNNCell).
public enum RecurrentCell<Scalar: GRUScalar>: Sendable {
    case gru(GRULayer<Scalar>)
    case cell(CellLayer<Scalar>)

    public var units: Int {
        switch self {
        case .gru(let layer): return layer.config.units
        case .cell(let layer): return layer.config.units
        }
    }

    /// The states its step carries: a GRU's h, an LSTM's h and c, a SimpleRNN's h.
    public var stateCount: Int {
        switch self {
        case .gru: return 1
        case .cell(let layer): return layer.config.kind.states
        }
    }

    /// Column blocks of units in its kernels: 3 for a GRU, 4 for an LSTM, 1 for a SimpleRNN.
    public var gates: Int {
        switch self {
        case .gru: return 3
        case .cell(let layer): return layer.config.kind.gates
        }
    }

    public var inputDim: Int {
        switch self {
        case .gru(let layer): return layer.weights.inputDim
        case .cell(let layer): return layer.inputDim
        }
    }

    /// The cell with the layer-level settings of an RNN over it.
    func configured(returnSequences: Bool, goBackwards: Bool, timeMajor: Bool, zeroOutputForMask: Bool,
                    reverseSequence: Bool) throws -> RecurrentCell {
        switch self {
        case .gru(let layer):
            var config = layer.config
            (config.returnSequences, config.goBackwards, config.timeMajor, config.zeroOutputForMask) = (returnSequences, goBackwards, timeMajor, zeroOutputForMask)
            config.reverseSequence = reverseSequence
            config.returnState = false
            return config == layer.config ? self : .gru(try GRULayer(config: config, weights: layer.weights))
        case .cell(let layer):
            var config = layer.config
            (config.returnSequences, config.goBackwards, config.timeMajor, config.zeroOutputForMask) = (returnSequences, goBackwards, timeMajor, zeroOutputForMask)
            config.reverseSequence = reverseSequence
            return config == layer.config ? self : .cell(layer.with(config))
        }
    }

    func run(_ x: [Scalar], shape: [Int], mask: [Bool]?, states: [[Scalar]]?, threads: Int,
             progress: (@Sendable (Int) -> Void)?) throws -> RecurrentOutput<Scalar> {
        switch self {
        case .gru(let layer):
            return RecurrentOutput(try layer(x, shape: shape, mask: mask, initialState: states?.first, threads: threads, progress: progress))
        case .cell(let layer):
            return try layer(x, shape: shape, mask: mask, initialStates: states, threads: threads, progress: progress)
        }
    }
}

/// Keras's LSTM, CuDNNLSTM, SimpleRNN and RNN layer: one cell, or a stack of them (an RNN over a list of
/// cells, StackedRNNCells), stepped through time. A stack runs as its cells one after the other over the
/// whole sequence, each the next one's input (the same numbers as Keras's cell by cell within each step:
/// a cell's step reads only the cell below at that step and its own states); with go_backwards the first
/// cell reads the input backwards and the others its output in that order, with the mask flipped to match.
/// Inputs: the sequence, then optionally every cell's initial states in order. Outputs: the last cell's
/// output, then with return_state every cell's final states in order.
public struct Recurrent<Scalar: GRUScalar>: RecurrentModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let cells: [RecurrentCell<Scalar>]
    public let returnSequences: Bool
    public let goBackwards: Bool
    public let timeMajor: Bool
    public var returnState: Bool
    public var options = RecurrentCallOptions()
    public var directions: Int { 1 }
    public var stateCount: Int { cells.reduce(0) { $0 + $1.stateCount } }
    public var outputCount: Int { 1 + (returnState ? stateCount : 0) }
    public var units: Int { cells.last!.units }

    /// `cells`: bottom first. The layer's settings replace each cell's own. `reverseSequence`: the returned
    /// sequence in reverse processing order (the backward layer of a Bidirectional, which Keras flips).
    public init(name: String, cells: [RecurrentCell<Scalar>], returnSequences: Bool, returnState: Bool, goBackwards: Bool,
                timeMajor: Bool = false, zeroOutputForMask: Bool = false, reverseSequence: Bool = false) throws {
        guard !cells.isEmpty else { throw GRUModelError.config(layer: name, "it has no cells") }
        for (below, above) in zip(cells, cells.dropFirst()) where above.inputDim != below.units {
            throw GRUModelError.config(layer: name, "a cell of \(below.units) units feeds a cell whose kernel expects \(above.inputDim) features")
        }
        self.cells = try cells.indices.map { i in
            do {
                return try cells[i].configured(returnSequences: i < cells.count - 1 || returnSequences, goBackwards: i == 0 && goBackwards,
                                               timeMajor: timeMajor, zeroOutputForMask: zeroOutputForMask,
                                               reverseSequence: i == cells.count - 1 && reverseSequence)
            } catch let error as GRUCoreError {
                throw GRUModelError.config(layer: name, error.description)
            }
        }
        (self.name, self.returnSequences, self.returnState, self.goBackwards, self.timeMajor) = (name, returnSequences, returnState, goBackwards, timeMajor)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard options.trainingSeed == nil else {
            throw GRUModelError.config(layer: name, "training=True is supported for a GRU layer, not for this one")
        }
        let x = try sequenceInput(inputs, layer: name, states: stateCount)
        let (batch, steps) = timeMajor ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        _ = try reserveOutput(2, batch, returnSequences ? steps : 1, cells.map(\.units).max()!, of: Scalar.self, layer: name)
        var given = inputs.count > 1 ? inputs.dropFirst().map(\.values) : nil
        var sequence = x.values, shape = x.shape
        var mask = masks.first ?? nil
        var states: [ShapedArray<Scalar>] = []
        var result: RecurrentOutput<Scalar>?
        for (i, cell) in cells.enumerated() {
            let own = given.map { Array($0.prefix(cell.stateCount)) }
            given = given.map { Array($0.dropFirst(cell.stateCount)) }
            do {
                let out = try cell.run(sequence, shape: shape, mask: mask, states: own, threads: threads,
                                       progress: i == cells.count - 1 ? options.progress : nil)
                states += out.states
                result = out
            } catch let error as GRUCoreError {
                throw GRUModelError.shape(layer: name, error.description)
            }
            if i < cells.count - 1 {
                (sequence, shape) = (result!.outputs[0].values, result!.outputs[0].shape)
                // The sequence is in processing order: the mask follows it.
                if goBackwards && i == 0, let m = mask {
                    mask = reverseTime(m, shape: timeMajor ? [steps, batch, 1] : [batch, steps, 1], timeMajor: timeMajor)
                }
            }
        }
        let output = result!.outputs[0]
        var outputs = [(Tensor(values: output.values, shape: output.shape), returnSequences ? masks.first ?? nil : nil)]
        if returnState { outputs += states.map { (Tensor(values: $0.values, shape: $0.shape), nil) } }
        return outputs
    }
}

/// Keras's Bidirectional over an LSTM, SimpleRNN or RNN: the backward layer's sequence flipped back into
/// input order, then merged. Inputs: the sequence, then optionally the forward layer's initial states and
/// the backward layer's. Outputs: the merged output (two with merge_mode None), then with return_state the
/// forward layer's final states and the backward layer's.
public struct BidirectionalRecurrent<Scalar: GRUScalar>: RecurrentModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let forward: Recurrent<Scalar>
    public let backward: Recurrent<Scalar>
    public let mergeMode: MergeMode
    public var returnState: Bool
    public var options = RecurrentCallOptions()
    public var directions: Int { 2 }
    public var stateCount: Int { forward.stateCount + backward.stateCount }
    public var outputCount: Int { (mergeMode == .none ? 2 : 1) + (returnState ? stateCount : 0) }

    public init(name: String, forward: Recurrent<Scalar>, backward: Recurrent<Scalar>, mergeMode: MergeMode, returnState: Bool) throws {
        guard forward.returnSequences == backward.returnSequences, forward.timeMajor == backward.timeMajor,
              forward.cells[0].inputDim == backward.cells[0].inputDim else {
            throw GRUModelError.config(layer: name, "its forward and backward layers disagree on return_sequences, time_major or input features")
        }
        if mergeMode != .concat && mergeMode != .none && forward.units != backward.units {
            throw GRUModelError.config(layer: name, "merge_mode \(mergeMode.rawValue) needs both directions to have the same units")
        }
        // Inside a Bidirectional that returns sequences, Keras outputs zeros on masked steps.
        // The backward layer writes its sequence flipped back into input order, as Keras flips it.
        func inner(_ layer: Recurrent<Scalar>, reversed: Bool) throws -> Recurrent<Scalar> {
            try Recurrent(name: layer.name, cells: layer.cells, returnSequences: layer.returnSequences, returnState: false,
                          goBackwards: layer.goBackwards, timeMajor: layer.timeMajor, zeroOutputForMask: layer.returnSequences,
                          reverseSequence: reversed)
        }
        (self.name, self.forward, self.backward, self.mergeMode, self.returnState) =
            (name, try inner(forward, reversed: false), try inner(backward, reversed: true), mergeMode, returnState)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard options.trainingSeed == nil else {
            throw GRUModelError.config(layer: name, "training=True is supported for a GRU layer, not for a Bidirectional")
        }
        let x = try sequenceInput(inputs, layer: name, states: stateCount)
        let initial = Array(inputs.dropFirst())
        let forwardInputs = [x] + initial.prefix(initial.isEmpty ? 0 : forward.stateCount)
        let backwardInputs = [x] + initial.dropFirst(initial.isEmpty ? 0 : forward.stateCount)
        var f = forward, b = backward
        (f.returnState, b.returnState) = (true, true)
        f.options.progress = options.progress
        let fs = try f.call(forwardInputs, masks: masks, threads: threads)
        let bs = try b.call(backwardInputs, masks: masks, threads: threads)
        let sequences = forward.returnSequences
        let backwardOutput = bs[0].0
        let merged = mergeDirections(ShapedArray(values: fs[0].0.values, shape: fs[0].0.shape),
                                     ShapedArray(values: backwardOutput.values, shape: backwardOutput.shape), mode: mergeMode)
        let mask = sequences ? masks.first ?? nil : nil
        var outputs = merged.map { (Tensor(values: $0.values, shape: $0.shape), mask) }
        if returnState { outputs += fs.dropFirst().map { ($0.0, nil) } + bs.dropFirst().map { ($0.0, nil) } }
        return outputs
    }
}
