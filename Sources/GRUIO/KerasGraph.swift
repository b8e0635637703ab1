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

    init(root: JSONValue, layers: [KerasLayerConfig], path: String) throws {
        let className = root["class_name"]?.string ?? ""
        let config = root["config"]
        let isSequential = className == "Sequential" || config?.array != nil
        if isSequential {
            let first = layers.first
            var shape: [Int?]?
            // A wrapper (TimeDistributed, Bidirectional) may carry the shape in its inner layer's config.
            if let first { shape = Self.declaredShape(first.config) ?? first.config["layer"]?["config"]?.object.flatMap(Self.declaredShape) }
            let inputName = first?.className == "InputLayer" ? first!.name : "input"
            inputs = [(inputName, shape)]
            var previous = Reference(layer: inputName, node: 0, tensor: 0)
            calls = []
            for layer in layers where layer.className != "InputLayer" {
                calls.append(Call(layer: layer, node: 0, inputs: [previous]))
                previous = Reference(layer: layer.name, node: 0, tensor: 0)
            }
            outputs = [previous]
            return
        }
        guard let inputList = config?["input_layers"], let outputList = config?["output_layers"] else {
            throw GRUIOError.keras(path: path, "model_config of \(className) names no input_layers or output_layers")
        }
        let inputRefs = Self.references(inputList), outputRefs = Self.references(outputList)
        guard !inputRefs.isEmpty, !outputRefs.isEmpty else {
            throw GRUIOError.keras(path: path, "model_config of \(className) has unreadable input_layers or output_layers")
        }
        inputs = inputRefs.map { ref in
            (ref.layer, layers.first { $0.name == ref.layer }.flatMap { Self.declaredShape($0.config) })
        }
        calls = []
        for layer in layers where layer.className != "InputLayer" {
            let first = Self.skipsFirstNode(layer) ? 1 : 0
            for (node, entry) in layer.inboundNodes.enumerated() {
                calls.append(Call(layer: layer, node: first + node, inputs: Self.nodeInputs(entry)))
            }
        }
        outputs = outputRefs
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
    static func references(_ value: JSONValue) -> [Reference] {
        guard let list = value.array else { return [] }
        if let single = reference(value) { return [single] }
        return list.compactMap(reference)
    }

    static func reference(_ value: JSONValue) -> Reference? {
        guard let list = value.array, list.count >= 3, let name = list[0].string,
              let node = list[1].number, let tensor = list[2].number else { return nil }
        return Reference(layer: name, node: Int(node), tensor: Int(tensor))
    }

    /// The tensors one call reads, in order: Keras 2 `[[name, node, tensor, kwargs], ...]` (an
    /// `initial_state` among the kwargs follows), or Keras 3 `{"args": [...], "kwargs": {...}}` with each
    /// tensor's `keras_history`.
    static func nodeInputs(_ entry: JSONValue) -> [Reference] {
        if let args = entry["args"] {
            var found: [Reference] = []
            collectHistories(args, into: &found)
            if let state = entry["kwargs"]?["initial_state"] { collectHistories(state, into: &found) }
            return found
        }
        var found: [Reference] = []
        for item in entry.array ?? [] {
            if let ref = reference(item) { found.append(ref) }
            if let kwargs = item.array?.last, let state = kwargs["initial_state"] {
                found += references(state)
            }
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

extension KerasModel {
    /// Keeps what a whole-model run needs: the config, every layer's config, the other layers' weights.
    mutating func attach(config root: JSONValue, layers: [KerasLayerConfig], weights: LayerWeightSource) throws {
        modelConfig = root
        layerConfigs = layers
        var seen: [String: Int] = [:]
        for layer in layers {
            let snake = KerasReader.snakeCase(layer.className)
            let occurrence = seen[snake, default: 0]
            seen[snake] = occurrence + 1
            switch layer.className {
            case "InputLayer", "GRU", "CuDNNGRU", "Bidirectional", "Masking": continue
            default:
                otherWeights[layer.name] = try weights.layerWeights(layer: layer, occurrence: occurrence, path: path)
            }
        }
    }
}
