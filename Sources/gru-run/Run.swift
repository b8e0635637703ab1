import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run [run]`: one forward pass of the layer over an input file or standard input.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the layer over an input (the default command).")

    @OptionGroup var layer: LayerOptions
    @OptionGroup var call: CallOptions
    @OptionGroup var io: IOOptions

    func validate() throws {
        if let threads = io.threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if let timesteps = io.timesteps, timesteps < 1 { throw ValidationError("--timesteps must be at least 1.") }
        if layer.returnState == true && io.stateOutput == nil {
            throw ValidationError("--return-state needs --state-output FILE to write the final state to.")
        }
        if call.state != nil && layer.stateful == false {
            throw ValidationError("--state keeps a stateful layer's state between calls; it cannot be used with --no-stateful.")
        }
    }

    func run() throws {
        // Optional so that both go once the stages hold the weights: the file's float64 copies of a large
        // model would otherwise stay resident through the pass.
        var model: KerasModel? = try HDF5Guard.reading(layer.weights) { try KerasReader.load(path: layer.weights) }
        if !io.quiet { model!.notes.forEach(GRURun.note) }
        if layer.layer != nil && layer.through != nil {
            throw CLIError.usage("--layer runs one layer on the input given and --through runs the model up to a layer; give one of them")
        }
        if layer.through != nil || layer.layer == nil && (model!.needsGraph || model!.hasGraph && model!.layers.contains(where: \.isRecurrent)
                                                          && (io.inputs.count > 1 || io.outputs.count > 1)) {
            let whole = model!
            model = nil
            return try runModel(whole)
        }
        guard io.inputs.count <= 1, io.outputs.count <= 1 else {
            throw CLIError.usage("one layer takes one --input and writes one --output; several are for a model with several inputs or outputs")
        }
        var selection: Selection? = try Selection(model: model!, requested: layer.layer)
        let path = model!.path, layers = selection!.layers.map(\.name)
        var summary = selection!.summary
        summary.embedding = model!.layers.first { if case .other(_, "Embedding") = $0 { return true } else { return false } }?.name
        if !summary.isSingle && (layer.changesLayerConfig || layer.hardSigmoid != nil) {
            throw CLIError.usage("layer flags apply to one layer, and \(path) runs \(layers.count) (\(layers.joined(separator: ", "))); choose one with --layer NAME")
        }
        if !summary.isSingle && (!call.initialState.isEmpty || call.state != nil || call.training) {
            throw CLIError.usage("--initial-state, --state and --training apply to one layer, and \(path) runs \(layers.count); choose one with --layer NAME")
        }
        if let timesteps = io.timesteps, let fixed = summary.timesteps, timesteps != fixed {
            throw CLIError.usage("--timesteps \(timesteps) contradicts \(path), whose input has a fixed length of \(fixed) timesteps")
        }
        try checkOutputsAreDistinct()
        // Every output is checked and opened before the input is read or anything is computed.
        _ = try outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)
        for path in [io.stateOutput, call.state].compactMap({ $0 }) { _ = try outputFormat(for: path, override: nil, standardDefault: .csv) }
        let outputs = try OutputSet([io.output] + [io.stateOutput, call.state].compactMap { $0 })
        // Said once the run has succeeded, so that a failure stays one line.
        let note = summary.isSingle && !io.quiet ? layer.assumptionNote(for: selection!.layers[0]) : nil
        let dtype = layer.dtype ?? (selection!.bits == 64 ? .float64 : .float32)
        switch dtype {
        case .float32:
            let stages = try self.stages(Float.self, selection!)
            (model, selection) = (nil, nil)
            try execute(stages, selection: summary, outputs: outputs)
        case .float64:
            let stages = try self.stages(Double.self, selection!)
            (model, selection) = (nil, nil)
            try execute(stages, selection: summary, outputs: outputs)
        }
        if let note { printLine(note) }
    }

    /// The stages to run, with the flags applied to a single layer.
    private func stages<S: CLIScalar>(_ type: S.Type, _ selection: Selection) throws -> [RecurrentStage<S>] {
        try selection.layers.map { kerasLayer in
            switch kerasLayer {
            case .gru(let gru):
                var config = selection.isSingle ? try layer.mergedConfig(with: gru) : gru.config
                if call.state != nil { config.stateful = true }
                if io.stateOutput != nil { config.returnState = true }
                return .gru(try GRULayer(config: config, weights: try gru.weights(S.self)))
            case .bidirectional(let bidirectional):
                if layer.goBackwards != nil {
                    throw CLIError.usage("--go-backwards does not apply to Bidirectional layer \(Printable.quoted(bidirectional.name)), whose directions are fixed")
                }
                if call.state != nil || layer.stateful == true {
                    throw CLIError.usage("--state and --stateful are not supported for Bidirectional layer \(Printable.quoted(bidirectional.name))")
                }
                var directions: [GRULayer<S>] = []
                for var direction in [bidirectional.forward, bidirectional.backward] {
                    let backwards = direction.config.goBackwards
                    if selection.isSingle { direction.config = try layer.mergedConfig(with: direction) }
                    direction.config.goBackwards = backwards
                    directions.append(try GRULayer(config: direction.config, weights: try direction.weights(S.self)))
                }
                let merge = selection.isSingle ? (layer.mergeMode ?? bidirectional.mergeMode) : bidirectional.mergeMode
                return .bidirectional(try BidirectionalGRU(forward: directions[0], backward: directions[1], mergeMode: merge))
            default:
                throw CLIError.usage("layer \(Printable.quoted(kerasLayer.name)) is not recurrent")
            }
        }
    }

    private func execute<S: CLIScalar>(_ stages: [RecurrentStage<S>], selection: Selection.Summary, outputs: OutputSet) throws {
        let first = stages[0]
        let timeMajor: Bool
        switch first {
        case .gru(let gru): timeMajor = gru.config.timeMajor
        case .bidirectional(let bidirectional): timeMajor = bidirectional.forward.config.timeMajor
        }
        let csvTimesteps = csvSampling(selection, timeMajor: timeMajor)
        io.sayWhenReadingATerminal()
        let source = try InputFile(path: io.input)
        if case .gru(let gru) = first, selection.isSingle, streams(gru.config) {
            let isNPY = try source.prefix(NPYArray.magic.count).starts(with: NPYArray.magic)
            if io.inputFormat == .csv || !isNPY {
                return try stream(source, through: gru, selection: selection, timesteps: csvTimesteps, outputs: outputs)
            }
        }
        // One batch-major GRU in inference reads an .npy of its own type from the file as it goes.
        var inPlace = false
        if case .gru(let gru) = first, stages.count == 1, !gru.config.timeMajor, !call.training { inPlace = true }
        let input = try InputData<S>.load(source, format: io.inputFormat, timeMajor: timeMajor, inPlace: inPlace,
                                          timesteps: csvTimesteps, integerHint: idsHint(selection))
        if !io.quiet { input.notes.forEach(GRURun.note) }
        let (batch, steps) = timeMajor ? (input.shape[1], input.shape[0]) : (input.shape[0], input.shape[1])
        guard input.shape[2] == selection.inputDim else {
            let hint = input.shape[2] == selection.inputDim + 1 && input.firstColumnCounts ? "; " + indexColumnHint : ""
            throw CLIError.data("\(displayName(io.input)) has \(input.shape[2]) features per step but layer \(Printable.quoted(selection.name)) of \(layer.weights) expects \(selection.inputDim)" + hint)
        }
        if let timesteps = io.timesteps, steps != timesteps {
            throw CLIError.data("\(displayName(io.input)) has \(steps) timesteps per sample but --timesteps says \(timesteps)")
        }
        let mask = try loadMask(input: input, timeMajor: timeMajor, fileMaskValue: selection.maskValue)
        let directions: Int
        var units = 0
        switch first {
        case .gru(let gru): directions = 1; units = gru.config.units
        case .bidirectional(let bidirectional):
            directions = 2; units = bidirectional.forward.config.units
            guard bidirectional.backward.config.units == units || call.initialState.isEmpty else {
                throw CLIError.usage("--initial-state needs both directions of \(Printable.quoted(selection.name)) to have the same units")
            }
        }
        let initialStates = try loadInitialStates(S.self, batch: batch, units: units, directions: directions)
        // Every layer's output (a Bidirectional's directions before they merge): what the pass allocates
        // beyond its small step buffers, checked before any of it is.
        // A time-major output is reordered once more on its way out.
        let values = stages.reduce(0) { $0 + $1.outputValues(batch: batch, steps: steps) }
        try MemoryBudget.reserve(MemoryBudget.bytes(values, MemoryLayout<S>.size, timeMajor ? 2 : 1),
                                 for: "running \(selection.name) over \(describe(input.shape))")
        let threads = io.threadCount
        let result: RecurrentOutput<S>
        if call.training, case .gru(let gru) = first {
            let seed = call.seed ?? UInt64.random(in: 0...UInt64.max)
            let masks = DropoutMasks<S>(config: gru.config, batch: batch, features: selection.inputDim, seed: seed)
            result = try first(input.values, shape: input.shape, mask: mask, initialStates: initialStates, threads: threads,
                               training: { _, _ in masks })
        } else if call.training {
            throw CLIError.usage("--training is supported for a GRU layer, not for Bidirectional layer \(Printable.quoted(selection.name))")
        } else {
            let progress = ProgressLine(total: steps, quiet: io.quiet)
            if let file = input.file, case .gru(let gru) = first {
                result = RecurrentOutput(try gru(file.source, shape: input.shape, mask: mask, initialState: initialStates?.first,
                                                 threads: threads, progress: { progress.update($0) }))
                try file.check()
            } else {
                result = try runStages(stages, input: input.values, shape: input.shape, mask: mask,
                                       initialStates: initialStates, threads: threads, progress: { progress.update($0) })
            }
            progress.finish()
        }

        let format = try outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)
        let sequence = timeMajor && result.outputs[0].shape.count == 3
        try outputs.write([{ try self.write(result.outputs, format: format, timeMajor: sequence, to: $0) }]
            + [io.stateOutput, call.state].compactMap { $0 }.map { path in { try $0.write(try self.encodeStates(result.states, for: path)) } })
    }

    /// Integer ids given to a GRU layer: they need the Embedding in front of it, which only a whole model run has.
    private func idsHint(_ selection: Selection.Summary) -> String {
        let layerName = Printable.quoted(selection.name)
        if let embedding = selection.embedding {
            return "token ids go through the model's Embedding \(Printable.quoted(embedding)) in front of layer \(layerName), which turns them into vectors of \(selection.inputDim) features: run the whole model without --layer"
        }
        return "layer \(layerName) reads vectors of \(selection.inputDim) features, and token ids must first go through the model's Embedding in front of it: run the whole model (saved with model.save) without --layer"
    }

    /// CSV in, CSV out, sample by sample as the rows arrive; the final states are written once all is read.
    private func stream<S: CLIScalar>(_ source: InputFile, through gru: GRULayer<S>, selection: Selection.Summary,
                                      timesteps: CSVTimesteps?, outputs: OutputSet) throws {
        let streamer = CSVStreamer(layer: gru, layerName: selection.name, maskValue: call.maskValue ?? selection.maskValue,
                                   inputPath: io.input, timesteps: timesteps, threads: io.threadCount)
        let progress = ProgressLine(total: nil, quiet: io.quiet)
        let (states, samples, notes) = try outputs.guarded {
            try streamer.run(descriptor: source.descriptor, prefix: source.isRegular ? [] : source.takeBuffered(), ended: source.reachedEnd,
                             output: outputs.writers[0], progress: { progress.update($0) })
        }
        progress.finish()
        if !io.quiet { notes.forEach(GRURun.note) }
        let shaped = [ShapedArray(values: states, shape: [samples, gru.config.units])]
        try outputs.write([{ _ in }] + [io.stateOutput, call.state].compactMap { $0 }.map { path in
            { try $0.write(try self.encodeStates(shaped, for: path)) }
        })
    }

    /// One output as is; merge_mode None's two outputs stacked on a new first axis. Written from the arrays
    /// as they are, without a second copy of a single output.
    func write<S: CLIScalar>(_ outputs: [ShapedArray<S>], format: FileFormat, timeMajor: Bool,
                                     to writer: AtomicFileWriter) throws {
        let single = outputs[0].shape
        let values = outputs.count == 1 ? outputs[0].values : outputs.flatMap(\.values)
        if format == .npy {
            return try NPYWriter.write(values, shape: outputs.count == 1 ? single : [outputs.count] + single, to: writer)
        }
        let columns = single.last ?? 1
        if single.count == 3 {
            // CSV is sample by sample: a time-major sequence is reordered to (batch, steps, units).
            let blocks = timeMajor ? outputs.flatMap { swapLeadingAxes($0.values, single[0], single[1], inner: columns) } : values
            return try CSVWriter.write(blocks, columns: columns, rowsPerBlock: timeMajor ? single[0] : single[1], to: writer)
        }
        try CSVWriter.write(values, columns: columns, rowsPerBlock: outputs.count > 1 ? single[0] : nil, to: writer)
    }

    /// How CSV blocks become samples: `--timesteps`, else the length the model's input fixes (which a
    /// time-major layer's input does not state in the same place).
    private func csvSampling(_ selection: Selection.Summary, timeMajor: Bool) -> CSVTimesteps? {
        if let timesteps = io.timesteps { return CSVTimesteps(count: timesteps, strict: true, source: "--timesteps \(timesteps)") }
        guard let fixed = selection.timesteps, !timeMajor else { return nil }
        return CSVTimesteps(count: fixed, strict: false, source: "the input length \(layer.weights) fixes")
    }

    /// CSV in and CSV out through one forward GRU with nothing that needs the whole batch at once: the run
    /// streams. (go_backwards needs a sample's end first; time-major CSV and per-batch states need the batch.)
    /// An input that is not named .npy streams unless its first bytes are the .npy magic.
    private func streams(_ config: GRUConfig) -> Bool {
        guard !config.goBackwards, !config.timeMajor, call.initialState.isEmpty, call.state == nil,
              !call.training, call.mask == nil else { return false }
        guard (try? outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)) == .csv else { return false }
        if let format = io.inputFormat { return format == .csv }
        return URL(fileURLWithPath: io.input).pathExtension.lowercased() != "npy"
    }

    private func encodeStates<S: CLIScalar>(_ states: [ShapedArray<S>], for path: String) throws -> [UInt8] {
        let format = try outputFormat(for: path, override: nil, standardDefault: .csv)
        let shape = states.count == 1 ? states[0].shape : [states.count] + states[0].shape
        let values = states.flatMap(\.values)
        if format == .npy { return S.encodeNPY(values, shape: shape) }
        return S.encodeCSV(values, columns: states[0].shape.last ?? 1, rowsPerBlock: states.count > 1 ? states[0].shape[0] : nil)
    }

    /// The mask in the input's own layout: an explicit file, or the Masking rule (all features equal the value).
    private func loadMask<S: CLIScalar>(input: InputData<S>, timeMajor: Bool, fileMaskValue: Double?) throws -> [Bool]? {
        let (rows, columns) = (input.shape[0], input.shape[1])
        if let path = call.mask {
            let array = try NPYArray(path: path)
            let expected = [rows, columns]
            guard array.shape == expected else {
                let layout = timeMajor ? "(timesteps, batch)" : "(batch, timesteps)"
                throw CLIError.data("\(path) has shape \(describe(array.shape)); the input needs a mask of shape \(describe(expected)) \(layout)")
            }
            return try array.bools()
        }
        guard let value = call.maskValue ?? fileMaskValue else { return nil }
        return try input.maskingRule(maskValue: S(value))
    }

    /// `--initial-state` (one file per direction, or one `(2, batch, units)` file for a Bidirectional), or
    /// the saved state of a stateful stream.
    private func loadInitialStates<S: CLIScalar>(_ type: S.Type, batch: Int, units: Int, directions: Int) throws -> [[S]]? {
        var paths = call.initialState
        if paths.isEmpty, let state = call.state, !call.resetState, FileManager.default.fileExists(atPath: state) {
            paths = [state]
        }
        if paths.isEmpty { return nil }
        if directions == 2 && paths.count == 1 {
            let data = try InputData<S>.load(path: paths[0], format: nil, timeMajor: false, rank: 3,
                                             layout: "(2, batch, units), both directions' states,")
            guard data.shape == [2, batch, units] else {
                throw CLIError.data("\(paths[0]) holds initial states of shape \(describe(data.shape)); a Bidirectional on this input needs (2, \(batch), \(units)), or two --initial-state files")
            }
            return [Array(data.values.prefix(batch * units)), Array(data.values.suffix(batch * units))]
        }
        guard paths.count == directions else {
            throw CLIError.usage("layer takes \(directions) initial state\(directions == 1 ? "" : "s") but --initial-state was given \(paths.count) times")
        }
        return try paths.map { path in
            let data = try InputData<S>.load(path: path, format: nil, timeMajor: false, rank: 2)
            guard data.shape == [batch, units] else {
                throw CLIError.data("\(path) holds a state of shape \(describe(data.shape)); this input needs (\(batch), \(units))")
            }
            return data.values
        }
    }

    /// Outputs must not overwrite the inputs they are computed from, nor each other.
    func checkOutputsAreDistinct() throws {
        let inputs = ([("--weights", layer.weights), ("--input", io.input), ("--mask", call.mask)]
            + call.initialState.map { ("--initial-state", Optional($0)) }).compactMap { name, path in path.map { (name, $0) } }
        let outputs = [("--output", io.output), ("--state-output", io.stateOutput), ("--state", call.state)]
            .compactMap { name, path in path.map { (name, $0) } }
        for (index, (outName, outPath)) in outputs.enumerated() where outPath != "-" {
            for (inName, inPath) in inputs where inPath != "-" && sameFile(outPath, inPath) {
                throw CLIError.usage("\(outName) \(outPath) is the same file as \(inName); writing it would destroy an input")
            }
            for (otherName, otherPath) in outputs.prefix(index) where otherPath != "-" && sameFile(outPath, otherPath) {
                throw CLIError.usage("\(outName) and \(otherName) name the same file \(outPath)")
            }
        }
    }
}
