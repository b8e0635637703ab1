import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run bench`: times warm forward passes of the layer, weights and input loaded once.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time warm forward passes of the layer (weights and input loaded once).",
        discussion: """
        Without --input the input is synthetic: --batch samples of --timesteps steps, standard normal.
        GFLOPS counts the two matrix products per step, 2*B*T*3U*(D+U) operations per pass.
        """)

    @OptionGroup var layer: LayerOptions

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Input .npy or .csv; synthetic when absent.", valueName: "file"),
            completion: .dataFile)
    var input: String?

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
    }

    func run() throws {
        let gru = try HDF5Guard.reading(layer.weights) { try KerasReader.loadGRU(path: layer.weights, layer: layer.layer) }
        let config = try layer.overrides.config(of: gru)
        switch layer.dtype ?? (gru.bits == 64 ? .float64 : .float32) {
        case .float32: try measure(Float.self, gru: gru, config: config)
        case .float64: try measure(Double.self, gru: gru, config: config)
        }
    }

    private func measure<S: CLIScalar>(_ type: S.Type, gru: KerasGRU, config: GRUConfig) throws {
        let gruLayer = try GRULayer(config: config, weights: try gru.weights(S.self))
        let data: InputData<S>
        if let input {
            data = try InputData<S>.load(path: input, format: nil, timeMajor: config.timeMajor)
        } else {
            // The input and a pass's output, sized before any product can overflow or any allocation fail.
            let elements = MemoryBudget.bytes(batch, timesteps, gru.inputDim + config.units)
            try MemoryBudget.reserve(MemoryBudget.bytes(elements, MemoryLayout<S>.size),
                                     for: "a synthetic input of \(batch) samples of \(timesteps) timesteps")
            var generator = SplitMix64(seed: 1)
            let count = batch * timesteps * gru.inputDim
            let values = (0..<count).map { _ in S(normalSample(&generator)) }
            data = InputData(values: values, shape: config.timeMajor ? [timesteps, batch, gru.inputDim] : [batch, timesteps, gru.inputDim])
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        var times: [Double] = []
        for pass in 0..<(warmup + `repeat`) {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try gruLayer(data.values, shape: data.shape, threads: threadCount)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if result.state.isEmpty { print("") }
            if pass >= warmup { times.append(elapsed) }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let (b, t) = config.timeMajor ? (data.shape[1], data.shape[0]) : (data.shape[0], data.shape[1])
        let flops = 2.0 * Double(b) * Double(t) * Double(3 * config.units * (gru.inputDim + config.units))
        let gflops = flops / (median / 1e3) / 1e9
        let dtype = S.self == Float.self ? "float32" : "float64"
        let kernels = GRUKernelSet.active.rawValue
        print(String(format: "shape (B=%d, T=%d, D=%d, U=%d) %@ reset_after=%@ threads=%d kernels=%@: min %.4f ms, median %.4f ms, %.2f GFLOPS",
                     b, t, gru.inputDim, config.units, dtype, config.resetAfter ? "True" : "False", threadCount, kernels,
                     times[0], median, gflops))
        if json {
            let fields: [String] = [
                "\"median_ms\": \(median)", "\"min_ms\": \(times[0])", "\"gflops\": \(gflops)",
                "\"batch\": \(b)", "\"timesteps\": \(t)", "\"features\": \(gru.inputDim)", "\"units\": \(config.units)",
                "\"dtype\": \"\(dtype)\"", "\"reset_after\": \(config.resetAfter)", "\"threads\": \(threadCount)",
                "\"repeat\": \(`repeat`)", "\"kernels\": \"\(kernels)\"",
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
