import GRUCore

/// The numbers of a model config that are not any one layer's arguments: the input shapes the input layers
/// declare and the `[layer, node, tensor]` references that connect the calls. Both become `Int`s when the
/// graph is built, so they are checked when the config is read: a NaN or 1e20 there would end the process.
extension KerasModelConfig {
    /// Largest size or index accepted: well inside `Int`, far beyond any real model.
    static let largestCount = 1e9

    static func checkDeclaredNumbers(root: JSONValue, layers: [KerasLayerConfig], path: String) throws {
        for layer in layers {
            // A wrapper (TimeDistributed, Bidirectional) may carry the shape in its inner layer's config.
            for config in [layer.config, layer.config["layer"]?["config"]?.object].compactMap({ $0 }) {
                for key in ["batch_input_shape", "batch_shape"] {
                    try checkShape(config[key], key: key, layer: layer.name, path: path)
                }
            }
            for node in layer.inboundNodes { try checkReferences(node, key: "inbound_nodes", layer: layer.name, path: path) }
        }
        for key in ["input_layers", "output_layers"] {
            if let list = root["config"]?[key] { try checkReferences(list, key: key, layer: nil, path: path) }
        }
    }

    /// `[batch, d1, d2, ...]`: each size null (any) or a whole number from 1 up.
    private static func checkShape(_ value: JSONValue?, key: String, layer: String, path: String) throws {
        guard let value, value != .null else { return }
        func fail(_ what: String) -> GRUIOError {
            .keras(path: path, "layer \(Printable.quoted(layer)) has \(key) \(what)")
        }
        guard let list = value.array, !list.isEmpty else { throw fail("\(value.brief), not a list of sizes") }
        for size in list where size != .null {
            guard let n = size.number, n == n.rounded(), n >= 1, n < largestCount else {
                throw fail("holding \(size.brief), not a size from 1 to \(Int(largestCount) - 1) or null")
            }
        }
    }

    /// Every `[name, node, tensor, ...]` list inside `value` (Keras 2 inbound lists, Keras 3 keras_history):
    /// its node and tensor are whole numbers from 0 up.
    private static func checkReferences(_ value: JSONValue, key: String, layer: String?, path: String) throws {
        switch value {
        case .array(let list):
            if list.count >= 3, list[0].string != nil, list[1].number != nil || list[2].number != nil {
                for index in list[1...2] {
                    guard let n = index.number, n == n.rounded(), n >= 0, n < largestCount else {
                        let whose = layer.map { "layer \(Printable.quoted($0)) has \(key)" } ?? "the model's \(key) hold"
                        throw GRUIOError.keras(path: path, "\(whose) a reference to \(Printable.quoted(list[0].string!)) with index \(index.brief), not a whole number from 0")
                    }
                }
            }
            for item in list { try checkReferences(item, key: key, layer: layer, path: path) }
        case .object(let members):
            for (_, item) in members { try checkReferences(item, key: key, layer: layer, path: path) }
        default: return
        }
    }
}
