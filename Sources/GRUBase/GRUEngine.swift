/// A forward pass of one job: the training path (dropout masks, written out per sample) here, the inference
/// path in the kernels (GRUKernels), both ending in `makeOutput`.
package struct GRUEngine<S: GRUScalar> {
    package let job: GRUJob<S>

    package init(_ job: GRUJob<S>) {
        self.job = job
    }

    package func makeOutput(sequence: [S], lastOutput: [S], state: [S]) -> GRUOutput<S> {
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
