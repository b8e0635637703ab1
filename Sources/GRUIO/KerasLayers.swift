import GRUCore
import GRUModel

/// Builds GRUModel layers from Keras layer configs and weights: the one place that knows which Keras
/// class is which layer, and in what order each stores its weights.
struct KerasLayerBuilder<S: GRUScalar> {
    let model: KerasModel
    let recurrent: (KerasLayer) throws -> RecurrentStage<S>

    /// Layers that change nothing at inference.
    static var identities: Set<String> {
        ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"]
    }

    func className(_ layer: KerasLayerConfig) -> String {
        guard layer.className == "TimeDistributed", let inner = layer.config["layer"]?["class_name"]?.string else { return layer.className }
        return "TimeDistributed(\(inner))"
    }

    func layer(_ layer: KerasLayerConfig) throws -> any ModelLayer<S> {
        switch layer.className {
        case "GRU", "CuDNNGRU", "Bidirectional":
            guard let found = model.layer(named: layer.name)?.layer else {
                throw GRUIOError.keras(path: model.path, "layer \(Printable.quoted(layer.name)) is missing from the file")
            }
            let returnState = (try GRUConfigReader(path: model.path, layer: layer).bool("return_state")) ?? false
                || (layer.config["layer"]?["config"]?["return_state"]?.bool ?? false)
            return Recurrent(name: layer.name, stage: try recurrent(found), returnState: returnState)
        case "Masking":
            return Masking(name: layer.name, maskValue: S((try reader(layer).double("mask_value")) ?? 0))
        default:
            return try make(layer, arrays: model.otherWeights[layer.name] ?? [])
        }
    }

    /// Merge layers combine masks by AND up to Keras 2 and by OR in Keras 3.
    private var maskMerging: MaskMerging { model.hardSigmoid == .keras3 ? .or : .and }

    private func reader(_ layer: KerasLayerConfig) -> GRUConfigReader { GRUConfigReader(path: model.path, layer: layer) }

    private func fail(_ layer: KerasLayerConfig, _ what: String) -> GRUIOError {
        .keras(path: model.path, "layer \(Printable.quoted(layer.name)) (\(layer.className)) \(what)")
    }

