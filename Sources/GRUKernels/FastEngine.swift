import GRUBase
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a forward pass shares its work among threads.
struct WorkPlan {
    enum Split { case none, samples, units }
    let split: Split
    let threads: Int
    /// Timesteps whose input projection is computed at once.
    let chunk: Int

    init(batch: Int, steps: Int, features: Int, units: Int, panels: Int, threads requested: Int) {
        let work = Double(batch) * Double(steps) * Double(3 * units) * Double(features + units)
        if requested < 2 || work < 4e6 {
            split = .none
            threads = 1
        } else if batch >= 8 {
            // Sharing samples, every thread streams all the weights each step, but no barrier ends a step: ahead
            // of the units split at every batch of 8 or more measured, even where only a part of the weights
            // fits in a core's L2 cache (float64 (32,200,64)->128: 18-19 against 23-24 ms).
            split = .samples
            threads = min(requested, batch / 4)
        } else if units >= 96 && panels >= 2 * requested {
            split = .units
            threads = requested
        } else {
            split = .none
            threads = 1
        }
        let rowsPerStep = split == .samples ? max(1, batch / threads) : batch
        chunk = max(1, min(steps, 64 / rowsPerStep))
        // With the samples shared, blocks of them go to whichever thread is free, about four per thread and
        // whole eight-row blocks, each at least 16 samples (32 where the recurrent kernel outgrows L2 and is
        // streamed once per block and step); fewer samples keep one fixed part per thread.
        let weightBytes = Double(3 * units) * Double(units) * 4
        let least = weightBytes > Double(1 << 20) ? 32 : 16
        if split == .samples && batch >= 2 * least * threads {
            sampleBlock = max(least, batch / (4 * threads) / 8 * 8)
        } else {
            sampleBlock = nil
        }
    }

    /// Samples a thread takes at a time (nil: each thread has its fixed part, `share`).
    let sampleBlock: Int?

    func share(_ index: Int, of count: Int, batch: Int, panels: Int) -> (samples: Range<Int>, panels: Range<Int>) {
        switch split {
        case .none: return (0..<batch, 0..<panels)
        case .samples:
            // Whole blocks of four samples. (Every kernel sums over k in the same order, so the split never
            // changes a number; ThreadingTests checks it.)
            let blocks = (batch + 3) / 4
            let low = min(batch, 4 * (index * blocks / count)), high = min(batch, 4 * ((index + 1) * blocks / count))
            return (low..<high, 0..<panels)
        case .units: return (0..<batch, (index * panels / count)..<((index + 1) * panels / count))
        }
    }
}

/// The inference forward pass. For each chunk of timesteps every thread projects the inputs of its
/// samples onto its panels of units (one packed matrix product), then steps through time: the recurrent
/// product of its panels over its samples into a scratch block, then the gates over those units as
/// vectorized loops (a thread with one sample computes them from the kernel's registers, a group of panels at
/// a time: `stepOneRow`, `stepOneRowBefore`). With the units split among threads, a barrier ends each step (two with
/// reset_after=False, whose candidate needs the whole r*h). No allocation happens inside the time loop.
final class FastEngine<V: GateVector>: @unchecked Sendable {
    typealias S = V.Scalar
    let config: GRUConfig
    let packed: PackedWeights<V>
    let plan: WorkPlan
    let batch: Int, steps: Int, features: Int, units: Int, lanes: Int, padded: Int
    let x: UnsafePointer<S>?                // (batch, steps, features), or nil: read from `source`
    let mask: UnsafePointer<Bool>?          // (batch, steps)
    let sequence: UnsafeMutablePointer<S>?  // (batch, steps, units), processing order unless config.reverseSequence
    /// How far apart the rows of `sequence` start (units, or more when they sit inside wider rows).
    let sequenceStride: Int
    let workspace: Workspace<V>
    var stateA: AlignedBuffer<V> { workspace.stateA }          // (batch, padded): h, double-buffered
    var stateB: AlignedBuffer<V> { workspace.stateB }
    var last: AlignedBuffer<V> { workspace.last }              // (batch, padded): output carried over masked steps
    var resetState: AlignedBuffer<V> { workspace.resetState }  // (batch, padded): r*h (reset_after=False)
    var projection: AlignedBuffer<V> { workspace.projection }  // (batch, chunk, 3, padded): x·W + b_in, blocks [z | r | h]
    var barrier: StepBarrier { workspace.barrier }
    let pool: WorkspacePool
    let progress: (@Sendable (Int) -> Void)?
    let source: GRUInputSource<S>?
    /// The next block of samples a thread takes (`WorkPlan.sampleBlock`).
    let nextSampleBlock = Atomic<Int>(0)

