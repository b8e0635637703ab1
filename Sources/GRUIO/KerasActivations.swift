import GRUCore
import GRUModel

/// Activation names as layer configs hold them, and what each means where it is named.
extension GRUConfigReader {
    /// keras.activations names that work over an axis (the last: Keras calls them with axis=-1).
    static let axisActivations: [String: (Int) -> LayerActivation] = [
        "softmax": { .softmax(axis: $0) }, "log_softmax": { .logSoftmax(axis: $0) },
        "glu": { .glu(axis: $0) }, "sparsemax": { .sparsemax(axis: $0) },
    ]

    /// The name at `key`: a string, `null` (linear), or a serialized function object such as Keras 3's
    /// `{"module": "keras.activations", "class_name": "function", "config": "celu"}`; nil when absent.
    func activationName(_ key: String) throws -> String? {
        guard let value = layer.config[key] else { return nil }
        let name: String?
        switch value {
        case .null: name = "linear"
        case .string(let text): name = text
        case .object where Self.isLayerObject(value):
            // A layer given as the activation (`Dense(activation=LeakyReLU(0.1))`): its config's name is the
            // layer's own, not an activation's. Dense, Conv and Activation layers read it in `layerActivation`.
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layer.name)) uses a \(Printable.name(value["class_name"]?.string ?? "layer")) layer as its \(key), which works only as a layer's own activation, not as a GRU's")
        case .object:
            name = value["config"]?.string ?? value["config"]?["name"]?.string ?? value["class_name"]?.string
        default: name = nil
        }
        guard let name else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layer.name)) has \(key) = \(value.brief), expected an activation name")
        }
        return name
    }

    /// An element-wise activation: what a GRU's activation and recurrent_activation must be.
    func activation(_ key: String) throws -> Activation? {
        guard let name = try activationName(key) else { return nil }
        if let activation = Activation(kerasName: name) { return activation }
        throw refusal(key, name, Self.axisActivations[name] != nil
                      ? "which works over an axis, not element by element, so it cannot be a GRU's \(key)" : nil)
    }

    /// An activation of a Dense, Conv or Activation layer: element-wise, or over the last axis.
    func layerActivation(_ key: String, hardSigmoid: HardSigmoidDefinition) throws -> LayerActivation {
        if let value = layer.config[key], Self.isLayerObject(value) { return try layerObject(value, key, hardSigmoid: hardSigmoid) }
        guard let name = try activationName(key) else { return .linear }
        if let overAxis = Self.axisActivations[name] { return overAxis(-1) }
        if let activation = Activation(kerasName: name) { return .elementwise(activation, hardSigmoid) }
        throw refusal(key, name, nil)
    }

    /// A serialized layer rather than a function: tf-keras and Keras 3 write `{"module": "keras.layers",
    /// "class_name": "LeakyReLU", "config": {"name": ..., "alpha" | "negative_slope": ...}}`.
    static func isLayerObject(_ value: JSONValue) -> Bool {
        guard case .object = value, let className = value["class_name"]?.string else { return false }
        return className != "function" && value["module"]?.string != "keras.activations" && value["config"]?.object != nil
    }

    /// The activation an activation layer computes, read from its config as the layer itself would be.
    private func layerObject(_ value: JSONValue, _ key: String, hardSigmoid: HardSigmoidDefinition) throws -> LayerActivation {
        let className = value["class_name"]?.string ?? ""
        let inner = GRUConfigReader(path: path, layer: KerasLayerConfig(className: className, name: layer.name, config: value["config"]?.object ?? [:]))
        let made: LayerActivation
        switch className {
        case "LeakyReLU": made = .leakyRelu(alpha: try inner.double("negative_slope") ?? inner.double("alpha") ?? 0.3)
        case "ELU": made = .elu(alpha: try inner.double("alpha") ?? 1)
        case "ReLU": made = .relu(maxValue: try inner.double("max_value"), negativeSlope: try inner.double("negative_slope") ?? 0,
                                  threshold: try inner.double("threshold") ?? 0)
        case "Activation": made = try inner.layerActivation("activation", hardSigmoid: hardSigmoid)
        default:
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layer.name)) uses a \(Printable.name(className)) layer as its \(key), which gru-run does not run as an activation")
        }
        try made.check(layer: layer.name)
        return made
    }

    private func refusal(_ key: String, _ name: String, _ reason: String?) -> GRUIOError {
        let why = reason ?? (name == "threshold"
            ? "which Keras cannot call by name (it has no defaults for its threshold and default_value)"
            : "which gru-run does not implement; it implements \((Activation.kerasNames + Self.axisActivations.keys.sorted()).joined(separator: ", "))")
        return .keras(path: path, "layer \(Printable.quoted(layer.name)) uses \(key) \(Printable.quoted(name)), \(why)")
    }
}
