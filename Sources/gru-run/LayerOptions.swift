import Foundation
import ArgumentParser
import GRUCore
import GRUIO

extension Activation: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(kerasName: argument)
    }

    public static var allValueStrings: [String] { kerasNames }
}

extension HardSigmoidDefinition: ExpressibleByArgument {}

extension MergeMode: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument == "None" ? "none" : argument)
    }
}

/// The computation's floating-point type.
enum DType: String, ExpressibleByArgument, CaseIterable {
    case float32, float64
}

enum FileFormat: String, ExpressibleByArgument, CaseIterable {
    case npy, npz, csv
}

extension CompletionKind {
    /// What --weights reads: .h5 (full models, .weights.h5), .hdf5, .keras.
    static var kerasFile: CompletionKind { .file(extensions: ["h5", "hdf5", "keras"]) }
    /// Inputs, outputs and states.
    static var dataFile: CompletionKind { .file(extensions: ["npy", "npz", "csv"]) }
    /// The layer names of the file `--weights` names on the same line: every layer for --through, the GRU
    /// and Bidirectional(GRU) layers for --layer.
    static func layerNames(recurrentOnly: Bool) -> CompletionKind {
        .custom { words, index, prefix in
            LayerNameCompletion.names(words: Array(words.prefix(index)), prefix: prefix, recurrentOnly: recurrentOnly)
        }
    }
}

