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
/// input; the backward sequence is flipped back into input time order (the layer writes it so) before the two
/// are merged.
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
        backwardConfig.reverseSequence = true
        self.forward = try GRULayer(config: forwardConfig, weights: forward.weights)
        self.backward = try GRULayer(config: backwardConfig, weights: backward.weights)
        self.mergeMode = mergeMode
    }

    /// Runs both directions. `initialStates` is `[forward, backward]`, each `(batch, units)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func callAsFunction(_ input: [Scalar], shape: [Int], mask: [Bool]? = nil,
                               initialStates: [[Scalar]]? = nil, threads: Int = 1) throws -> RecurrentOutput<Scalar> {
        if let initialStates, initialStates.count != 2 {
            throw GRUCoreError.shapeMismatch("A Bidirectional layer needs two initial states (forward, backward), not \(initialStates.count)")
        }
        if forward.config.returnSequences && mergeMode == .concat && !forward.config.timeMajor {
            return try concatenatedSequences(input, shape: shape, mask: mask, initialStates: initialStates, threads: threads)
        }
        let f = try forward(input, shape: shape, mask: mask, initialState: initialStates?[0], threads: threads)
        let b = try backward(input, shape: shape, mask: mask, initialState: initialStates?[1], threads: threads)
        let states = [ShapedArray(values: f.state, shape: f.stateShape), ShapedArray(values: b.state, shape: b.stateShape)]
        let outputs = mergeDirections(ShapedArray(values: f.output, shape: f.outputShape),
                                      ShapedArray(values: b.output, shape: b.outputShape), mode: mergeMode)
        return RecurrentOutput(outputs: outputs, states: states)
    }
}

extension BidirectionalGRU {
    /// return_sequences with merge_mode concat, batch-major: each direction writes its rows straight into its
    /// half of the concatenated output (the backward one in input time order), with no copy of either.
    private func concatenatedSequences(_ input: [Scalar], shape: [Int], mask: [Bool]?, initialStates: [[Scalar]]?,
                                       threads: Int) throws -> RecurrentOutput<Scalar> {
        var jobs = [try GRUJob(layer: forward, input: input, shape: shape, mask: mask, initialState: initialStates?[0], dropout: nil),
                    try GRUJob(layer: backward, input: input, shape: shape, mask: mask, initialState: initialStates?[1], dropout: nil)]
        let (batch, steps) = (jobs[0].batch, jobs[0].timesteps)
        let fu = forward.config.units, width = fu + backward.config.units
        let (rows, overflow) = (batch * steps).multipliedReportingOverflow(by: width)
        guard !overflow else {
            throw GRUCoreError.shapeMismatch("The output of shape (\(batch), \(steps), \(width)) is too large")
        }
        var results: [GRUOutput<Scalar>] = []
        let merged = [Scalar](unsafeUninitializedCapacity: rows) { buffer, initialized in
            let base = buffer.baseAddress!
            adviseLargePages(UnsafeMutableRawPointer(base), bytes: rows * MemoryLayout<Scalar>.stride)
            for (i, offset) in [0, fu].enumerated() {
                jobs[i].threads = max(1, threads)
                jobs[i].sequenceDestination = SequenceDestination(base: base + offset, rowStride: width)
                results.append(runPass(jobs[i]))
            }
            // Every (sample, step) row of both halves is written by the passes, masked steps included.
            initialized = rows
        }
        let states = results.map { ShapedArray(values: $0.state, shape: $0.stateShape) }
        return RecurrentOutput(outputs: [ShapedArray(values: merged, shape: [batch, steps, width])], states: states)
    }
}

/// Keras's Bidirectional merge of the forward and (already flipped back) backward outputs: one output, or
/// both with merge_mode None. concat joins the last axes; sum, mul and ave need equal shapes.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func mergeDirections<Scalar: GRUScalar>(_ f: ShapedArray<Scalar>, _ b: ShapedArray<Scalar>, mode: MergeMode) -> [ShapedArray<Scalar>] {
    switch mode {
    case .none:
        return [f, b]
    case .concat:
        let fu = f.shape.last!, bu = b.shape.last!, width = fu + bu
        let rows = fu > 0 ? f.values.count / fu : 0
        precondition(f.values.count == rows * fu && b.values.count == rows * bu)
        let merged = [Scalar](unsafeUninitializedCapacity: rows * width) { m, initialized in
            f.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    for r in 0..<rows {
                        (m.baseAddress! + r * width).initialize(from: x.baseAddress! + r * fu, count: fu)
                        (m.baseAddress! + r * width + fu).initialize(from: y.baseAddress! + r * bu, count: bu)
                    }
                }
            }
            initialized = rows * width
        }
        var shape = f.shape
        shape[shape.count - 1] = width
        return [ShapedArray(values: merged, shape: shape)]
    case .sum, .mul, .ave:
        precondition(f.shape == b.shape && f.values.count == b.values.count)
        let count = f.values.count
        let merged = [Scalar](unsafeUninitializedCapacity: count) { m, initialized in
            f.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    switch mode {
                    case .sum: for i in 0..<count { m[i] = x[i] + y[i] }
                    case .mul: for i in 0..<count { m[i] = x[i] * y[i] }
                    default: for i in 0..<count { m[i] = (x[i] + y[i]) / 2 }
                    }
                }
            }
            initialized = count
        }
        return [ShapedArray(values: merged, shape: f.shape)]
    }
}

/// Reverses the time axis of a `(batch, steps, units)` array, or `(steps, batch, units)` when time-major.
@_specialize(where S == Float)
@_specialize(where S == Double)
@_specialize(where S == Bool)
public func reverseTime<S>(_ values: [S], shape: [Int], timeMajor: Bool) -> [S] {
    guard shape.count == 3, !values.isEmpty else { return values }
    let (outer, steps, inner) = timeMajor ? (1, shape[0], shape[1] * shape[2]) : (shape[0], shape[1], shape[2])
    precondition(values.count == outer * steps * inner)
    return [S](unsafeUninitializedCapacity: values.count) { result, initialized in
        values.withUnsafeBufferPointer { v in
            for o in 0..<outer {
                for t in 0..<steps {
                    let from = (o * steps + t) * inner, to = (o * steps + steps - 1 - t) * inner
                    (result.baseAddress! + to).initialize(from: v.baseAddress! + from, count: inner)
                }
            }
        }
        initialized = values.count
    }
}
