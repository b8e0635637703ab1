import GRUCore

/// Where a model's layer weights live: the tf-keras HDF5 layout or Keras 3's /layers layout.
protocol LayerWeightSource {
    func gruWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray]
    func bidirectionalWeights(layer: KerasLayerConfig, path: String) throws -> ([HDF5FloatArray], [HDF5FloatArray])
    /// Any other layer's weights in Keras's order (none for a layer without weights).
    func layerWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray]
}

/// tf-keras / Keras 2 layout: a group per layer whose `weight_names` attribute lists its datasets in order
/// (kernel, recurrent_kernel, bias; a Bidirectional lists the forward layer's, then the backward layer's).
struct HDF5LayerWeights: LayerWeightSource {
    let file: HDF5File
    let root: String

    private func group(_ layerName: String) -> String {
        (root == "/" ? "" : root) + "/" + layerName
    }

    /// The layer's weights in its group's order: a layer inside a nested model shares the outermost nested
    /// model's group, its weights the ones whose names hold its own name as a scope
    /// (`encoder` lists `gru/gru_cell/kernel:0`, `dense/kernel:0`, ...).
    private func arrays(of layer: KerasLayerConfig, path: String, integers: Bool = false, deferring: Int? = nil) throws -> [HDF5FloatArray] {
        guard let place = layer.place, let prefix = place.prefix else { return try arrays(layer.name, path: path, integers: integers, deferring: deferring) }
        return try arrays(place.group, path: path, integers: integers, deferring: deferring) { $0.split(separator: "/").dropLast().contains { $0 == prefix } }
    }

    func weightNames(_ layerName: String) throws -> [String]? {
        try file.splitStringAttribute("weight_names", of: group(layerName))
    }

    /// `integers`: integer datasets are read too (a layer other than a GRU may keep a count).
    func arrays(_ layerName: String, path: String, integers: Bool = false, deferring: Int? = nil, keeping: (String) -> Bool = { _ in true }) throws -> [HDF5FloatArray] {
        guard let names = try weightNames(layerName) else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layerName)) has no weight_names attribute at \(Printable.name(group(layerName)))")
        }
        return try names.filter(keeping).map { name in
            let datasetPath = group(layerName) + "/" + name
            guard file.exists(datasetPath) else {
                throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layerName)) lists weight \(Printable.name(name)) but the file has no dataset \(Printable.name(datasetPath))")
            }
            return try file.floatDataset(datasetPath, integers: integers, deferring: deferring)
        }
    }

    /// Layer weights of at least this many values stay in the file until their layer is built.
    static let deferredValues = 1 << 16

    func gruWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        try arrays(of: layer, path: path)
    }

    func layerWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        let name = layer.place?.group ?? layer.name
        guard file.isGroup(group(name)), let names = try weightNames(name), !names.isEmpty else { return [] }
        return try arrays(of: layer, path: path, integers: true, deferring: Self.deferredValues)
    }

    func bidirectionalWeights(layer: KerasLayerConfig, path: String) throws -> ([HDF5FloatArray], [HDF5FloatArray]) {
        let all = try arrays(of: layer, path: path)
        guard all.count == 4 || all.count == 6 || all.count == 18 else {
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) holds \(all.count) weights; two GRUs hold 4 or 6 (18 in Keras 1)")
        }
        return (Array(all.prefix(all.count / 2)), Array(all.suffix(all.count / 2)))
    }

    /// A weights-only file: layers recognised by their weight names (kernel, recurrent_kernel[, bias], or
    /// twice that for a Bidirectional), configs from the defaults and the weight shapes.
    func inferLayers(_ layerNames: [String], path: String, version: String?) throws -> [KerasLayer] {
        // Each of these layer groups is read through its own weight_names attribute.
        let writer = WeightsWriter(kerasVersion: version)
        return try layerNames.compactMap { name in
            let names = try weightNames(name) ?? []
            let leaves = names.map(KerasReader.leafName)
            let keras1 = leaves.count == 9 && ["W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h"].enumerated().allSatisfy { leaves[$0.offset].hasSuffix($0.element) }
            let single = keras1 || leaves.starts(with: ["kernel", "recurrent_kernel"]) && (leaves.count == 2 || (leaves.count == 3 && leaves[2] == "bias"))
            let doubled = (leaves.count == 4 || leaves.count == 6) && Array(leaves.prefix(leaves.count / 2)) == Array(leaves.suffix(leaves.count / 2))
                && leaves.starts(with: ["kernel", "recurrent_kernel"])
            if single {
                let arrays = try self.arrays(name, path: path)
                // An LSTM's (units, 4*units) or a SimpleRNN's (units, units) recurrent kernel: weights without the
                // config that runs them.
                if !keras1, let shape = arrays.dropFirst().first?.shape, shape.count == 2, shape[0] > 0, shape[1] == 4 * shape[0] || shape[1] == shape[0] {
                    return .other(name: name, className: shape[1] == shape[0] ? "SimpleRNN" : "LSTM")
                }
                let className = arrays.count == 3 && arrays[2].shape.count == 1 && arrays[2].shape[0] == 2 * arrays[1].shape.last! ? "CuDNNGRU" : "GRU"
                return .gru(try inferredGRU(arrays, name: name, className: className, path: path, version: version, writer: writer))
            }
            if doubled {
                let all = try self.arrays(name, path: path)
                let half = all.count / 2
                let forward = try inferredGRU(Array(all.prefix(half)), name: "forward_" + name, className: "GRU", path: path, version: version, writer: writer)
                var backward = try inferredGRU(Array(all.suffix(half)), name: "backward_" + name, className: "GRU", path: path, version: version, writer: writer)
                backward.config.goBackwards = true
                return .bidirectional(KerasBidirectional(name: name, mergeMode: .concat, forward: forward, backward: backward))
            }
            if names.isEmpty { return nil }  // InputLayer, Masking: nothing stored
            return .other(name: name, className: "weights " + leaves.joined(separator: ", "))
        }
    }

    private func inferredGRU(_ arrays: [HDF5FloatArray], name: String, className: String, path: String,
                             version: String?, writer: WeightsWriter) throws -> KerasGRU {
        var gru = try KerasReader.makeGRU(arrays, name: name, className: className, path: path, kind: .weightsOnly, version: version)
        (gru.config, gru.assumed) = weightsOnlyConfig(units: gru.units, biasShape: gru.biasShape, className: gru.className, writer: writer)
        return gru
    }
}

