import Foundation
import GRUCore
import GRUIO
import GRUModel

/// One recurrent layer on the input given (`--layer NAME`, or a file that is one GRU): a graph of one call
/// whose extra inputs are the initial states and whose kept tensors are the final states. A forward GRU
/// fed CSV streams it step by step; a batch-major GRU reads an .npy of its own type in place.
extension Run {
    func runLayer(_ single: KerasSingleLayer, path: String) throws {
        guard io.inputs.count <= 1, io.outputs.count <= 1 else {
            throw CLIError.usage("one layer takes one --input and writes one --output; several are for a model with several inputs or outputs")
        }
        if let timesteps = io.timesteps, let fixed = single.timesteps, timesteps != fixed {
            throw CLIError.usage("--timesteps \(timesteps) contradicts \(path), whose input has a fixed length of \(fixed) timesteps")
        }
        if call.training, case .bidirectional = single.layer {
            throw CLIError.usage("--training is supported for a GRU layer, not for Bidirectional layer \(Printable.quoted(single.layer.name))")
        }
        try checkOutputsAreDistinct()
        // Every output is checked and opened before the input is read or anything is computed.
        _ = try outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)
        for path in [io.stateOutput, call.state].compactMap({ $0 }) { _ = try outputFormat(for: path, override: nil, standardDefault: .csv) }
        let outputs = try openOutputs([io.output] + [io.stateOutput, call.state].compactMap { $0 })
        // Said once the run has succeeded, so that a failure stays one line.
        let note = io.quiet ? nil : layer.assumptionNote(for: single.layer)
        switch layer.dtype ?? (single.bits == 64 ? .float64 : .float32) {
        case .float32: try runLayer(single, Float.self, outputs: outputs)
        case .float64: try runLayer(single, Double.self, outputs: outputs)
        }
        if let note { printLine(note) }
    }

    private func runLayer<S: CLIScalar>(_ single: KerasSingleLayer, _ type: S.Type, outputs: OutputSet) throws {
        var overrides = layer.overrides
        if call.state != nil { overrides.stateful = true }
        if io.stateOutput != nil { overrides.returnState = true }
        if call.training { overrides.call.trainingSeed = call.seed ?? UInt64.random(in: 0...UInt64.max) }
        let keepsStates = io.stateOutput != nil || call.state != nil
        var recurrent = try single.layer.recurrentLayer(S.self, overrides: overrides, returnState: keepsStates)
        let config = recurrent.configs[0]
        let csvTimesteps = csvSampling(single, timeMajor: config.timeMajor)
        io.sayWhenReadingATerminal()
        let source = try InputFile(path: io.input)
        if let gru = recurrent as? GRU<S>, streams(config) {
            let prefix = try source.prefix(NPYArray.magic.count)
            if io.inputFormat == .csv || !(prefix.starts(with: NPYArray.magic) || NPZArchive.isZip(prefix)) {
                return try stream(source, through: gru.layer, single: single, timesteps: csvTimesteps, outputs: outputs)
            }
        }
        // One batch-major GRU in inference reads an .npy of its own type from the file as it goes.
        let inPlace = recurrent is GRU<S> && !config.timeMajor && !call.training
        let input = try InputData<S>.load(source, format: io.inputFormat, timeMajor: config.timeMajor, inPlace: inPlace,
                                          timesteps: csvTimesteps, integers: integers(single))
        if !io.quiet { input.notes.forEach(GRURun.note) }
        let (batch, steps) = config.timeMajor ? (input.shape[1], input.shape[0]) : (input.shape[0], input.shape[1])
        guard input.shape[2] == single.inputDim else {
            let hint = input.shape[2] == single.inputDim + 1 && input.firstColumnCounts ? "; " + indexColumnHint : ""
            throw CLIError.data("\(displayName(io.input)) has \(input.shape[2]) features per step but layer \(Printable.quoted(single.layer.name)) of \(layer.weights) expects \(single.inputDim)" + hint)
        }
        if let timesteps = io.timesteps, steps != timesteps {
            throw CLIError.data("\(displayName(io.input)) has \(steps) timesteps per sample but --timesteps says \(timesteps)")
        }
        let mask = try loadMask(input: input, timeMajor: config.timeMajor, fileMaskValue: single.maskValue)
        let units = recurrent.configs.map(\.units)
        guard units.allSatisfy({ $0 == units[0] }) || call.initialState.isEmpty else {
            throw CLIError.usage("--initial-state needs both directions of \(Printable.quoted(single.layer.name)) to have the same units")
        }
        let states = try loadInitialStates(S.self, batch: batch, units: units[0], directions: recurrent.directions) ?? []
        let progress = ProgressLine(total: steps, quiet: io.quiet || call.training)
        recurrent.options.progress = { progress.update($0) }
        var results: [Tensor<S>]
        if let file = input.file, let gru = recurrent as? GRU<S> {
            let output = try gru.layer(file.source, shape: input.shape, mask: mask, initialState: states.first, threads: io.threadCount,
                                       progress: { progress.update($0) })
            try file.check()
            results = [Tensor(values: output.output, shape: output.outputShape), Tensor(values: output.state, shape: output.stateShape)]
            if !keepsStates { results.removeLast() }
        } else {
            // Inputs: the sequence, then one initial state per direction; kept after the outputs: the final states.
            let produced = recurrent.outputCount - (keepsStates ? recurrent.directions : 0)
            let graph = ModelGraph<S>(inputs: [.init(name: single.layer.name, shape: nil)] + states.map { _ in .init(name: "initial_state", shape: nil) },
                                      calls: [.init(name: single.layer.name, className: single.layer.className, layer: recurrent,
                                                    inputs: (0...states.count).map { .input($0) })],
                                      outputs: (0..<produced).map { .node(0, output: $0) })
            let kept: [ModelGraph<S>.Source] = keepsStates ? (produced..<recurrent.outputCount).map { .node(0, output: $0) } : []
            results = try graph([Tensor(values: input.values, shape: input.shape)] + states.map { Tensor(values: $0, shape: [batch, units[0]]) },
                                masks: [mask], threads: io.threadCount, keep: kept)
        }
        progress.finish()
        let stateCount = keepsStates ? recurrent.directions : 0
        let produced = results.prefix(results.count - stateCount).map { ShapedArray(values: $0.values, shape: $0.shape) }
        let finalStates = results.suffix(stateCount).map { ShapedArray(values: $0.values, shape: $0.shape) }
        let format = try outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)
        let sequence = config.timeMajor && produced[0].shape.count == 3
        let name = single.layer.name
        try outputs.write([{ try self.write(produced, format: format, timeMajor: sequence, name: name, to: $0) }]
            + [io.stateOutput, call.state].compactMap { $0 }.map { path in { try $0.write(try self.encodeStates(finalStates, for: path, name: name)) } })
    }

    /// Integers given to a layer: token ids where the file has an Embedding in front of it (which only a whole
    /// model run applies), refused; else cast to floats, as Keras casts a model's input to its Input's dtype.
    private func integers(_ single: KerasSingleLayer) -> IntegerInput {
        let layerName = Printable.quoted(single.layer.name)
        guard let embedding = single.embedding else { return .cast(reader: "layer \(layerName) of \(layer.weights)") }
        return .refused(hint: "token ids go through the model's Embedding \(Printable.quoted(embedding)) in front of layer \(layerName), which turns them into vectors of \(single.inputDim) features: run the whole model without --layer")
    }

    /// CSV in, CSV out, sample by sample as the rows arrive; the final states are written once all is read.
    private func stream<S: CLIScalar>(_ source: InputFile, through gru: GRULayer<S>, single: KerasSingleLayer,
                                      timesteps: CSVTimesteps?, outputs: OutputSet) throws {
        let streamer = CSVStreamer(layer: gru, layerName: single.layer.name, maskValue: call.maskValue ?? single.maskValue,
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
            { try $0.write(try self.encodeStates(shaped, for: path, name: single.layer.name)) }
        })
    }

    /// How CSV blocks become samples: `--timesteps`, else the length the model's input fixes (which a
    /// time-major layer's input does not state in the same place).
    private func csvSampling(_ single: KerasSingleLayer, timeMajor: Bool) -> CSVTimesteps? {
        if let timesteps = io.timesteps { return CSVTimesteps(count: timesteps, strict: true, source: "--timesteps \(timesteps)") }
        guard let fixed = single.timesteps, !timeMajor else { return nil }
        return CSVTimesteps(count: fixed, strict: false, source: "the input length \(layer.weights) fixes")
    }

    /// CSV in and CSV out through one forward GRU with nothing that needs the whole batch at once: the run
    /// streams. (go_backwards needs a sample's end first; time-major CSV and per-batch states need the batch.)
    /// An input not named .npy or .npz streams unless its first bytes are the .npy magic or a zip's.
    private func streams(_ config: GRUConfig) -> Bool {
        guard !config.goBackwards, !config.timeMajor, call.initialState.isEmpty, call.state == nil,
              !call.training, call.mask == nil else { return false }
        guard (try? outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)) == .csv else { return false }
        if let format = io.inputFormat { return format == .csv }
        return !["npy", "npz"].contains(URL(fileURLWithPath: io.input).pathExtension.lowercased())
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
}
