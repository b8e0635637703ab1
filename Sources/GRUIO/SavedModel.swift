import Foundation

/// TensorFlow SavedModel folders written by tf.keras 2.x (TF 2.0-2.15) and tf-keras with
/// `model.save("dir")` / `save_format="tf"`, read without TensorFlow:
///
///     dir/saved_model.pb        SavedModel: the object graph (one SavedObject per layer, variable, ...)
///     dir/keras_metadata.pb     TF >= 2.5: each Keras object's metadata JSON; the root's holds model_config
///                               (TF 2.0-2.4 kept the same JSON in saved_model.pb's SavedUserObject.metadata)
///     dir/variables/variables.index, .data-NNNNN-of-NNNNN    the checkpoint (TensorBundle)
///
/// The config comes from the metadata; each layer is found in the object graph by the names its model's
/// `layer-N` children carry, and its variables through the checkpoint's own object graph, in the order the
/// layer tracks them (trainable ones first, as Keras lists a layer's weights). An IntegerLookup's vocabulary,
/// which tf-keras leaves out of a SavedModel's config, comes from its lookup table (SavedModelVocabulary).
enum SavedModelReader {
    static let maximumGraphBytes = Int(Int32.max)
    static let maximumMetadataBytes = 1 << 30
    static let objectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

    /// The SavedModel folder `path` names (a folder holding saved_model.pb, or that file), or nil.
    static func folder(of path: String) -> String? {
        var info = stat()
        guard path != "-", !path.isEmpty, stat(path, &info) == 0 else { return nil }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            var folder = path
            while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
            var graph = stat()
            guard stat((folder == "/" ? "" : folder) + "/saved_model.pb", &graph) == 0 else { return nil }
            return folder
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.last == "saved_model.pb" else { return nil }
        let folder = parts.dropLast().joined(separator: "/")
        return folder.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : folder
    }

    static func load(folder: String) throws -> KerasModel {
        let graphPath = folder + "/saved_model.pb"
        let graphBytes = try TensorBundle.read(graphPath, limit: maximumGraphBytes, what: "object graph")
        let parsed: [ObjectGraphNode]?
        do {
            parsed = try SavedModelMessages.objectGraph(savedModel: graphBytes)
        } catch let failure as ProtobufWire.Failure {
            throw GRUIOError.keras(path: graphPath, "is damaged: it is not a readable SavedModel message (\(failure.what))")
        }
        guard var nodes = parsed, !nodes.isEmpty else { throw GRUIOError.savedModel(path: folder) }
        let metadataPath = folder + "/keras_metadata.pb"
        if FileManager.default.fileExists(atPath: metadataPath) {
            let bytes = try TensorBundle.read(metadataPath, limit: maximumMetadataBytes, what: "Keras metadata")
            do {
                for (id, node) in try SavedModelMessages.kerasMetadata(bytes) {
                    guard id < nodes.count, nodes[id].identifier == node.identifier else {
                        throw ProtobufWire.Failure(what: "its node \(id) (\(Printable.name(node.path))) is not the object saved_model.pb holds there")
                    }
                    nodes[id].metadata = node.metadata
                }
            } catch let failure as ProtobufWire.Failure {
                throw GRUIOError.keras(path: metadataPath, "is damaged: it is not a readable SavedMetadata message (\(failure.what))")
            }
        }
        guard nodes[0].identifier?.hasPrefix("_tf_keras_") == true, let rootText = nodes[0].metadata, !rootText.isEmpty else {
            throw GRUIOError.savedModel(path: folder)
        }
        let metadataFile = FileManager.default.fileExists(atPath: metadataPath) ? metadataPath : graphPath
        let root = try KerasReader.parseConfig(rootText, path: metadataFile, what: "the model's Keras metadata")
        let version = root["keras_version"]?.string
        let savedConfig = try config(of: root, path: metadataFile)
        let routes = try routes(nodes, path: metadataFile)
        let modelConfig: JSONValue
        do {
            modelConfig = try SavedModelVocabulary.filled(savedConfig, routes: routes, nodes: nodes, savedModel: graphBytes, path: graphPath)
        } catch let failure as ProtobufWire.Failure {
            throw GRUIOError.keras(path: graphPath, "is damaged: it is not a readable SavedModel message (\(failure.what))")
        }
        let layers = try KerasModelConfig.layers(of: modelConfig, path: folder)
        let bundle = try TensorBundle(prefix: folder + "/variables/variables")
        let checkpoint: [ObjectGraphNode]
        do {
            checkpoint = try SavedModelMessages.checkpointGraph(try bundle.scalarString(objectGraphKey))
        } catch let failure as ProtobufWire.Failure {
            throw GRUIOError.keras(path: bundle.indexPath, "is damaged: its object graph is not a readable TrackableObjectGraph (\(failure.what))")
        }
        guard !checkpoint.isEmpty else {
            throw GRUIOError.keras(path: bundle.indexPath, "has an empty object graph")
        }
        let source = SavedModelWeights(folder: folder, saved: nodes, checkpoint: checkpoint, bundle: bundle,
                                       routes: routes)
        return try KerasReader.readModel(config: modelConfig, layers: layers, weights: source, path: folder, kind: .savedModel, version: version)
    }