    /// Both activations have a vector form, so a one-sample step takes `stepOneRow` or `stepOneRowBefore`.
    let oneRowGates: Bool

    init(job: GRUJob<S>, input: UnsafePointer<S>?, mask: UnsafePointer<Bool>?, sequence: UnsafeMutablePointer<S>?,
         sequenceStride: Int) {
        config = job.layer.config
        oneRowGates = config.activation.hasVectorForm && config.recurrentActivation.hasVectorForm
        let apart = !config.resetAfter
        packed = job.layer.packed.get(candidateApart: apart) { PackedWeights(job.layer.weights, candidateApart: apart) }
        batch = job.batch
        steps = job.timesteps
        features = job.layer.weights.inputDim
        units = config.units
        lanes = V.scalarCount
        padded = packed.paddedUnits
        plan = WorkPlan(batch: batch, steps: steps, features: features, units: units, panels: packed.panels,
                        threads: job.threads)
        progress = job.progress
        source = job.source
        x = source == nil ? input : nil
        self.mask = mask
        self.sequence = sequence
        self.sequenceStride = sequenceStride
        pool = job.layer.workspaces
        let key = Workspace<V>.Key(batch: batch, padded: padded, chunk: plan.chunk, threads: plan.threads,
                                   scratchRows: Workspace<V>.scratchRows(plan, batch: batch, padded: padded, rowBlock: Self.rowBlock))
        if let kept = pool.take(Workspace<V>.self, where: { $0.key == key }) {
            kept.clear()
            workspace = kept
        } else {
            workspace = Workspace(key)
        }
        if let previous = job.previousOutput, mask != nil {
            for b in 0..<batch {
                for j in 0..<units { last.scalars[b * padded + j] = previous[b * units + j] }
            }
        }
        if let initial = job.initialState {
            for b in 0..<batch {
                for j in 0..<units { stateA.scalars[b * padded + j] = initial[b * units + j] }
            }
        }
    }

    /// Runs the pass; afterwards the final state is in `finalState`.
    func run() {
        // The gate code is compiled for the common pairs of activations (no branch on the kind per vector);
        // other pairs take `AnyGate`, which branches.
        let slope: S = config.hardSigmoid == .keras2 ? 0.2 : 1 / 6
        switch (config.recurrentActivation, config.activation) {
        case (.sigmoid, .tanh):
            runTeam(plan.threads) { index, count in self.work(index, count, SigmoidGate<V>(), TanhGate<V>()) }
        case (.hardSigmoid, .tanh):
            runTeam(plan.threads) { index, count in self.work(index, count, HardSigmoidGate<V>(slope: slope), TanhGate<V>()) }
        default:
            let recurrent = AnyGate<V>(kind: config.recurrentActivation, hardSigmoid: config.hardSigmoid)
            let candidate = AnyGate<V>(kind: config.activation, hardSigmoid: config.hardSigmoid)
            runTeam(plan.threads) { index, count in self.work(index, count, recurrent, candidate) }
        }
    }

    deinit { pool.give(workspace) }

    /// The buffer holding h after the last step.
    var finalState: AlignedBuffer<V> { steps % 2 == 0 ? stateA : stateB }

    /// Where a thread's projection finds the input rows of its samples: `base` holds `stride` steps per
    /// sample starting at step `first` (the whole input, or the window a source last read).
    struct InputRows {
        var base: UnsafePointer<S>
        var stride: Int
        var first: Int
    }

