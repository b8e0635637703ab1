import Foundation
import GRUCore
import GRUIO
import GRUModel

/// `gru-run --weights model.h5 --input x.npy`: the whole model, as `model.predict` computes it.
extension Run {
    /// `model` is released once the graph is built: the file's arrays go, the graph keeps what it computes with.
    func runModel(_ file: inout KerasModel?) throws {
        try checkRunsWhole(file!)
        try checkOutputsAreDistinct()
        let paths = io.outputs.isEmpty ? ["-"] : io.outputs
        let statePaths = [io.stateOutput, call.state].compactMap { $0 }
        for path in paths + statePaths { _ = try outputFormat(for: path, override: io.outputFormat, standardDefault: .csv) }
        let outputs = try openOutputs(paths + statePaths)
        let wide = file!.layers.contains { kerasLayer in
            switch kerasLayer {
            case .gru(let gru): return gru.bits == 64
            case .bidirectional(let pair): return pair.forward.bits == 64
            default: return false
            }
        } || file!.otherWeights.values.contains { $0.contains { $0.bits == 64 } }
        switch layer.dtype ?? (wide ? .float64 : .float32) {
        case .float32: try runModel(&file, Float.self, outputs: outputs)
        case .float64: try runModel(&file, Double.self, outputs: outputs)
        }
    }

    /// The flags a whole model takes.
    private func checkRunsWhole(_ model: KerasModel) throws {
        let recurrent = model.layers.filter(\.isRecurrent)
        let throughTime = model.layerConfigs.filter(\.runsThroughTime)
        if (layer.changesLayerConfig || layer.hardSigmoid != nil) && recurrent.count != 1 {
            throw CLIError.usage("layer flags apply to one GRU, and \(model.path) holds \(recurrent.count); choose one with --layer NAME")
        }
        if !call.initialState.isEmpty || call.training || call.mask != nil || call.maskValue != nil {
            throw CLIError.usage("--initial-state, --training, --mask and --mask-value apply to one layer; \(model.path) runs a whole model, so choose the layer with --layer NAME")
        }
        // A stateful model streamed chunk by chunk: its one recurrent layer's states carried from call to call.
        if call.state != nil && throughTime.count != 1 {
            throw CLIError.usage("--state carries the states of a model's one recurrent layer between calls, and \(model.path) holds \(throughTime.count); run a GRU alone with --layer NAME")
        }
        // A stack of recurrent layers gives its last layer's final states, as its one output is that layer's.
        let others = model.layerConfigs.contains { !$0.runsThroughTime && !["InputLayer", "Masking", "NotEqual", "Any"].contains($0.className) }
        if io.stateOutput != nil && throughTime.count != 1 && (throughTime.isEmpty || others) {
            throw CLIError.usage("--state-output writes the final states of a model's one recurrent layer, and \(model.path) holds \(throughTime.count); run one with --layer NAME")
        }
    }

