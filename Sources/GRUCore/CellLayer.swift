import GRUBase

/// The recurrent cells whose step needs one product of the state, besides the GRU: Keras's LSTM (gate
/// blocks `[i | f | c | o]`, states h and c) and SimpleRNN (one block, state h).
public enum CellKind: String, Sendable {
    case lstm = "LSTM"
    case simpleRNN = "SimpleRNN"

    /// Column blocks of units in the kernels.
    public var gates: Int { self == .lstm ? 4 : 1 }
    /// States a step carries, in Keras's order: LSTM `[h, c]`, SimpleRNN `[h]`.
    public var states: Int { self == .lstm ? 2 : 1 }
}

/// The arguments of Keras's LSTM and SimpleRNN that act at inference.
public struct CellConfig: Equatable, Sendable {
    public var kind: CellKind
    public var units: Int
    public var activation: Activation = .tanh
    /// The gates' activation (LSTM only).
    public var recurrentActivation: Activation = .sigmoid
    public var hardSigmoid: HardSigmoidDefinition = .keras2
    public var returnSequences = false
    public var goBackwards = false
    public var timeMajor = false
    /// Masked steps output zeros instead of the previous output (Keras's Bidirectional sets it on its
    /// layers when they return sequences).
    public var zeroOutputForMask = false
    /// The returned sequence's rows in reverse processing order (GRUConfig.reverseSequence).
    public var reverseSequence = false

    public init(kind: CellKind, units: Int) {
        self.kind = kind
        self.units = units
    }
}

/// One LSTM or SimpleRNN layer ready to run: its kernels packed for the product kernels the GRU uses.
/// Step: `z = (x·W + b) + h·U`; LSTM `i, f, o = rec(z_i, z_f, z_o)`, `c = f*c + i*act(z_c)`, `h = o*act(c)`;
/// SimpleRNN `h = act(z)`.
public struct CellLayer<Scalar: GRUScalar>: Sendable {
    public let config: CellConfig
    public let inputDim: Int
    /// `(inputDim, gates*units)` with the bias.
    let inputProduct: MatrixProduct<Scalar>
    /// `(units, gates*units)`.
    let recurrentProduct: MatrixProduct<Scalar>
    /// Each thread's columns when a pass shares the units among threads.
    let splits = CellSplitCache<Scalar>()

    /// `kernel` `(inputDim, gates*units)`, `recurrentKernel` `(units, gates*units)`, `bias` `(gates*units,)`,
    /// row-major, gate blocks in Keras's order.
    public init(config: CellConfig, inputDim: Int, kernel: [Scalar], recurrentKernel: [Scalar], bias: [Scalar]?) throws {
        let units = config.units, columns = config.kind.gates * units
        guard inputDim > 0, units > 0 else {
            throw GRUCoreError.shapeMismatch("an \(config.kind.rawValue) needs positive input features and units, not \(inputDim) and \(units)")
        }
        guard let kernelCount = checkedProduct([inputDim, columns]), kernel.count == kernelCount else {
            throw GRUCoreError.shapeMismatch("the \(config.kind.rawValue) kernel holds \(kernel.count) values; (\(inputDim), \(columns)) was expected")
        }
        guard let recurrentCount = checkedProduct([units, columns]), recurrentKernel.count == recurrentCount else {
            throw GRUCoreError.shapeMismatch("the \(config.kind.rawValue) recurrent kernel holds \(recurrentKernel.count) values; (\(units), \(columns)) was expected")
        }
        if let bias, bias.count != columns {
            throw GRUCoreError.shapeMismatch("the \(config.kind.rawValue) bias holds \(bias.count) values; (\(columns),) was expected")
        }
        self.config = config
        self.inputDim = inputDim
        inputProduct = MatrixProduct(matrix: kernel, k: inputDim, n: columns, bias: bias)
        recurrentProduct = MatrixProduct(matrix: recurrentKernel, k: units, n: columns, bias: nil)
    }

