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
            for (node, entry) in layer.inboundNodes.enumerated() {
                calls.append(Call(layer: layer, node: node, inputs: Self.nodeInputs(entry)))
            }
        }
        outputs = outputRefs
    }

    /// The calls the outputs' values depend on, in the config's order. A Keras 3 functional config also
    /// records the operations that computed masks (`NotEqual`, `Any`, `LogicalOr`, `ExpandDims`, `OnesLike`,
    /// a `Concatenate` of booleans, ...), handed to layers as `mask=` arguments; GRUModel carries masks
    /// along by the same rules, so those calls are left out.
    var neededCalls: [Call] {
        var made: [String: Int] = [:]
        for (i, call) in calls.enumerated() { made["\(call.layer.name)#\(call.node)"] = i }
        var needed = Set<Int>(), pending = outputs
        while let ref = pending.popLast() {
            guard let i = made["\(ref.layer)#\(ref.node)"], needed.insert(i).inserted else { continue }
            pending += calls[i].inputs
        }
        return calls.indices.filter(needed.contains).map { calls[$0] }
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

    /// Whether the file states a model that gru-run can run whole (it has a config).
    public var hasGraph: Bool { modelConfig != nil }

    /// Whether `model.predict` is more than one GRU's call: the model has layers besides inputs, Masking
    /// and GRUs, or several inputs (an `initial_state` from an input of its own). A model without a GRU is
    /// not gru-run's to run (it is refused as holding no GRU layer).
    public var needsGraph: Bool {
        hasGraph && layers.contains(where: \.isRecurrent)
            && (layers.contains(where: \.isOther) || layerConfigs.filter { $0.className == "InputLayer" }.count > 1)
    }

    /// The model as a graph of layers computing in `S`. `recurrent` builds each GRU or Bidirectional layer
    /// (the command line merges its flags there).
    public func graph<S: GRUScalar>(_ type: S.Type, recurrent: @escaping (KerasLayer) throws -> RecurrentStage<S>) throws -> ModelGraph<S> {
        guard let root = modelConfig else {
            throw GRUIOError.keras(path: path, "holds weights only: without a model config it defines no whole model; run one layer with --layer NAME")
        }
        let connectivity = try KerasConnectivity(root: root, layers: layerConfigs, path: path)
        let builder = KerasLayerBuilder<S>(model: self, recurrent: recurrent)
        var index: [KerasConnectivity.Reference: ModelGraph<S>.Source] = [:]
        for (k, input) in connectivity.inputs.enumerated() {
            index[.init(layer: input.name, node: 0, tensor: 0)] = .input(k)
        }
        // Calls in an order where each comes after the calls it reads from.
        var pending = connectivity.neededCalls
        var calls: [ModelGraph<S>.Call] = []
        var built: [String: any ModelLayer<S>] = [:]
        while !pending.isEmpty {
            guard let next = pending.firstIndex(where: { call in call.inputs.allSatisfy { index[$0] != nil } }) else {
                let names = pending.map(\.layer.name).joined(separator: ", ")
                throw GRUIOError.keras(path: path, "the model's layers \(names) read tensors that no layer makes")
            }
            let call = pending.remove(at: next)
            let sources = call.inputs.map { index[$0]! }
            let layer = try built[call.layer.name] ?? builder.layer(call.layer)
            built[call.layer.name] = layer
            calls.append(.init(name: call.layer.name, className: builder.className(call.layer), layer: layer, inputs: sources))
            for tensor in 0..<8 {
                index[.init(layer: call.layer.name, node: call.node, tensor: tensor)] = .node(calls.count - 1, output: tensor)
            }
        }
        let outputs = try connectivity.outputs.map { ref -> ModelGraph<S>.Source in
            guard let source = index[ref] else { throw GRUIOError.keras(path: path, "the model's output '\(ref.layer)' is made by no layer") }
            return source
        }
        return ModelGraph(inputs: connectivity.inputs.map { .init(name: $0.name, shape: $0.shape) }, calls: calls, outputs: outputs)
    }
}
