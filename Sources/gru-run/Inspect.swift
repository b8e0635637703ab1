import ArgumentParser
import Foundation
import GRUCore
import GRUIO
import GRUModel

/// `gru-run inspect FILE`: what a Keras file holds and how gru-run will run it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a Keras file's kind, Keras version, layers and the config values that change the numbers.")

    @Argument(help: ArgumentHelp("A Keras .h5, .weights.h5 or .keras file.", valueName: "file"), completion: .kerasFile)
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let model = try HDF5Guard.reading(file) { try KerasReader.load(path: file, checksummed: false) }
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
                return LayerReport(name: name, className: "Masking", config: ["mask_value": .number(value)])
            case .gru(let gru):
                return LayerReport(name: gru.layerName, className: gru.className, units: gru.units, features: gru.inputDim,
                                   dtype: gru.bits == 64 ? "float64" : "float32", config: describe(gru.config),
                                   assumedDefaults: gru.assumed.map { AssumedWriter(writer: $0.writer, doubt: $0.doubt) })
            case .bidirectional(let layer):
                return LayerReport(name: layer.name, className: "Bidirectional", units: layer.forward.units + (layer.mergeMode == .concat ? layer.backward.units : 0),
                                   features: layer.forward.inputDim, dtype: layer.forward.bits == 64 ? "float64" : "float32",
                                   config: ["merge_mode": layer.mergeMode == .none ? .null : .string(layer.mergeMode.rawValue)],
                                   directions: ["forward": describe(layer.forward.config), "backward": describe(layer.backward.config)],
                                   assumedDefaults: layer.forward.assumed.map { AssumedWriter(writer: $0.writer, doubt: $0.doubt) })
            case .other(let name, let className):
                return LayerReport(name: name, className: className, config: [:])
            }
        }
        var runs: String
        var order: [String] = []
        let (graph, graphNote, ends) = wholeModel(model)
        if let graph {
            order = graph.map(\.name)
            runs = "the whole model (model.predict): " + order.joined(separator: " -> ")
        } else if let single = (try? model.singleLayer(requested: nil)) ?? nil {
            order = [Printable.name(single.layer.name)]
            runs = single.maskValue.map { "masking (mask_value \($0)) -> " + order[0] } ?? order[0]
        } else if let first = model.layers.first(where: \.isRecurrent) {
            runs = "one layer at a time: add --layer NAME (e.g. --layer \(Printable.name(first.name)))"
        } else {
            runs = model.hasGraph ? "nothing: the model has no layers to run" : "nothing: the file holds no GRU"
        }
        return Report(path: model.path, kind: model.kind.rawValue, kerasVersion: model.kerasVersion,
                      hardSigmoid: model.hardSigmoid.rawValue,
                      hardSigmoidFormula: model.hardSigmoid == .keras2 ? "clip(0.2x+0.5, 0, 1)" : "clip(x/6+0.5, 0, 1)",
                      hasConfig: model.kind.hasConfig, layers: layers, runs: runs, runOrder: order,
                      assumptions: assumptions(model), graph: graph, graphNote: graphNote, inputs: ends?.inputs, outputs: ends?.outputs)
    }

    /// The model's calls and their output shapes, found by running it once on one sample of zeros; a note
    /// says why there is no graph, or what the shapes assume; and the model's inputs and outputs.
    private func wholeModel(_ model: KerasModel) -> ([CallReport]?, String?, (inputs: [TensorReport], outputs: [TensorReport])?) {
        guard model.hasGraph, ((try? model.singleLayer(requested: nil)) ?? nil) == nil, model.layers.contains(where: { $0.className != "InputLayer" }) else { return (nil, nil, nil) }
        // The one sample and every layer's output are asked of the memory check, as in a run, and held to
        // `inspectionBytes` besides: shapes are all inspect wants, so a declared (None, 100000000, 3) is
        // described in a sentence, not allocated and run for minutes.
        modelAllocationCheck = { bytes, what in
            guard bytes <= Self.inspectionBytes else {
                throw CLIError.data("inspect finds the shapes by running one sample, and \(what) would need \(bytes >> 20) MB of the \(Self.inspectionBytes >> 20) MB it allows each tensor")
            }
            try MemoryBudget.reserve(bytes, for: what.hasPrefix("layer") ? "the output of \(what)" : what)
        }
        let wide = model.layers.contains { layer in
            switch layer {
            case .gru(let gru): return gru.bits == 64
            case .bidirectional(let pair): return pair.forward.bits == 64
            default: return false
            }
        } || model.otherWeights.values.contains { $0.contains { $0.bits == 64 } }
        let dtype = wide ? "float64" : "float32"
        do {
            // Shapes need no weight values: those left in the file stay there (zeros stand in for them), unless
            // a layer refuses zeros, which then gets the file's values.
            let graph = try (try? model.graph(Float.self, placeholders: true)) ?? model.graph(Float.self)
            func name(_ source: ModelGraph<Float>.Source) -> String {
                switch source {
                case .input(let k): return Printable.name(graph.inputs[k].name)
                case .node(let call, let output): return Printable.name(graph.calls[call].name) + (output > 0 ? "[\(output)]" : "")
                }
            }
            let configs = Dictionary(model.layerConfigs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            func report(_ shapes: [Int: [[Int]]]) -> [CallReport] {
                graph.calls.enumerated().map { index, call in
                    CallReport(name: Printable.name(call.name), className: Printable.name(call.className), inputs: call.inputs.map(name),
                               outputShapes: (shapes[index] ?? []).map { Array($0.dropFirst()) },
                               settings: configs[call.name].map(Self.settings) ?? [:])
                }
            }
            let inputs = graph.inputs.map { input in
                TensorReport(name: Printable.name(input.name), shape: input.shape, dtype: inputDType(model, input.name) ?? dtype)
            }
            func ends(_ shapes: [Int: [[Int]]]?) -> (inputs: [TensorReport], outputs: [TensorReport]) {
                let outputs = graph.outputs.map { source -> TensorReport in
                    switch source {
                    case .input(let k): return inputs[k]
                    case .node(let call, let output):
                        let shape = shapes?[call].flatMap { output < $0.count ? $0[output] : nil }
                        return TensorReport(name: name(source), shape: shape.map { Array($0.dropFirst()) }, dtype: dtype)
                    }
                }
                return (inputs, outputs)
            }
            guard graph.inputs.allSatisfy({ $0.shape != nil }) else {
                return (report([:]), "no shapes: the model does not declare its input's shape", ends(nil))
            }
            var note: String?
            func samples(_ open: Int) throws -> [Tensor<Float>] {
                try graph.inputs.map { input -> Tensor<Float> in
                    let dims = (input.shape ?? [nil, nil]).map { dim -> Int in
                        if let dim { return dim }
                        note = "shapes for one sample of 4 timesteps where the model takes any length"
                        return open
                    }
                    let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }
                    try modelAllocationCheck?(MemoryBudget.bytes(count, MemoryLayout<Float>.size),
                                              "input \(Printable.quoted(input.name)) of shape (\(dims.map(String.init).joined(separator: ", ")))")
                    return Tensor(values: [Float](repeating: 0, count: count), shape: [1] + dims)
                }
            }
            var shapes: [Int: [[Int]]] = [:]
            _ = try graph(try samples(4), threads: 1) { index, produced in shapes[index] = produced }
            var found = ends(shapes)
            if note != nil {
                // A size the model leaves open (it follows the input's length) is None in the outputs' shapes:
                // the sizes that change when the sample is one step longer.
                var longer: [Int: [[Int]]] = [:]
                _ = try graph(try samples(5), threads: 1) { index, produced in longer[index] = produced }
                let other = ends(longer).outputs
                found.outputs = zip(found.outputs, other).map { output, changed in
                    var open = output
                    if let a = output.shape, let b = changed.shape, a.count == b.count {
                        open.shape = zip(a, b).map { $0 == $1 ? $0 : nil }
                    } else {
                        open.shape = nil
                    }
                    return open
                }
            }
            return (report(shapes), note, found)
        } catch {
            return (nil, "the whole model does not run: " + "\(error)", nil)
        }
    }

    /// The dtype an InputLayer declares (`"float32"`, or Keras 3's DTypePolicy object).
    private func inputDType(_ model: KerasModel, _ name: String) -> String? {
        let config = model.layerConfigs.first { $0.className == "InputLayer" && $0.name == name }?.config
            ?? (model.layerConfigs.first?.className == "InputLayer" ? nil : model.layerConfigs.first?.config)
        guard let value = config?["dtype"] else { return nil }
        return value.string ?? value["config"]?["name"]?.string
    }

    /// The settings of a layer that say what it computes, as its config states them (a wrapper's from its
    /// inner layer, an RNN's from its cell).
    static func settings(_ layer: KerasLayerConfig) -> [String: ReportValue] {
        var config = layer.config
        for key in ["layer", "cell"] {
            if let inner = layer.config[key]?["config"]?.object {
                config.merge(inner) { outer, _ in outer }
            }
        }
        var out: [String: ReportValue] = [:]
        for key in settingKeys {
            guard let value = config[key] else { continue }
            switch value {
            case .string(let text): out[key] = .string(text)
            case .bool(let flag): out[key] = .bool(flag)
            case .number(let number): out[key] = value.wholeNumber.map { .integer($0) } ?? .number(number)
            case .null: continue
            case .array(let list):
                let items = list.map { $0.wholeNumber.map(String.init) ?? $0.string ?? $0.brief }
                out[key] = .string("(" + items.joined(separator: ", ") + (items.count == 1 ? ",)" : ")"))
            case .object:
                if let name = value["config"]?["name"]?.string ?? value["class_name"]?.string { out[key] = .string(name) }
            }
        }
        if let mode = layer.config["merge_mode"], layer.className == "Bidirectional" {
            out["merge_mode"] = mode.string.map { .string($0) } ?? .null
        }
        return out
    }

    /// What `settings` shows, in this order in the text report.
    static let settingKeys = ["units", "filters", "kernel_size", "strides", "padding", "dilation_rate", "activation",
                              "recurrent_activation", "use_bias", "reset_after", "return_sequences", "return_state", "go_backwards",
                              "num_heads", "key_dim", "pool_size", "rate", "axis", "input_dim", "output_dim", "mask_zero",
                              "mask_value", "target_shape", "n", "dims", "size", "cropping", "epsilon"]

    /// The most memory one tensor of inspect's sample run may take.
    static let inspectionBytes = 256 << 20

    /// The config values gru-run reads and that change the numbers, in Keras's spelling.
    private func describe(_ config: GRUConfig) -> [String: ReportValue] {
        [
            "activation": .string(config.activation.rawValue),
            "recurrent_activation": .string(config.recurrentActivation.rawValue),
            "use_bias": .bool(config.useBias),
            "reset_after": .bool(config.resetAfter),
            "return_sequences": .bool(config.returnSequences),
            "return_state": .bool(config.returnState),
            "go_backwards": .bool(config.goBackwards),
            "zero_output_for_mask": .bool(config.zeroOutputForMask),
            "stateful": .bool(config.stateful),
            "time_major": .bool(config.timeMajor),
        ]
    }

    /// For a file without config: what the defaults assume, and the flags that state otherwise.
    private func assumptions(_ model: KerasModel) -> [Assumption] {
        guard !model.kind.hasConfig else { return [] }
        // Each recurrent layer's defaults (a Bidirectional's are its forward layer's) and what of them is assumed.
        let assumed: [(name: String, config: GRUConfig, assumed: AssumedDefaults)] = model.layers.compactMap { layer in
            switch layer {
            case .gru(let gru): return gru.assumed.map { (gru.layerName, gru.config, $0) }
            case .bidirectional(let pair): return pair.forward.assumed.map { (pair.name, pair.forward.config, $0) }
            default: return nil
            }
        }
        /// One value for every layer, or each layer's value when they differ; in text `on`/`off` for booleans.
        func item(_ setting: String, _ flag: String, reason: String? = nil, _ values: [(name: String, value: ReportValue)]? = nil) -> Assumption {
            func shown(_ value: ReportValue) -> String {
                if case .bool(let on) = value { return on ? "on" : "off" }
                return value.text
            }
            var item = Assumption(setting: setting, assumed: .null, perLayer: nil, flag: flag, reason: reason, text: "")
            var said = reason.map { [$0] } ?? []
            if let values {
                if Set(values.map { shown($0.value) }).count <= 1, let first = values.first {
                    item.assumed = first.value
                    said.append("assumed " + shown(first.value))
                } else {
                    item.perLayer = Dictionary(values.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
                    said.append("assumed per layer: " + values.map { "\($0.name) \(shown($0.value))" }.joined(separator: ", "))
                }
            }
            item.text = flag + (said.isEmpty ? "" : " (" + said.joined(separator: "; ") + ")")
            return item
        }
        var items: [Assumption] = []
        let activated = assumed.filter(\.assumed.activations)
        if !activated.isEmpty {
            items.append(item("activation", "--activation NAME", activated.map { ($0.name, .string($0.config.activation.rawValue)) }))
            items.append(item("recurrent_activation", "--recurrent-activation NAME",
                              activated.map { ($0.name, .string($0.config.recurrentActivation.rawValue)) }))
        }
        items += [
            item("return_sequences", "--return-sequences", [("", .bool(false))]),
            item("go_backwards", "--go-backwards", [("", .bool(false))]),
            item("time_major", "--time-major", [("", .bool(false))]),
            item("mask_value", "--mask-value V", reason: "the file records no Masking layer"),
        ]
        let unbiased = assumed.filter(\.assumed.resetAfter)
        if !unbiased.isEmpty {
            items.append(item("reset_after", "--reset-after / --no-reset-after", reason: "a layer without bias cannot tell",
                              unbiased.map { ($0.name, .bool($0.config.resetAfter)) }))
        }
        if let guess = assumed.first(where: \.assumed.hardSigmoid) {
            items.append(item("hard_sigmoid", "--hard-sigmoid keras2|keras3", reason: "the file does not say which Keras wrote it",
                              [(guess.name, .string(guess.config.hardSigmoid.rawValue))]))
        }
        let layers = model.layers
        if layers.contains(where: { if case .bidirectional = $0 { return true } else { return false } }) {
            items.append(item("merge_mode", "--merge-mode MODE", [("", .string("concat"))]))
        }
        if layers.filter(\.isRecurrent).count > 1 {
            items.append(item("layer", "--layer NAME", reason: "the file does not say how its layers connect"))
        }
        return items
    }

    private func render(_ report: Report) -> String {
        var lines = ["\(report.path): \(report.kind)" + (report.kerasVersion.map { ", written by Keras \($0)" } ?? "")]
        lines.append("hard_sigmoid: \(report.hardSigmoid): \(report.hardSigmoidFormula)")
        lines.append("layers:")
        for layer in report.layers {
            var head = "  \(layer.name) (\(layer.className))"
            if let units = layer.units, let features = layer.features, let dtype = layer.dtype {
                head += ": \(features) features -> \(units) units, \(dtype)"
            }
            lines.append(head)
            if let assumed = layer.assumedDefaults { lines.append("    defaults of: " + assumed.text) }
            if !layer.config.isEmpty { lines.append("    " + format(layer.config)) }
            for (side, config) in (layer.directions ?? [:]).sorted(by: { $0.key > $1.key }) {
                lines.append("    \(side): " + format(config))
            }
        }
        lines.append("runs: \(report.runs)")
        if let inputs = report.inputs, let outputs = report.outputs {
            lines.append("inputs (in --input order):")
            lines += inputs.map { "  " + $0.text }
            lines.append("outputs (in --output order):")
            lines += outputs.map { "  " + $0.text }
        }
        if let graph = report.graph {
            lines.append("graph" + (report.graphNote.map { " (\($0))" } ?? "") + ":")
            for call in graph {
                let shapes = call.outputShapes.map { "(" + (["batch"] + $0.map(String.init)).joined(separator: ", ") + ")" }.joined(separator: ", ")
                // Flags that are off are left to the JSON.
                let settings = Self.settingKeys.compactMap { key in call.settings[key].flatMap { $0 == .bool(false) ? nil : "\(key)=\($0.text)" } }
                    + (call.settings["merge_mode"].map { ["merge_mode=\($0.text)"] } ?? [])
                lines.append("  \(call.name) (\(call.className)) <- \(call.inputs.joined(separator: ", "))" + (shapes.isEmpty ? "" : " => \(shapes)")
                    + (settings.isEmpty ? "" : "; " + settings.joined(separator: " ")))
            }
        } else if let note = report.graphNote {
            lines.append(note)
        }
        if !report.assumptions.isEmpty {
            lines.append("this file stores weights only; state what differs from the defaults assumed:")
            lines += report.assumptions.map { "  " + $0.text }
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ config: [String: ReportValue]) -> String {
        let order = ["activation", "recurrent_activation", "use_bias", "reset_after", "return_sequences", "return_state",
                     "go_backwards", "zero_output_for_mask", "stateful", "time_major", "merge_mode", "mask_value"]
        return order.compactMap { key in config[key].map { "\(key)=\($0.text)" } }.joined(separator: " ")
    }
}