    private func runModel<S: CLIScalar>(_ file: inout KerasModel?, _ type: S.Type, outputs: OutputSet) throws {
        modelAllocationCheck = { bytes, what in try MemoryBudget.reserve(bytes, for: "the output of \(what)") }
        var graph = try file!.takeGraph(S.self, through: layer.through, overrides: layer.overrides)
        try file!.verifyWeights()
        let path = file!.path
        file = nil
        // --state-output and --state: the model's (last) recurrent layer also gives its final states, read
        // after the pass; with --state, the state saved by the call before is its initial state.
        var stateSources: [ModelGraph<S>.Source] = []
        let stateWriters = (io.stateOutput != nil ? 1 : 0) + (call.state != nil ? 1 : 0)
        var carried: Int?, carriedCount = 0
        if stateWriters > 0, let index = graph.calls.lastIndex(where: { $0.layer is any RecurrentModelLayer<S> }),
           var recurrent = graph.calls[index].layer as? any RecurrentModelLayer<S> {
            let first = recurrent.outputCount - (recurrent.returnState ? recurrent.stateCount : 0)
            recurrent.returnState = true
            graph.calls[index].layer = recurrent
            stateSources = (0..<recurrent.stateCount).map { .node(index, output: first + $0) }
            if let state = call.state, !call.resetState, FileManager.default.fileExists(atPath: state) {
                guard graph.calls[index].inputs.count == 1 else {
                    throw CLIError.usage("--state gives layer \(Printable.quoted(graph.calls[index].name)) its initial states, which \(path) already gives it from other layers")
                }
                carried = graph.inputs.count
                carriedCount = recurrent.stateCount
                for k in 0..<carriedCount {
                    graph.inputs.append(.init(name: "state", shape: nil))
                    graph.calls[index].inputs.append(.input(carried! + k))
                }
            }
        }
        let produced = graph.outputs.count
        let modelInputs = graph.inputs.count - carriedCount
        let inputPaths = io.inputs.isEmpty ? ["-"] : io.inputs
        // One .npz output holds every output of the model, each named after its layer.
        let npzOutput = try outputs.writers.count - stateWriters == 1 && produced > 1
            && (try outputFormat(for: outputs.writers[0].path, override: io.outputFormat, standardDefault: .csv)) == .npz
        guard outputs.writers.count - stateWriters == produced || npzOutput else {
            let what = layer.through.map { "layer \(Printable.quoted($0)) of \(path)" } ?? path
            throw CLIError.usage("\(what) gives \(produced) output\(produced == 1 ? "" : "s"); name one file for each, in the model's order, or one .npz for all (--output, or --expect for check)")
        }
        let sampling = try csvSampling(graph.inputs[0], path: path)
        if inputPaths.count > 1, let npz = inputPaths.first(where: { isNPZPath($0, format: io.inputFormat) }) {
            throw CLIError.usage("--input \(npz) is an .npz, which holds every input of a model; give it alone, or give one .npy or CSV file per input")
        }
        if inputPaths.count != 1 || !isNPZPath(inputPaths[0], format: io.inputFormat) {
            guard inputPaths.count == modelInputs || (inputPaths.count == 1 && io.inputFormat == nil) else {
                throw inputCountError(graph, modelInputs, given: inputPaths.count, path: path)
            }
        }
        io.sayWhenReadingATerminal()
        // Each input is opened once: the bytes read to tell .npy from CSV stay with it (a pipe, /dev/stdin).
        let files = try inputPaths.map { try InputFile(path: $0) }
        let archive = try files.count == 1 && files[0].isNPZ(io.inputFormat) ? NPZArchive(input: files[0]) : nil
        if archive == nil && files.count != modelInputs { throw inputCountError(graph, modelInputs, given: files.count, path: path) }
        let firstRank = graph.inputs[0].shape.map { $0.count + 1 }
        // Streaming runs whatever samples have arrived; a layer with batch statistics needs predict's batches.
        let batchDependent = graph.calls.contains { $0.layer is BatchDependentLayer }
        if files.count == 1, archive == nil, produced == 1, stateSources.isEmpty, !batchDependent, SampleStream<S>.streams(rank: firstRank),
           try outputFormat(for: paths(outputs)[0], override: io.outputFormat, standardDefault: .csv) == .csv,
           try !files[0].isNPY(io.inputFormat) {
            let stream = SampleStream<S>(files[0], rank: firstRank, timesteps: sampling)
            try outputs.guarded { try stream.run(graph, threads: io.threadCount, to: outputs.writers[0]) }
            try outputs.write([{ _ in }])
            if !io.quiet { stream.notes.forEach(GRURun.note) }
            return
        }
        var notes: [String] = []
        var inputs: [Tensor<S>]
        if let archive {
            let order = try NPZNames.assign(archive.names, to: graph.inputs.prefix(modelInputs).map(\.name), file: archive.path,
                                            kind: "input", owner: "\(path) takes")
            inputs = try order.enumerated().map { k, member in
                try InputData<S>.modelInput(archive.members[member].array, path: archive.memberPath(member),
                                            integers: graph.integerUse(ofInput: k, model: path), notes: &notes)
            }
        } else {
            inputs = try files.enumerated().map { k, file in
                try InputData<S>.modelInput(file, format: io.inputFormat, rank: graph.inputs[k].shape.map { $0.count + 1 }, timesteps: sampling,
                                            integers: graph.integerUse(ofInput: k, model: path), notes: &notes)
            }
        }
        for (input, tensor) in zip(graph.inputs, inputs) {
            if let batch = input.batch, batch != tensor.shape[0] {
                notes.append("input \(Printable.quoted(input.name)) of \(path) declares a batch of \(batch) (batch_input_shape, as a stateful model must) and was given \(tensor.shape[0]) samples; they were run as one batch of \(tensor.shape[0]).")
            }
        }
        if !io.quiet { notes.forEach(GRURun.note) }
        if carried != nil, let state = call.state {
            // One state (batch, units), or several stacked as (states, batch, units), as --state wrote them.
            let data = try InputData<S>.load(path: state, format: nil, timeMajor: false, rank: carriedCount == 1 ? 2 : 3)
            guard carriedCount == 1 || data.shape[0] == carriedCount else {
                throw CLIError.data("\(displayName(state)) holds \(data.shape[0]) states; the model's recurrent layer carries \(carriedCount)")
            }
            let shape = Array(data.shape.suffix(2)), size = shape[0] * shape[1]
            for k in 0..<carriedCount {
                inputs.append(Tensor(values: Array(data.values[(k * size)..<((k + 1) * size)]), shape: shape))
            }
        }
        let progress = ProgressLine(total: nil, quiet: io.quiet)
        showProgress(in: &graph, progress)
        var results = try graph(inputs, threads: io.threadCount, keep: stateSources)
        progress.finish()
        if !stateSources.isEmpty {
            // One state (batch, units), or several stacked as (states, batch, units) in Keras's order (an LSTM's h then c,
            // a Bidirectional's forward states first).
            let states = results.suffix(stateSources.count)
            results.removeLast(stateSources.count)
            let first = states.first!
            guard states.allSatisfy({ $0.shape == first.shape }) else {
                throw CLIError.usage("the recurrent layer's final states have different shapes (\(states.map { describe($0.shape) }.joined(separator: ", "))), which one file cannot stack; write its states as outputs with --through")
            }
            let stacked = Tensor(values: states.flatMap(\.values), shape: states.count == 1 ? first.shape : [states.count] + first.shape)
            results += Array(repeating: stacked, count: stateWriters)
        }
        // Arrays in an .npz are named after their layer: the outputs as Keras's output_names, states after the
        // recurrent layer that gives them.
        let stateName = stateSources.first.map { source -> String in
            if case .node(let call, _) = source { return graph.calls[call].name }
            return "state"
        } ?? "state"
        var names = NPZNames.outputNames(graph) + Array(repeating: stateName, count: stateWriters)
        if npzOutput {
            let named = zip(names, results).prefix(produced).map { (name: $0, values: $1.values, shape: $1.shape) }
            results = [Tensor(values: [], shape: [0])] + results.dropFirst(produced)
            names = ["outputs"] + names.dropFirst(produced)
            try outputs.write([{ try NPZNames.write(named, to: $0) }] + zip(results, names).dropFirst().map(write))
        } else {
            try outputs.write(zip(results, names).map(write))
        }
        func write(_ result: Tensor<S>, _ name: String) -> (AtomicFileWriter) throws -> Void {
            { writer in
                let format = try outputFormat(for: writer.path, override: self.io.outputFormat, standardDefault: .csv)
                try self.write([ShapedArray(values: result.values, shape: result.shape)], format: format, timeMajor: false, name: name, to: writer)
            }
        }
    }

