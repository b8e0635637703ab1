import GRUBase
import Synchronization

/// What a pass of a `CellLayer` gives: the sequence `(batch, steps, units)` in processing order (empty
/// without return_sequences), the last output and the final states, each `(batch, units)`.
struct CellResult<S: GRUScalar> {
    var sequence: [S]
    var last: [S]
    var states: [[S]]
}

/// The products of one thread's units when a pass shares the units among threads: the columns
/// `[i | f | c | o]` (or SimpleRNN's one block) of its units, packed apart when first asked for.
struct CellSplit<S: GRUScalar>: Sendable {
    let units: Range<Int>
    let input: MatrixProduct<S>
    let recurrent: MatrixProduct<S>
}

/// The per-thread products of each team size a layer has run with.
final class CellSplitCache<S: GRUScalar>: Sendable {
    private let made = Mutex<[Int: [CellSplit<S>]]>([:])

    func splits(_ team: Int, make: () -> [CellSplit<S>]) -> [CellSplit<S>] {
        made.withLock { cache in
            if let found = cache[team] { return found }
            let splits = make()
            cache[team] = splits
            return splits
        }
    }
}

/// The forward pass of an LSTM or SimpleRNN over a batch-major input, in one of two ways:
/// - samples shared among threads (eight or more samples): each thread steps its own samples through every
///   timestep with no barrier, as the GRU's passes do;
/// - units shared (fewer samples, enough units): each thread owns a range of units, whose gate columns
///   it multiplies and whose h and c it updates; a barrier ends each step, since every thread's next product
///   reads all of h.
/// For each chunk of timesteps a thread projects its inputs in one product (`x·W + b`), then per step
/// multiplies h by the recurrent kernel and computes the gates with the GRU's vectorized activations.
/// Every product sums over k in the same order whichever way the work is shared, so the numbers do not
/// depend on the threads. Nothing is allocated inside the time loop.
struct CellPass<S: GRUScalar> {
    let layer: CellLayer<S>
    let batch: Int, steps: Int
    let initialStates: [[S]]?

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func run(_ x: [S], mask: [Bool]?, threads: Int, progress: (@Sendable (Int) -> Void)?) -> CellResult<S> {
        let config = layer.config, units = config.units, gates = config.kind.gates
        let work = Double(batch) * Double(steps) * Double(gates * units) * Double(layer.inputDim + units)
        var planned = 1, unitsShared = false
        if threads >= 2 && work >= 4e6 {
            if batch >= 8 {
                planned = min(threads, batch / 4)
            } else if units >= 64 {
                // At least 32 units a thread: fewer make the barrier cost more than the product saves.
                planned = min(threads, units / 32)
                unitsShared = planned > 1
            }
        }
        let (team, splitUnits) = (planned, unitsShared)
        let whole = CellSplit(units: 0..<units, input: layer.inputProduct, recurrent: layer.recurrentProduct)
        let splits = !splitUnits ? [] : layer.splits.splits(team) {
            (0..<team).map { q in
                let own = (units * q / team)..<(units * (q + 1) / team)
                let columns = (0..<gates).flatMap { g in own.map { g * units + $0 } }
                return CellSplit(units: own, input: layer.inputProduct.selecting(columns: columns),
                                 recurrent: layer.recurrentProduct.selecting(columns: columns))
            }
        }
        let sequence = SharedArray<S>(count: config.returnSequences ? batch * steps * units : 0)
        let last = SharedArray<S>(count: batch * units)
        let hA = SharedArray<S>(initialStates?[0] ?? [S](repeating: 0, count: batch * units))
        let hB = SharedArray<S>(count: batch * units)
        let cell = SharedArray<S>(config.kind == .lstm ? initialStates.map { $0[1] } ?? [S](repeating: 0, count: batch * units) : [])
        let barrier = StepBarrier(parties: splitUnits ? team : 1)
        x.withUnsafeBufferPointer { xs in
            (mask ?? []).withUnsafeBufferPointer { ms in
                let input = Int(bitPattern: xs.baseAddress), flags = mask == nil ? 0 : Int(bitPattern: ms.baseAddress)
                runTeam(team) { index, count in
                    let split: CellSplit<S>, samples: Range<Int>, steps: StepBarrier?
                    if splitUnits && count == team {
                        (split, samples, steps) = (splits[index], 0..<self.batch, barrier)
                    } else if splitUnits {
                        // Fewer threads than asked for: one steps every unit.
                        guard index == 0 else { return }
                        (split, samples, steps) = (whole, 0..<self.batch, nil)
                    } else {
                        (split, samples, steps) = (whole, (self.batch * index / count)..<(self.batch * (index + 1) / count), nil)
                        guard !samples.isEmpty else { return }
                    }
                    var stepper = CellStepper(layer: self.layer, batch: self.batch, steps: self.steps, samples: samples, split: split,
                                              x: UnsafePointer<S>(bitPattern: input)!, mask: UnsafePointer<Bool>(bitPattern: flags),
                                              sequence: sequence.pointer, last: last.pointer, h: (hA.pointer, hB.pointer),
                                              c: cell.pointer, barrier: steps, member: index, team: count)
                    stepper.run(progress: index == 0 ? progress : nil)
                }
            }
        }
        let final = steps % 2 == 0 ? hA : hB
        return CellResult(sequence: sequence.array, last: last.array, states: config.kind == .lstm ? [final.array, cell.array] : [final.array])
    }
}

