import GRUCore

/// Turning a file's stored GRU arrays and config into `KerasGRU`s: shapes checked, Keras 1 and CuDNNGRU
/// layouts converted, the writer's defaults under the config.
extension KerasReader {
    /// The one reading of a model: every layer of the config in order, each layer's weights read once from
    /// `weights` (a GRU's or Bidirectional's into its `KerasLayer`, the others' into `otherWeights`).
    static func readModel(config root: JSONValue, layers configs: [KerasLayerConfig], weights: LayerWeightSource, path: String,
                          kind: KerasFileKind, version: String?) throws -> KerasModel {
        let keras3 = (kerasMajorVersion(version) ?? 2) >= 3 || kind == .kerasArchive
        var model = KerasModel(path: path, kind: kind, kerasVersion: version, layers: [],
                               inputTimesteps: KerasModelConfig.inputTimesteps(of: configs))
        model.modelConfig = root
        model.layerConfigs = configs
        for layer in configs {
            switch layer.className {
            case "InputLayer":
                model.layers.append(.input(name: layer.name))
            case "Masking":
                let maskValue = layer.config["mask_value"] ?? .null
                guard maskValue == .null || maskValue.number != nil else {
                    throw GRUIOError.keras(path: path, "layer \(Printable.quoted(layer.name)) has mask_value \(maskValue.brief), not a number")
                }
                model.layers.append(.masking(name: layer.name, maskValue: maskValue.number ?? 0))
            case "NotEqual", "Any":
                continue  // the operations a Keras 3 functional model records for its Masking layer
            case "GRU", "CuDNNGRU":
                let arrays = try weights.gruWeights(layer: layer, path: path)
                var gru = try makeGRU(arrays, name: layer.name, className: layer.className, path: path, kind: kind, version: version)
                var config = defaultConfig(units: gru.units, keras3: keras3)
                if layer.className == "CuDNNGRU" {
                    config.recurrentActivation = .sigmoid
                    config.resetAfter = true
                    config.implementation = 2
                }
                try GRUConfigReader(path: path, layer: layer).apply(to: &config)
                try checkUnits(config, gru, path: path)
                config.hardSigmoid = gru.hardSigmoid
                gru.config = config
                model.layers.append(.gru(gru))
            case "Bidirectional" where layer.isRecurrent:
                model.layers.append(.bidirectional(try makeBidirectional(layer, weights: weights, path: path, kind: kind,
                                                                         version: version, keras3: keras3)))
            default:
                model.layers.append(.other(name: layer.name, className: layer.className))
                model.otherWeights[layer.name] = try weights.layerWeights(layer: layer, path: path)
            }
        }
        return model
    }

    private static func makeBidirectional(_ layer: KerasLayerConfig, weights: LayerWeightSource,
                                          path: String, kind: KerasFileKind, version: String?, keras3: Bool) throws -> KerasBidirectional {
        guard let inner = layer.config["layer"], let innerClass = inner["class_name"]?.string,
              let innerConfig = inner["config"]?.object else {
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has no inner layer config")
        }
        guard innerClass == "GRU" || innerClass == "CuDNNGRU" else {
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) wraps a \(Printable.name(innerClass)); gru-run runs Bidirectional(GRU) only")
        }
        let merge: MergeMode
        switch layer.config["merge_mode"] {
        case .none, .some(.null): merge = .none
        case .some(.string(let name)):
            guard let mode = MergeMode(rawValue: name) else {
                throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has merge_mode \(Printable.quoted(name)); Keras knows concat, sum, mul, ave and None")
            }
            merge = mode
        case .some(let other):
            throw GRUIOError.keras(path: path, "Bidirectional layer \(Printable.quoted(layer.name)) has merge_mode \(other.brief)")
        }
        let forwardLayer = KerasLayerConfig(className: innerClass, name: innerConfig["name"]?.string ?? "forward", config: innerConfig)
        var backwardLayer = forwardLayer
        if let backward = layer.config["backward_layer"]?["config"]?.object {
            backwardLayer = KerasLayerConfig(className: innerClass, name: backward["name"]?.string ?? "backward", config: backward)
        } else {
            backwardLayer.config["go_backwards"] = .bool(!(innerConfig["go_backwards"]?.bool ?? false))
        }
        let (forwardArrays, backwardArrays) = try weights.bidirectionalWeights(layer: layer, path: path)
        var pair: [KerasGRU] = []
        for (config, arrays) in [(forwardLayer, forwardArrays), (backwardLayer, backwardArrays)] {
            var gru = try makeGRU(arrays, name: config.name, className: innerClass, path: path, kind: kind, version: version)
            var merged = defaultConfig(units: gru.units, keras3: keras3)
            try GRUConfigReader(path: path, layer: config).apply(to: &merged)
            try checkUnits(merged, gru, path: path)
            merged.hardSigmoid = gru.hardSigmoid
            gru.config = merged
            pair.append(gru)
        }
        return KerasBidirectional(name: layer.name, mergeMode: merge, forward: pair[0], backward: pair[1])
    }

    private static func checkUnits(_ config: GRUConfig, _ gru: KerasGRU, path: String) throws {
        guard config.units == gru.units else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(gru.layerName)) has units = \(config.units) in its config but its recurrent kernel holds \(gru.units) units")
        }
    }

    /// Checks the shapes of kernel, recurrent kernel and bias, converting CuDNNGRU's layout.
    static func makeGRU(_ stored: [HDF5FloatArray], name: String, className: String, path: String,
                        kind: KerasFileKind, version: String?) throws -> KerasGRU {
        let arrays = stored.count == 9 ? try joinKeras1(stored, name: name, path: path) : stored
        guard arrays.count == 2 || arrays.count == 3 else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) holds \(arrays.count) weights; a GRU holds kernel, recurrent_kernel and an optional bias")
        }
        let kernel = arrays[0], recurrent = arrays[1]
        guard recurrent.shape.count == 2, recurrent.shape[0] > 0, recurrent.shape[1] == 3 * recurrent.shape[0] else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a recurrent kernel of shape \(describe(recurrent.shape)); a GRU's is (units, 3*units)")
        }
        let units = recurrent.shape[0]
        guard kernel.shape.count == 2, kernel.shape[0] > 0, kernel.shape[1] == 3 * units else {
            throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a kernel of shape \(describe(kernel.shape)); with \(units) units it must be (features, \(3 * units))")
        }
        var gru = KerasGRU(path: path, kind: kind, kerasVersion: version, layerName: name, className: className,
                           config: GRUConfig(units: units), maskValue: nil, bits: kernel.bits,
                           inputDim: kernel.shape[0], units: units, storedKernel: try kernel.loaded(),
                           storedRecurrentKernel: try recurrent.loaded(), bias: nil, biasShape: nil)
        if arrays.count == 3 {
            let bias = arrays[2]
            if bias.shape == [6 * units] {
                convertCuDNN(&gru, bias: bias.values)
            } else {
                guard bias.shape == [3 * units] || bias.shape == [2, 3 * units] else {
                    throw GRUIOError.keras(path: path, "layer \(Printable.quoted(name)) has a bias of shape \(describe(bias.shape)); with \(units) units it must be (\(3 * units),), (2, \(3 * units)) or CuDNNGRU's (\(6 * units),)")
                }
                gru.bias = bias.values
                gru.biasShape = bias.shape
            }
        } else if className == "CuDNNGRU" {
            throw GRUIOError.keras(path: path, "CuDNNGRU layer \(Printable.quoted(name)) has no bias; CuDNNGRU always stores one of shape (\(6 * units),)")
        }
        return gru
    }
}
