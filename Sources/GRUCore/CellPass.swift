import GRUBase

/// What a pass of a `CellLayer` gives: the sequence `(batch, steps, units)` in processing order (empty
/// without return_sequences), the last output and the final states, each `(batch, units)`.
struct CellResult<S: GRUScalar> {
    var sequence: [S]
    var last: [S]
    var states: [[S]]
}

/// The forward pass of an LSTM or SimpleRNN over a batch-major input. The samples are shared among threads
/// (each steps its own through every timestep, as the GRU's passes do, with no barrier); with fewer than
/// eight samples one thread steps them all and each product is shared among the threads by columns. For
/// each chunk of timesteps a thread projects its samples' inputs in one product (`x·W + b`), then per step
/// multiplies its states by the recurrent kernel and computes the gates with the GRU's vectorized
/// activations. Nothing is allocated inside the time loop.
struct CellPass<S: GRUScalar> {
    let layer: CellLayer<S>
    let batch: Int, steps: Int
    let initialStates: [[S]]?

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func run(_ x: [S], mask: [Bool]?, threads: Int, progress: (@Sendable (Int) -> Void)?) -> CellResult<S> {
        let config = layer.config, units = config.units
        let work = Double(batch) * Double(steps) * Double(config.kind.gates * units) * Double(layer.inputDim + units)
        let (team, productThreads): (Int, Int)
        if threads < 2 || work < 4e6 {
            (team, productThreads) = (1, 1)
        } else if batch >= 8 {
            (team, productThreads) = (min(threads, batch / 4), 1)
        } else {
            (team, productThreads) = (1, threads)
        }
        let sequence = SharedArray<S>(count: config.returnSequences ? batch * steps * units : 0)
        let last = SharedArray<S>(count: batch * units)
        let states = (0..<config.kind.states).map { k in SharedArray<S>(initialStates?[k] ?? [S](repeating: 0, count: batch * units)) }
        x.withUnsafeBufferPointer { xs in
            (mask ?? []).withUnsafeBufferPointer { ms in
                let input = Int(bitPattern: xs.baseAddress), flags = mask == nil ? 0 : Int(bitPattern: ms.baseAddress)
                runTeam(team) { index, count in
                    let low = batch * index / count, high = batch * (index + 1) / count
                    guard low < high else { return }
                    var stepper = CellStepper(layer: self.layer, batch: self.batch, steps: self.steps, samples: low..<high,
                                              productThreads: productThreads,
                                              x: UnsafePointer<S>(bitPattern: input)!, mask: UnsafePointer<Bool>(bitPattern: flags),
                                              sequence: sequence.pointer, last: last.pointer, states: states.map(\.pointer))
                    stepper.run(progress: index == 0 ? progress : nil)
                }
            }
        }
        return CellResult(sequence: sequence.array, last: last.array, states: states.map(\.array))
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
        pointer.deinitialize(count: max(1, count))
        pointer.deallocate()
    }

    var array: [S] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// One thread's samples stepped through every timestep.
struct CellStepper<S: GRUScalar> {
    let layer: CellLayer<S>
    let batch: Int, steps: Int
    let samples: Range<Int>
    let productThreads: Int
    let x: UnsafePointer<S>
    let mask: UnsafePointer<Bool>?
    let sequence: UnsafeMutablePointer<S>
    let last: UnsafeMutablePointer<S>
    /// h (and c), `(batch, units)`: read at the start, written at the end.
    let states: [UnsafeMutablePointer<S>]

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    mutating func run(progress: (@Sendable (Int) -> Void)?) {
        let config = layer.config, units = config.units, features = layer.inputDim
        let columns = config.kind.gates * units, rows = samples.count
        let lstm = config.kind == .lstm
        // Projections of about 256 rows a chunk (a chunk of steps for each sample).
        let chunk = max(1, min(steps, 256 / rows))
        let gather = UnsafeMutablePointer<S>.allocate(capacity: rows > 1 ? rows * chunk * features : 1)
        let projection = UnsafeMutablePointer<S>.allocate(capacity: rows * chunk * columns)
        let gates = UnsafeMutablePointer<S>.allocate(capacity: rows * columns)
        let h = UnsafeMutablePointer<S>.allocate(capacity: rows * units)
        let c = UnsafeMutablePointer<S>.allocate(capacity: rows * units)
        let carried = UnsafeMutablePointer<S>.allocate(capacity: rows * units)
        defer { [gather, projection, gates, h, c, carried].forEach { $0.deallocate() } }
        let first = samples.lowerBound
        h.initialize(from: states[0] + first * units, count: rows * units)
        if lstm { c.initialize(from: states[1] + first * units, count: rows * units) }
        carried.initialize(repeating: 0, count: rows * units)
        let recurrent = config.recurrentActivation, activation = config.activation, definition = config.hardSigmoid
        var chunkStart = 0
        while chunkStart < steps {
            let count = min(chunk, steps - chunkStart)
            let low = config.goBackwards ? steps - chunkStart - count : chunkStart
            // Row (sample, t - low) of the chunk's projection.
            let source: UnsafePointer<S>
            if rows == 1 {
                source = x + (first * steps + low) * features
            } else {
                for i in 0..<rows {
                    (gather + i * count * features).update(from: x + ((first + i) * steps + low) * features, count: count * features)
                }
                source = UnsafePointer(gather)
            }
            layer.inputProduct.multiply(source, rows: rows * count, into: projection, threads: productThreads)
            for step in chunkStart..<(chunkStart + count) {
                let t = config.goBackwards ? steps - 1 - step : step
                layer.recurrentProduct.multiply(h, rows: rows, into: gates, threads: productThreads)
                for i in 0..<rows {
                    let b = first + i
                    let valid = mask.map { $0[b * steps + t] } ?? true
                    let hi = h + i * units
                    if valid {
                        let z = gates + i * columns, p = projection + (i * count + t - low) * columns
                        for j in 0..<columns { z[j] = p[j] + z[j] }
                        if lstm {
                            let ci = c + i * units
                            vectorActivation(recurrent, z, count: 2 * units, hardSigmoid: definition)
                            vectorActivation(activation, z + 2 * units, count: units, hardSigmoid: definition)
                            vectorActivation(recurrent, z + 3 * units, count: units, hardSigmoid: definition)
                            let gi = z, gf = z + units, gc = z + 2 * units
                            for j in 0..<units { ci[j] = gf[j] * ci[j] + gi[j] * gc[j] }
                            gc.update(from: ci, count: units)
                            vectorActivation(activation, gc, count: units, hardSigmoid: definition)
                            let go = z + 3 * units
                            for j in 0..<units { hi[j] = go[j] * gc[j] }
                        } else {
                            vectorActivation(activation, z, count: units, hardSigmoid: definition)
                            hi.update(from: z, count: units)
                        }
                    }
                    var output = UnsafePointer(hi)
                    if mask != nil {
                        let kept = carried + i * units
                        if valid {
                            kept.update(from: hi, count: units)
                        } else if config.zeroOutputForMask {
                            kept.update(repeating: 0, count: units)
                        }
                        output = UnsafePointer(kept)
                    }
                    if config.returnSequences {
                        (sequence + (b * steps + step) * units).update(from: output, count: units)
                    }
                }
            }
            chunkStart += count
            progress?(chunkStart)
        }
        states[0].advanced(by: first * units).update(from: h, count: rows * units)
        if lstm { states[1].advanced(by: first * units).update(from: c, count: rows * units) }
        last.advanced(by: first * units).update(from: mask == nil ? h : carried, count: rows * units)
    }
}
