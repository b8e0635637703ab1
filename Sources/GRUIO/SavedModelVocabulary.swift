/// IntegerLookup's vocabulary in a SavedModel folder. tf-keras's `VocabularySavedModelSaver`
/// (tf_keras/src/saving/legacy/saved_model/layer_serialization.py) writes `"vocabulary": null` into the
/// layer's saved config, so that loading does not fill the table twice; the tokens stay in the layer's
/// `lookup_table`, a `tf.StaticHashTable` saved as a SavedResource whose `_initialize` function (TensorFlow's
/// `CapturableResource`) runs `LookupTableImportV2(table, keys, values)` (`InitializeTableV2` before TF 2.4)
/// on two captured constants: keys the tokens, values their indices (index_lookup.py
/// `_lookup_table_from_tokens`). The object graph names them (saved_object_graph.proto):
///
///     layer node --lookup_table--> SavedResource --_initialize--> SavedFunction (one concrete function)
///     SavedObjectGraph.concrete_functions[name].bound_inputs   node ids of the captures, in argument order
///     FunctionDef (graph_def.library) of that name             the import node and the arguments it takes
///     SavedConstant.operation                                  the Const node of graph_def holding the tensor
///
/// The vocabulary is put back into the config as tf-keras's .h5 config lists it: the tokens in index order.
enum SavedModelVocabulary {
    /// Tokens beyond this are no IntegerLookup's a model runs.
    static let mostTokens = 50_000_000

    /// `config` with every IntegerLookup's null vocabulary (nested models included) filled from its table.
    static func filled(_ config: JSONValue, routes: [String: [String]], nodes: [ObjectGraphNode], savedModel: [UInt8],
                       path: String) throws -> JSONValue {
        var reader: Reader?
        func fill(_ model: JSONValue, prefix: String, depth: Int) throws -> JSONValue {
            guard depth <= KerasModelConfig.deepestNesting, case .object(var outer) = model, case .object(var inner)? = outer["config"],
                  let entries = inner["layers"]?.array else { return model }
            inner["layers"] = .array(try entries.map { entry in
                guard case .object(var members) = entry, case .object(var layer)? = members["config"],
                      let name = layer["name"]?.string ?? members["name"]?.string else { return entry }
                if layer["layers"]?.array != nil {
                    return try fill(entry, prefix: prefix + name + "/", depth: depth + 1)
                }
                guard members["class_name"]?.string == "IntegerLookup", layer["vocabulary"] == nil || layer["vocabulary"] == .null,
                      layer["invert"]?.bool != true, let route = routes[prefix + name] else { return entry }
                if reader == nil { reader = try Reader(savedModel: savedModel, nodes: nodes) }
                guard let tokens = try reader?.tokens(route: route, layer: prefix + name, path: path) else { return entry }
                layer["vocabulary"] = .array(tokens.map { .number(Double($0)) })
                members["config"] = .object(layer)
                return .object(members)
            })
            outer["config"] = .object(inner)
            return .object(outer)
        }
        return try fill(config, prefix: "", depth: 0)
    }

    /// The parts of saved_model.pb a table's tokens are found through, read once.
    private struct Reader {
        let nodes: [ObjectGraphNode]
        let objectGraph: ArraySlice<UInt8>
        let graphDef: ArraySlice<UInt8>

        init(savedModel: [UInt8], nodes: [ObjectGraphNode]) throws {
            self.nodes = nodes
            let metaGraph = try SavedModelMessages.metaGraph(savedModel: savedModel) ?? []
            objectGraph = try SavedModelMessages.field(7, of: metaGraph) ?? []  // MetaGraphDef.object_graph_def
            graphDef = try SavedModelMessages.field(2, of: metaGraph) ?? []     // MetaGraphDef.graph_def
        }

        private func follow(_ route: [String]) -> Int? {
            var id = 0
            for name in route {
                guard let next = nodes[id].child(name) else { return nil }
                id = next
            }
            return id
        }