/// The layer names a shell offers after --layer and --through.
enum LayerNameCompletion {
    static func names(words: [String], prefix: String, recurrentOnly: Bool) -> [String] {
        guard let path = weightsPath(words) else { return [] }
        // A file that cannot be read offers nothing: completion never prints an error into the command line.
        guard let model = try? HDF5Guard.reading(path, { try KerasReader.load(path: path, checksummed: false) }) else { return [] }
        let names = recurrentOnly ? model.layers.filter(\.isRecurrent).map(\.name)
            : model.layerConfigs.filter { !["NotEqual", "Any"].contains($0.className) }.map(\.name)
        var seen = Set<String>()
        return names.filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }
    }

    /// The path after the last `--weights` (or `--weights=`) on the line, with the shell's quotes and
    /// backslash escapes taken off and a leading `~/` expanded.
    static func weightsPath(_ words: [String]) -> String? {
        var found: String?
        for (i, word) in words.enumerated() {
            if word == "--weights", i + 1 < words.count { found = words[i + 1] }
            if word.hasPrefix("--weights=") { found = String(word.dropFirst("--weights=".count)) }
        }
        guard var path = found.map(unquoted), !path.isEmpty else { return nil }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            path = home + path.dropFirst(1)
        }
        return path
    }

    static func unquoted(_ word: String) -> String {
        var out = "", quote: Character?, escaped = false
        for c in word {
            if escaped { out.append(c); escaped = false; continue }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { out.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// The GRU's constructor arguments. A full model file supplies each; a flag overrides it.
struct LayerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The Keras file: .keras (Keras 3 model.save), .h5 or .hdf5 (model.save: a full model; save_weights: weights only), .weights.h5 (Keras 3 save_weights: weights only), or a SavedModel folder (tf.keras 2.x / tf-keras model.save(\"dir\")).", valueName: "file"),
            completion: .kerasFile)
    var weights: String

    @Option(help: ArgumentHelp("Run this GRU or Bidirectional layer alone, on the input given (without it a model file runs whole).", valueName: "name"),
            completion: .layerNames(recurrentOnly: true))
    var layer: String?

    @Option(help: ArgumentHelp("Run the model from its inputs through this layer and write the layer's output: Keras's Model(m.inputs, m.get_layer(name).output).", valueName: "name"),
            completion: .layerNames(recurrentOnly: false))
    var through: String?

    @Option(help: "units: checked against the weights.")
    var units: Int?

    @Option(help: ArgumentHelp("activation: any element-wise keras.activations name (e.g. tanh, relu, linear, celu, squareplus).", valueName: "name"))
    var activation: Activation?

    @Option(help: ArgumentHelp("recurrent_activation: the same names (e.g. hard_sigmoid, sigmoid, sparse_sigmoid).", valueName: "name"))
    var recurrentActivation: Activation?

    @Option(help: ArgumentHelp("Which hard_sigmoid: keras2 is clip(0.2x+0.5, 0, 1), keras3 is clip(x/6+0.5, 0, 1). Default: the Keras version that wrote the file.", valueName: "keras2|keras3"))
    var hardSigmoid: HardSigmoidDefinition?

    @Flag(inversion: .prefixedNo, help: "use_bias: must agree with the weights.")
    var useBias: Bool?

    @Flag(inversion: .prefixedNo, help: "reset_after: must agree with the bias shape ((3U,) False, (2, 3U) True).")
    var resetAfter: Bool?

    @Flag(inversion: .prefixedNo, help: "return_sequences: output every step, not only the last.")
    var returnSequences: Bool?

    @Flag(inversion: .prefixedNo, help: "return_state: also write the final state (see --state-output).")
    var returnState: Bool?

    @Flag(inversion: .prefixedNo, help: "go_backwards: process the input from its last step.")
    var goBackwards: Bool?

    @Flag(inversion: .prefixedNo, help: "zero_output_for_mask: masked steps output zeros instead of the previous output (a Bidirectional sets it to return_sequences).")
    var zeroOutputForMask: Bool?

    @Flag(inversion: .prefixedNo, help: "time_major: .npy input is (timesteps, batch, features) and sequence output (timesteps, batch, units).")
    var timeMajor: Bool?

    @Flag(inversion: .prefixedNo, help: "stateful: carry the final state to the next call through --state.")
    var stateful: Bool?

    @Flag(inversion: .prefixedNo, help: "unroll: accepted; changes nothing at inference.")
    var unroll: Bool?

    @Option(help: ArgumentHelp("implementation: accepted; changes only how --training applies dropout.", valueName: "1|2"))
    var implementation: Int?

    @Option(help: ArgumentHelp("dropout rate, applied only with --training.", valueName: "rate"))
    var dropout: Double?

    @Option(help: ArgumentHelp("recurrent_dropout rate, applied only with --training.", valueName: "rate"))
    var recurrentDropout: Double?

    @Option(help: ArgumentHelp("Compute in this type. Default: the weights' own type.", valueName: "float32|float64"))
    var dtype: DType?

    @Option(help: ArgumentHelp("Bidirectional merge_mode (concat, sum, mul, ave, none); a weights-only file defaults to concat.", valueName: "mode"))
    var mergeMode: MergeMode?

    /// The flags that change a layer's config, as the library takes them (they apply to one layer only).
    var overrides: GRUOverrides {
        var o = GRUOverrides()
        (o.units, o.activation, o.recurrentActivation, o.hardSigmoid) = (units, activation, recurrentActivation, hardSigmoid)
        (o.useBias, o.resetAfter, o.returnSequences, o.returnState) = (useBias, resetAfter, returnSequences, returnState)
        (o.goBackwards, o.zeroOutputForMask, o.timeMajor, o.stateful) = (goBackwards, zeroOutputForMask, timeMajor, stateful)
        (o.unroll, o.implementation, o.dropout, o.recurrentDropout, o.mergeMode) = (unroll, implementation, dropout, recurrentDropout, mergeMode)
        return o
    }

    /// Whether any flag changes a layer's config (those apply to one layer only).
    var changesLayerConfig: Bool { overrides.changesConfig }

    func validate() throws {
        if let units, units <= 0 { throw ValidationError("--units must be a positive integer, not \(units).") }
        if let implementation, implementation != 1 && implementation != 2 {
            throw ValidationError("--implementation must be 1 or 2, not \(implementation).")
        }
        for (flag, rate) in [("--dropout", dropout), ("--recurrent-dropout", recurrentDropout)] {
            if let rate, !(rate >= 0 && rate <= 1) { throw ValidationError("\(flag) must lie between 0 and 1, not \(rate).") }
        }
    }
}

/// The call arguments (mask, initial_state, training) and the stateful stream.
struct CallOptions: ParsableArguments {
    @Option(help: ArgumentHelp("initial_state: a (batch, units) .npy or .csv file; for a Bidirectional give it twice (forward, backward) or once as a (2, batch, units) .npy.", valueName: "file"),
            completion: .dataFile)
    var initialState: [String] = []

    @Option(help: ArgumentHelp("mask: a .npy of booleans, (batch, timesteps) (or (timesteps, batch) with --time-major); false steps are skipped.", valueName: "file"),
            completion: .file(extensions: ["npy"]))
    var mask: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Skip steps whose features all equal this value, as a Keras Masking layer does; overrides the file's Masking layer.", valueName: "value"))
    var maskValue: Double?

    @Flag(help: "training=True: apply dropout and recurrent_dropout with random masks.")
    var training = false

    @Option(help: ArgumentHelp("Seed for the --training dropout masks; the same seed gives the same output.", valueName: "n"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Stateful stream: read the initial state from this file when it exists, write the final state back.", valueName: "file"),
            completion: .dataFile)
    var state: String?

    @Flag(help: "With --state: start from zeros (reset_states) instead of the saved state.")
    var resetState = false

    func validate() throws {
        if mask != nil && maskValue != nil { throw ValidationError("Give either --mask or --mask-value, not both.") }
        if seed != nil && !training { throw ValidationError("--seed only affects --training runs; add --training or drop --seed.") }
        if resetState && state == nil { throw ValidationError("--reset-state needs --state FILE.") }
    }
}

/// Where the data comes from and goes to.
struct IOOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("input")],
            help: ArgumentHelp("Input .npy, .npz or .csv; - or absent for standard input. A model with several inputs takes one --input each, in the model's order, or one .npz holding an array per input (named as its Input layer, or arr_0, arr_1, ... in order).", valueName: "file"),
            completion: .dataFile)
    var inputs: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Output .npy, .npz or .csv; - or absent for standard output. A model with several outputs takes one --output each, in the model's order, or one .npz that holds an array per output, named after its layer.", valueName: "file"),
            completion: .dataFile)
    var outputs: [String] = []

    /// The one input of a layer run.
    var input: String {
        get { inputs.first ?? "-" }
        set { inputs = [newValue] }
    }

    /// The one output of a layer run.
    var output: String {
        get { outputs.first ?? "-" }
        set { outputs = [newValue] }
    }

    @Option(help: ArgumentHelp("Write the final state (batch, units) here, as .npy, .npz (one array named after the layer) or .csv.", valueName: "file"), completion: .dataFile)
    var stateOutput: String?

    @Option(help: ArgumentHelp("Input format, when the extension does not tell.", valueName: "npy|npz|csv"))
    var inputFormat: FileFormat?

    @Option(help: ArgumentHelp("Output format, when the extension does not tell (standard output defaults to csv).", valueName: "npy|npz|csv"))
    var outputFormat: FileFormat?

    @Option(help: ArgumentHelp("Cut CSV input into samples of this many rows (for CSV written without blank lines between samples, such as np.savetxt of x.reshape(-1, features)); each block of rows must hold whole samples.", valueName: "n"))
    var timesteps: Int?

    @Flag(help: "No progress line on a terminal, no notes on how CSV input was read, and no line naming the defaults assumed for a weights-only file.")
    var quiet = false

    @Option(help: "Worker threads (default: the machine's cores); the numbers do not depend on it.")
    var threads: Int?

    /// The threads a run uses.
    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }
}