    /// One thread's part: its samples and panels, every step.
    struct Share {
        var samples: Range<Int>
        var panels: Range<Int>
        /// `(samples, 3, padded)`: the recurrent products, then the gates, of this thread's rows.
        var scratch: UnsafeMutablePointer<S>
        /// With the units split: this thread's copy of the rows a product reads (h, or r*h), whose other
        /// part another core has just written.
        var rows: UnsafeMutablePointer<S>?
        var team: Int
        var index: Int
    }

    private func work<R: VectorActivation, A: VectorActivation>(_ index: Int, _ count: Int, _ recurrentGate: R, _ candidateGate: A)
        where R.V == V, A.V == V {
        guard plan.split == .samples, count > 1, let size = plan.sampleBlock else {
            let (samples, panels) = plan.share(index, of: count, batch: batch, panels: packed.panels)
            work(index, count, samples: samples, panels: panels, progressFrom: 0, of: 1, recurrentGate, candidateGate)
            return
        }
        // Blocks of samples, each taken by whichever thread is free: a core slowed by other work (a busy
        // host) takes fewer, where halves fixed in advance would leave the other core waiting at the end.
        let blocks = (batch + size - 1) / size
        while true {
            let block = nextSampleBlock.wrappingAdd(1, ordering: .relaxed).oldValue
            guard block < blocks else { return }
            let samples = (block * size)..<min(batch, (block + 1) * size)
            work(index, count, samples: samples, panels: 0..<packed.panels, progressFrom: block, of: blocks, recurrentGate, candidateGate)
        }
    }

    /// The time loop over `samples` and `panels`; `progressFrom` of `of` equal parts of the pass come before it.
    private func work<R: VectorActivation, A: VectorActivation>(_ index: Int, _ count: Int, samples: Range<Int>, panels: Range<Int>,
                                                                progressFrom done: Int, of parts: Int, _ recurrentGate: R, _ candidateGate: A)
        where R.V == V, A.V == V {
        // Rows are stepped in groups whose scratch block stays in cache (about 96 KB); a group is a whole
        // number of row blocks, so few rows fall to the one-row kernels. With the units split
        // among threads all rows form one group: the barrier inside a reset_after=False step spans them all.
        let group = plan.split == .units ? max(1, samples.count) : Workspace<V>.rowGroup(padded: padded, rowBlock: rowBlock)
        let scratch = workspace.scratch[index]
        let rowsCopy = workspace.rowsCopy[index]
        // A source is read a window of steps at a time (about 1 MB for this thread's samples).
        let window = source == nil ? 0 : min(steps, max(plan.chunk, (1 << 20) / max(1, samples.count * features * MemoryLayout<S>.stride)))
        let staging = AlignedBuffer<V>(count: source == nil ? 1 : (samples.count * window * features + lanes - 1) / lanes)
        var held = 0..<0
        let gathered = AlignedBuffer<V>(count: (samples.count * plan.chunk * features + lanes - 1) / lanes, zeroed: false)
        let team = plan.split == .units ? count : 1
        let backwards = config.goBackwards
        var previous = stateA.scalars, next = stateB.scalars
        var chunkStart = 0
        while chunkStart < steps {
            let chunkEnd = min(steps, chunkStart + plan.chunk)
            let low = backwards ? steps - chunkEnd : chunkStart  // first input time of the chunk
            if let source, !(held.contains(low) && held.contains(low + chunkEnd - chunkStart - 1)) {
                held = backwards ? max(0, low + chunkEnd - chunkStart - window)..<(low + chunkEnd - chunkStart)
                                 : low..<min(steps, low + window)
                source.read(samples, held, staging.scalars)
            }
            let rows = x.map { InputRows(base: $0 + samples.lowerBound * steps * features, stride: steps, first: 0) }
                ?? InputRows(base: UnsafePointer(staging.scalars), stride: held.count, first: held.lowerBound)
            project(samples: samples, panels: panels, low: low, count: chunkEnd - chunkStart, rows: rows, gathered: gathered.scalars)
            for step in chunkStart..<chunkEnd {
                let t = backwards ? steps - 1 - step : step
                var first = samples.lowerBound
                repeat {
                    let last = min(samples.upperBound, first + group)
                    let share = Share(samples: first..<last, panels: panels, scratch: scratch.scalars,
                                      rows: plan.split == .units ? rowsCopy.scalars : nil, team: team, index: index)
                    if noneValid(share.samples, t) {
                        // Every sample of the group is masked at this step (padding common to the batch): the
                        // states carry over without a product, so padding costs only its share of the steps.
                        let j0 = panels.lowerBound * lanes, j1 = panels.upperBound * lanes
                        for b in share.samples {
                            let hp = previous + b * padded, hn = next + b * padded
                            for j in j0..<j1 { hn[j] = hp[j] }
                            emit(b, hn, valid: false, step: step, from: j0, to: j1)
                        }
                    } else if config.resetAfter {
                        stepResetAfter(share, t: t, row: t - low, step: step, previous: previous, next: next,
                                       gates: (recurrentGate, candidateGate))
                    } else {
                        stepResetBefore(share, t: t, row: t - low, step: step, previous: previous, next: next,
                                        gates: (recurrentGate, candidateGate))
                    }
                    first = last
                } while first < samples.upperBound
                barrier.wait(index, parties: team)
                swap(&previous, &next)
            }
            chunkStart = chunkEnd
            if index == 0 { progress?((done * steps + chunkEnd) / parts) }
        }
        withExtendedLifetime((staging, gathered)) {}
    }

