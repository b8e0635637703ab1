import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run [run]`: one forward pass of the layer over an input file or standard input.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the layer over an input (the default command).")

    @OptionGroup var layer: LayerOptions
    @OptionGroup var call: CallOptions
    @OptionGroup var io: IOOptions

    /// For `check`: the run's first outputs are kept in memory here instead of written (not a flag).
    var capture: OutputCapture?

    enum CodingKeys: String, CodingKey { case layer, call, io }

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
        // Optional so that it goes once the graph holds the weights: the file's float64 copies of a large
        // model would otherwise stay resident through the pass.
        var model: KerasModel? = try HDF5Guard.reading(layer.weights) { try KerasReader.load(path: layer.weights) }
        if !io.quiet { model!.notes.forEach(GRURun.note) }
        if layer.layer != nil && layer.through != nil {
            throw CLIError.usage("--layer runs one layer on the input given and --through runs the model up to a layer; give one of them")
        }
        // An .npz names its arrays after the model's inputs and layers: a model file runs whole to read or write one.
        let npz = (io.inputs + io.outputs + [io.stateOutput].compactMap { $0 }).contains { isNPZPath($0, format: nil) }
            || io.inputFormat == .npz || io.outputFormat == .npz
        let several = io.inputs.count > 1 || io.outputs.count > 1 || npz
        let single = layer.through != nil || (layer.layer == nil && several && model!.hasGraph) ? nil
            : try model!.singleLayer(requested: layer.layer)
        if let single {
            try model!.verifyWeights()
            let path = model!.path
            model = nil
            return try runLayer(single, path: path)
        }
        try runModel(&model)
    }

    /// One output as is; merge_mode None's two outputs stacked on a new first axis. Written from the arrays
    /// as they are, without a second copy of a single output.
    /// `name`: the array's name in an .npz (the layer's).
    func write<S: CLIScalar>(_ outputs: [ShapedArray<S>], format: FileFormat, timeMajor: Bool, name: String,
                                     to writer: AtomicFileWriter) throws {
        let single = outputs[0].shape
        let values = outputs.count == 1 ? outputs[0].values : outputs.flatMap(\.values)
        if format == .npy {
            return try NPYWriter.write(values, shape: outputs.count == 1 ? single : [outputs.count] + single, to: writer)
        }
        if format == .npz {
            return try NPZNames.write([(name, values, outputs.count == 1 ? single : [outputs.count] + single)], to: writer)
        }
        let columns = single.last ?? 1
        if single.count == 3 {
            // CSV is sample by sample: a time-major sequence is reordered to (batch, steps, units).
            let blocks = timeMajor ? outputs.flatMap { swapLeadingAxes($0.values, single[0], single[1], inner: columns) } : values
            return try CSVWriter.write(blocks, columns: columns, rowsPerBlock: timeMajor ? single[0] : single[1], to: writer)
        }
        try CSVWriter.write(values, columns: columns, rowsPerBlock: outputs.count > 1 ? single[0] : nil, to: writer)
    }

    /// `name`: the array's name in an .npz (the layer's).
    func encodeStates<S: CLIScalar>(_ states: [ShapedArray<S>], for path: String, name: String) throws -> [UInt8] {
        let format = try outputFormat(for: path, override: nil, standardDefault: .csv)
        let shape = states.count == 1 ? states[0].shape : [states.count] + states[0].shape
        let values = states.flatMap(\.values)
        if format == .npy { return S.encodeNPY(values, shape: shape) }
        if format == .npz { return try NPZNames.encode(values, shape: shape, name: name) }
        return S.encodeCSV(values, columns: states[0].shape.last ?? 1, rowsPerBlock: states.count > 1 ? states[0].shape[0] : nil)
    }

    /// Outputs must not overwrite the inputs they are computed from, nor each other; standard input feeds
    /// one input only.
    func checkOutputsAreDistinct() throws {
        let inputs = [("--weights", layer.weights)] + (io.inputs.isEmpty ? ["-"] : io.inputs).map { ("--input", $0) }
            + [call.mask].compactMap { $0 }.map { ("--mask", $0) } + call.initialState.map { ("--initial-state", $0) }
        let outputs = io.outputs.map { ("--output", $0) }
            + [("--state-output", io.stateOutput), ("--state", call.state)].compactMap { name, path in path.map { (name, $0) } }
        try checkDistinct(inputs: inputs, outputs: Array(outputs.dropFirst(capture?.count ?? 0)))
    }

    /// The run's outputs, opened (or kept in memory for `check`) before anything is read or computed.
    func openOutputs(_ paths: [String]) throws -> OutputSet {
        let outputs = try OutputSet(paths, inMemory: capture?.count ?? 0)
        capture?.writers = Array(outputs.writers.prefix(capture?.count ?? 0))
        return outputs
    }
}

/// Refuses a run whose outputs (flag, path) would replace one of its inputs or each other, or whose inputs
/// read standard input more than once (it can feed only one of them).
func checkDistinct(inputs: [(String, String)], outputs: [(String, String)]) throws {
    let standard = inputs.filter { isStandardInput($0.1) }
    if standard.count > 1 {
        let (first, second) = (standard[0], standard[1])
        throw CLIError.usage(first == second ? "\(first.0) \(first.1) is given twice, and standard input can feed only one input"
            : "\(first.0) \(first.1) and \(second.0) \(second.1) both read standard input, which can feed only one of them")
    }
    let toStandardOutput = outputs.filter { isStandardOutput($0.1) }
    if toStandardOutput.count > 1 {
        let (first, second) = (toStandardOutput[0], toStandardOutput[1])
        throw CLIError.usage((first == second ? "\(first.0) \(first.1) is given twice, and standard output can take only one output"
            : "\(first.0) \(first.1) and \(second.0) \(second.1) both write standard output, which can take only one output")
            + "; name a file for the others")
    }
    for (index, (outName, outPath)) in outputs.enumerated() where !isStandardOutput(outPath) {
        for (inName, inPath) in inputs where !isStandardInput(inPath) && sameFile(outPath, inPath) {
            throw CLIError.usage("\(outName) \(outPath) is the same file as \(inName); writing it would destroy an input")
        }
        for (otherName, otherPath) in outputs.prefix(index) where !isStandardOutput(otherPath) && sameFile(outPath, otherPath) {
            throw CLIError.usage(outName == otherName ? "\(outName) \(outPath) is given twice; the second output would replace the first"
                : "\(outName) and \(otherName) name the same file \(outPath)")
        }
    }
}

/// The outputs `check` compares: the first `count` of a run's, in the order the run opens them.
final class OutputCapture {
    let count: Int
    var writers: [AtomicFileWriter] = []
    init(count: Int) { self.count = count }
}

func isStandardInput(_ path: String) -> Bool { path == "-" || path == "/dev/stdin" }

func isStandardOutput(_ path: String) -> Bool { path == "-" || path == "/dev/stdout" }
