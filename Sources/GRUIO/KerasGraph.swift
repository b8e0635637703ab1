import GRUCore
import GRUModel

/// How a model's layers connect, read from its config: Sequential (a chain) or functional (each layer's
/// `inbound_nodes`, Keras 2 lists or Keras 3 objects).
struct KerasConnectivity {
    /// A tensor a call reads: output `tensor` of call `node` of layer `layer`.
    struct Reference: Hashable {
        var layer: String
        var node: Int
        var tensor: Int
    }

    struct Call {
        var layer: KerasLayerConfig
        var node: Int
        var inputs: [Reference]
        /// The call's other arguments (`use_causal_mask`, `return_attention_scores`, ...).
        var kwargs: [String: JSONValue] = [:]

        var key: CallKey { CallKey(layer: layer.name, node: node) }
    }

    /// A call of a layer: what a `Reference` names without its tensor.
    struct CallKey: Hashable {
        var layer: String
        var node: Int
    }

    var inputs: [(name: String, shape: [Int?]?)]
    var calls: [Call]
    var outputs: [Reference]
    /// What the first call of each model used as a layer gives: `--through` a nested model.
    var nestedOutputs: [String: [Reference]] = [:]

    /// Most calls a model may make, nested models' calls counted in each call of the model.
    static let mostCalls = 4_000_000

    /// `layers`: the flattened list `KerasModelConfig.layers(of:)` reads from `root`, weights' places included.
    init(root: JSONValue, layers: [KerasLayerConfig], path: String) throws {
        let byName = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var remaining = Self.mostCalls
        self = try Self(level: root, prefix: "", byName: byName, depth: 0, remaining: &remaining, path: path)
    }

    /// One model's calls, names prefixed with the nested models' names that hold it, and its own nested
    /// models replaced by their calls.
    private init(level root: JSONValue, prefix: String, byName: [String: KerasLayerConfig], depth: Int,
                 remaining: inout Int, path: String) throws {
        let entries = try KerasModelConfig.entries(of: root, path: path)
        func leaf(_ entry: KerasLayerConfig) -> KerasLayerConfig {
            if !entry.isNestedModel, let known = byName[prefix + entry.name] { return known }
            var renamed = entry
            renamed.name = prefix + entry.name
            return renamed
        }
        func named(_ ref: Reference) -> Reference { Reference(layer: prefix + ref.layer, node: ref.node, tensor: ref.tensor) }
        let className = root["class_name"]?.string ?? ""
        let config = root["config"]
        if className == "Sequential" || config?.array != nil {
            let first = entries.first
            var shape: [Int?]?
            // A wrapper (TimeDistributed, Bidirectional) may carry the shape in its inner layer's config.
            if let first { shape = Self.declaredShape(first.config) ?? first.config["layer"]?["config"]?.object.flatMap(Self.declaredShape) }
            let inputName = prefix + (first?.className == "InputLayer" ? first!.name : "input")
            inputs = [(inputName, shape)]
            var previous = Reference(layer: inputName, node: 0, tensor: 0)
            calls = []
            for layer in entries where layer.className != "InputLayer" {
                calls.append(Call(layer: leaf(layer), node: 0, inputs: [previous]))
                previous = Reference(layer: prefix + layer.name, node: 0, tensor: 0)
            }
            outputs = [previous]
        } else {
            guard let inputList = config?["input_layers"], let outputList = config?["output_layers"] else {
                throw GRUIOError.keras(path: path, "model_config of \(className) names no input_layers or output_layers")
            }
            let inputRefs = Self.references(inputList), outputRefs = Self.references(outputList)
            guard !inputRefs.isEmpty, !outputRefs.isEmpty else {
                throw GRUIOError.keras(path: path, "model_config of \(className) has unreadable input_layers or output_layers")
            }
            inputs = inputRefs.map { ref in
                (prefix + ref.layer, entries.first { $0.name == ref.layer }.flatMap { Self.declaredShape($0.config) })
            }
            calls = []
            for layer in entries where layer.className != "InputLayer" {
                let first = Self.skipsFirstNode(layer) ? 1 : 0
                for (node, entry) in layer.inboundNodes.enumerated() {
                    calls.append(Call(layer: leaf(layer), node: first + node, inputs: Self.nodeInputs(entry).map(named),
                                      kwargs: Self.nodeArguments(entry)))
                }
            }
            // Keras 3 numbers a nested functional model's calls from 1 in output_layers, from 0 in inbound nodes.
            let keras3Models = Set(entries.filter { $0.className == "Functional" && $0.inboundNodes.first?["args"] != nil }.map(\.name))
            outputs = outputRefs.map { ref in
                named(keras3Models.contains(ref.layer) ? Reference(layer: ref.layer, node: ref.node - 1, tensor: ref.tensor) : ref)
            }
        }
        remaining -= calls.count
        guard remaining >= 0 else {
            throw GRUIOError.keras(path: path, "makes more than \(Self.mostCalls) layer calls, nested models' calls counted each time the model is called")
        }
        try expandNested(byName: byName, depth: depth, remaining: &remaining, path: path)
    }

