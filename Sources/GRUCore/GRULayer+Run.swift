import GRUBase

extension GRULayer {
    /// Runs the layer over `input`.
    /// - Parameters:
    ///   - input: `(batch, timesteps, features)`, or `(timesteps, batch, features)` when `config.timeMajor`.
    ///   - mask: one Bool per step in the input's own layout (`(batch, timesteps)`, or `(timesteps, batch)`
    ///     when time-major); a false step keeps the previous state and output.
    ///   - initialState: `(batch, units)`; zeros when nil.
    ///   - training: dropout masks, applied only when given (Keras's `training=True`).
    ///   - threads: worker threads the pass may use; results do not depend on it.
    ///   - previousOutput: `(batch, units)`: the output of the step before this call, which masked steps
    ///     repeat; zeros when nil. Lets a long sequence run in consecutive calls exactly as in one.
    ///   - progress: called now and then from the computing thread with the number of timesteps done.
    public func callAsFunction(_ input: [Scalar], shape: [Int], mask: [Bool]? = nil,
                               initialState: [Scalar]? = nil,
                               training: DropoutMasks<Scalar>? = nil,
                               threads: Int = 1, previousOutput: [Scalar]? = nil,
                               progress: (@Sendable (Int) -> Void)? = nil) throws -> GRUOutput<Scalar> {
        var job = try GRUJob(layer: self, input: input, shape: shape, mask: mask,
                             initialState: initialState, dropout: training)
        job.threads = max(1, threads)
        job.progress = progress
        if let previousOutput {
            guard previousOutput.count == job.batch * config.units else {
                throw GRUCoreError.shapeMismatch("The previous output holds \(previousOutput.count) values; the input needs shape (\(job.batch), \(config.units))")
            }
            job.previousOutput = previousOutput
        }
        return runPass(job)
    }

    /// Runs the layer (inference) over an input read piece by piece, so it never has to be held whole:
    /// each thread reads the steps it is about to project, a window of about 1 MB at a time. Batch-major
    /// layers only (a time-major input is reordered, which the array form does).
    public func callAsFunction(_ input: GRUInputSource<Scalar>, shape: [Int], mask: [Bool]? = nil,
                               initialState: [Scalar]? = nil, threads: Int = 1,
                               progress: (@Sendable (Int) -> Void)? = nil) throws -> GRUOutput<Scalar> {
        guard !config.timeMajor else {
            throw GRUCoreError.invalidConfig("a time-major layer takes its input as an array, which it reorders")
        }
        var job = try GRUJob(layer: self, input: [], shape: shape, mask: mask, initialState: initialState,
                             dropout: nil, source: input)
        job.threads = max(1, threads)
        job.progress = progress
        return runPass(job)
    }
}