    /// Whether a mask masks every sample of `samples` at time `t`.
    @inline(__always)
    private func noneValid(_ samples: Range<Int>, _ t: Int) -> Bool {
        guard let mask else { return false }
        for b in samples where mask[b * steps + t] { return false }
        return true
    }

    @inline(__always)
    private func isValid(_ b: Int, _ t: Int) -> Bool {
        mask.map { $0[b * steps + t] } ?? true
    }

    /// reset_after=True: `hh = act(x·Wh + b_in + r * (h·Rh + b_rec))`, all gates from one product.
    private func stepResetAfter<R: VectorActivation, A: VectorActivation>(_ share: Share, t: Int, row: Int, step: Int,
                                previous: UnsafeMutablePointer<S>, next: UnsafeMutablePointer<S>,
                                gates: (R, A)) where R.V == V, A.V == V {
        if share.samples.count == 1 && oneRowGates {
            stepOneRow(share, t: t, row: row, step: step, previous: previous, next: next, gates: gates)
            return
        }
        recurrentProduct(share, rows: previous, gates: 3)
        let j0 = share.panels.lowerBound * lanes, j1 = share.panels.upperBound * lanes, n = j1 - j0
        let bias = packed.recurrentBias.scalars
        for b in share.samples {
            let hp = previous + b * padded, hn = next + b * padded
            let valid = isValid(b, t)
            if valid {
                let z = share.scratch + (b - share.samples.lowerBound) * 3 * padded, r = z + padded, a = r + padded
                let px = projection.scalars + (b * plan.chunk + row) * 3 * padded
                for j in j0..<j1 {
                    z[j] = px[j] + (z[j] + bias[j])
                    r[j] = px[padded + j] + (r[j] + bias[padded + j])
                }
                config.recurrentActivation.applyFast(z + j0, count: n, hardSigmoid: config.hardSigmoid)
                config.recurrentActivation.applyFast(r + j0, count: n, hardSigmoid: config.hardSigmoid)
                for j in j0..<j1 { a[j] = px[2 * padded + j] + r[j] * (a[j] + bias[2 * padded + j]) }
                config.activation.applyFast(a + j0, count: n, hardSigmoid: config.hardSigmoid)
                for j in j0..<j1 { hn[j] = z[j] * hp[j] + (1 - z[j]) * a[j] }
            } else {
                for j in j0..<j1 { hn[j] = hp[j] }
            }
            emit(b, hn, valid: valid, step: step, from: j0, to: j1)
        }
    }