/// An array written by several threads at disjoint places.
final class SharedArray<S>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<S>
    let count: Int

    init(count: Int) where S: GRUScalar {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    init(_ values: [S]) {
        count = values.count
        pointer = .allocate(capacity: max(1, count))
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }

    var array: [S] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// One thread's samples and units stepped through every timestep. h is double-buffered `(batch, units)`:
/// a step reads whole rows of one buffer and writes this thread's part of the other.
struct CellStepper<S: GRUScalar> {
    let layer: CellLayer<S>
    let batch: Int, steps: Int
    let samples: Range<Int>
    let split: CellSplit<S>
    let x: UnsafePointer<S>
    let mask: UnsafePointer<Bool>?
    let sequence: UnsafeMutablePointer<S>
    let last: UnsafeMutablePointer<S>
    let h: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>)
    /// The LSTM's c, `(batch, units)`, updated in place (each thread its own part).
    let c: UnsafeMutablePointer<S>
    let barrier: StepBarrier?
    let member: Int, team: Int

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    mutating func run(progress: (@Sendable (Int) -> Void)?) {
        let config = layer.config, units = config.units, features = layer.inputDim
        let own = split.units, n = own.count, u0 = own.lowerBound
        let columns = config.kind.gates * n, rows = samples.count
        let lstm = config.kind == .lstm
        // Projections of about 256 rows a chunk (a chunk of steps for each sample). With a mask only the valid
        // (sample, step) rows are gathered and projected: `slots` gives each row's place in the projection.
        let chunk = max(1, min(steps, 256 / rows))
        let gather = UnsafeMutablePointer<S>.allocate(capacity: rows > 1 || mask != nil ? rows * chunk * features : 1)
        let projection = UnsafeMutablePointer<S>.allocate(capacity: rows * chunk * columns)
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: mask == nil ? 1 : rows * chunk)
        let z = UnsafeMutablePointer<S>.allocate(capacity: rows * columns)
        let carried = UnsafeMutablePointer<S>.allocate(capacity: rows * n)
        defer {
            [gather, projection, z, carried].forEach { $0.deallocate() }
            slots.deallocate()
        }
        carried.initialize(repeating: 0, count: rows * n)
        let first = samples.lowerBound
        let recurrent = config.recurrentActivation, activation = config.activation, definition = config.hardSigmoid
        var (read, write) = h
        var chunkStart = 0
        while chunkStart < steps {
            let count = min(chunk, steps - chunkStart)
            let low = config.goBackwards ? steps - chunkStart - count : chunkStart
            // Row (sample, t - low) of the chunk's projection, or its slot's row with a mask.
            if let mask {
                var projected = 0
                for i in 0..<rows {
                    let row = (first + i) * steps + low
                    for j in 0..<count where mask[row + j] {
                        (gather + projected * features).update(from: x + (row + j) * features, count: features)
                        slots[i * count + j] = projected
                        projected += 1
                    }
                }
                if projected > 0 {
                    split.input.multiply(gather, rows: projected, into: projection, threads: 1)
                }
            } else {
                let source: UnsafePointer<S>
                if rows == 1 {
                    source = x + (first * steps + low) * features
                } else {
                    for i in 0..<rows {
                        (gather + i * count * features).update(from: x + ((first + i) * steps + low) * features, count: count * features)
                    }
                    source = UnsafePointer(gather)
                }
                split.input.multiply(source, rows: rows * count, into: projection, threads: 1)
            }
            for step in chunkStart..<(chunkStart + count) {
                let t = config.goBackwards ? steps - 1 - step : step
                // A step where every row is masked (padding common to the batch) carries the states without a product.
                if mask.map({ m in (0..<rows).contains { m[(first + $0) * steps + t] } }) ?? true {
                    split.recurrent.multiply(read + first * units, rows: rows, into: z, threads: 1)
                }
                for i in 0..<rows {
                    let b = first + i
                    let valid = mask.map { $0[b * steps + t] } ?? true
                    let hNext = write + b * units + u0
                    if valid {
                        let slot = mask == nil ? i * count + t - low : slots[i * count + t - low]
                        let g = z + i * columns, p = projection + slot * columns
                        if lstm {
                            lstmRow(g, p, cell: c + b * units + u0, h: hNext, units: n, recurrent: recurrent, activation: activation, hardSigmoid: definition)
                        } else {
                            simpleRow(g, p, h: hNext, units: n, activation: activation, hardSigmoid: definition)
                        }
                    } else {
                        hNext.update(from: read + b * units + u0, count: n)
                    }
                    var output = UnsafePointer(hNext)
                    if mask != nil {
                        let kept = carried + i * n
                        if valid {
                            kept.update(from: hNext, count: n)
                        } else if config.zeroOutputForMask {
                            kept.update(repeating: 0, count: n)
                        }
                        output = UnsafePointer(kept)
                    }
                    if config.returnSequences {
                        let row = config.reverseSequence ? steps - 1 - step : step
                        (sequence + (b * steps + row) * units + u0).update(from: output, count: n)
                    }
                }
                barrier?.wait(member, parties: team)
                swap(&read, &write)
            }
            chunkStart += count
            progress?(chunkStart)
        }
        for i in 0..<rows {
            let b = first + i
            (last + b * units + u0).update(from: mask == nil ? read + b * units + u0 : carried + i * n, count: n)
        }
    }
}
