/// One GRU layer ready to run: a config and weights that agree with each other.
public struct GRULayer<Scalar: GRUScalar>: Sendable {
    public let config: GRUConfig
    public let weights: GRUWeights<Scalar>
    /// The weights packed for the kernels, made on the first call and shared by every later one (and by
    /// copies of the layer).
    package let packed = PackedWeightsCache()
    /// The buffers of earlier passes, reused by later ones of the same sizes.
    package let workspaces = WorkspacePool()

    public init(config: GRUConfig, weights: GRUWeights<Scalar>) throws {
        guard config.units == weights.units else {
            throw GRUCoreError.invalidConfig("units is \(config.units) but the weights hold \(weights.units) units")
        }
        if config.useBias {
            guard weights.inputBias != nil else {
                throw GRUCoreError.invalidConfig("use_bias is True but the weights hold no bias")
            }
            if config.resetAfter && weights.recurrentBias == nil {
                throw GRUCoreError.invalidConfig("reset_after is True but the bias has shape (\(3 * weights.units),); reset_after needs (2, \(3 * weights.units))")
            }
            if !config.resetAfter && weights.recurrentBias != nil {
                throw GRUCoreError.invalidConfig("reset_after is False but the bias has shape (2, \(3 * weights.units)), which only reset_after=True uses")
            }
        } else if weights.inputBias != nil {
            throw GRUCoreError.invalidConfig("use_bias is False but the weights hold a bias")
        }
        guard config.implementation == 1 || config.implementation == 2 else {
            throw GRUCoreError.invalidConfig("implementation must be 1 or 2, not \(config.implementation)")
        }
        for (name, rate) in [("dropout", config.dropout), ("recurrent_dropout", config.recurrentDropout)] {
            guard rate >= 0 && rate <= 1 else {
                throw GRUCoreError.invalidConfig("\(name) must lie in [0, 1], not \(rate)")
            }
        }
        self.config = config
        self.weights = weights
    }
}

/// An input read piece by piece, `(batch, timesteps, features)` in C order.
public struct GRUInputSource<Scalar: GRUScalar>: Sendable {
    /// Writes `x[samples, steps, :]` to `into`, sample by sample; called from several threads at once.
    /// A source that fails to read fills what it could not read and reports the failure its own way.
    public let read: @Sendable (_ samples: Range<Int>, _ steps: Range<Int>, _ into: UnsafeMutablePointer<Scalar>) -> Void

    public init(read: @escaping @Sendable (_ samples: Range<Int>, _ steps: Range<Int>, _ into: UnsafeMutablePointer<Scalar>) -> Void) {
        self.read = read
    }
}

/// What a GRU call returns: Keras's `[output, h]`.
public struct GRUOutput<Scalar: GRUScalar>: Sendable {
    /// `(batch, timesteps, units)` with return_sequences (`(timesteps, batch, units)` when time-major),
    /// otherwise `(batch, units)`; with return_sequences the steps are in processing order.
    public var output: [Scalar]
    public var outputShape: [Int]
    /// `(batch, units)`: the final state.
    public var state: [Scalar]
    public var stateShape: [Int]
}

/// Where an inference pass writes its returned sequence instead of an array of its own: row (b, t) of
/// `units` values at `base + (b * timesteps + t) * rowStride` (a Bidirectional's directions side by side in
/// their concatenated output). The caller keeps the memory alive and writable for the pass.
package struct SequenceDestination<Scalar: GRUScalar>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<Scalar>
    package let rowStride: Int

    package init(base: UnsafeMutablePointer<Scalar>, rowStride: Int) {
        (self.base, self.rowStride) = (base, rowStride)
    }
}

/// A validated call: shapes checked, input and mask in batch-major order.
public struct GRUJob<Scalar: GRUScalar>: Sendable {
    package let layer: GRULayer<Scalar>
    package let batch: Int
    package let timesteps: Int
    /// `(batch, timesteps, features)`; empty when the input comes from `source`.
    package let input: [Scalar]
    /// `(batch, timesteps, features)` read piece by piece (inference only).
    package let source: GRUInputSource<Scalar>?
    /// `(batch, timesteps)`, nil when every step is valid.
    package let mask: [Bool]?
    /// `(batch, units)`.
    package let initialState: [Scalar]?
    package let dropout: DropoutMasks<Scalar>?
    package var threads = 1
    /// `(batch, units)`: what masked steps repeat before the first valid step of this call.
    package var previousOutput: [Scalar]?
    package var progress: (@Sendable (Int) -> Void)?
    /// A batch-major inference pass with return_sequences writes its sequence there; its output is then empty.
    package var sequenceDestination: SequenceDestination<Scalar>?