    /// reset_after=True for one sample: the gates of each group of panels are computed from the kernel's
    /// registers as soon as its product is done, with the operations of `stepResetAfter`'s loops register by
    /// register (so the results are the same bits), instead of six short vectorized loops over scratch
    /// ((1,100,16)->32: 15% less time, (1,1000,32)->128: 4%).
    private func stepOneRow<R: VectorActivation, A: VectorActivation>(_ share: Share, t: Int, row: Int, step: Int,
                            previous: UnsafeMutablePointer<S>, next: UnsafeMutablePointer<S>,
                                gates: (R, A)) where R.V == V, A.V == V {
        let b = share.samples.lowerBound
        let j0 = share.panels.lowerBound * lanes, j1 = share.panels.upperBound * lanes
        let hp = previous + b * padded, hn = next + b * padded
        // The sample is valid at `t`: `work` carries a step where every sample of the group is masked.
        let a = copyRows(share, previous) + b * padded
        let stride = padded / lanes
        let bias = packed.recurrentBias.pointer
        let px = UnsafeMutableRawPointer(projection.pointer + (b * plan.chunk + row) * 3 * stride).assumingMemoryBound(to: V.self)
        let hpV = UnsafeRawPointer(hp).assumingMemoryBound(to: V.self)
        let hnV = UnsafeMutableRawPointer(hn).assumingMemoryBound(to: V.self)
        let cell = OneRowGates(px: px, bias: bias, hp: hpV, hn: hnV, stride: stride, recurrentGate: gates.0, candidateGate: gates.1)
        eachThreeGateBlock(a, share.panels) { cell($0, $1) }
        emit(b, hn, valid: true, step: step, from: j0, to: j1)
    }

    /// reset_after=False: z and r from h·R[:, :2U], then `hh = act(x·Wh + b + (r*h)·Rh)`.
    private func stepResetBefore<R: VectorActivation, A: VectorActivation>(_ share: Share, t: Int, row: Int, step: Int,
                                 previous: UnsafeMutablePointer<S>, next: UnsafeMutablePointer<S>,
                                gates: (R, A)) where R.V == V, A.V == V {
        if share.samples.count == 1 && oneRowGates {
            stepOneRowBefore(share, t: t, row: row, step: step, previous: previous, next: next, gates: gates)
            return
        }
        recurrentProduct(share, rows: previous, gates: 2)
        let j0 = share.panels.lowerBound * lanes, j1 = share.panels.upperBound * lanes, n = j1 - j0
        let rh = resetState.scalars
        for b in share.samples where isValid(b, t) {
            let z = share.scratch + (b - share.samples.lowerBound) * 3 * padded, r = z + padded
            let px = projection.scalars + (b * plan.chunk + row) * 3 * padded
            let hp = previous + b * padded, rhb = rh + b * padded
            for j in j0..<j1 {
                z[j] = px[j] + z[j]
                r[j] = px[padded + j] + r[j]
            }
            config.recurrentActivation.applyFast(z + j0, count: n, hardSigmoid: config.hardSigmoid)
            config.recurrentActivation.applyFast(r + j0, count: n, hardSigmoid: config.hardSigmoid)
            for j in j0..<j1 { rhb[j] = r[j] * hp[j] }
        }
        barrier.wait(share.index, parties: share.team)  // the candidate's product needs every unit's r*h
        recurrentProduct(share, rows: rh, gates: 1)
        for b in share.samples {
            let hp = previous + b * padded, hn = next + b * padded
            let valid = isValid(b, t)
            if valid {
                let z = share.scratch + (b - share.samples.lowerBound) * 3 * padded, a = z + 2 * padded
                let px = projection.scalars + (b * plan.chunk + row) * 3 * padded
                for j in j0..<j1 { a[j] = px[2 * padded + j] + a[j] }
                config.activation.applyFast(a + j0, count: n, hardSigmoid: config.hardSigmoid)
                for j in j0..<j1 { hn[j] = z[j] * hp[j] + (1 - z[j]) * a[j] }
            } else {
                for j in j0..<j1 { hn[j] = hp[j] }
            }
            emit(b, hn, valid: valid, step: step, from: j0, to: j1)
        }
    }

