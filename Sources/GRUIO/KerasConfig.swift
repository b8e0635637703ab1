import GRUCore

/// One layer of a Keras model config: `{"class_name": ..., "config": {...}}`.
public struct KerasLayerConfig: Sendable {
    public var className: String
    public var name: String
    public var config: [String: JSONValue]
    /// A functional model's record of the layer's calls (Keras 2 lists, Keras 3 objects).
    public var inboundNodes: [JSONValue] = []
    /// Where the file keeps the layer's weights; nil for a layer read from inside another layer's config.
    var place: KerasWeightPlace? = nil

    /// A GRU, CuDNNGRU or Bidirectional(GRU): the layers read as `KerasLayer.gru` / `.bidirectional`.
    public var isRecurrent: Bool {
        if className == "Bidirectional" { return ["GRU", "CuDNNGRU"].contains(config["layer"]?["class_name"]?.string ?? "GRU") }
        return ["GRU", "CuDNNGRU"].contains(className)
    }

    /// A model used as a layer of another (`Functional`, `Model`, `Sequential` with a layer list).
    var isNestedModel: Bool {
        ["Functional", "Model", "Sequential"].contains(className) && config["layers"]?.array != nil
    }

    /// The layer's entry as a model config root: how a nested model's own layers are read.
    var asRoot: JSONValue { .object(["class_name": .string(className), "config": .object(config)]) }
}

/// Where a layer's weights sit in a file, worked out from the layer's place in the model.
struct KerasWeightPlace: Sendable {
    /// tf-keras / Keras 2 HDF5: the group under the weights root (the layer's own name; inside a nested
    /// model, the outermost nested model's name).
    var group: String
    /// Inside a nested model: the layer's own name, which starts its weights' names in `group`.
    var prefix: String?
    /// Keras 3: `/layers/<class>[_N]`, each name counted by class within its model, nested models' layers
    /// under `/layers/<model class>[_N]/layers/...`.
    var keras3: String
}

/// Reads the layer list out of a `model_config` JSON document.
enum KerasModelConfig {
    /// Nesting deeper than this is refused: real models nest a model or two.
    static let deepestNesting = 16

    /// The layers of a Sequential or Functional model, in the order Keras lists them. A model used as a layer
    /// is replaced by its own layers (its InputLayers left out), named `model/layer`.
    static func layers(of root: JSONValue, path: String) throws -> [KerasLayerConfig] {
        var layers: [KerasLayerConfig] = []
        try flatten(root, prefix: "", group: nil, keras3: "/layers", depth: 0, path: path, into: &layers)
        return layers
    }

    /// One model's own entries, names as the config states them.
    static func entries(of root: JSONValue, path: String) throws -> [KerasLayerConfig] {
        guard let className = root["class_name"]?.string else {
            throw GRUIOError.keras(path: path, "model_config has no class_name")
        }
        let config = root["config"]
        // Keras 2.0-2.1 wrote a Sequential's config as the bare layer list.
        let entries = config?.array ?? config?["layers"]?.array
        guard let entries else {
            throw GRUIOError.keras(path: path, "model_config of \(className) has no layer list")
        }
        let layers = try entries.enumerated().map { index, entry in
            guard let layerClass = entry["class_name"]?.string, let layerConfig = entry["config"]?.object else {
                throw GRUIOError.keras(path: path, "model_config layer \(index) lacks class_name or config")
            }
            let name = layerConfig["name"]?.string ?? entry["name"]?.string ?? "\(layerClass.lowercased())_\(index)"
            return KerasLayerConfig(className: layerClass, name: name, config: layerConfig,
                                    inboundNodes: entry["inbound_nodes"]?.array ?? [])
        }
        try checkDeclaredNumbers(root: root, layers: layers, path: path)
        return layers
    }