    /// The weights a layer must hold, in order, converted to `S`; `shapes` checks each one's rank.
    private func weights(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray], _ names: [String]) throws -> [(values: [S], shape: [Int])] {
        guard arrays.count == names.count else {
            throw fail(layer, "holds \(arrays.count) weights; its config needs \(names.count) (\(names.joined(separator: ", ")))")
        }
        try MemoryBudget.reserve(MemoryBudget.bytes(arrays.reduce(0) { $0 + $1.values.count }, MemoryLayout<S>.size), for: "layer \(Printable.quoted(layer.name))")
        return arrays.map { ($0.values.map { S($0) }, $0.shape) }
    }

    /// An activation by name, softmax and the others over the last axis included (KerasActivations.swift).
    private func activation(_ layer: KerasLayerConfig, _ key: String = "activation") throws -> LayerActivation {
        try reader(layer).layerActivation(key, hardSigmoid: model.hardSigmoid)
    }

    /// An integer or a list of them (`kernel_size: 3` or `[3]`).
    private func integers(_ layer: KerasLayerConfig, _ key: String, default value: [Int]? = nil) throws -> [Int] {
        // Integral and well inside Int, so that no conversion traps; each layer checks its own range.
        func integer(_ value: JSONValue) -> Int? {
            guard let n = value.number, n == n.rounded(), abs(n) < 1e9 else { return nil }
            return Int(n)
        }
        switch layer.config[key] {
        case .some(.number):
            guard let n = integer(layer.config[key]!) else { throw fail(layer, "has \(key) \(layer.config[key]!.brief), not an integer") }
            return [n]
        case .some(.array(let list)):
            let values = list.compactMap(integer)
            guard values.count == list.count else { throw fail(layer, "has \(key) \(layer.config[key]!.brief), not integers") }
            return values
        case .none, .some(.null):
            guard let value else { throw fail(layer, "has no \(key)") }
            return value
        case .some(let other): throw fail(layer, "has \(key) \(other.brief), not integers")
        }
    }

    private func padding(_ layer: KerasLayerConfig) throws -> Padding {
        let name = layer.config["padding"]?.string ?? "valid"
        guard let padding = Padding(rawValue: name.lowercased()) else { throw fail(layer, "has padding '\(name)'; gru-run knows valid, same and causal") }
        return padding
    }

    private func channelsLast(_ layer: KerasLayerConfig) throws {
        if let format = layer.config["data_format"]?.string, format != "channels_last" {
            throw fail(layer, "uses data_format '\(format)'; gru-run runs channels_last")
        }
    }

    func make(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        let name = layer.name
        let useBias = (try reader(layer).bool("use_bias") ?? reader(layer).bool("bias")) ?? true  // Keras 1: bias
        switch layer.className {
        case let kind where Self.identities.contains(kind):
            return Identity<S>(name: name)
        case "Dense":
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 2 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            return try Dense(name: name, inputDim: w[0].shape[0], units: w[0].shape[1], kernel: w[0].values,
                             bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "Embedding":
            let w = try weights(layer, arrays, ["embeddings"])
            guard w[0].shape.count == 2 else { throw fail(layer, "has embeddings of shape \(describe(w[0].shape))") }
            return try Embedding(name: name, inputDim: w[0].shape[0], outputDim: w[0].shape[1], embeddings: w[0].values,
                                 maskZero: (try reader(layer).bool("mask_zero")) ?? false)
        case "Activation":
            return ActivationLayer<S>(name: name, activation: try activation(layer))
        case "Softmax":
            let axis = try integers(layer, "axis", default: [-1])
            guard axis.count == 1 else { throw fail(layer, "takes softmax over several axes") }
            return ActivationLayer<S>(name: name, activation: .softmax(axis: axis[0]))
        case "ReLU":
            let r = reader(layer)
            return ActivationLayer<S>(name: name, activation: .relu(maxValue: try r.double("max_value"),
                                                                  negativeSlope: try r.double("negative_slope") ?? 0,
                                                                  threshold: try r.double("threshold") ?? 0))
        case "LeakyReLU":
            // Keras 2 calls the slope alpha (default 0.3); Keras 3 negative_slope (default 0.3).
            let r = reader(layer)
            return ActivationLayer<S>(name: name, activation: .leakyRelu(alpha: try r.double("negative_slope") ?? r.double("alpha") ?? 0.3))
        case "ELU":
            return ActivationLayer<S>(name: name, activation: .elu(alpha: try reader(layer).double("alpha") ?? 1))
        case "PReLU":
            let w = try weights(layer, arrays, ["alpha"])
            return PReLU(name: name, alphaShape: w[0].shape, alpha: w[0].values)
        case "Flatten":
            try channelsLast(layer)
            return Flatten<S>(name: name)
        case "Reshape":
            return Reshape<S>(name: name, targetShape: try integers(layer, "target_shape"))
        case "RepeatVector":
            return RepeatVector<S>(name: name, count: try integers(layer, "n")[0])
        case "Permute":
            return Permute<S>(name: name, dims: try integers(layer, "dims"))
        case "Concatenate":
            return Concatenate<S>(name: name, axis: try integers(layer, "axis", default: [-1])[0], masking: maskMerging)
        case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum":
            return Merge<S>(name: name, operation: Merge<S>.Operation(rawValue: layer.className.lowercased())!, masking: maskMerging)
        case "Conv1D":
            try channelsLast(layer)
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 3 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            guard (layer.config["groups"]?.number ?? 1) == 1 else { throw fail(layer, "uses groups, which gru-run does not run") }
            return try Conv1D(name: name, kernelSize: w[0].shape[0], inChannels: w[0].shape[1], filters: w[0].shape[2],
                              stride: try integers(layer, "strides", default: [1])[0],
                              dilation: try integers(layer, "dilation_rate", default: [1])[0], padding: try padding(layer),
                              kernel: w[0].values, bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "Conv2D":
            try channelsLast(layer)
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 4 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            let strides = try pair(layer, "strides", default: 1), dilation = try pair(layer, "dilation_rate", default: 1)
            return try Conv2D(name: name, kernelSize: (w[0].shape[0], w[0].shape[1]), strides: strides, dilation: dilation,
                              inChannels: w[0].shape[2], filters: w[0].shape[3], padding: try padding(layer),
                              kernel: w[0].values, bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D":
            try channelsLast(layer)
            let size = try integers(layer, "pool_size", default: [2])[0]
            let strides = try integers(layer, "strides", default: [size])
            return Pooling1D<S>(name: name, poolSize: size, stride: strides[0], padding: try padding(layer),
                                average: layer.className.hasPrefix("Av"))
        case "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D":
            try channelsLast(layer)
            let size = try pair(layer, "pool_size", default: 2)
            let strides = layer.config["strides"] == nil || layer.config["strides"] == .null ? size : try pair(layer, "strides", default: 1)
            return Pooling2D<S>(name: name, poolSize: size, strides: strides, padding: try padding(layer),
                                average: layer.className.hasPrefix("Av"))
        case "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPool1D", "GlobalAvgPool1D":
            try channelsLast(layer)
            if layer.config["keepdims"]?.bool == true { throw fail(layer, "keeps its dims, which gru-run does not run") }
            return GlobalPooling1D<S>(name: name, average: layer.className.contains("Av"))
        case "BatchNormalization":
            // tf-keras stores the axis counted from the front ([1] after a (batch, units) GRU, [2] after a
            // sequence); Keras 3 stores -1. The input's rank resolves them when the layer runs.
            let axis = try integers(layer, "axis", default: [-1])
            let scale = (try reader(layer).bool("scale")) ?? true, center = (try reader(layer).bool("center")) ?? true
            let names = (scale ? ["gamma"] : []) + (center ? ["beta"] : []) + ["moving_mean", "moving_variance"]
            let w = try weights(layer, arrays, names)
            return try BatchNormalization(name: name, gamma: scale ? w[0].values : nil, beta: center ? w[scale ? 1 : 0].values : nil,
                                          movingMean: w[names.count - 2].values, movingVariance: w[names.count - 1].values,
                                          epsilon: try reader(layer).double("epsilon") ?? 1e-3, axis: axis)
        case "LayerNormalization":
            let scale = (try reader(layer).bool("scale")) ?? true, center = (try reader(layer).bool("center")) ?? true
            let w = try weights(layer, arrays, (scale ? ["gamma"] : []) + (center ? ["beta"] : []))
            if layer.config["rms_scaling"]?.bool == true { throw fail(layer, "uses rms_scaling, which gru-run does not run") }
            return try LayerNormalization(name: name, axis: try integers(layer, "axis", default: [-1]), gamma: scale ? w[0].values : nil,
                                          beta: center ? w[scale ? 1 : 0].values : nil, epsilon: try reader(layer).double("epsilon") ?? 1e-3)
        case "TimeDistributed":
            guard let inner = layer.config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"]?.object else {
                throw fail(layer, "has no inner layer config")
            }
            let wrapped = KerasLayerConfig(className: innerClass, name: innerConfig["name"]?.string ?? name, config: innerConfig)
            guard !["GRU", "Bidirectional", "TimeDistributed", "Embedding", "Masking"].contains(innerClass) else {
                throw fail(layer, "wraps a \(innerClass), which gru-run does not run inside TimeDistributed")
            }
            return TimeDistributed(name: name, inner: try make(wrapped, arrays: arrays))
        default:
            // The graph adds what the user can run instead (KerasModelGraph.swift).
            throw GRUIOError.unsupportedLayer(path: model.path, "layer \(Printable.quoted(name)) is \(Printable.withArticle(layer.className)), which gru-run does not run")
        }
    }

    private func pair(_ layer: KerasLayerConfig, _ key: String, default value: Int) throws -> (Int, Int) {
        let list = try integers(layer, key, default: [value, value])
        return list.count == 1 ? (list[0], list[0]) : (list[0], list[1])
    }
}
