/// The arguments of `tf.compat.v1.keras.layers.GRU` that exist at inference time.
/// Defaults are the seed layer's (recurrent_activation hard_sigmoid, reset_after False).
public struct GRUConfig: Equatable, Sendable {
    public var units: Int
    public var activation: Activation = .tanh
    public var recurrentActivation: Activation = .hardSigmoid
    /// Which definition `hard_sigmoid` has, decided by the Keras version that wrote the model.
    public var hardSigmoid: HardSigmoidDefinition = .keras2
    public var useBias = true
    /// False: `hh = act(x·Wh + bh + (r*h)·Rh)`. True (CuDNN-compatible): `hh = act(x·Wh + bh_in + r*(h·Rh + bh_rec))`.
    public var resetAfter = false
    public var returnSequences = false
    public var returnState = false
    public var goBackwards = false
    public var stateful = false
    public var timeMajor = false
    /// Accepted for fidelity; unrolling changes nothing at inference.
    public var unroll = false
    /// 1 or 2. Changes only how training-mode dropout masks are applied.
    public var implementation = 1
    public var dropout: Double = 0
    public var recurrentDropout: Double = 0
    /// zero_output_for_mask: masked steps output zeros instead of repeating the previous output (the state
    /// still carries), so the last output is 0 when the last step processed is masked. Keras's Bidirectional
    /// sets it on its inner layers to their return_sequences, whatever their config says.
    public var zeroOutputForMask = false
    /// Not a Keras argument: the returned sequence's rows in reverse processing order (row steps-1-i for the
    /// i-th step processed). Keras's Bidirectional flips its backward layer's sequence: that layer sets it.
    public var reverseSequence = false

    public init(units: Int) {
        self.units = units
    }
}

/// The weights of one GRU layer, in Keras's layout. Gate column blocks are ordered `[z | r | h]`.
public struct GRUWeights<Scalar: GRUScalar>: Sendable {
    public let inputDim: Int
    public let units: Int
    /// `(inputDim, 3*units)`, row-major.
    public var kernel: [Scalar]
    /// `(units, 3*units)`, row-major.
    public var recurrentKernel: [Scalar]
    /// `(3*units)`: the only bias when reset_after is False, row 0 of the `(2, 3U)` bias when True.
    public var inputBias: [Scalar]?
    /// `(3*units)`: row 1 of the `(2, 3U)` bias; present only with reset_after True.
    public var recurrentBias: [Scalar]?

    public init(inputDim: Int, units: Int, kernel: [Scalar], recurrentKernel: [Scalar],
                inputBias: [Scalar]? = nil, recurrentBias: [Scalar]? = nil) throws {
        guard inputDim > 0, units > 0 else {
            throw GRUCoreError.invalidWeights("input features (\(inputDim)) and units (\(units)) must both be positive")
        }
        let (cols, kernelCount, recurrentCount) = try checkedWeightSizes(inputDim: inputDim, units: units)
        guard kernel.count == kernelCount else {
            throw GRUCoreError.invalidWeights("the kernel holds \(kernel.count) values; (\(inputDim), \(cols)) needs \(kernelCount)")
        }
        guard recurrentKernel.count == recurrentCount else {
            throw GRUCoreError.invalidWeights("the recurrent kernel holds \(recurrentKernel.count) values; (\(units), \(cols)) needs \(recurrentCount)")
        }
        for (name, bias) in [("input bias", inputBias), ("recurrent bias", recurrentBias)] {
            if let bias, bias.count != cols {
                throw GRUCoreError.invalidWeights("the \(name) holds \(bias.count) values; (\(cols),) was expected")
            }
        }
        if recurrentBias != nil && inputBias == nil {
            throw GRUCoreError.invalidWeights("a recurrent bias needs an input bias")
        }
        self.inputDim = inputDim
        self.units = units
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
    }
}

private func checkedWeightSizes(inputDim: Int, units: Int) throws -> (Int, Int, Int) {
    let (cols, o1) = units.multipliedReportingOverflow(by: 3)
    let (kernelCount, o2) = inputDim.multipliedReportingOverflow(by: cols)
    let (recurrentCount, o3) = units.multipliedReportingOverflow(by: cols)
    guard !o1, !o2, !o3 else {
        throw GRUCoreError.invalidWeights("(\(inputDim) features, \(units) units) is too large")
    }
    return (cols, kernelCount, recurrentCount)
}

/// Errors GRUCore reports; each description is one sentence.
public enum GRUCoreError: Error, Equatable, CustomStringConvertible {
    case invalidWeights(String)
    case invalidConfig(String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .invalidWeights(let what): return "Invalid GRU weights: \(what)."
        case .invalidConfig(let what): return "Invalid GRU configuration: \(what)."
        case .shapeMismatch(let what): return what.hasSuffix(".") ? what : what + "."
        }
    }
}
