/// The inference forward pass. One function reads top to bottom: project the inputs of a chunk of
/// timesteps with one matrix product per sample, then step through time with the recurrent product
/// over the whole batch and the gates fused per sample. No allocation happens inside the time loop.
struct GRUEngine<S: GRUScalar> {
    let job: GRUJob<S>

    init(_ job: GRUJob<S>) {
        self.job = job
    }

    func run() -> GRUOutput<S> {
        if job.dropout != nil {
            return runTraining()
        }
        let config = job.layer.config
        let weights = job.layer.weights
        let batch = job.batch, steps = job.timesteps
        let features = weights.inputDim, units = config.units, cols = 3 * units
        let backwards = config.goBackwards
        let chunk = chunkLength(batch: batch, steps: steps, cols: cols)

        var state = job.initialState ?? [S](repeating: 0, count: batch * units)   // (batch, units)
        var lastOutput = [S](repeating: 0, count: batch * units)                    // (batch, units), zeros before any valid step
        var sequence = [S](repeating: 0, count: config.returnSequences ? batch * steps * units : 0)  // (batch, steps, units), processing order
        var projected = [S](repeating: 0, count: batch * chunk * cols)              // (batch, chunk, 3U), blocks [z | r | h]
        var recurrent = [S](repeating: 0, count: batch * cols)                      // (batch, 3U)
        var resetState = [S](repeating: 0, count: config.resetAfter ? 0 : batch * units)  // (batch, units): r*h
        let zeroBias = [S](repeating: 0, count: cols)
        let inputBias = weights.inputBias ?? zeroBias
        let recurrentBias = weights.recurrentBias ?? zeroBias

        job.input.withUnsafeBufferPointer { x in
        weights.kernel.withUnsafeBufferPointer { kernel in
        weights.recurrentKernel.withUnsafeBufferPointer { rk in
        projected.withUnsafeMutableBufferPointer { proj in
        recurrent.withUnsafeMutableBufferPointer { rec in
        state.withUnsafeMutableBufferPointer { h in
        lastOutput.withUnsafeMutableBufferPointer { last in
        sequence.withUnsafeMutableBufferPointer { seq in
        resetState.withUnsafeMutableBufferPointer { rh in
        inputBias.withUnsafeBufferPointer { bIn in
        recurrentBias.withUnsafeBufferPointer { bRec in
            let x = x.baseAddress!, kernel = kernel.baseAddress!, rk = rk.baseAddress!
            let proj = proj.baseAddress!, rec = rec.baseAddress!, h = h.baseAddress!, last = last.baseAddress!
            let bIn = bIn.baseAddress!, bRec = bRec.baseAddress!
            var chunkStart = 0
            while chunkStart < steps {
                let chunkEnd = min(steps, chunkStart + chunk)
                let n = chunkEnd - chunkStart
                // Input times covered by this chunk of processing steps.
                let low = backwards ? steps - chunkEnd : chunkStart
                for b in 0..<batch {
                    let rows = proj + b * chunk * cols
                    gemm(m: n, n: cols, k: features, a: x + (b * steps + low) * features, lda: features,
                         b: kernel, ldb: cols, c: rows, ldc: cols, accumulate: false)
                    for i in 0..<n { addVector(rows + i * cols, bIn, count: cols) }
                }
                for step in chunkStart..<chunkEnd {
                    let t = backwards ? steps - 1 - step : step
                    // Hot spot: the recurrent product h·R over the batch, (batch, U) x (U, 3U).
                    if config.resetAfter {
                        gemm(m: batch, n: cols, k: units, a: h, lda: units, b: rk, ldb: cols, c: rec, ldc: cols, accumulate: false)
                    } else {
                        gemm(m: batch, n: 2 * units, k: units, a: h, lda: units, b: rk, ldb: cols, c: rec, ldc: cols, accumulate: false)
                    }
                    for b in 0..<batch where isValid(b, t) {
                        let px = proj + (b * chunk + t - low) * cols
                        let rb = rec + b * cols
                        if config.resetAfter { addVector(rb, bRec, count: cols) }
                        for j in 0..<(2 * units) { rb[j] = px[j] + rb[j] }
                        config.recurrentActivation.apply(rb, count: 2 * units, hardSigmoid: config.hardSigmoid)
                        if !config.resetAfter {
                            let hb = h + b * units, rhb = rh.baseAddress! + b * units
                            for j in 0..<units { rhb[j] = rb[units + j] * hb[j] }
                        }
                    }
                    if !config.resetAfter {
                        // (r*h)·Rh, (batch, U) x (U, U) into the h block.
                        gemm(m: batch, n: units, k: units, a: rh.baseAddress!, lda: units, b: rk + 2 * units, ldb: cols,
                             c: rec + 2 * units, ldc: cols, accumulate: false)
                    }
                    for b in 0..<batch {
                        let hb = h + b * units
                        if isValid(b, t) {
                            let px = proj + (b * chunk + t - low) * cols
                            let rb = rec + b * cols
                            let candidate = rb + 2 * units
                            if config.resetAfter {
                                for j in 0..<units { candidate[j] = px[2 * units + j] + rb[units + j] * candidate[j] }
                            } else {
                                for j in 0..<units { candidate[j] = px[2 * units + j] + candidate[j] }
                            }
                            config.activation.apply(candidate, count: units, hardSigmoid: config.hardSigmoid)
                            for j in 0..<units {
                                let z = rb[j]
                                hb[j] = z * hb[j] + (1 - z) * candidate[j]
                            }
                            if job.mask != nil { copy(hb, to: last + b * units, count: units) }
                        }
                        if config.returnSequences {
                            let source = job.mask != nil ? last + b * units : hb
                            copy(source, to: seq.baseAddress! + (b * steps + step) * units, count: units)
                        }
                    }
                }
                chunkStart = chunkEnd
            }
        }}}}}}}}}}}

        if job.mask == nil { lastOutput = state }
        return makeOutput(sequence: sequence, lastOutput: lastOutput, state: state)
    }

    @inline(__always)
    private func isValid(_ b: Int, _ t: Int) -> Bool {
        guard let mask = job.mask else { return true }
        return mask[b * job.timesteps + t]
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

/// Timesteps projected at once: enough rows for an efficient product, few enough to stay in cache.
func chunkLength(batch: Int, steps: Int, cols: Int) -> Int {
    let budget = 1 << 17  // values per projection chunk
    return max(1, min(steps, budget / max(1, batch * cols)))
}

@inline(__always)
func addVector<S: GRUScalar>(_ target: UnsafeMutablePointer<S>, _ addend: UnsafePointer<S>, count: Int) {
    for j in 0..<count { target[j] += addend[j] }
}

@inline(__always)
func copy<S>(_ source: UnsafePointer<S>, to target: UnsafeMutablePointer<S>, count: Int) {
    target.update(from: source, count: count)
}