        /// The layer's tokens in index order; nil when it keeps no table initialised from constants (a
        /// vocabulary file), which leaves the config's null for the layer builder to refuse.
        func tokens(route: [String], layer: String, path: String) throws -> [Int64]? {
            guard let id = follow(route), let table = nodes[id].child("lookup_table"),
                  let initialize = nodes[table].child("_initialize"), nodes[initialize].concreteFunctions.count == 1 else { return nil }
            let function = nodes[initialize].concreteFunctions[0]
            guard let bound = try boundInputs(of: function), let (keysArgument, valuesArgument, arguments) = try importArguments(of: function),
                  arguments >= bound.count else { return nil }
            // Captured tensors are a function's last arguments, in bound_inputs' order.
            let first = arguments - bound.count
            func constant(_ argument: Int) throws -> [Int64]? {
                guard argument >= first, argument < arguments, bound[argument - first] >= 0, bound[argument - first] < nodes.count,
                      let operation = nodes[bound[argument - first]].constantOperation else { return nil }
                return try integerConstant(operation, path: path)
            }
            guard let keys = try constant(keysArgument), let values = try constant(valuesArgument) else { return nil }
            guard keys.count == values.count else {
                throw GRUIOError.keras(path: path, "is damaged: IntegerLookup layer \(Printable.quoted(layer)) has a table of \(keys.count) keys and \(values.count) values")
            }
            // Values are the indices of a run of consecutive ones (after the mask and OOV indices).
            let order = values.indices.sorted { values[$0] < values[$1] }
            guard let low = order.first.map({ values[$0] }), order.enumerated().allSatisfy({ values[$0.element] == low + Int64($0.offset) }) else {
                throw GRUIOError.keras(path: path, "IntegerLookup layer \(Printable.quoted(layer)) has a table whose indices are not one run of consecutive numbers; tf-keras makes none such")
            }
            return order.map { keys[$0] }
        }

        /// SavedObjectGraph.concrete_functions (2): map entries (key 1, SavedConcreteFunction 2: bound_inputs 2).
        private func boundInputs(of function: String) throws -> [Int]? {
            var found: [Int]?
            try ProtobufWire.forEachField(objectGraph) { field in
                guard field.number == 2, found == nil, let entry = field.bytes else { return }
                guard try SavedModelMessages.field(1, of: entry).map({ String(decoding: $0, as: UTF8.self) }) == function else { return }
                var inputs: [Int] = []
                try ProtobufWire.forEachField(try SavedModelMessages.field(2, of: entry) ?? []) { part in
                    guard part.number == 2 else { return }
                    try integers(part) { inputs.append(Int(Int32(truncatingIfNeeded: $0))) }
                }
                found = inputs
            }
            return found
        }

        /// The FunctionDef named `function` in graph_def.library (2) -> function (1): its signature (1; OpDef
        /// name 1, input_arg 2 with name 1) and the table import among its node_def (3; op 2, input 3).
        /// Returns the argument positions of the keys and values, and the number of arguments.
        private func importArguments(of function: String) throws -> (keys: Int, values: Int, arguments: Int)? {
            var found: (Int, Int, Int)?
            try ProtobufWire.forEachField(try SavedModelMessages.field(2, of: graphDef) ?? []) { field in
                guard field.number == 1, found == nil, let definition = field.bytes else { return }
                let signature = try SavedModelMessages.field(1, of: definition) ?? []
                guard try SavedModelMessages.field(1, of: signature).map({ String(decoding: $0, as: UTF8.self) }) == function else { return }
                var arguments: [String] = []
                try ProtobufWire.forEachField(signature) { part in
                    if part.number == 2, let argument = part.bytes {
                        arguments.append(try SavedModelMessages.field(1, of: argument).map { String(decoding: $0, as: UTF8.self) } ?? "")
                    }
                }
                try ProtobufWire.forEachField(definition) { part in
                    guard part.number == 3, found == nil, let node = part.bytes else { return }
                    var op = "", inputs: [String] = []
                    try ProtobufWire.forEachField(node) { item in
                        if item.number == 2 { op = item.string ?? "" }
                        if item.number == 3, let input = item.string, !input.hasPrefix("^") { inputs.append(input) }
                    }
                    guard op == "LookupTableImportV2" || op == "InitializeTableV2", inputs.count == 3,
                          let keys = arguments.firstIndex(of: inputs[1]), let values = arguments.firstIndex(of: inputs[2]) else { return }
                    found = (keys, values, arguments.count)
                }
            }
            return found
        }

