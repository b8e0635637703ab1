import ArgumentParser
import Foundation
import GRUCore
import GRUIO
import GRUModel

/// `gru-run inspect FILE`: what a Keras file holds and how gru-run will run it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a Keras file's kind, Keras version, layers and the config values that change the numbers.")

    @Argument(help: ArgumentHelp("A Keras .h5, .weights.h5 or .keras file.", valueName: "file"))
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct LayerReport: Encodable {
        var name: String
        var className: String
        var units: Int?
        var features: Int?
        var dtype: String?
        var config: [String: String]
        var directions: [String: [String: String]]?
        /// A weights-only layer: whose defaults its config holds, and why that is a guess when it is one.
        var assumedDefaults: String?

        enum CodingKeys: String, CodingKey {
            case name, className = "class", units, features, dtype, config, directions, assumedDefaults = "assumed_defaults"
        }
    }

    /// One layer call of a whole model: what it reads and the shapes it gives for one sample.
    struct CallReport: Encodable {
        var name: String
        var className: String
        var inputs: [String]
        var outputShapes: [[Int]]

        enum CodingKeys: String, CodingKey {
            case name, className = "class", inputs, outputShapes = "output_shapes"
        }
    }

    struct Report: Encodable {
        var path: String
        var kind: String
        var kerasVersion: String?
        var hardSigmoid: String
        var hasConfig: Bool
        var layers: [LayerReport]
        var runs: String
        var flagsToState: [String]
        /// A whole model's calls in the order they run (nil when the file runs one layer at a time).
        var graph: [CallReport]?
        var graphNote: String?

        enum CodingKeys: String, CodingKey {
            case path, kind, kerasVersion = "keras_version", hardSigmoid = "hard_sigmoid", hasConfig = "has_config"
            case layers, runs, flagsToState = "flags_to_state", graph, graphNote = "graph_note"
        }
    }

    func run() throws {
        let model = try HDF5Guard.reading(file) { try KerasReader.load(path: file) }
        let report = makeReport(model)
        // Names come from the file: long ones are cut (in makeReport), and what a terminal would act on is
        // escaped, as \uXXXX in JSON.
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(Printable.escapingJSON(String(decoding: try encoder.encode(report), as: UTF8.self)))
            return
        }
        print(render(report).split(separator: "\n", omittingEmptySubsequences: false).map { Printable.text(String($0)) }
            .joined(separator: "\n"))
    }

    private func makeReport(_ model: KerasModel) -> Report {
        var report = uncutReport(model)
        report.kerasVersion = report.kerasVersion.map { Printable.name($0) }
        for index in report.layers.indices {
            report.layers[index].name = Printable.name(report.layers[index].name)
            report.layers[index].className = Printable.name(report.layers[index].className)
        }
        return report
    }

    private func uncutReport(_ model: KerasModel) -> Report {
        let layers = model.layers.map { layer -> LayerReport in
            switch layer {
            case .input(let name):
                return LayerReport(name: name, className: "InputLayer", config: [:])
            case .masking(let name, let value):
                return LayerReport(name: name, className: "Masking", config: ["mask_value": String(value)])
            case .gru(let gru):
                return LayerReport(name: gru.layerName, className: gru.className, units: gru.units, features: gru.inputDim,
                                   dtype: gru.bits == 64 ? "float64" : "float32", config: describe(gru.config),
                                   assumedDefaults: gru.assumed.map(describe))
            case .bidirectional(let layer):
                return LayerReport(name: layer.name, className: "Bidirectional", units: layer.forward.units + (layer.mergeMode == .concat ? layer.backward.units : 0),
                                   features: layer.forward.inputDim, dtype: layer.forward.bits == 64 ? "float64" : "float32",
                                   config: ["merge_mode": layer.mergeMode == .none ? "None" : layer.mergeMode.rawValue],
                                   directions: ["forward": describe(layer.forward.config), "backward": describe(layer.backward.config)],
                                   assumedDefaults: layer.forward.assumed.map(describe))
            case .other(let name, let className):
                return LayerReport(name: name, className: className, config: [:])
            }
        }
        var runs: String
        let (graph, graphNote) = wholeModel(model)
        if let graph {
            runs = "the whole model (model.predict): " + graph.map { Printable.name($0.name) }.joined(separator: " -> ")
        } else if let selection = try? Selection(model: model, requested: nil) {
            let chain = selection.layers.map { Printable.name($0.name) }.joined(separator: " -> ")
            runs = selection.maskValue.map { "masking (mask_value \($0)) -> " + chain } ?? chain
        } else if let first = model.layers.first(where: \.isRecurrent) {
            runs = "one layer at a time: add --layer NAME (e.g. --layer \(Printable.name(first.name)))"
        } else {
            runs = "nothing: the file holds no GRU"
        }
        return Report(path: model.path, kind: model.kind.rawValue, kerasVersion: model.kerasVersion,
                      hardSigmoid: model.hardSigmoid == .keras2 ? "keras2: clip(0.2x+0.5, 0, 1)" : "keras3: clip(x/6+0.5, 0, 1)",
                      hasConfig: model.kind.hasConfig, layers: layers, runs: runs, flagsToState: flagsToState(model),
                      graph: graph, graphNote: graphNote)
    }

    /// The model's calls and their output shapes, found by running it once on one sample of zeros; a note
    /// says why there is no graph, or what the shapes assume.
    private func wholeModel(_ model: KerasModel) -> ([CallReport]?, String?) {
        guard model.hasGraph, model.layers.contains(where: \.isRecurrent), model.layers.contains(where: \.isOther) else { return (nil, nil) }
        do {
            let graph = try model.graph(Float.self) { layer in
                switch layer {
                case .gru(let gru): return .gru(try GRULayer(config: gru.config, weights: try gru.weights(Float.self)))
                case .bidirectional(let pair):
                    return .bidirectional(try BidirectionalGRU(forward: try GRULayer(config: pair.forward.config, weights: try pair.forward.weights(Float.self)),
                                                               backward: try GRULayer(config: pair.backward.config, weights: try pair.backward.weights(Float.self)),
                                                               mergeMode: pair.mergeMode))
                default: throw CLIError.usage("layer \(Printable.quoted(layer.name)) is not recurrent")
                }
            }
            func name(_ source: ModelGraph<Float>.Source) -> String {
                switch source {
                case .input(let k): return Printable.name(graph.inputs[k].name)
                case .node(let call, let output): return Printable.name(graph.calls[call].name) + (output > 0 ? "[\(output)]" : "")
                }
            }
            func report(_ shapes: [Int: [[Int]]]) -> [CallReport] {
                graph.calls.enumerated().map { index, call in
                    CallReport(name: Printable.name(call.name), className: Printable.name(call.className), inputs: call.inputs.map(name),
                               outputShapes: shapes[index] ?? [])
                }
            }
            guard graph.inputs.allSatisfy({ $0.shape != nil }) else {
                return (report([:]), "no shapes: the model does not declare its input's shape")
            }
            var note: String?
            let inputs = graph.inputs.map { input -> Tensor<Float> in
                let dims = (input.shape ?? [nil, nil]).map { dim -> Int in
                    if let dim { return dim }
                    note = "shapes for one sample of 4 timesteps where the model takes any length"
                    return 4
                }
                return Tensor(values: [Float](repeating: 0, count: dims.reduce(1, *)), shape: [1] + dims)
            }
            var shapes: [Int: [[Int]]] = [:]
            _ = try graph(inputs, threads: 1) { index, produced in shapes[index] = produced }
            return (report(shapes), note)
        } catch {
            return (nil, "the whole model does not run: " + "\(error)")
        }
    }

    /// The config values gru-run reads and that change the numbers, in Keras's spelling.
    private func describe(_ config: GRUConfig) -> [String: String] {
        func flag(_ value: Bool) -> String { value ? "True" : "False" }
        return [
            "activation": config.activation.rawValue,
            "recurrent_activation": config.recurrentActivation.rawValue,
            "use_bias": flag(config.useBias),
            "reset_after": flag(config.resetAfter),
            "return_sequences": flag(config.returnSequences),
            "return_state": flag(config.returnState),
            "go_backwards": flag(config.goBackwards),
            "stateful": flag(config.stateful),
            "time_major": flag(config.timeMajor),
        ]
    }

    private func describe(_ assumed: AssumedDefaults) -> String {
        assumed.writer + (assumed.doubt.map { " (\($0))" } ?? "")
    }

    /// For a file without config: what the defaults assume, and the flags that state otherwise.
    private func flagsToState(_ model: KerasModel) -> [String] {
        guard !model.kind.hasConfig else { return [] }
        // Each recurrent layer's defaults (a Bidirectional's are its forward layer's) and what of them is assumed.
        let assumed: [(name: String, config: GRUConfig, assumed: AssumedDefaults)] = model.layers.compactMap { layer in
            switch layer {
            case .gru(let gru): return gru.assumed.map { (gru.layerName, gru.config, $0) }
            case .bidirectional(let pair): return pair.forward.assumed.map { (pair.name, pair.forward.config, $0) }
            default: return nil
            }
        }
        /// `assumed X`, or each layer's value when they differ.
        func values(_ value: (GRUConfig) -> String, of entries: [(name: String, config: GRUConfig, assumed: AssumedDefaults)]) -> String {
            let distinct = Set(entries.map { value($0.config) })
            if distinct.count <= 1 { return "assumed " + (distinct.first ?? "") }
            return "assumed per layer: " + entries.map { "\($0.name) \(value($0.config))" }.joined(separator: ", ")
        }
        func onOff(_ flag: Bool) -> String { flag ? "on" : "off" }
        var flags: [String] = []
        let activated = assumed.filter(\.assumed.activations)
        if !activated.isEmpty {
            flags.append("--activation NAME (\(values({ $0.activation.rawValue }, of: activated)))")
            flags.append("--recurrent-activation NAME (\(values({ $0.recurrentActivation.rawValue }, of: activated)))")
        }
        flags += [
            "--return-sequences (assumed off)",
            "--go-backwards (assumed off)",
            "--time-major (assumed off)",
            "--mask-value V (the file records no Masking layer)",
        ]
        let unbiased = assumed.filter(\.assumed.resetAfter)
        if !unbiased.isEmpty {
            flags.append("--reset-after / --no-reset-after (a layer without bias cannot tell; \(values({ onOff($0.resetAfter) }, of: unbiased)))")
        }
        if let guess = assumed.first(where: \.assumed.hardSigmoid) {
            flags.append("--hard-sigmoid keras2|keras3 (the file does not say which Keras wrote it; assumed \(guess.config.hardSigmoid.rawValue))")
        }
        let layers = model.layers
        if layers.contains(where: { if case .bidirectional = $0 { return true } else { return false } }) {
            flags.append("--merge-mode MODE (assumed concat)")
        }
        if layers.filter(\.isRecurrent).count > 1 {
            flags.append("--layer NAME (the file does not say how its layers connect)")
        }
        return flags
    }

    private func render(_ report: Report) -> String {
        var lines = ["\(report.path): \(report.kind)" + (report.kerasVersion.map { ", written by Keras \($0)" } ?? "")]
        lines.append("hard_sigmoid: \(report.hardSigmoid)")
        lines.append("layers:")
        for layer in report.layers {
            var head = "  \(layer.name) (\(layer.className))"
            if let units = layer.units, let features = layer.features, let dtype = layer.dtype {
                head += ": \(features) features -> \(units) units, \(dtype)"
            }
            lines.append(head)
            if let assumed = layer.assumedDefaults { lines.append("    defaults of: " + assumed) }
            if !layer.config.isEmpty { lines.append("    " + format(layer.config)) }
            for (side, config) in (layer.directions ?? [:]).sorted(by: { $0.key > $1.key }) {
                lines.append("    \(side): " + format(config))
            }
        }
        lines.append("runs: \(report.runs)")
        if let graph = report.graph {
            lines.append("graph" + (report.graphNote.map { " (\($0))" } ?? "") + ":")
            for call in graph {
                let shapes = call.outputShapes.map { "(" + $0.map(String.init).joined(separator: ", ") + ")" }.joined(separator: ", ")
                lines.append("  \(call.name) (\(call.className)) <- \(call.inputs.joined(separator: ", "))" + (shapes.isEmpty ? "" : " => \(shapes)"))
            }
        } else if let note = report.graphNote {
            lines.append(note)
        }
        if !report.flagsToState.isEmpty {
            lines.append("this file stores weights only; state what differs from the defaults assumed:")
            lines += report.flagsToState.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ config: [String: String]) -> String {
        let order = ["activation", "recurrent_activation", "use_bias", "reset_after", "return_sequences", "return_state",
                     "go_backwards", "stateful", "time_major", "merge_mode", "mask_value"]
        return order.compactMap { key in config[key].map { "\(key)=\($0)" } }.joined(separator: " ")
    }
}
