import GRUCore
import GRUModel

/// Builds GRUModel layers from Keras layer configs and weights: the one place that knows which Keras
/// class is which layer, and in what order each stores its weights.
struct KerasLayerBuilder<S: GRUScalar> {
    /// The model without its arrays, which `weights` holds.
    let model: KerasModel
    let weights: LayerWeightStore
    /// The user's arguments for the model's one GRU.
    let overrides: GRUOverrides

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
        case _ where layer.isRecurrent:
            guard let found = model.layer(named: layer.name)?.layer else {
                throw GRUIOError.keras(path: model.path, "layer \(Printable.quoted(layer.name)) is missing from the file")
            }
            let returnState = (try GRUConfigReader(path: model.path, layer: layer).bool("return_state")) ?? false
                || (layer.config["layer"]?["config"]?["return_state"]?.bool ?? false)
            return try found.recurrentLayer(S.self, overrides: overrides, returnState: returnState)
        case "Masking":
            return Masking(name: layer.name, maskValue: S((try reader(layer).double("mask_value")) ?? 0))
        default:
            // A Dense kernel stays in the file until its panels are packed from it, block by block.
            let taken = try weights.take(layer.name) { $0 == 0 && layer.className == "Dense" }
            let (translated, arrays) = try KerasLegacyKeys(path: model.path).translate(layer, taken)
            return try keras1Layer(translated, arrays: arrays) ?? make(translated, arrays: arrays)
        }
    }

    /// Merge layers combine masks by AND up to Keras 2 and by OR in Keras 3.
    var maskMerging: MaskMerging { model.hardSigmoid == .keras3 ? .or : .and }

    func reader(_ layer: KerasLayerConfig) -> GRUConfigReader { GRUConfigReader(path: model.path, layer: layer) }

    func fail(_ layer: KerasLayerConfig, _ what: String) -> GRUIOError {
        .keras(path: model.path, "layer \(Printable.quoted(layer.name)) (\(layer.className)) \(what)")
    }

    /// The weights a layer must hold, in order, converted to `S`; `shapes` checks each one's rank.
    func weights(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray], _ names: [String]) throws -> [(values: [S], shape: [Int])] {
        guard arrays.count == names.count else {
            throw fail(layer, "holds \(arrays.count) weights; its config needs \(names.count) (\(names.joined(separator: ", ")))")
        }
        try MemoryBudget.reserve(MemoryBudget.bytes(arrays.reduce(0) { $0 + $1.count }, MemoryLayout<S>.size), for: "layer \(Printable.quoted(layer.name))")
        return arrays.map { ($0.converted(S.self), $0.shape) }
    }

    /// An activation by name, softmax and the others over the last axis included (KerasActivations.swift).
    func activation(_ layer: KerasLayerConfig, _ key: String = "activation") throws -> LayerActivation {
        try reader(layer).layerActivation(key, hardSigmoid: model.hardSigmoid)
    }

    /// A Dense whose kernel is still in the file: its shape checked as `make` checks it, then read block by
    /// block into the packed panels, never held whole.
    private func deferredDense(_ layer: KerasLayerConfig, _ arrays: [HDF5FloatArray], useBias: Bool) throws -> any ModelLayer<S> {
        guard arrays.count == (useBias ? 2 : 1) else {
            throw fail(layer, "holds \(arrays.count) weights; its config needs \(useBias ? 2 : 1) (\(useBias ? "kernel, bias" : "kernel"))")
        }
        let kernel = arrays[0]
        guard kernel.shape.count == 2, kernel.shape[0] > 0, kernel.shape[1] > 0 else { throw fail(layer, "has a kernel of shape \(describe(kernel.shape))") }
        let (k, n) = (kernel.shape[0], kernel.shape[1])
        try stated(layer, ["units", "output_dim"], equal: n, "kernel", kernel.shape)
        let bias = useBias ? try arrays[1].loaded() : nil
        if let bias, bias.shape != [n] {
            throw fail(layer, "has a bias of shape \(describe(bias.shape)); (\(n),) was expected")
        }
        if kernel.isPlaceholder {
            return try Dense(name: layer.name, product: MatrixProduct<S>(zerosK: k, n: n), activation: try activation(layer))
        }
        try MemoryBudget.reserve(MemoryBudget.bytes(k, n + 48, MemoryLayout<S>.size), for: "layer \(Printable.quoted(layer.name))")
        let product = try MatrixProduct<S>(k: k, n: n, bias: bias?.converted(S.self)) { rows, into in try kernel.readRows(rows, into: into) }
        return try Dense(name: layer.name, product: product, activation: try activation(layer))
    }

    /// An integer or a list of them (`kernel_size: 3` or `[3]`).
    func integers(_ layer: KerasLayerConfig, _ key: String, default value: [Int]? = nil) throws -> [Int] {
        // Whole and well inside Int, so that no conversion traps; each layer checks its own range.
        switch layer.config[key] {
        case .some(.number):
            guard let n = layer.config[key]!.wholeNumber else { throw fail(layer, "has \(key) \(layer.config[key]!.brief), not an integer") }
            return [n]
        case .some(.array(let list)):
            if let bad = list.first(where: { $0.wholeNumber == nil }) {
                throw fail(layer, "has \(key) a list holding \(bad.brief), not integers")
            }
            return list.compactMap(\.wholeNumber)
        case .none, .some(.null):
            guard let value else { throw fail(layer, "has no \(key)") }
            return value
        case .some(let other): throw fail(layer, "has \(key) \(other.brief), not integers")
        }
    }

    /// A string argument: `fallback` where the config leaves it out (or null); anything but a string refused.
    func text(_ layer: KerasLayerConfig, _ key: String, default fallback: String) throws -> String {
        switch layer.config[key] {
        case .none, .some(.null): return fallback
        case .some(let value):
            guard let text = value.string else { throw fail(layer, "has \(key) \(value.brief), not a string") }
            return text
        }
    }

    func padding(_ layer: KerasLayerConfig) throws -> Padding {
        let name = try text(layer, "padding", default: "valid")
        guard let padding = Padding(rawValue: name.lowercased()) else { throw fail(layer, "has padding '\(name)'; gru-run knows valid, same and causal") }
        return padding
    }

    func channelsLast(_ layer: KerasLayerConfig) throws {
        let format = try text(layer, "data_format", default: "channels_last")
        if format != "channels_last" {
            throw fail(layer, "uses data_format '\(format)'; gru-run runs channels_last")
        }
    }

    func make(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        let name = layer.name
        let useBias = (try reader(layer).bool("use_bias") ?? reader(layer).bool("bias")) ?? true  // Keras 1: bias
        switch layer.className {
        case let kind where Self.identities.contains(kind):
            try checkNoiseParameters(layer)
            return Identity<S>(name: name)
        case let kind where KerasLayerConfig.cellLayers.contains(kind):
            return try recurrent(layer, arrays: arrays)
        case "Bidirectional":
            return try bidirectionalRecurrent(layer, arrays: arrays)
        case "Dense" where (arrays.first?.isDeferred ?? false) || (arrays.first?.isPlaceholder ?? false):
            return try deferredDense(layer, arrays, useBias: useBias)
        case "Dense":
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 2 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            try stated(layer, ["units", "output_dim"], equal: w[0].shape[1], "kernel", w[0].shape)
            return try Dense(name: name, inputDim: w[0].shape[0], units: w[0].shape[1], kernel: w[0].values,
                             bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "Embedding":
            let w = try weights(layer, arrays, ["embeddings"])
            guard w[0].shape.count == 2 else { throw fail(layer, "has embeddings of shape \(describe(w[0].shape))") }
            try stated(layer, ["input_dim"], equal: w[0].shape[0], "embeddings", w[0].shape)
            try stated(layer, ["output_dim"], equal: w[0].shape[1], "embeddings", w[0].shape)
            if let length = try reader(layer).int("input_length"), length < 1 { throw fail(layer, "has input_length \(length), below 1") }
            return try Embedding(name: name, inputDim: w[0].shape[0], outputDim: w[0].shape[1], embeddings: w[0].values,
                                 maskZero: (try reader(layer).bool("mask_zero")) ?? false)
        case "Activation":
            return try ActivationLayer<S>(name: name, activation: try activation(layer))
        case "Softmax":
            return try ActivationLayer<S>(name: name, activation: .softmax(axis: try single(layer, "axis", default: -1)))
        case "ReLU":
            let r = reader(layer)
            return try ActivationLayer<S>(name: name, activation: .relu(maxValue: try r.double("max_value"),
                                                                  negativeSlope: try r.double("negative_slope") ?? 0,
                                                                  threshold: try r.double("threshold") ?? 0))
        case "LeakyReLU":
            // Keras 2 calls the slope alpha (default 0.3); Keras 3 negative_slope (default 0.3).
            let r = reader(layer)
            return try ActivationLayer<S>(name: name, activation: .leakyRelu(alpha: try r.double("negative_slope") ?? r.double("alpha") ?? 0.3))
        case "ELU":
            return try ActivationLayer<S>(name: name, activation: .elu(alpha: try reader(layer).double("alpha") ?? 1))
        case "PReLU":
            let w = try weights(layer, arrays, ["alpha"])
            try checkSharedAxes(layer, alphaShape: w[0].shape)
            return PReLU(name: name, alphaShape: w[0].shape, alpha: w[0].values)
        case "Flatten":
            try channelsLast(layer)
            return Flatten<S>(name: name)
        case "Reshape":
            return try Reshape<S>(name: name, targetShape: try integers(layer, "target_shape"))
        case "RepeatVector":
            return try RepeatVector<S>(name: name, count: try single(layer, "n", bare: true))
        case "Permute":
            return try Permute<S>(name: name, dims: try integers(layer, "dims"))
        case "Concatenate":
            return Concatenate<S>(name: name, axis: try single(layer, "axis", default: -1, bare: true), masking: maskMerging)
        case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum":
            return Merge<S>(name: name, operation: Merge<S>.Operation(rawValue: layer.className.lowercased())!, masking: maskMerging)
        case "Conv1D":
            try channelsLast(layer)
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 3 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            guard try reader(layer).int("groups") ?? 1 == 1 else { throw fail(layer, "uses groups, which gru-run does not run") }
            try stated(layer, ["filters"], equal: w[0].shape[2], "kernel", w[0].shape)
            try stated(layer, ["kernel_size"], equal: w[0].shape[0], "kernel", w[0].shape, bare: false)
            return try Conv1D(name: name, kernelSize: w[0].shape[0], inChannels: w[0].shape[1], filters: w[0].shape[2],
                              stride: try single(layer, "strides", default: 1),
                              dilation: try single(layer, "dilation_rate", default: 1), padding: try padding(layer),
                              kernel: w[0].values, bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "Conv2D":
            try channelsLast(layer)
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 4 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            guard try reader(layer).int("groups") ?? 1 == 1 else { throw fail(layer, "uses groups, which gru-run does not run") }
            let strides = try pair(layer, "strides", default: 1), dilation = try pair(layer, "dilation_rate", default: 1)
            try stated(layer, ["filters"], equal: w[0].shape[3], "kernel", w[0].shape)
            if layer.config["kernel_size"] != nil, layer.config["kernel_size"] != .null,
               try pair(layer, "kernel_size", default: 1) != (w[0].shape[0], w[0].shape[1]) {
                throw fail(layer, "has kernel_size \(try integers(layer, "kernel_size")), but its kernel has shape \(describe(w[0].shape))")
            }
            return try Conv2D(name: name, kernelSize: (w[0].shape[0], w[0].shape[1]), strides: strides, dilation: dilation,
                              inChannels: w[0].shape[2], filters: w[0].shape[3], padding: try padding(layer),
                              kernel: w[0].values, bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D":
            try channelsLast(layer)
            let size = try single(layer, "pool_size", default: 2)
            return try Pooling1D<S>(name: name, poolSize: size, stride: try single(layer, "strides", default: size), padding: try padding(layer),
                                average: layer.className.hasPrefix("Av"))
        case "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D":
            try channelsLast(layer)
            let size = try pair(layer, "pool_size", default: 2)
            let strides = layer.config["strides"] == nil || layer.config["strides"] == .null ? size : try pair(layer, "strides", default: 1)
            return try Pooling2D<S>(name: name, poolSize: size, strides: strides, padding: try padding(layer),
                                average: layer.className.hasPrefix("Av"))
        case "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPool1D", "GlobalAvgPool1D":
            let first = layer.config["data_format"]?.string == "channels_first"
            if !first { try channelsLast(layer) }
            return GlobalPooling1D<S>(name: name, average: layer.className.contains("Av"), keepDims: try reader(layer).bool("keepdims") ?? false,
                                      channelsFirst: first)
        case "GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPool2D", "GlobalAvgPool2D":
            let first = layer.config["data_format"]?.string == "channels_first"
            if !first { try channelsLast(layer) }
            return GlobalPooling2D<S>(name: name, average: layer.className.contains("Av"), keepDims: try reader(layer).bool("keepdims") ?? false,
                                      channelsFirst: first)
        case "UpSampling1D":
            return try UpSampling1D<S>(name: name, size: try single(layer, "size", default: 2))
        case "UpSampling2D":
            let first = layer.config["data_format"]?.string == "channels_first"
            if !first { try channelsLast(layer) }
            let interpolation = try text(layer, "interpolation", default: "nearest")
            guard interpolation == "nearest" || interpolation == "bilinear" else { throw fail(layer, "uses interpolation '\(interpolation)'; gru-run runs nearest and bilinear") }
            return try UpSampling2D<S>(name: name, size: try pair(layer, "size", default: 2), bilinear: interpolation == "bilinear",
                                        channelsFirst: first)
        case "ZeroPadding1D", "Cropping1D", "ZeroPadding2D", "Cropping2D":
            let first = layer.config["data_format"]?.string == "channels_first"
            if !first || layer.className == "Cropping1D" { try channelsLast(layer) }
            let twoD = layer.className.hasSuffix("2D"), key = layer.className.hasPrefix("Zero") ? "padding" : "cropping"
            guard let p = kerasPaddingPairs(layer.config[key], axes: twoD ? 2 : 1, default: layer.className.hasPrefix("Zero") || !twoD ? 1 : 0) else {
                throw fail(layer, "has \(key) \(layer.config[key]?.brief ?? "null"), not integers or pairs of them")
            }
            switch layer.className {
            case "ZeroPadding1D": return try ZeroPadding1D<S>(name: name, before: p[0].before, after: p[0].after, channelsFirst: first)
            case "Cropping1D": return try Cropping1D<S>(name: name, start: p[0].before, end: p[0].after)
            case "ZeroPadding2D": return try ZeroPadding2D<S>(name: name, top: p[0].before, bottom: p[0].after, left: p[1].before, right: p[1].after,
                                                                channelsFirst: first)
            default: return try Cropping2D<S>(name: name, top: p[0].before, bottom: p[0].after, left: p[1].before, right: p[1].after,
                                               channelsFirst: first)
            }
        case "UnitNormalization":
            return try UnitNormalization<S>(name: name, axis: try integers(layer, "axis", default: [-1]), keras3: model.hardSigmoid == .keras3)
        case "GroupNormalization":
            let scale = (try reader(layer).bool("scale")) ?? true, center = (try reader(layer).bool("center")) ?? true
            let w = try weights(layer, arrays, (scale ? ["gamma"] : []) + (center ? ["beta"] : []))
            let axis = try integers(layer, "axis", default: [-1])
            guard axis.count == 1 else { throw fail(layer, "has \(axis.count) axes; GroupNormalization takes one") }
            return try GroupNormalization(name: name, groups: try single(layer, "groups", default: 32), axis: axis[0],
                                          epsilon: try reader(layer).double("epsilon") ?? 1e-3, gamma: scale ? w[0].values : nil,
                                          beta: center ? w[scale ? 1 : 0].values : nil, masksMoments: model.hardSigmoid != .keras3)
        case "RMSNormalization":
            let w = try weights(layer, arrays, ["scale"])
            return try RMSNormalization(name: name, axis: try integers(layer, "axis", default: [-1]), epsilon: try reader(layer).double("epsilon") ?? 1e-6,
                                        scale: w[0].values, scaleShape: w[0].shape)
        case "Conv1DTranspose", "Convolution1DTranspose":
            try channelsLast(layer)
            let w = try weights(layer, arrays, useBias ? ["kernel", "bias"] : ["kernel"])
            guard w[0].shape.count == 3 else { throw fail(layer, "has a kernel of shape \(describe(w[0].shape))") }
            let outputPadding = layer.config["output_padding"] == nil || layer.config["output_padding"] == .null ? nil : try single(layer, "output_padding", default: 0)
            return try Conv1DTranspose(name: name, kernelSize: w[0].shape[0], filters: w[0].shape[1], inChannels: w[0].shape[2],
                                       stride: try single(layer, "strides", default: 1), dilation: try single(layer, "dilation_rate", default: 1),
                                       padding: try padding(layer), outputPadding: outputPadding, kernel: w[0].values,
                                       bias: useBias ? w[1].values : nil, activation: try activation(layer))
        case "EinsumDense":
            guard let equation = layer.config["equation"]?.string else { throw fail(layer, "has no equation") }
            if let q = layer.config["quantization_config"], q != .null { throw fail(layer, "is quantized, which gru-run does not run") }
            let biasAxes = layer.config["bias_axes"]?.string
            let w = try weights(layer, arrays, biasAxes == nil ? ["kernel"] : ["kernel", "bias"])
            return try EinsumDense(name: name, equation: equation, kernel: w[0].values, kernelShape: w[0].shape,
                                   bias: biasAxes == nil ? nil : w[1].values, biasAxes: biasAxes, activation: try activation(layer))
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
        case "Attention": return try attention(layer, arrays: arrays)
        case "AdditiveAttention": return try additiveAttention(layer, arrays: arrays)
        case "MultiHeadAttention": return try multiHeadAttention(layer, arrays: arrays)
        case "Dot": return try dot(layer)
        case "Normalization": return try normalization(layer, arrays: arrays)
        case "Rescaling": return try rescaling(layer)
        case "CategoryEncoding": return try categoryEncoding(layer)
        case "IntegerLookup": return try integerLookup(layer)
        case "SeparableConv1D", "SeparableConvolution1D": return try depthwiseConv1D(layer, arrays: arrays, separable: true)
        case "DepthwiseConv1D": return try depthwiseConv1D(layer, arrays: arrays, separable: false)
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

    /// One integer per spatial axis of a 2D layer (Keras 3 writes two; one stands for both).
    func pair(_ layer: KerasLayerConfig, _ key: String, default value: Int) throws -> (Int, Int) {
        let list = try integers(layer, key, default: [value, value])
        guard list.count == 1 || list.count == 2 else { throw fail(layer, "has \(key) \(list) of \(list.count) values; it takes two, or one for both") }
        return list.count == 1 ? (list[0], list[0]) : (list[0], list[1])
    }

    /// One integer, written bare or as a list of one (`strides: 2` or `[2]`); `bare`: Keras takes only a
    /// number there (`n`, `units`, `filters`), so a list is refused.
    func single(_ layer: KerasLayerConfig, _ key: String, default value: Int? = nil, bare: Bool = false) throws -> Int {
        if bare, let given = layer.config[key], given.array != nil { throw fail(layer, "has \(key) a list, not an integer") }
        let list = try integers(layer, key, default: value.map { [$0] })
        guard list.count == 1 else { throw fail(layer, "has \(key) \(list) of \(list.count) values; it takes one") }
        return list[0]
    }

    /// A size the config states besides the weights (Dense units, Conv filters, Embedding input_dim): when
    /// present it must be the weights' own, so a damaged config cannot disagree with what runs.
    func stated(_ layer: KerasLayerConfig, _ keys: [String], equal size: Int, _ weight: String, _ shape: [Int],
                        bare: Bool = true) throws {
        guard let key = keys.first(where: { layer.config[$0] != nil && layer.config[$0] != .null }) else { return }
        let value = try single(layer, key, bare: bare)
        guard value == size else { throw fail(layer, "has \(key) \(value), where the shape \(describe(shape)) of its \(weight) says \(size)") }
    }

    /// PReLU's shared_axes: axes of the sample (1 up to its rank) on which alpha has size 1.
    private func checkSharedAxes(_ layer: KerasLayerConfig, alphaShape: [Int]) throws {
        guard layer.config["shared_axes"] != nil, layer.config["shared_axes"] != .null else { return }
        for axis in try integers(layer, "shared_axes") {
            guard axis >= 1, axis <= alphaShape.count, alphaShape[axis - 1] == 1 else {
                throw fail(layer, "has shared_axes \(try integers(layer, "shared_axes")), which do not match its alpha of shape \(describe(alphaShape))")
            }
        }
    }

    /// The numbers of the layers that change nothing at inference still describe a layer Keras could build:
    /// rates in [0, 1] (Keras refuses others), a non-negative stddev and l1 / l2.
    private func checkNoiseParameters(_ layer: KerasLayerConfig) throws {
        let r = reader(layer)
        if let rate = try r.double("rate"), !(0...1).contains(rate) { throw fail(layer, "has rate \(rate), not a number in [0, 1]") }
        for key in ["stddev", "l1", "l2"] {
            if let value = try r.double(key), !(value.isFinite && value >= 0) { throw fail(layer, "has \(key) \(value), not a non-negative number") }
        }
    }
}