    /// reset_after=False for one sample, as `stepOneRow`: z and r from each group of `[z | r]` panels' registers
    /// (z kept in scratch, r*h written for the second product), then the candidate and h from each group of
    /// `[h]` panels' registers, with the operations of `stepResetBefore`'s loops.
    private func stepOneRowBefore<R: VectorActivation, A: VectorActivation>(_ share: Share, t: Int, row: Int, step: Int,
                                  previous: UnsafeMutablePointer<S>, next: UnsafeMutablePointer<S>,
                                gates: (R, A)) where R.V == V, A.V == V {
        let b = share.samples.lowerBound
        let j0 = share.panels.lowerBound * lanes, j1 = share.panels.upperBound * lanes
        let hp = previous + b * padded, hn = next + b * padded
        // The sample is valid at `t`: `work` carries a step where every sample of the group is masked.
        let stride = padded / lanes
        func vectors(_ p: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<V> {
            UnsafeMutableRawPointer(p).assumingMemoryBound(to: V.self)
        }
        let cell = OneRowResetGates(px: vectors(projection.scalars + (b * plan.chunk + row) * 3 * padded),
                                     hp: UnsafePointer(vectors(hp)), hn: vectors(hn), z: vectors(share.scratch),
                                     rh: vectors(resetState.scalars + b * padded), stride: stride,
                                     recurrentGate: gates.0, candidateGate: gates.1)
        let zr = copyRows(share, previous) + b * padded
        byFourPanels(share.panels, { multiply1x8(units, zr, (packed.zrPanel($0), packed.zrPanel($1), packed.zrPanel($2), packed.zrPanel($3))) }) {
            cell.resetGate($0, $1)
        }
        barrier.wait(share.index, parties: share.team)  // the candidate's product needs every unit's r*h
        let a = copyRows(share, resetState.scalars) + b * padded
        byFourPanels(share.panels, { multiply1x4(units, a, (packed.hPanel($0), packed.hPanel($1), packed.hPanel($2), packed.hPanel($3))) }) {
            cell.candidate($0, $1)
        }
        emit(b, hn, valid: true, step: step, from: j0, to: j1)
    }

    /// Records the step's output for units `j0..<j1`: h, or on a masked step the previous output
    /// (zeros before any valid step), or zeros inside a Bidirectional that returns sequences.
    @inline(__always)
    private func emit(_ b: Int, _ h: UnsafeMutablePointer<S>, valid: Bool, step: Int, from j0: Int, to j1: Int) {
        var output = UnsafePointer(h)
        if mask != nil {
            let carried = last.scalars + b * padded
            if valid {
                for j in j0..<j1 { carried[j] = h[j] }
            } else if config.zeroOutputForMask {
                for j in j0..<j1 { carried[j] = 0 }
            }
            output = UnsafePointer(carried)
        }
        guard let sequence else { return }
        let base = sequence + (b * steps + (config.reverseSequence ? steps - 1 - step : step)) * sequenceStride
        for j in j0..<min(j1, units) { base[j] = output[j] }
    }
}

/// The gates of one sample's units `p*lanes ..< (p+1)*lanes` (reset_after=True) from the three product vectors
/// of their panel: the arithmetic of `stepResetAfter`'s loops, one register at a time.
struct OneRowGates<V: GateVector, R: VectorActivation, A: VectorActivation> where R.V == V, A.V == V {
    let px: UnsafeMutablePointer<V>, bias: UnsafeMutablePointer<V>, hp: UnsafePointer<V>, hn: UnsafeMutablePointer<V>
    let stride: Int
    let recurrentGate: R, candidateGate: A

