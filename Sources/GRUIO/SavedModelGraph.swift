/// The messages of a SavedModel that gru-run reads, decoded with `ProtobufWire` (field numbers from
/// `tensorflow/core/protobuf/{saved_model,meta_graph,saved_object_graph,trackable_object_graph}.proto`
/// and tf-keras's `protobuf/saved_metadata.proto`).
struct ObjectGraphNode {
    /// `ObjectReference`s: (local_name 2, node_id 1), in the order they were written.
    var children: [(name: String, id: Int)] = []
    /// SavedUserObject.identifier (`_tf_keras_layer`, `_tf_keras_network`, ...), when the node is one.
    var identifier: String?
    /// SavedUserObject.metadata: the Keras metadata JSON of TF 2.0-2.4 (empty when keras_metadata.pb has it).
    var metadata: String?
    var isVariable = false
    /// SavedVariable.trainable.
    var trainable = true
    /// TrackableObject.attributes (checkpoint graph): the checkpoint key of `VARIABLE_VALUE`.
    var checkpointKey: String?
    /// SavedFunction.concrete_functions: the names of a tf.function's traces (a lookup table's `_initialize`).
    var concreteFunctions: [String] = []
    /// SavedConstant.operation: the Const node of the graph a captured constant is.
    var constantOperation: String?

    func child(_ name: String) -> Int? { children.first { $0.name == name }?.id }
}

enum SavedModelMessages {
    /// Nodes beyond this are no Keras model's.
    static let mostNodes = 10_000_000

    /// SavedModel (meta_graphs 2) -> the first MetaGraphDef.
    static func metaGraph(savedModel bytes: [UInt8]) throws -> ArraySlice<UInt8>? {
        var metaGraph: ArraySlice<UInt8>?
        try ProtobufWire.forEachField(bytes[...]) { field in
            if field.number == 2, metaGraph == nil { metaGraph = field.bytes }
        }
        return metaGraph
    }

    /// A field of a message that holds it once (the last one read, as protobuf merges).
    static func field(_ number: Int, of message: ArraySlice<UInt8>) throws -> ArraySlice<UInt8>? {
        var found: ArraySlice<UInt8>?
        try ProtobufWire.forEachField(message) { field in
            if field.number == number { found = field.bytes }
        }
        return found
    }

    /// SavedModel (meta_graphs 2) -> first MetaGraphDef (object_graph_def 7) -> SavedObjectGraph (nodes 1).
    /// Returns nil when the SavedModel holds no object graph (a TF1 SavedModel).
    static func objectGraph(savedModel bytes: [UInt8]) throws -> [ObjectGraphNode]? {
        guard let metaGraph = try metaGraph(savedModel: bytes), let graph = try field(7, of: metaGraph) else { return nil }
        return try nodes(graph) { node, field in
            switch field.number {
            case 4:  // SavedUserObject: identifier 1, metadata 3
                try ProtobufWire.forEachField(field.bytes ?? []) { user in
                    if user.number == 1 { node.identifier = user.string }
                    if user.number == 3 { node.metadata = user.string }
                }
            case 7:  // SavedVariable: trainable 3
                node.isVariable = true
                try ProtobufWire.forEachField(field.bytes ?? []) { variable in
                    if variable.number == 3 { node.trainable = variable.varint != 0 }
                }
            case 6:  // SavedFunction: concrete_functions 1
                try ProtobufWire.forEachField(field.bytes ?? []) { function in
                    if function.number == 1, let name = function.string { node.concreteFunctions.append(name) }
                }
            case 9:  // SavedConstant: operation 1
                try ProtobufWire.forEachField(field.bytes ?? []) { constant in
                    if constant.number == 1 { node.constantOperation = constant.string }
                }
            default: break
            }
        }
    }

    /// TrackableObjectGraph (nodes 1) of the checkpoint: each TrackableObject's children (1) and attributes
    /// (2: SerializedTensor name 1, checkpoint_key 3).
    static func checkpointGraph(_ bytes: [UInt8]) throws -> [ObjectGraphNode] {
        try nodes(bytes[...]) { node, field in
            guard field.number == 2 else { return }
            var name: String?, key: String?
            try ProtobufWire.forEachField(field.bytes ?? []) { tensor in
                if tensor.number == 1 { name = tensor.string }
                if tensor.number == 3 { key = tensor.string }
            }
            if name == "VARIABLE_VALUE", let key {
                node.checkpointKey = key
                node.isVariable = true
            }
        }
    }

    /// The repeated nodes (field 1) of an object graph, children (field 1 of each) read here, any other
    /// field given to `other`. Every child's node id is checked against the node count.
    private static func nodes(_ graph: ArraySlice<UInt8>,
                              other: (inout ObjectGraphNode, ProtobufField) throws -> Void) throws -> [ObjectGraphNode] {
        var nodes: [ObjectGraphNode] = []
        try ProtobufWire.forEachField(graph) { field in
            guard field.number == 1, let bytes = field.bytes else { return }
            guard nodes.count < mostNodes else { throw ProtobufWire.Failure(what: "more than \(mostNodes) objects") }
            var node = ObjectGraphNode()
            try ProtobufWire.forEachField(bytes) { part in
                if part.number == 1, let reference = part.bytes {
                    var id = 0, name = ""
                    try ProtobufWire.forEachField(reference) { item in
                        if item.number == 1 { id = Int(Int32(truncatingIfNeeded: item.varint ?? UInt64.max)) }
                        if item.number == 2 { name = item.string ?? "" }
                    }
                    node.children.append((name, id))
                } else {
                    try other(&node, part)
                }
            }
            nodes.append(node)
        }
        for (index, node) in nodes.enumerated() {
            for child in node.children where child.id < 0 || child.id >= nodes.count {
                throw ProtobufWire.Failure(what: "object \(index) refers to object \(child.id) of \(nodes.count)")
            }
        }
        return nodes
    }

    /// keras_metadata.pb: SavedMetadata (nodes 1) -> SavedObject (node_id 2, node_path 3, identifier 4,
    /// metadata 5). Returns the metadata JSON by node id.
    static func kerasMetadata(_ bytes: [UInt8]) throws -> [Int: (path: String, identifier: String, metadata: String)] {
        var found: [Int: (path: String, identifier: String, metadata: String)] = [:]
        try ProtobufWire.forEachField(bytes[...]) { field in
            guard field.number == 1, let node = field.bytes else {
                throw ProtobufWire.Failure(what: "field \(field.number) is not a SavedMetadata node")
            }
            var id = 0, path = "", identifier = "", metadata = ""
            try ProtobufWire.forEachField(node) { part in
                switch part.number {
                case 2: id = Int(Int32(truncatingIfNeeded: part.varint ?? UInt64.max))
                case 3: path = part.string ?? ""
                case 4: identifier = part.string ?? ""
                case 5: metadata = part.string ?? ""
                default: break
                }
            }
            guard id >= 0 else { throw ProtobufWire.Failure(what: "a node id of \(id)") }
            found[id] = (path, identifier, metadata)
        }
        return found
    }
}