    /// The same weights under another config of the same kind and units.
    public func with(_ config: CellConfig) -> CellLayer {
        precondition(config.kind == self.config.kind && config.units == self.config.units)
        return CellLayer(config: config, inputDim: inputDim, inputProduct: inputProduct, recurrentProduct: recurrentProduct)
    }

    private init(config: CellConfig, inputDim: Int, inputProduct: MatrixProduct<Scalar>, recurrentProduct: MatrixProduct<Scalar>) {
        (self.config, self.inputDim, self.inputProduct, self.recurrentProduct) = (config, inputDim, inputProduct, recurrentProduct)
    }

    /// Runs the layer over `input` `(batch, timesteps, features)` (`(timesteps, batch, features)` when
    /// time-major). `mask`: one flag per step in the input's layout; a false step keeps the states and
    /// repeats the previous output (zeros before the first valid step, or always with zeroOutputForMask).
    /// `initialStates`: `kind.states` arrays of `(batch, units)`, zeros when nil. Returns the output
    /// (the sequence in processing order with return_sequences) and the final states.
    public func callAsFunction(_ input: [Scalar], shape: [Int], mask: [Bool]? = nil, initialStates: [[Scalar]]? = nil,
                               threads: Int = 1, progress: (@Sendable (Int) -> Void)? = nil) throws -> RecurrentOutput<Scalar> {
        let kind = config.kind.rawValue, units = config.units
        let layout = config.timeMajor ? "(timesteps, batch, features)" : "(batch, timesteps, features)"
        guard shape.count == 3 else {
            throw GRUCoreError.shapeMismatch("The input has shape \(describe(shape)); an \(kind) needs 3 dimensions \(layout)")
        }
        let (batch, steps) = config.timeMajor ? (shape[1], shape[0]) : (shape[0], shape[1])
        guard batch > 0, steps > 0 else {
            throw GRUCoreError.shapeMismatch("The input has shape \(describe(shape)); batch and timesteps must be at least 1")
        }
        guard shape[2] == inputDim else {
            throw GRUCoreError.shapeMismatch("The input has \(shape[2]) features per step but the \(kind)'s kernel expects \(inputDim)")
        }
        guard let count = checkedProduct(shape), count == input.count else {
            throw GRUCoreError.shapeMismatch("The input holds \(input.count) values, which does not match its shape \(describe(shape))")
        }
        if let mask, mask.count != batch * steps {
            throw GRUCoreError.shapeMismatch("The mask holds \(mask.count) values; the input needs one per sample and timestep (\(batch * steps))")
        }
        if let initialStates {
            guard initialStates.count == config.kind.states else {
                throw GRUCoreError.shapeMismatch("An \(kind) takes \(config.kind.states) initial state\(config.kind.states == 1 ? "" : "s"), not \(initialStates.count)")
            }
            for state in initialStates where state.count != batch * units {
                throw GRUCoreError.shapeMismatch("An initial state holds \(state.count) values; the input needs shape (\(batch), \(units))")
            }
        }
        let x = config.timeMajor ? swapLeadingAxes(input, shape[0], shape[1], inner: inputDim) : input
        let m = config.timeMajor ? mask.map { swapLeadingAxes($0, shape[0], shape[1], inner: 1) } : mask
        let pass = CellPass(layer: self, batch: batch, steps: steps, initialStates: initialStates)
        let result = pass.run(x, mask: m, threads: max(1, threads), progress: progress)
        let stateShape = [batch, units]
        let states = result.states.map { ShapedArray(values: $0, shape: stateShape) }
        guard config.returnSequences else {
            return RecurrentOutput(outputs: [ShapedArray(values: result.last, shape: stateShape)], states: states)
        }
        if config.timeMajor {
            return RecurrentOutput(outputs: [ShapedArray(values: swapLeadingAxes(result.sequence, batch, steps, inner: units),
                                                         shape: [steps, batch, units])], states: states)
        }
        return RecurrentOutput(outputs: [ShapedArray(values: result.sequence, shape: [batch, steps, units])], states: states)
    }
}