    /// Replaces each call of a nested model by that model's calls on the call's inputs, numbered apart for
    /// each call (the layers, and so their weights, stay shared), and every read of the nested model's
    /// outputs by a read of the tensors that make them.
    private mutating func expandNested(byName: [String: KerasLayerConfig], depth: Int, remaining: inout Int, path: String) throws {
        guard calls.contains(where: { $0.layer.isNestedModel }) else { return }
        var models: [String: KerasConnectivity] = [:], callsMade: [String: Int] = [:]
        var aliases: [CallKey: [Reference]] = [:]
        var expanded: [Call] = []
        for call in calls {
            guard call.layer.isNestedModel else {
                expanded.append(call)
                continue
            }
            let name = call.layer.name
            guard depth < KerasModelConfig.deepestNesting else {
                throw GRUIOError.keras(path: path, "nests models more than \(KerasModelConfig.deepestNesting) deep (at \(Printable.quoted(name)))")
            }
            let model = try models[name] ?? KerasConnectivity(level: call.layer.asRoot, prefix: name + "/", byName: byName,
                                                              depth: depth + 1, remaining: &remaining, path: path)
            models[name] = model
            let k = callsMade[name, default: 0]
            callsMade[name] = k + 1
            guard call.inputs.count == model.inputs.count else {
                throw GRUIOError.keras(path: path, "nested model \(Printable.quoted(name)) is called on \(call.inputs.count) tensor\(call.inputs.count == 1 ? "" : "s") but takes \(model.inputs.count)")
            }
            let stride = (model.calls.map(\.node).max() ?? 0) + 1
            let (offset, overflow) = k.multipliedReportingOverflow(by: stride)
            remaining -= k == 0 ? 0 : model.calls.count
            guard !overflow, offset < Int(KerasModelConfig.largestCount), remaining >= 0 else {
                throw GRUIOError.keras(path: path, "makes more than \(Self.mostCalls) layer calls, nested models' calls counted each time the model is called")
            }
            let inputNames = model.inputs.map(\.name)
            func placed(_ ref: Reference) -> Reference {
                if ref.node == 0, ref.tensor == 0, let i = inputNames.firstIndex(of: ref.layer) { return call.inputs[i] }
                return Reference(layer: ref.layer, node: ref.node + offset, tensor: ref.tensor)
            }
            for inner in model.calls {
                expanded.append(Call(layer: inner.layer, node: inner.node + offset, inputs: inner.inputs.map(placed), kwargs: inner.kwargs))
            }
            aliases[call.key] = model.outputs.map(placed)
            if k == 0 { nestedOutputs[name] = aliases[call.key] }
        }
        func resolved(_ ref: Reference) throws -> Reference {
            var ref = ref, hops = 0
            while let made = aliases[CallKey(layer: ref.layer, node: ref.node)] {
                guard ref.tensor < made.count else {
                    throw GRUIOError.keras(path: path, "a layer reads output \(ref.tensor) of nested model \(Printable.quoted(ref.layer)), which gives \(made.count)")
                }
                ref = made[ref.tensor]
                hops += 1
                guard hops <= aliases.count else {
                    throw GRUIOError.keras(path: path, "nested model \(Printable.quoted(ref.layer)) reads its own output")
                }
            }
            return ref
        }
        calls = try expanded.map { call in
            var call = call
            call.inputs = try call.inputs.map(resolved)
            return call
        }
        outputs = try outputs.map(resolved)
        nestedOutputs = try nestedOutputs.mapValues { try $0.map(resolved) }
    }