        /// The DT_INT32 / DT_INT64 tensor of the Const node `operation` of graph_def (node 1: NodeDef name 1,
        /// attr 5 map entries key 1 / AttrValue 2 with tensor 8).
        private func integerConstant(_ operation: String, path: String) throws -> [Int64]? {
            var tensor: ArraySlice<UInt8>?
            try ProtobufWire.forEachField(graphDef) { field in
                guard field.number == 1, tensor == nil, let node = field.bytes,
                      try SavedModelMessages.field(1, of: node).map({ String(decoding: $0, as: UTF8.self) }) == operation else { return }
                try ProtobufWire.forEachField(node) { part in
                    guard part.number == 5, let entry = part.bytes,
                          try SavedModelMessages.field(1, of: entry).map({ String(decoding: $0, as: UTF8.self) }) == "value" else { return }
                    tensor = try SavedModelMessages.field(8, of: try SavedModelMessages.field(2, of: entry) ?? [])
                }
            }
            guard let tensor else { return nil }
            return try integerTensor(tensor, path: path, operation: operation)
        }

        /// TensorProto: dtype 1 (3 int32, 9 int64), tensor_shape 2 (dim 2, size 1), tensor_content 4 (little-endian),
        /// int_val 7 / int64_val 10 (a shorter list repeats its last value, as TensorFlow reads it).
        private func integerTensor(_ tensor: ArraySlice<UInt8>, path: String, operation: String) throws -> [Int64]? {
            var dtype = 0, count = 1, content: ArraySlice<UInt8>?, listed: [Int64] = []
            try ProtobufWire.forEachField(tensor) { field in
                switch field.number {
                case 1: dtype = Int(field.varint ?? 0)
                case 2:
                    try ProtobufWire.forEachField(field.bytes ?? []) { dim in
                        guard dim.number == 2 else { return }
                        var dimension: UInt64 = 0
                        try ProtobufWire.forEachField(dim.bytes ?? []) { if $0.number == 1 { dimension = $0.varint ?? UInt64.max } }
                        guard dimension <= UInt64(mostTokens), case (let product, false) = count.multipliedReportingOverflow(by: Int(dimension)),
                              product <= mostTokens else {
                            throw GRUIOError.keras(path: path, "is damaged or too large: constant \(Printable.quoted(operation)) claims more than \(mostTokens) values")
                        }
                        count = product
                    }
                case 4: content = field.bytes
                case 7, 10: try integers(field) { listed.append(Int64(bitPattern: $0)) }
                default: break
                }
            }
            let width: Int
            switch dtype {
            case 3: width = 4
            case 9: width = 8
            default: return nil
            }
            if let content {
                guard content.count == count * width else {
                    throw GRUIOError.keras(path: path, "is damaged: constant \(Printable.quoted(operation)) holds \(content.count) bytes for \(count) values")
                }
                let bytes = Array(content)
                return (0..<count).map { index in
                    let raw = (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[index * width + $1]) << (8 * UInt64($1)) }
                    return width == 4 ? Int64(Int32(truncatingIfNeeded: raw)) : Int64(bitPattern: raw)
                }
            }
            guard let last = listed.last, listed.count <= count else { return count == 0 ? [] : nil }
            let values = width == 4 ? listed.map { Int64(Int32(truncatingIfNeeded: $0)) } : listed
            return values + Array(repeating: width == 4 ? Int64(Int32(truncatingIfNeeded: last)) : last, count: count - listed.count)
        }

        /// A repeated integer field, packed (one length-delimited run of varints, proto3's default) or not.
        private func integers(_ field: ProtobufField, _ body: (UInt64) throws -> Void) throws {
            if let value = field.varint { return try body(value) }
            guard let run = field.bytes else { return }
            var wire = ProtobufWire(run)
            while !wire.isAtEnd { try body(try wire.varint()) }
        }
    }
}
