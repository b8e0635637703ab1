/// A layer's weights in a SavedModel's checkpoint, found through the object graphs: the layer's route of
/// `layer-N` names from the root, then every variable the layer tracks below it (a GRU's `cell/kernel`,
/// a Bidirectional's `forward_layer/cell/...`), in the order the checkpoint's object graph lists them,
/// trainable ones first: Keras's `layer.weights` order, the order an .h5 file stores.
struct SavedModelWeights: LayerWeightSource {
    let folder: String
    let saved: [ObjectGraphNode]
    let checkpoint: [ObjectGraphNode]
    let bundle: TensorBundle
    let routes: [String: [String]]

    /// More variables under one layer than any Keras layer tracks.
    static let mostVariables = 4096

    private func follow(_ route: [String], in nodes: [ObjectGraphNode], from start: Int = 0) -> Int? {
        var id = start
        for name in route {
            guard let next = nodes[id].child(name) else { return nil }
            id = next
        }
        return id
    }

    /// The layer's node in the checkpoint graph and in saved_model.pb's graph; nil when the object graph
    /// has no object by that name (a layer without variables may have none in the checkpoint).
    private func nodes(of layer: KerasLayerConfig, extra: [String] = []) throws -> (checkpoint: Int, saved: Int?)? {
        guard let route = routes[layer.name] else { return nil }
        guard let id = follow(route + extra, in: checkpoint) else { return nil }
        return (id, follow(route + extra, in: saved))
    }

    /// Every variable below `start`, depth first in the graph's order, each once; trainable ones first.
    /// `integers`: integer variables are read too (a layer other than a recurrent one may keep a count).
    private func variables(from start: (checkpoint: Int, saved: Int?), layer: String, integers: Bool = false) throws -> [HDF5FloatArray] {
        var found: [(key: String, trainable: Bool)] = []
        var seen: Set<Int> = []
        func visit(_ id: Int, saved: Int?, depth: Int) throws {
            guard depth <= 32, seen.insert(id).inserted else { return }
            let node = checkpoint[id]
            if let key = node.checkpointKey {
                guard found.count < Self.mostVariables else {
                    throw GRUIOError.keras(path: folder, "layer \(Printable.quoted(layer)) tracks more than \(Self.mostVariables) variables")
                }
                found.append((key, saved.map { self.saved[$0].isVariable ? self.saved[$0].trainable : true } ?? true))
            }
            for child in node.children where !child.name.hasPrefix("layer-") && !child.name.hasPrefix("layer_with_weights-") {
                try visit(child.id, saved: saved.flatMap { self.saved[$0].child(child.name) }, depth: depth + 1)
            }
        }
        try visit(start.checkpoint, saved: start.saved, depth: 0)
        let ordered = found.filter(\.trainable) + found.filter { !$0.trainable }
        return try ordered.map { try bundle.floatArray($0.key, path: folder, integers: integers) }
    }

    private func required(_ layer: KerasLayerConfig, extra: [String] = []) throws -> (checkpoint: Int, saved: Int?) {
        guard let found = try nodes(of: layer, extra: extra) else {
            let what = extra.isEmpty ? "" : " (its \(extra.joined(separator: "/")))"
            throw GRUIOError.keras(path: folder, "layer \(Printable.quoted(layer.name))\(what) of the model config has no object in the SavedModel's object graph")
        }
        return found
    }

    func gruWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        try variables(from: try required(layer), layer: layer.name)
    }

    func bidirectionalWeights(layer: KerasLayerConfig, path: String) throws -> ([HDF5FloatArray], [HDF5FloatArray]) {
        (try variables(from: try required(layer, extra: ["forward_layer"]), layer: layer.name),
         try variables(from: try required(layer, extra: ["backward_layer"]), layer: layer.name))
    }

    func layerWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        guard let found = try nodes(of: layer) else {
            // An InputLayer of a Sequential config is no tracked layer; a layer with variables always is.
            if routes[layer.name] == nil && layer.className != "InputLayer" {
                throw GRUIOError.keras(path: folder, "layer \(Printable.quoted(layer.name)) of the model config has no object in the SavedModel's object graph")
            }
            return []
        }
        return try variables(from: found, layer: layer.name, integers: true)
    }
}