    package init(layer: GRULayer<Scalar>, input: [Scalar], shape: [Int], mask: [Bool]?,
         initialState: [Scalar]?, dropout: DropoutMasks<Scalar>?, source: GRUInputSource<Scalar>? = nil) throws {
        let config = layer.config
        let layout = config.timeMajor ? "(timesteps, batch, features)" : "(batch, timesteps, features)"
        guard shape.count == 3 else {
            throw GRUCoreError.shapeMismatch("The input has shape \(describe(shape)); a GRU needs 3 dimensions \(layout)")
        }
        let (batch, timesteps) = config.timeMajor ? (shape[1], shape[0]) : (shape[0], shape[1])
        let features = shape[2]
        guard batch > 0, timesteps > 0 else {
            throw GRUCoreError.shapeMismatch("The input has shape \(describe(shape)); batch and timesteps must be at least 1")
        }
        guard features == layer.weights.inputDim else {
            throw GRUCoreError.shapeMismatch("The input has \(features) features per step but the layer's kernel expects \(layer.weights.inputDim)")
        }
        guard let count = checkedProduct(shape), count == input.count || source != nil else {
            throw GRUCoreError.shapeMismatch("The input holds \(input.count) values, which does not match its shape \(describe(shape))")
        }
        if let mask, mask.count != batch * timesteps {
            let expected = config.timeMajor ? "(\(timesteps), \(batch))" : "(\(batch), \(timesteps))"
            throw GRUCoreError.shapeMismatch("The mask holds \(mask.count) values; the input needs a mask of shape \(expected)")
        }
        if let initialState, initialState.count != batch * config.units {
            throw GRUCoreError.shapeMismatch("The initial state holds \(initialState.count) values; the input needs shape (\(batch), \(config.units))")
        }
        if let dropout {
            try dropout.check(batch: batch, features: features, units: config.units)
        }
        self.layer = layer
        self.batch = batch
        self.timesteps = timesteps
        self.initialState = initialState
        self.dropout = dropout
        self.source = source
        if config.timeMajor {
            self.input = swapLeadingAxes(input, shape[0], shape[1], inner: features)
            self.mask = mask.map { swapLeadingAxes($0, shape[0], shape[1], inner: 1) }
        } else {
            self.input = input
            self.mask = mask
        }
    }
}

/// Swaps the first two axes of a row-major `(a, b, inner)` array.
public func swapLeadingAxes<T>(_ values: [T], _ a: Int, _ b: Int, inner: Int) -> [T] {
    guard a > 1 && b > 1 else { return values }
    var result = values
    values.withUnsafeBufferPointer { src in
        result.withUnsafeMutableBufferPointer { dst in
            for i in 0..<a {
                for j in 0..<b {
                    let from = (i * b + j) * inner
                    let to = (j * a + i) * inner
                    for k in 0..<inner { dst[to + k] = src[from + k] }
                }
            }
        }
    }
    return result
}

/// Keras's Masking rule over a row-major `(rows, features)` array: a row is valid (true) when any of its
/// features differs from `maskValue`.
public func maskingRule<S: GRUScalar>(_ values: [S], features: Int, maskValue: S) -> [Bool] {
    values.withUnsafeBufferPointer { maskingRule($0, features: features, maskValue: maskValue) }
}

/// The Masking rule over values held in a buffer.
public func maskingRule<S: GRUScalar>(_ x: UnsafeBufferPointer<S>, features: Int, maskValue: S) -> [Bool] {
    (0..<(features > 0 ? x.count / features : 0)).map { row in
        (0..<features).contains { x[row * features + $0] != maskValue }
    }
}

/// The product of `dims`, or nil when a dimension is negative or the product overflows.
public func checkedProduct(_ dims: [Int]) -> Int? {
    var product = 1
    for dim in dims {
        guard dim >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: dim)
        if overflow { return nil }
        product = next
    }
    return product
}

/// `(2, 3, 4)` in Python's spelling, as users see shapes in numpy and Keras.
public func describe(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

/// Steps a C-order multi-index through `shape`, the last axis fastest (back to all zeros after the end).
public func advance(_ index: inout [Int], through shape: [Int]) {
    var axis = shape.count - 1
    while axis >= 0 {
        index[axis] += 1
        if index[axis] < shape[axis] { return }
        index[axis] = 0
        axis -= 1
    }
}