    private static func flatten(_ root: JSONValue, prefix: String, group: String?, keras3: String, depth: Int,
                                path: String, into layers: inout [KerasLayerConfig]) throws {
        guard depth <= deepestNesting else {
            throw GRUIOError.keras(path: path, "nests models more than \(deepestNesting) deep (at \(Printable.quoted(String(prefix.dropLast()))))")
        }
        var counts: [String: Int] = [:]
        for var layer in try entries(of: root, path: path) {
            let snake = KerasReader.snakeCase(layer.className)
            let occurrence = counts[snake, default: 0]
            counts[snake] = occurrence + 1
            let place = KerasWeightPlace(group: group ?? layer.name, prefix: group == nil ? nil : layer.name,
                                         keras3: keras3 + "/" + snake + (occurrence == 0 ? "" : "_\(occurrence)"))
            if layer.isNestedModel {
                try flatten(layer.asRoot, prefix: prefix + layer.name + "/", group: place.group, keras3: place.keras3 + "/layers",
                            depth: depth + 1, path: path, into: &layers)
                continue
            }
            if depth > 0 && layer.className == "InputLayer" { continue }
            layer.name = prefix + layer.name
            layer.place = place
            layers.append(layer)
        }
    }

    /// The timesteps the model's input fixes: the middle of a `(batch, timesteps, features)` shape that the
    /// first layer states (`batch_input_shape` in Keras 2 and tf-keras, `batch_shape` in Keras 3), when it
    /// is a number rather than None.
    static func inputTimesteps(of layers: [KerasLayerConfig]) -> Int? {
        guard let first = layers.first,
              let shape = (first.config["batch_input_shape"] ?? first.config["batch_shape"])?.array, shape.count == 3,
              let steps = shape[1].wholeNumber, steps >= 1 else { return nil }
        return steps
    }
}

/// Reading GRU arguments out of a layer config, one precise error per wrong value.
struct GRUConfigReader {
    let path: String
    let layer: KerasLayerConfig

    private func fail(_ key: String, _ value: JSONValue, _ expected: String) -> GRUIOError {
        .keras(path: path, "layer \(Printable.quoted(layer.name)) has \(key) = \(value.brief), expected \(expected)")
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = layer.config[key], value != .null else { return nil }
        guard let flag = value.bool else { throw fail(key, value, "true or false") }
        return flag
    }

    func int(_ key: String) throws -> Int? {
        guard let value = layer.config[key], value != .null else { return nil }
        guard let number = value.wholeNumber else { throw fail(key, value, "an integer") }
        return number
    }

    func double(_ key: String) throws -> Double? {
        guard let value = layer.config[key], value != .null else { return nil }
        guard let number = value.number else { throw fail(key, value, "a number") }
        return number
    }

    /// Fills `config` with every value the layer config states; absent keys keep `config`'s value.
    func apply(to config: inout GRUConfig) throws {
        // Keras 1 spelled units output_dim and recurrent_activation inner_activation.
        if let units = try int("units") ?? int("output_dim") { config.units = units }
        if let value = try activation("activation") { config.activation = value }
        if let value = try activation("recurrent_activation") ?? activation("inner_activation") { config.recurrentActivation = value }
        if let value = try bool("use_bias") { config.useBias = value }
        if let value = try bool("reset_after") { config.resetAfter = value }
        if let value = try bool("return_sequences") { config.returnSequences = value }
        if let value = try bool("return_state") { config.returnState = value }
        if let value = try bool("go_backwards") { config.goBackwards = value }
        // An argument of every Keras RNN (tf-keras takes it through **kwargs and writes it only when True).
        if let value = try bool("zero_output_for_mask") { config.zeroOutputForMask = value }
        if let value = try bool("stateful") { config.stateful = value }
        if let value = try bool("time_major") { config.timeMajor = value }
        if let value = try bool("unroll") { config.unroll = value }
        if let value = try int("implementation") { config.implementation = value == 0 ? 1 : value }  // Keras maps the retired 0 to 1
        if let value = try double("dropout") { config.dropout = value }
        if let value = try double("recurrent_dropout") { config.recurrentDropout = value }
    }
}
