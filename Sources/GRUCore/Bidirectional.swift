/// How Keras's Bidirectional combines the two directions.
public enum MergeMode: String, CaseIterable, Sendable {
    case concat, sum, mul, ave
    /// merge_mode=None: both outputs are returned separately.
    case none
}

/// An array with its shape, row-major.
public struct ShapedArray<Scalar: GRUScalar>: Sendable {
    public var values: [Scalar]
    public var shape: [Int]

    public init(values: [Scalar], shape: [Int]) {
        self.values = values
        self.shape = shape
    }
}

/// What a recurrent layer returns: Keras's list of outputs (one, or two with merge_mode None) and its
/// final states (one per direction).
public struct RecurrentOutput<Scalar: GRUScalar>: Sendable {
    public var outputs: [ShapedArray<Scalar>]
    public var states: [ShapedArray<Scalar>]

    public init(outputs: [ShapedArray<Scalar>], states: [ShapedArray<Scalar>]) {
        self.outputs = outputs
        self.states = states
    }

    /// One GRU layer's output and final state.
    public init(_ output: GRUOutput<Scalar>) {
        self.init(outputs: [ShapedArray(values: output.output, shape: output.outputShape)],
                  states: [ShapedArray(values: output.state, shape: output.stateShape)])
    }
}

/// Keras's `Bidirectional(GRU)`: a forward layer and a backward layer (go_backwards=True) over the same
/// input; the backward sequence is flipped back into input time order before the two are merged.
public struct BidirectionalGRU<Scalar: GRUScalar>: Sendable {
    public let forward: GRULayer<Scalar>
    public let backward: GRULayer<Scalar>
    public let mergeMode: MergeMode

    public init(forward: GRULayer<Scalar>, backward: GRULayer<Scalar>, mergeMode: MergeMode) throws {
        guard forward.config.returnSequences == backward.config.returnSequences,
              forward.config.timeMajor == backward.config.timeMajor,
              forward.weights.inputDim == backward.weights.inputDim else {
            throw GRUCoreError.invalidConfig("the forward and backward layers of a Bidirectional disagree on return_sequences, time_major or input features")
        }
        if mergeMode != .concat && mergeMode != .none && forward.config.units != backward.config.units {
            throw GRUCoreError.invalidConfig("merge_mode \(mergeMode.rawValue) needs both directions to have the same units")
        }
        // Inside a Bidirectional that returns sequences, Keras outputs zeros on masked steps.
        var forwardConfig = forward.config, backwardConfig = backward.config
        forwardConfig.zeroOutputForMask = forwardConfig.returnSequences
        backwardConfig.zeroOutputForMask = backwardConfig.returnSequences
        self.forward = try GRULayer(config: forwardConfig, weights: forward.weights)
        self.backward = try GRULayer(config: backwardConfig, weights: backward.weights)
        self.mergeMode = mergeMode
    }

    /// Runs both directions. `initialStates` is `[forward, backward]`, each `(batch, units)`.
    public func callAsFunction(_ input: [Scalar], shape: [Int], mask: [Bool]? = nil,
                               initialStates: [[Scalar]]? = nil, threads: Int = 1) throws -> RecurrentOutput<Scalar> {
        if let initialStates, initialStates.count != 2 {
            throw GRUCoreError.shapeMismatch("A Bidirectional layer needs two initial states (forward, backward), not \(initialStates.count)")
        }
        let f = try forward(input, shape: shape, mask: mask, initialState: initialStates?[0], threads: threads)
        var b = try backward(input, shape: shape, mask: mask, initialState: initialStates?[1], threads: threads)
        let sequences = forward.config.returnSequences
        if sequences {
            b.output = reverseTime(b.output, shape: b.outputShape, timeMajor: forward.config.timeMajor)
        }
        let states = [ShapedArray(values: f.state, shape: f.stateShape), ShapedArray(values: b.state, shape: b.stateShape)]
        let outputs = mergeDirections(ShapedArray(values: f.output, shape: f.outputShape),
                                      ShapedArray(values: b.output, shape: b.outputShape), mode: mergeMode)
        return RecurrentOutput(outputs: outputs, states: states)
    }
}

/// Keras's Bidirectional merge of the forward and (already flipped back) backward outputs: one output, or
/// both with merge_mode None. concat joins the last axes; sum, mul and ave need equal shapes.
public func mergeDirections<Scalar: GRUScalar>(_ f: ShapedArray<Scalar>, _ b: ShapedArray<Scalar>, mode: MergeMode) -> [ShapedArray<Scalar>] {
    switch mode {
    case .none:
        return [f, b]
    case .concat:
        let fu = f.shape.last!, bu = b.shape.last!
        let rows = f.values.count / fu
        var merged = [Scalar](repeating: 0, count: rows * (fu + bu))
        merged.withUnsafeMutableBufferPointer { m in
            f.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    for r in 0..<rows {
                        for j in 0..<fu { m[r * (fu + bu) + j] = x[r * fu + j] }
                        for j in 0..<bu { m[r * (fu + bu) + fu + j] = y[r * bu + j] }
                    }
                }
            }
        }
        var shape = f.shape
        shape[shape.count - 1] = fu + bu
        return [ShapedArray(values: merged, shape: shape)]
    case .sum, .mul, .ave:
        precondition(f.shape == b.shape)
        let merged: [Scalar] = zip(f.values, b.values).map { x, y in
            switch mode {
            case .sum: return x + y
            case .mul: return x * y
            default: return (x + y) / 2
            }
        }
        return [ShapedArray(values: merged, shape: f.shape)]
    }
}

/// Reverses the time axis of a `(batch, steps, units)` array, or `(steps, batch, units)` when time-major.
public func reverseTime<S>(_ values: [S], shape: [Int], timeMajor: Bool) -> [S] {
    guard shape.count == 3 else { return values }
    var result = values
    let (outer, steps, inner) = timeMajor ? (1, shape[0], shape[1] * shape[2]) : (shape[0], shape[1], shape[2])
    for o in 0..<outer {
        for t in 0..<steps {
            let from = (o * steps + t) * inner, to = (o * steps + steps - 1 - t) * inner
            for k in 0..<inner { result[to + k] = values[from + k] }
        }
    }
    return result
}