    private func inputCountError<T>(_ graph: ModelGraph<T>, _ count: Int, given: Int, path: String) -> CLIError {
        let names = graph.inputs.prefix(count).map(\.name).joined(separator: ", ")
        return CLIError.usage("\(path) takes \(count) input\(count == 1 ? "" : "s") (\(names)) but --input was given \(given) times; one .npz can hold them all")
    }

    private func paths(_ outputs: OutputSet) -> [String] { outputs.writers.map(\.path) }

    /// Every recurrent call reports its timesteps to one progress line (shown on a terminal for long runs).
    private func showProgress<S>(in graph: inout ModelGraph<S>, _ progress: ProgressLine) {
        let counter = ProgressCounter()
        for index in graph.calls.indices {
            guard var recurrent = graph.calls[index].layer as? any RecurrentModelLayer<S> else { continue }
            recurrent.options.progress = { done in progress.update(counter.report(call: index, done: done)) }
            graph.calls[index].layer = recurrent
        }
    }

    /// How CSV rows become samples: `--timesteps`, else the length the model's first input fixes.
    private func csvSampling<T>(_ input: ModelGraph<T>.Input, path: String) throws -> CSVTimesteps? {
        let fixed = input.shape?.first ?? nil
        if let timesteps = io.timesteps {
            if let fixed, fixed != timesteps {
                throw CLIError.usage("--timesteps \(timesteps) contradicts \(path), whose input has a fixed length of \(fixed) timesteps")
            }
            return CSVTimesteps(count: timesteps, strict: true, source: "--timesteps \(timesteps)")
        }
        return fixed.map { CSVTimesteps(count: $0, strict: false, source: "the input length \(path) fixes") }
    }
}