    /// The calls the outputs' values depend on, in the config's order. A Keras 3 functional config also
    /// records the operations that computed masks (`NotEqual`, `Any`, `LogicalOr`, `ExpandDims`, `OnesLike`,
    /// a `Concatenate` of booleans, ...), handed to layers as `mask=` arguments; GRUModel carries masks
    /// along by the same rules, so those calls are left out.
    var neededCalls: [Call] {
        var made: [CallKey: Int] = [:]
        for (i, call) in calls.enumerated() { made[call.key] = i }
        var needed = Set<Int>(), pending = outputs
        while let ref = pending.popLast() {
            guard let i = made[CallKey(layer: ref.layer, node: ref.node)], needed.insert(i).inserted else { continue }
            pending += calls[i].inputs
        }
        return calls.indices.filter(needed.contains).map { calls[$0] }
    }

    /// tf-keras numbers a nested model's calls from 1: its node 0 is the one that built it from its own Input,
    /// which the config leaves out (`_should_skip_first_node` in tf_keras/src/engine/functional.py). Keras 3
    /// numbers every layer's calls from 0.
    static func skipsFirstNode(_ layer: KerasLayerConfig) -> Bool {
        guard layer.inboundNodes.first?.array != nil, let inner = layer.config["layers"]?.array else { return false }
        switch layer.className {
        case "Functional", "Model": return true
        case "Sequential": return inner.first?["class_name"]?.string == "InputLayer"
        default: return false
        }
    }

    /// The shape an InputLayer (or a first layer) declares, without the batch axis.
    static func declaredShape(_ config: [String: JSONValue]) -> [Int?]? {
        guard let list = (config["batch_input_shape"] ?? config["batch_shape"])?.array, !list.isEmpty else { return nil }
        return list.dropFirst().map { $0.number.map { Int($0) } }
    }

    /// `[name, node, tensor]` triples, one or a list of them.
    /// A reference, or a list of them nested as the model's outputs are (`[out, h, [h2, c2]]` for a stack of
    /// cells' states): flattened in order, as Keras's `model.outputs` is.
    static func references(_ value: JSONValue) -> [Reference] {
        if let single = reference(value) { return [single] }
        guard let list = value.array else { return [] }
        return list.flatMap(references)
    }

    static func reference(_ value: JSONValue) -> Reference? {
        guard let list = value.array, list.count >= 3, let name = list[0].string,
              let node = list[1].number, let tensor = list[2].number else { return nil }
        return Reference(layer: name, node: Int(node), tensor: Int(tensor))
    }

    /// Tensors a call may take as keyword arguments, in the order its layer takes them: MultiHeadAttention's
    /// `query`, `value` and `key`, a recurrent layer's `initial_state`.
    static let tensorArguments = ["query", "value", "key", "initial_state"]

    /// The tensors one call reads, in order: Keras 2 `[[name, node, tensor, kwargs], ...]` (tensors among the
    /// kwargs follow), or Keras 3 `{"args": [...], "kwargs": {...}}` with each tensor's `keras_history`.
    static func nodeInputs(_ entry: JSONValue) -> [Reference] {
        if let args = entry["args"] {
            var found: [Reference] = []
            collectHistories(args, into: &found)
            for key in tensorArguments { if let value = entry["kwargs"]?[key] { collectHistories(value, into: &found) } }
            return found
        }
        var found: [Reference] = []
        for item in entry.array ?? [] {
            if let ref = reference(item) { found.append(ref) }
            if let kwargs = item.array?.last, kwargs.object != nil {
                for key in tensorArguments { if let value = kwargs[key] { found += references(value) } }
            }
        }
        return found
    }

    /// The call's keyword arguments: Keras 3's `kwargs`; Keras 2's dict after each tensor (the same for all).
    static func nodeArguments(_ entry: JSONValue) -> [String: JSONValue] {
        if entry["args"] != nil { return entry["kwargs"]?.object ?? [:] }
        var found: [String: JSONValue] = [:]
        for item in entry.array ?? [] {
            if let list = item.array, list.count >= 4, let kwargs = list.last?.object { found.merge(kwargs) { first, _ in first } }
        }
        return found
    }

    private static func collectHistories(_ value: JSONValue, into found: inout [Reference]) {
        if value["class_name"]?.string == "__keras_tensor__", let history = value["config"]?["keras_history"], let ref = reference(history) {
            found.append(ref)
        } else if let list = value.array {
            for item in list { collectHistories(item, into: &found) }
        }
    }
}
