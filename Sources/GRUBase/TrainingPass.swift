/// Dropout masks for Keras's `training=True` call: one mask per sample for the whole sequence,
/// kept entries scaled by `1 / (1 - rate)`, three independent masks (one per gate z, r, h).
/// Keras applies a rate only when `0 < rate < 1`; implementation 2 uses the first input mask for all
/// gates and no recurrent mask (tf-keras `GRUCell.call`), and a recurrent_dropout forces implementation 1.
public struct DropoutMasks<Scalar: GRUScalar>: Sendable {
    /// Three `(batch, features)` masks, or nil when dropout is inactive.
    public var input: [[Scalar]]?
    /// Three `(batch, units)` masks, or nil when recurrent_dropout is inactive.
    public var recurrent: [[Scalar]]?

    public init(input: [[Scalar]]?, recurrent: [[Scalar]]?) {
        self.input = input
        self.recurrent = recurrent
    }

    /// Draws masks for `config`'s rates from a generator seeded with `seed`: the same seed gives the same masks.
    public init(config: GRUConfig, batch: Int, features: Int, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        func draw(rate: Double, count: Int) -> [[Scalar]]? {
            guard rate > 0 && rate < 1 else { return nil }
            let kept = Scalar(1 / (1 - rate))
            return (0..<3).map { _ in
                (0..<count).map { _ in generator.nextUnitDouble() >= rate ? kept : 0 }
            }
        }
        input = draw(rate: config.dropout, count: batch * features)
        recurrent = draw(rate: config.recurrentDropout, count: batch * config.units)
    }

    func check(batch: Int, features: Int, units: Int) throws {
        for (name, masks, width) in [("input", input, features), ("recurrent", recurrent, units)] {
            guard let masks else { continue }
            guard masks.count == 3, masks.allSatisfy({ $0.count == batch * width }) else {
                throw GRUCoreError.shapeMismatch("The \(name) dropout masks must be three arrays of shape (\(batch), \(width))")
            }
        }
    }
}

/// A small, fast, well-mixed generator (Steele, Lea and Flood 2014), so masks are reproducible by seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

extension GRUEngine {
    /// Training mode: Keras's cell equations written out per sample, with the dropout masks applied
    /// exactly where tf-keras `GRUCell.call` applies them.
    package func runTraining() -> GRUOutput<S> {
        let config = job.layer.config, weights = job.layer.weights
        let batch = job.batch, steps = job.timesteps
        let features = weights.inputDim, units = config.units, cols = 3 * units
        let masks = job.dropout!
        // The cell falls back to implementation 1 whenever recurrent_dropout is set (tf-keras GRUCell.__init__).
        let perGate = config.implementation == 1 || config.recurrentDropout != 0
        var state = job.initialState ?? [S](repeating: 0, count: batch * units)
        var lastOutput = job.previousOutput ?? [S](repeating: 0, count: batch * units)
        var sequence = [S](repeating: 0, count: config.returnSequences ? batch * steps * units : 0)
        var pre = [S](repeating: 0, count: cols)      // (3U): x-side pre-activations [z | r | h]
        var inner = [S](repeating: 0, count: cols)    // (3U): h-side products [z | r | h]
        var previous = [S](repeating: 0, count: units)
        let inputBias = weights.inputBias ?? [S](repeating: 0, count: cols)
        let recurrentBias = weights.recurrentBias ?? [S](repeating: 0, count: cols)

        for b in 0..<batch {
            for step in 0..<steps {
                let t = config.goBackwards ? steps - 1 - step : step
                let valid = job.mask.map { $0[b * steps + t] } ?? true
                if valid {
                    for j in 0..<units { previous[j] = state[b * units + j] }
                    for gate in 0..<3 {
                        let inputMask = masks.input.map { $0[perGate ? gate : 0] }
                        let recurrentMask = perGate ? masks.recurrent.map { $0[gate] } : nil
                        for j in 0..<units {
                            let col = gate * units + j
                            var x: S = 0
                            for f in 0..<features {
                                let m = inputMask.map { $0[b * features + f] } ?? 1
                                x += job.input[(b * steps + t) * features + f] * m * weights.kernel[f * cols + col]
                            }
                            pre[col] = x + inputBias[col]
                            var hsum: S = 0
                            for k in 0..<units {
                                let m = recurrentMask.map { $0[b * units + k] } ?? 1
                                hsum += previous[k] * m * weights.recurrentKernel[k * cols + col]
                            }
                            inner[col] = hsum + recurrentBias[col]
                        }
                    }
                    var gates = [S](repeating: 0, count: 2 * units)
                    for j in 0..<(2 * units) { gates[j] = pre[j] + inner[j] }
                    gates.withUnsafeMutableBufferPointer {
                        config.recurrentActivation.apply($0.baseAddress!, count: 2 * units, hardSigmoid: config.hardSigmoid)
                    }
                    var candidate = [S](repeating: 0, count: units)
                    for j in 0..<units {
                        if config.resetAfter {
                            candidate[j] = pre[2 * units + j] + gates[units + j] * inner[2 * units + j]
                        } else {
                            // (r * h_masked)·Rh: the reset gate multiplies the state before the product.
                            let hMask = perGate ? masks.recurrent?[2] : nil
                            var sum: S = 0
                            for k in 0..<units {
                                let m = hMask.map { $0[b * units + k] } ?? 1
                                sum += gates[units + k] * (previous[k] * m) * weights.recurrentKernel[k * cols + 2 * units + j]
                            }
                            candidate[j] = pre[2 * units + j] + sum
                        }
                    }
                    candidate.withUnsafeMutableBufferPointer {
                        config.activation.apply($0.baseAddress!, count: units, hardSigmoid: config.hardSigmoid)
                    }
                    for j in 0..<units {
                        let z = gates[j]
                        state[b * units + j] = z * previous[j] + (1 - z) * candidate[j]
                        lastOutput[b * units + j] = state[b * units + j]
                    }
                }
                if !valid && config.zeroOutputForMask {
                    for j in 0..<units { lastOutput[b * units + j] = 0 }
                }
                if config.returnSequences {
                    let row = config.reverseSequence ? steps - 1 - step : step
                    for j in 0..<units { sequence[(b * steps + row) * units + j] = lastOutput[b * units + j] }
                }
            }
        }
        return makeOutput(sequence: sequence, lastOutput: lastOutput, state: state)
    }
}