/// CSV samples read as they arrive and run through the model a group at a time (the samples that have
/// arrived, at most 256), each group's outputs written before more input is read: memory stays bounded
/// by the group, whatever the input's length.
final class SampleStream<S: CLIScalar> {
    let stream: CSVStream
    let input: InputFile
    let rank: Int?
    let path: String
    var notes: [String] { stream.notes }

    /// Whether inputs of this rank (batch axis included; nil when undeclared) can come as CSV rows.
    static func streams(rank: Int?) -> Bool { rank == nil || rank == 2 || rank == 3 }

    /// `file` holds CSV.
    init(_ file: InputFile, rank: Int?, timesteps: CSVTimesteps?) {
        input = file
        self.rank = rank
        path = file.path
        stream = CSVStream(descriptor: file.descriptor, path: path, prefix: file.isRegular ? [] : file.takeBuffered(),
                           ended: file.reachedEnd, timesteps: timesteps)
    }

    func run(_ graph: ModelGraph<S>, threads: Int, to writer: AtomicFileWriter) throws {
        var values: [S] = [], rows = 0, samples = 0, features = 0, written = 0
        var sampleRows: Int?
        func flush() throws {
            guard samples > 0, let steps = sampleRows else { return }
            // Rank 2: token ids one per row, or (a model without a time axis) one sample per row.
            let shape = rank != 2 ? [samples, steps, features] : features == 1 ? [samples, steps] : [samples * steps, features]
            // The rows of a sample still arriving stay for the next group (its end may not be read yet).
            let complete = samples * steps * features
            let output = try graph([Tensor(values: Array(values.prefix(complete)), shape: shape)], threads: threads)[0]
            let batch = shape[0], perSample = output.values.count / batch, columns = output.shape.count > 1 ? output.width : 1
            for s in 0..<batch {
                if output.shape.count > 2 && written > 0 { try writer.write([0x0A]) }  // a blank line between samples
                try writer.write(S.encodeCSV(Array(output.values[(s * perSample)..<((s + 1) * perSample)]), columns: columns, rowsPerBlock: nil))
                written += 1
            }
            values.removeFirst(complete)
            samples = 0
        }
        loop: while true {
            if samples > 0 && (samples >= 256 || !stream.hasInputReady()) { try flush() }
            switch try stream.next() {
            case .row(let row):
                features = row.count
                // The array doubles as it grows: the next doubling is asked of the memory check before it
                // happens, so a sample too long for memory ends in a sentence, not in the allocator.
                if values.count + row.count > values.capacity {
                    try MemoryBudget.reserve(MemoryBudget.bytes(2, values.count + row.count, MemoryLayout<S>.size),
                                             for: "reading \(path == "-" ? "standard input" : path) (a sample of \(rows + 1) rows so far)")
                }
                values += S.converting(row)
                rows += 1
            case .endOfSample:
                if let sampleRows, sampleRows != rows {
                    throw GRUIOError.csv(path: path, line: stream.line, "sample \(written + samples + 1) has \(rows) rows but the first sample has \(sampleRows); every sample needs the same number of timesteps")
                }
                sampleRows = rows
                samples += 1
                rows = 0
            case .end:
                try flush()
                break loop
            }
        }
    }
}

/// Timesteps done, summed over the recurrent calls of a model (each call reports its own running count).
final class ProgressCounter: @unchecked Sendable {
    private var done: [Int: Int] = [:]
    private var total = 0
    private let lock = NSLock()

    func report(call: Int, done count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        total += max(0, count - done[call, default: 0])
        done[call] = count
        return total
    }
}
