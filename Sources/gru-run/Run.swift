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
        if layer.returnState == true && io.stateOutput == nil {
            throw ValidationError("--return-state needs --state-output FILE to write the final state to.")
        }
        if call.state != nil && layer.stateful == false {
            throw ValidationError("--state keeps a stateful layer's state between calls; it cannot be used with --no-stateful.")
        }
        if call.training && call.seed == nil && ProcessInfo.processInfo.environment["GRU_RUN_SEED"] != nil {
            return
        }
    }

    func run() throws {
        let gru = try KerasReader.loadGRU(path: layer.weights, layer: layer.layer)
        var config = try layer.mergedConfig(with: gru)
        if call.state != nil { config.stateful = true }
        if io.stateOutput != nil { config.returnState = true }
        try checkOutputsAreDistinct()
        let dtype = layer.dtype ?? (gru.bits == 64 ? .float64 : .float32)
        switch dtype {
        case .float32: try execute(Float.self, gru: gru, config: config)
        case .float64: try execute(Double.self, gru: gru, config: config)
        }
    }

    private func execute<S: CLIScalar>(_ type: S.Type, gru: KerasGRU, config: GRUConfig) throws {
        let gruLayer = try GRULayer(config: config, weights: try gru.weights(S.self))
        let input = try InputData<S>.load(path: io.input, format: io.inputFormat, timeMajor: config.timeMajor)
        let (batch, steps) = config.timeMajor ? (input.shape[1], input.shape[0]) : (input.shape[0], input.shape[1])
        guard input.shape[2] == gru.inputDim else {
            throw CLIError.data("\(displayName(io.input)) has \(input.shape[2]) features per step but layer '\(gru.layerName)' of \(gru.path) expects \(gru.inputDim)")
        }
        let mask = try loadMask(input: input, batch: batch, steps: steps, config: config, fileMaskValue: gru.maskValue)
        let initialState = try loadInitialState(S.self, batch: batch, units: config.units)
        var dropout: DropoutMasks<S>?
        if call.training {
            let seed = call.seed ?? UInt64.random(in: 0...UInt64.max)
            dropout = DropoutMasks(config: config, batch: batch, features: gru.inputDim, seed: seed)
        }
        let result = try gruLayer(input.values, shape: input.shape, mask: mask, initialState: initialState, training: dropout)

        let format = try outputFormat(for: io.output, override: io.outputFormat, standardDefault: .csv)
        let blockRows = config.returnSequences ? steps : nil
        let bytes = format == .npy
            ? S.encodeNPY(result.output, shape: result.outputShape)
            : S.encodeCSV(config.timeMajor && config.returnSequences
                          ? swapFirstAxes(result.output, steps, batch, inner: config.units) : result.output,
                          columns: config.units, rowsPerBlock: blockRows)
        if let stateOutput = io.stateOutput {
            try writeState(result.state, batch: batch, units: config.units, to: stateOutput)
        }
        if let state = call.state {
            try writeState(result.state, batch: batch, units: config.units, to: state)
        }
        try writeFileAtomically(bytes, to: io.output)
    }

    /// The mask in the input's own layout: an explicit file, or the Masking rule (all features equal the value).
    private func loadMask<S: CLIScalar>(input: InputData<S>, batch: Int, steps: Int, config: GRUConfig,
                                        fileMaskValue: Double?) throws -> [Bool]? {
        let (rows, columns) = (input.shape[0], input.shape[1])
        if let path = call.mask {
            let array = try NPYArray(path: path)
            let expected = [rows, columns]
            guard array.shape == expected else {
                let layout = config.timeMajor ? "(timesteps, batch)" : "(batch, timesteps)"
                throw CLIError.data("\(path) has shape \(describe(array.shape)); the input needs a mask of shape \(describe(expected)) \(layout)")
            }
            return array.bools()
        }
        guard let value = call.maskValue ?? fileMaskValue else { return nil }
        let maskValue = S(value)
        let features = input.shape[2]
        return input.values.withUnsafeBufferPointer { x in
            (0..<(rows * columns)).map { step in
                (0..<features).contains { x[step * features + $0] != maskValue }
            }
        }
    }

    /// `--initial-state`, or the saved state of a stateful stream.
    private func loadInitialState<S: CLIScalar>(_ type: S.Type, batch: Int, units: Int) throws -> [S]? {
        var path = call.initialState
        if path == nil, let state = call.state, !call.resetState, FileManager.default.fileExists(atPath: state) {
            path = state
        }
        guard let path else { return nil }
        let data = try InputData<S>.load(path: path, format: nil, timeMajor: false, rank: 2)
        guard data.shape == [batch, units] else {
            throw CLIError.data("\(path) holds a state of shape \(describe(data.shape)); this input needs (\(batch), \(units))")
        }
        return data.values
    }

    private func writeState<S: CLIScalar>(_ state: [S], batch: Int, units: Int, to path: String) throws {
        let format = try outputFormat(for: path, override: nil, standardDefault: .csv)
        let bytes = format == .npy ? S.encodeNPY(state, shape: [batch, units]) : S.encodeCSV(state, columns: units, rowsPerBlock: nil)
        try writeFileAtomically(bytes, to: path)
    }

    /// Outputs must not overwrite the inputs they are computed from, nor each other.
    private func checkOutputsAreDistinct() throws {
        let inputs = [("--weights", layer.weights), ("--input", io.input), ("--mask", call.mask),
                      ("--initial-state", call.initialState)].compactMap { name, path in path.map { (name, $0) } }
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

func displayName(_ path: String) -> String { path == "-" ? "standard input" : path }

/// Format from `--*-format`, else the extension; standard output uses `standardDefault`.
func outputFormat(for path: String, override: FileFormat?, standardDefault: FileFormat) throws -> FileFormat {
    if let override { return override }
    if path == "-" || path.hasPrefix("/dev/") { return standardDefault }
    switch URL(fileURLWithPath: path).pathExtension.lowercased() {
    case "npy": return .npy
    case "csv", "txt": return .csv
    default:
        throw CLIError.usage("cannot tell the format of \(path) from its extension; name it .npy or .csv, or add --output-format")
    }
}

/// Two paths name the same file: the same inode when both exist, else the same absolute path.
func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    if stat(a, &sa) == 0 && stat(b, &sb) == 0 {
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
    return URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
}

func swapFirstAxes<T>(_ values: [T], _ a: Int, _ b: Int, inner: Int) -> [T] {
    var result = values
    for i in 0..<a {
        for j in 0..<b {
            for k in 0..<inner { result[(j * a + i) * inner + k] = values[(i * b + j) * inner + k] }
        }
    }
    return result
}