    /// The root's `model_config` (tf.keras writes it for every functional and Sequential model), its
    /// `__tuple__` objects turned into the lists an .h5 model_config holds.
    private static func config(of root: JSONValue, path: String) throws -> JSONValue {
        if let config = root["model_config"], config["class_name"] != nil, config["config"]?["layers"]?.array != nil {
            return untupled(config)
        }
        if let className = root["class_name"]?.string, let config = root["config"], config["layers"]?.array != nil {
            return untupled(.object(["class_name": .string(className), "config": config]))
        }
        let className = root["class_name"]?.string ?? "model"
        throw GRUIOError.keras(path: path, "holds a subclassed Keras model (class \(Printable.quoted(className))), whose layers and their connections no config records; gru-run runs functional and Sequential models: rebuild it as one and save that")
    }

    /// `{"class_name": "__tuple__", "items": [...]}` -> `[...]`, everywhere.
    static func untupled(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(untupled))
        case .object(let members):
            if members["class_name"]?.string == "__tuple__", let items = members["items"]?.array, members.count == 2 {
                return .array(items.map(untupled))
            }
            return .object(members.mapValues(untupled))
        default: return value
        }
    }

    /// Each layer's route of local names from the root (`layer-2`, `layer-1/layer-0`), by the name the
    /// config gives it (`encoder/gru` inside a nested model): the names come from each `layer-N` child's
    /// own metadata, never from shapes or positions.
    private static func routes(_ nodes: [ObjectGraphNode], path: String) throws -> [String: [String]] {
        var routes: [String: [String]] = [:]
        var walked: Set<Int> = []  // each model once: a damaged graph may loop or share
        func walk(_ id: Int, route: [String], prefix: String, depth: Int) throws {
            guard depth <= KerasModelConfig.deepestNesting, walked.insert(id).inserted else { return }
            for child in nodes[id].children where isLayerReference(child.name) {
                guard let text = nodes[child.id].metadata, !text.isEmpty,
                      let name = try KerasReader.parseConfig(text, path: path, what: "a layer's Keras metadata")["name"]?.string else { continue }
                let childRoute = route + [child.name]
                if routes[prefix + name] == nil { routes[prefix + name] = childRoute }
                if nodes[child.id].children.contains(where: { isLayerReference($0.name) }) {
                    try walk(child.id, route: childRoute, prefix: prefix + name + "/", depth: depth + 1)
                }
            }
        }
        try walk(0, route: [], prefix: "", depth: 0)
        return routes
    }

    private static func isLayerReference(_ name: String) -> Bool {
        name.hasPrefix("layer-") && name.dropFirst(6).allSatisfy(\.isASCIIDigit) && name.count > 6
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
