import GRUCore
import GRUModel

/// Normalization, Rescaling, CategoryEncoding and IntegerLookup from their configs (and Normalization's
/// adapted weights).
extension KerasLayerBuilder {
    func normalization(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> any ModelLayer<S> {
        let axis = layer.config["axis"] == nil ? [-1] : layer.config["axis"] == .null ? [] : try integers(layer, "axis")
        let invert = try reader(layer).bool("invert") ?? false
        let mean: [S], variance: [S]
        if arrays.isEmpty {
            // Given as Normalization(mean=..., variance=...): the config holds them, no weights.
            mean = try numbers(layer, "mean").map { S($0) }
            variance = try numbers(layer, "variance").map { S($0) }
        } else {
            // tf-keras and Keras 3 store mean, variance and an int64 count (read, not used).
            let w = try weights(layer, arrays, arrays.count == 2 ? ["mean", "variance"] : ["mean", "variance", "count"])
            guard w[0].shape == w[1].shape else {
                throw fail(layer, "has a mean of shape \(describe(w[0].shape)) and a variance of shape \(describe(w[1].shape))")
            }
            (mean, variance) = (w[0].values, w[1].values)
        }
        return try Normalization<S>(name: layer.name, axis: axis, mean: mean, variance: variance, invert: invert)
    }

    func rescaling(_ layer: KerasLayerConfig) throws -> any ModelLayer<S> {
        try Rescaling<S>(name: layer.name, scale: try numbers(layer, "scale"),
                         offset: layer.config["offset"] == nil ? [0] : try numbers(layer, "offset"))
    }

    func categoryEncoding(_ layer: KerasLayerConfig) throws -> any ModelLayer<S> {
        guard let tokens = try reader(layer).int("num_tokens") else { throw fail(layer, "has no num_tokens") }
        let modeName = try text(layer, "output_mode", default: "multi_hot")
        guard let mode = CategoryEncoding<S>.Mode(rawValue: modeName) else {
            throw fail(layer, "has output_mode \(layer.config["output_mode"]?.brief ?? "null"); gru-run runs one_hot, multi_hot and count")
        }
        if try reader(layer).bool("sparse") == true { throw fail(layer, "gives a sparse output, which gru-run does not run") }
        return try CategoryEncoding<S>(name: layer.name, tokens: tokens, mode: mode)
    }

    func integerLookup(_ layer: KerasLayerConfig) throws -> any ModelLayer<S> {
        let r = reader(layer)
        if let mode = layer.config["output_mode"], mode != .null, mode.string != "int" {
            throw fail(layer, "has output_mode \(mode.brief); gru-run runs int")
        }
        if try r.bool("invert") == true { throw fail(layer, "maps indices back to ids (invert), which gru-run does not run") }
        guard let list = layer.config["vocabulary"]?.array else {
            throw fail(layer, "keeps its vocabulary outside its config (adapted, or a file); gru-run reads a vocabulary the config lists")
        }
        guard let vocabulary = list.map(\.number) as? [Double], vocabulary.allSatisfy({ $0 == $0.rounded() }) else {
            throw fail(layer, "has a vocabulary holding something other than integers")
        }
        let oovIndices = try r.int("num_oov_indices") ?? 1
        let maskToken = try r.double("mask_token"), oovToken = try r.double("oov_token") ?? -1
        guard oovIndices >= 0 else { throw fail(layer, "has num_oov_indices \(oovIndices), below 0") }
        if oovIndices > 1, let method = layer.config["oov_method"], method != .null, method.string != "floormod" {
            throw fail(layer, "has oov_method \(method.brief); gru-run runs floormod")
        }
        // A vocabulary may start with the special tokens in Keras's order; they are not tokens then.
        let special = (maskToken.map { [$0] } ?? []) + Array(repeating: oovToken, count: min(oovIndices, vocabulary.count))
        let tokens = vocabulary.starts(with: special) ? Array(vocabulary.dropFirst(special.count)) : vocabulary
        return try IntegerLookup<S>(name: layer.name, vocabulary: tokens, oovIndices: oovIndices, maskToken: maskToken)
    }

    /// A number or a list of numbers, nested lists flattened, or Keras 3's serialized numpy array.
    func numbers(_ layer: KerasLayerConfig, _ key: String) throws -> [Double] {
        guard var value = layer.config[key], value != .null else { throw fail(layer, "has no \(key)") }
        if value["class_name"]?.string == "__numpy__", let inner = value["config"]?["value"] { value = inner }
        var found: [Double] = []
        func collect(_ v: JSONValue, depth: Int) throws {
            if let n = v.number { found.append(n); return }
            guard depth < 8, let list = v.array else { throw fail(layer, "has \(key) \(value.brief), not a number or a list of numbers") }
            for item in list { try collect(item, depth: depth + 1) }
        }
        try collect(value, depth: 0)
        guard !found.isEmpty else { throw fail(layer, "has \(key) an empty list") }
        return found
    }
}
