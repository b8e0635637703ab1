/// Routes a call to the training path (dropout masks, written out per sample) or the fast inference path.
struct GRUEngine<S: GRUScalar> {
    let job: GRUJob<S>

    init(_ job: GRUJob<S>) {
        self.job = job
    }

    /// The inference pass on vectors of type `V` (8 floats or 4 doubles per AVX register).
    func runFast<V: GateVector>(_ vector: V.Type) -> GRUOutput<S> where V.Scalar == S {
        let config = job.layer.config
        let batch = job.batch, units = config.units
        var sequence = [S](repeating: 0, count: config.returnSequences ? batch * job.timesteps * units : 0)
        var state = [S](repeating: 0, count: batch * units)
        var lastOutput = [S](repeating: 0, count: batch * units)
        let maskValues = job.mask ?? [false]
        job.input.withUnsafeBufferPointer { x in
            maskValues.withUnsafeBufferPointer { m in
                sequence.withUnsafeMutableBufferPointer { seq in
                    let engine = FastEngine<V>(job: job, input: x.baseAddress, mask: job.mask == nil ? nil : m.baseAddress,
                                               sequence: config.returnSequences ? seq.baseAddress : nil)
                    engine.run()
                    let padded = engine.padded
                    for b in 0..<batch {
                        for j in 0..<units {
                            state[b * units + j] = engine.finalState.scalars[b * padded + j]
                            lastOutput[b * units + j] = job.mask == nil ? state[b * units + j] : engine.last.scalars[b * padded + j]
                        }
                    }
                }
            }
        }
        return makeOutput(sequence: sequence, lastOutput: lastOutput, state: state)
    }

    func makeOutput(sequence: [S], lastOutput: [S], state: [S]) -> GRUOutput<S> {
        let config = job.layer.config
        let batch = job.batch, steps = job.timesteps, units = config.units
        if config.returnSequences {
            if config.timeMajor {
                return GRUOutput(output: swapLeadingAxes(sequence, batch, steps, inner: units),
                                 outputShape: [steps, batch, units], state: state, stateShape: [batch, units])
            }
            return GRUOutput(output: sequence, outputShape: [batch, steps, units], state: state, stateShape: [batch, units])
        }
        return GRUOutput(output: lastOutput, outputShape: [batch, units], state: state, stateShape: [batch, units])
    }
}
