import ArgumentParser
import Foundation
import GRUCore
import GRUIO
import GRUModel

/// `gru-run bench`: times warm forward passes of the layer, weights and input loaded once.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time warm forward passes of the layer (weights and input loaded once).",
        discussion: """
        Without --input the input is synthetic: --batch samples of --timesteps steps, standard normal.
        A model of several inputs takes one --input per input, in the order gru-run inspect lists them.
        GFLOPS counts the two matrix products per step, 2*B*T*3U*(D+U) operations per pass.
        A file whose model is more than one GRU (an LSTM, a GRU with a Dense head, ...) is timed whole, as
        model.predict computes it; its GFLOPS count the recurrent layers' products (4U for an LSTM's gates,
        U for a SimpleRNN's).
        """)

    @OptionGroup var layer: LayerOptions

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Input .npy or .csv (one per input of a model of several); synthetic when absent.", valueName: "file"),
            completion: .dataFile)
    var input: [String] = []

    @Option(help: "Samples of the synthetic input.")
    var batch = 1

    @Option(help: "Timesteps of the synthetic input.")
    var timesteps = 100

    @Option(help: "Timed passes.")
    var `repeat` = 20

    @Option(help: "Untimed passes first.")
    var warmup = 3

    @Option(help: "Worker threads (default: the machine's cores).")
    var threads: Int?

    @Flag(help: "End with one JSON object: median_ms, min_ms, gflops, the shape and the kernels used.")
    var json = false

    func validate() throws {
        guard batch > 0, timesteps > 0, `repeat` > 0, warmup >= 0 else {
            throw ValidationError("--batch, --timesteps and --repeat must be positive, --warmup not negative.")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if let npz = input.first(where: { isNPZPath($0, format: nil) }) {
            throw ValidationError("--input \(npz) is an .npz; bench reads one .npy or CSV file per input.")
        }
    }

    func run() throws {
        let model = try HDF5Guard.reading(layer.weights) { try KerasReader.load(path: layer.weights) }
        if layer.layer == nil, model.hasGraph, model.needsGraph || !model.layers.contains(where: \.isRecurrent) {
            let wide = model.otherWeights.values.contains { $0.contains { $0.bits == 64 } }
            switch layer.dtype ?? (wide ? .float64 : .float32) {
            case .float32: return try measureModel(Float.self, model)
            case .float64: return try measureModel(Double.self, model)
            }
        }
        // A Bidirectional(GRU) alone (named, or the file's only layer), else a GRU.
        if let single = try model.singleLayer(requested: layer.layer), case .bidirectional(let pair) = single.layer {
            try model.verifyWeights()
            switch layer.dtype ?? (single.bits == 64 ? .float64 : .float32) {
            case .float32: return try measure(try single.layer.recurrentLayer(Float.self, overrides: layer.overrides, returnState: false), inputDim: pair.forward.inputDim)
            case .float64: return try measure(try single.layer.recurrentLayer(Double.self, overrides: layer.overrides, returnState: false), inputDim: pair.forward.inputDim)
            }
        }
        let gru = try HDF5Guard.reading(layer.weights) { try KerasReader.loadGRU(path: layer.weights, layer: layer.layer) }
        let config = try layer.overrides.config(of: gru)
        switch layer.dtype ?? (gru.bits == 64 ? .float64 : .float32) {
        case .float32: try measure(GRU(name: gru.layerName, layer: try GRULayer(config: config, weights: try gru.weights(Float.self)), returnState: false), inputDim: gru.inputDim)
        case .float64: try measure(GRU(name: gru.layerName, layer: try GRULayer(config: config, weights: try gru.weights(Double.self)), returnState: false), inputDim: gru.inputDim)
        }
    }

    /// Warm passes of a GRU or Bidirectional(GRU) layer alone; GFLOPS count both directions' products.
    private func measure<S: CLIScalar>(_ recurrent: any GRUModelLayer<S>, inputDim: Int) throws {
        guard input.count <= 1 else { throw CLIError.usage("a layer takes one input, and bench was given \(input.count) (--input)") }
        let input = input.first
        let config = recurrent.configs[0]
        let data: InputData<S>
        if let input {
            data = try InputData<S>.load(path: input, format: nil, timeMajor: config.timeMajor)
        } else {
            // The input and a pass's output, sized before any product can overflow or any allocation fail.
            let elements = MemoryBudget.bytes(batch, timesteps, inputDim + recurrent.configs.reduce(0) { $0 + $1.units })
            try MemoryBudget.reserve(MemoryBudget.bytes(elements, MemoryLayout<S>.size),
                                     for: "a synthetic input of \(batch) samples of \(timesteps) timesteps")
            var generator = SplitMix64(seed: 1)
            let count = batch * timesteps * inputDim
            let values = (0..<count).map { _ in S(normalSample(&generator)) }
            data = InputData(values: values, shape: config.timeMajor ? [timesteps, batch, inputDim] : [batch, timesteps, inputDim])
        }
        guard data.shape.count == 3, data.shape[2] == inputDim else {
            throw CLIError.data("\(input.map(displayName) ?? "the input") has shape \(describe(data.shape)); the layer reads (batch, timesteps, \(inputDim))")
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let x = Tensor(values: data.values, shape: data.shape)
        var times: [Double] = []
        for pass in 0..<(warmup + `repeat`) {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try recurrent.call([x], masks: [nil], threads: threadCount)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if result.isEmpty { print("") }
            if pass >= warmup { times.append(elapsed) }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let (b, t) = config.timeMajor ? (data.shape[1], data.shape[0]) : (data.shape[0], data.shape[1])
        let flops = recurrent.configs.reduce(0.0) { $0 + 2 * Double(b) * Double(t) * Double(3 * $1.units * (inputDim + $1.units)) }
        let gflops = flops / (median / 1e3) / 1e9
        let dtype = S.self == Float.self ? "float32" : "float64"
        let kernels = GRUKernelSet.active.rawValue
        print(String(format: "shape (B=%d, T=%d, D=%d, U=%d)%@ %@ reset_after=%@ threads=%d kernels=%@: min %.4f ms, median %.4f ms, %.2f GFLOPS",
                     b, t, inputDim, config.units, recurrent.directions == 2 ? " bidirectional" : "", dtype, config.resetAfter ? "True" : "False", threadCount, kernels,
                     times[0], median, gflops))
        if json {
            let fields: [String] = [
                "\"median_ms\": \(median)", "\"min_ms\": \(times[0])", "\"gflops\": \(gflops)",
                "\"batch\": \(b)", "\"timesteps\": \(t)", "\"features\": \(inputDim)", "\"units\": \(config.units)",
                "\"directions\": \(recurrent.directions)",
                "\"dtype\": \"\(dtype)\"", "\"reset_after\": \(config.resetAfter)", "\"threads\": \(threadCount)",
                "\"repeat\": \(`repeat`)", "\"kernels\": \"\(kernels)\"",
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        }
    }
}

extension Bench {
    /// Warm passes of the whole model on its inputs (given, or synthetic from the model's input shapes).
    private func measureModel<S: CLIScalar>(_ type: S.Type, _ model: KerasModel) throws {
        let graph = try model.graph(S.self, through: layer.through, overrides: layer.overrides)
        try model.verifyWeights()
        var xs: [Tensor<S>] = []
        if !input.isEmpty {
            guard input.count == graph.inputs.count else {
                throw CLIError.usage("\(model.path) takes \(graph.inputs.count) input\(graph.inputs.count == 1 ? "" : "s") and bench was given \(input.count) (one --input per input, in the order gru-run inspect lists them)")
            }
            // Token ids as they are (an Embedding reads them), as a run takes them.
            var notes: [String] = []
            for (k, path) in input.enumerated() {
                let file = try InputFile(path: path)
                xs.append(try InputData<S>.modelInput(file, format: nil, rank: graph.inputs[k].shape.map { $0.count + 1 }, timesteps: nil,
                                                      integers: graph.integerUse(ofInput: k, model: model.path), notes: &notes))
            }
        } else {
            var generator = SplitMix64(seed: 1)
            for declaredInput in graph.inputs {
                guard let declared = declaredInput.shape, declared.count >= 1, declared.dropFirst().allSatisfy({ $0 != nil }) else {
                    throw CLIError.usage("\(model.path) declares no input shape to make a synthetic input from; give one with --input")
                }
                let shape = [batch, declared[0] ?? timesteps] + declared.dropFirst().map { $0! }
                let count = MemoryBudget.bytes(shape.reduce(1) { MemoryBudget.bytes($0, $1) }, MemoryLayout<S>.size)
                try MemoryBudget.reserve(count, for: "a synthetic input of shape \(describe(shape))")
                xs.append(Tensor(values: (0..<shape.reduce(1, *)).map { _ in S(normalSample(&generator)) }, shape: shape))
            }
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        // The first pass also notes every call's output shapes: the recurrent layers' FLOPs follow from them.
        var shapes: [Int: [[Int]]] = [:]
        var times: [Double] = []
        for pass in 0..<(warmup + `repeat`) {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = pass == 0 ? try graph(xs, threads: threadCount, observe: { shapes[$0] = $1 }) : try graph(xs, threads: threadCount)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if result.isEmpty { print("") }
            if pass >= warmup { times.append(elapsed) }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        // The recurrent layers' products over their inputs' samples and timesteps.
        var flops = 0.0
        for (index, call) in graph.calls.enumerated() {
            let cells: [RecurrentCell<S>]
            if let recurrent = call.layer as? Recurrent<S> {
                cells = recurrent.cells
            } else if let pair = call.layer as? BidirectionalRecurrent<S> {
                cells = pair.forward.cells + pair.backward.cells
            } else if let gru = call.layer as? GRU<S> {
                cells = [.gru(gru.layer)]
            } else if let pair = call.layer as? Bidirectional<S> {
                cells = [.gru(pair.layer.forward), .gru(pair.layer.backward)]
            } else {
                continue
            }
            let shape: [Int]? = switch call.inputs.first {
            case .input(let k): xs[k].shape
            case .node(let node, let output): shapes[node].flatMap { output < $0.count ? $0[output] : nil }
            case nil: nil
            }
            guard let shape, shape.count >= 2 else { continue }
            let (b, t) = (Double(shape[0]), Double(shape[1]))
            flops += cells.reduce(0) { $0 + 2 * b * t * Double($1.gates * $1.units) * Double($1.inputDim + $1.units) }
        }
        let gflops = flops / (median / 1e3) / 1e9
        let dtype = S.self == Float.self ? "float32" : "float64"
        let kernels = GRUKernelSet.active.rawValue
        print(String(format: "model %@ input %@ %@ threads=%d kernels=%@: min %.4f ms, median %.4f ms, %.2f GFLOPS (recurrent layers)",
                     model.path, xs.map { describe($0.shape) }.joined(separator: " and "), dtype, threadCount, kernels, times[0], median, gflops))
        if json {
            let fields: [String] = [
                "\"median_ms\": \(median)", "\"min_ms\": \(times[0])", "\"gflops\": \(gflops)",
                "\"shape\": [\(xs[0].shape.map(String.init).joined(separator: ", "))]",
                "\"input_shapes\": [\(xs.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", "))]",
                "\"dtype\": \"\(dtype)\"",
                "\"threads\": \(threadCount)", "\"repeat\": \(`repeat`)", "\"kernels\": \"\(kernels)\"",
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        }
    }
}

/// A standard normal sample (Box-Muller).
private func normalSample(_ generator: inout SplitMix64) -> Double {
    let u1 = max(generator.nextUnitDouble(), 1e-300), u2 = generator.nextUnitDouble()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
}