    @_transparent
    func callAsFunction(_ c: SIMD3Block<V>, _ p: Int) {
        let z = recurrentGate(px[p] + (c.z + bias[p]))
        let r = recurrentGate(px[stride + p] + (c.r + bias[stride + p]))
        let h = candidateGate(px[2 * stride + p] + r * (c.h + bias[2 * stride + p]))
        hn[p] = z * hp[p] + (1 - z) * h
    }
}

/// `OneRowGates` for reset_after=False: the update and reset gates from the first product's vectors, then
/// the candidate and h from the second's.
struct OneRowResetGates<V: GateVector, R: VectorActivation, A: VectorActivation> where R.V == V, A.V == V {
    let px: UnsafeMutablePointer<V>, hp: UnsafePointer<V>, hn: UnsafeMutablePointer<V>
    /// z, kept from the first product for the second.
    let z: UnsafeMutablePointer<V>
    let rh: UnsafeMutablePointer<V>
    let stride: Int
    let recurrentGate: R, candidateGate: A

    @_transparent
    func resetGate(_ c: SIMD3Block<V>, _ p: Int) {
        z[p] = recurrentGate(px[p] + c.z)
        let r = recurrentGate(px[stride + p] + c.r)
        rh[p] = r * hp[p]
    }

    @_transparent
    func candidate(_ c: V, _ p: Int) {
        let h = candidateGate(px[2 * stride + p] + c)
        let zp = z[p]
        hn[p] = zp * hp[p] + (1 - zp) * h
    }
}

/// The buffers of a pass, made once per layer and sizes (GRULayer.workspaces): a later pass of the same
/// sizes clears the states and allocates nothing.
final class Workspace<V: SIMD>: @unchecked Sendable where V.Scalar: GRUScalar {
    struct Key: Equatable {
        var batch: Int, padded: Int, chunk: Int, threads: Int, scratchRows: Int
    }
    let key: Key
    let stateA: AlignedBuffer<V>, stateB: AlignedBuffer<V>, last: AlignedBuffer<V>, resetState: AlignedBuffer<V>
    let projection: AlignedBuffer<V>
    /// Per thread: `(rows, 3, padded)` gate blocks, and with the units split a copy of `(batch, padded)` rows.
    let scratch: [AlignedBuffer<V>]
    let rowsCopy: [AlignedBuffer<V>]
    let barrier: StepBarrier

    init(_ key: Key) {
        self.key = key
        let vectors = key.batch * key.padded / V.scalarCount
        stateA = AlignedBuffer(count: vectors)
        stateB = AlignedBuffer(count: vectors)
        last = AlignedBuffer(count: vectors)
        resetState = AlignedBuffer(count: vectors)
        projection = AlignedBuffer(count: key.batch * key.chunk * 3 * key.padded / V.scalarCount)
        scratch = (0..<key.threads).map { _ in AlignedBuffer(count: key.scratchRows * 3 * key.padded / V.scalarCount) }
        rowsCopy = (0..<key.threads).map { _ in AlignedBuffer(count: key.threads > 1 ? vectors : 1) }
        barrier = StepBarrier(parties: key.threads)
    }

    /// Zeros the states, as a new workspace has them (the other buffers are written before they are read).
    func clear() {
        stateA.zero()
        stateB.zero()
        last.zero()
        resetState.zero()
    }

    /// Rows a thread steps at once, whose gate blocks stay in cache (about 96 KB); a whole number of row
    /// blocks, so few rows fall to the one-row kernels.
    static func rowGroup(padded: Int, rowBlock: Int) -> Int {
        let rowBytes = 3 * padded * MemoryLayout<V.Scalar>.stride
        return max(rowBlock, (96 << 10) / rowBytes / rowBlock * rowBlock)
    }

    /// The most rows any thread's scratch holds: its group, or with the units split every sample (a team
    /// smaller than planned shares the same samples).
    static func scratchRows(_ plan: WorkPlan, batch: Int, padded: Int, rowBlock: Int) -> Int {
        plan.split == .units ? batch : max(1, min(batch, rowGroup(padded: padded, rowBlock: rowBlock)))
    }
}