/// Keras 3 layout (`.weights.h5` and the inside of `.keras`): `/layers/<class>[_N]/cell/vars/{0,1,2}`, the
/// group named after the class and counted in model order; a Bidirectional's directions sit under
/// `forward_layer` and `backward_layer`.
struct Keras3Weights: LayerWeightSource {
    let file: HDF5File
    let path: String
    let kind: KerasFileKind

    private func vars(_ group: String) throws -> [HDF5FloatArray] {
        let base = group + "/cell/vars"
        guard file.isGroup(base) else {
            throw GRUIOError.keras(path: path, "has no GRU weights at \(base)")
        }
        var arrays: [HDF5FloatArray] = []
        while file.exists(base + "/" + String(arrays.count)), arrays.count < 3 {
            arrays.append(try file.floatDataset(base + "/" + String(arrays.count)))
        }
        return arrays
    }

    private func groupName(_ layer: KerasLayerConfig) -> String {
        layer.place?.keras3 ?? "/layers/" + KerasReader.snakeCase(layer.className)
    }

    func gruWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        try vars(groupName(layer))
    }

    /// Layers that keep their weights in sublayer groups, in the order Keras's tf-keras twin lists them.
    static let sublayers = ["MultiHeadAttention": ["query_dense", "key_dense", "value_dense", "output_dense"]]

    /// `vars/0, 1, ...` of the layer's group; a wrapper (TimeDistributed) keeps its layer's under `layer/`;
    /// MultiHeadAttention its four projections' under `query_dense/vars`, `key_dense/vars`, ...
    func layerWeights(layer: KerasLayerConfig, path: String) throws -> [HDF5FloatArray] {
        let group = groupName(layer)
        if KerasLayerConfig.cellLayers.contains(layer.className) {
            return try cellVars(group, layer.config)
        }
        if layer.className == "Bidirectional", let inner = layer.config["layer"]?["config"] {
            let backward = layer.config["backward_layer"]?["config"] ?? inner
            return try cellVars(group + "/forward_layer", inner.object ?? [:]) + cellVars(group + "/backward_layer", backward.object ?? [:])
        }
        for base in [group + "/vars", group + "/layer/vars"] where file.exists(base + "/0") {
            return try vars(at: base)
        }
        guard let parts = Self.sublayers[layer.className] else { return [] }
        return try parts.flatMap { try vars(at: group + "/" + $0 + "/vars") }
    }

    /// A recurrent layer's cell variables: `cell/vars`, or for stacked cells each cell's
    /// `cell/cells/<class>[_N]/vars` in the config's order (Keras 3 names a list's items by class, counted).
    private func cellVars(_ group: String, _ config: [String: JSONValue]) throws -> [HDF5FloatArray] {
        let cell = config["cell"]
        guard cell?["class_name"]?.string == "StackedRNNCells" || cell?.array != nil else {
            return try vars(at: group + "/cell/vars")
        }
        let cells = cell?.array ?? cell?["config"]?["cells"]?.array ?? []
        var used: [String: Int] = [:]
        return try cells.flatMap { entry -> [HDF5FloatArray] in
            var name = KerasReader.snakeCase(entry["class_name"]?.string ?? "")
            if let n = used[name] {
                used[name] = n + 1
                name += "_\(n + 1)"
            } else {
                used[name] = 0
            }
            return try vars(at: group + "/cell/cells/" + name + "/vars")
        }
    }

    private func vars(at base: String) throws -> [HDF5FloatArray] {
        var arrays: [HDF5FloatArray] = []
        while file.exists(base + "/" + String(arrays.count)) {
            arrays.append(try file.floatDataset(base + "/" + String(arrays.count), integers: true, deferring: HDF5LayerWeights.deferredValues))
        }
        return arrays
    }

    func bidirectionalWeights(layer: KerasLayerConfig, path: String) throws -> ([HDF5FloatArray], [HDF5FloatArray]) {
        let group = groupName(layer)
        return (try vars(group + "/forward_layer"), try vars(group + "/backward_layer"))
    }

    /// A `.weights.h5` without config: each group under /layers with GRU cell variables, in name order.
    func inferLayers() throws -> [KerasLayer] {
        try file.members(of: "/layers").sorted(by: groupOrder).compactMap { group in
            let full = "/layers/" + group
            let name = (try? file.stringAttribute("name", of: full + "/vars")?.first) ?? nil
            // Keras 3.6+ names each layer's vars group; Keras 3.0-3.5 and tf-keras write the same layout unnamed.
            let writer: WeightsWriter = name == nil ? .keras3OrTFKeras : .keras3
            if file.isGroup(full + "/cell/vars") {
                var gru = try KerasReader.makeGRU(try vars(full), name: name ?? group, className: "GRU", path: path, kind: kind, version: nil)
                (gru.config, gru.assumed) = weightsOnlyConfig(units: gru.units, biasShape: gru.biasShape, className: gru.className, writer: writer)
                return .gru(gru)
            }
            if file.isGroup(full + "/forward_layer/cell/vars") {
                var pair: [KerasGRU] = []
                for side in ["forward_layer", "backward_layer"] {
                    var gru = try KerasReader.makeGRU(try vars(full + "/" + side), name: side, className: "GRU", path: path, kind: kind, version: nil)
                    (gru.config, gru.assumed) = weightsOnlyConfig(units: gru.units, biasShape: gru.biasShape, className: gru.className, writer: writer)
                    pair.append(gru)
                }
                pair[1].config.goBackwards = true
                return .bidirectional(KerasBidirectional(name: name ?? group, mergeMode: .concat, forward: pair[0], backward: pair[1]))
            }
            // Layers without weights (InputLayer, Masking) leave an empty group behind.
            if !file.exists(full + "/vars/0") { return nil }
            return .other(name: name ?? group, className: group)
        }
    }

    /// `gru` < `gru_1` < `gru_2` < ... < `gru_10`: Keras's creation order, not the alphabet's.
    private func groupOrder(_ a: String, _ b: String) -> Bool {
        func split(_ s: String) -> (String, Int) {
            if let underscore = s.lastIndex(of: "_"), let n = Int(s[s.index(after: underscore)...]) {
                return (String(s[..<underscore]), n)
            }
            return (s, 0)
        }
        let (x, y) = (split(a), split(b))
        return x.0 == y.0 ? x.1 < y.1 : a < b
    }
}
