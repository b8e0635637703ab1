import GRUCore

/// Sizes from a config multiplied with an input's: a config may hold numbers up to 1e9, so a product can
/// overflow `Int` (a trap even in release builds); this refuses it with a sentence instead.
func checkedProduct(_ factors: [Int], layer: String) throws -> Int {
    guard factors.allSatisfy({ $0 >= 0 }), let product = checkedProduct(factors) else {
        throw GRUModelError.shape(layer: layer, "its output of \(factors.map(String.init).joined(separator: " x ")) values is too large")
    }
    return product
}

/// A (batch, rows, cols, channels) input's sizes, or a sentence naming what the layer takes.
func imageShape<S>(_ x: Tensor<S>, layer: String) throws -> (batch: Int, rows: Int, cols: Int, channels: Int) {
    guard x.shape.count == 4 else {
        throw GRUModelError.shape(layer: layer, "it takes a (batch, rows, cols, channels) input, not \(describe(x.shape))")
    }
    return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
}

/// A (batch, steps, channels) input's sizes, or a sentence naming what the layer takes.
func sequenceShape<S>(_ x: Tensor<S>, layer: String) throws -> (batch: Int, steps: Int, channels: Int) {
    guard x.shape.count == 3 else {
        throw GRUModelError.shape(layer: layer, "it takes a (batch, steps, channels) input, not \(describe(x.shape))")
    }
    return (x.shape[0], x.shape[1], x.shape[2])
}

/// Checks a config's sizes where the layer is built: each at least `minimum`.
func expectAtLeast(_ minimum: Int, _ values: [Int], _ what: String, layer: String) throws {
    guard values.allSatisfy({ $0 >= minimum }) else {
        throw GRUModelError.config(layer: layer, "its \(what) \(values.map(String.init).joined(separator: ", ")) must be \(minimum) or more")
    }
}

/// A channels_first input run through a channels_last computation: every (sample, channel) plane of
/// `(batch, channels, spatial...)` is a one-channel sample `(batch * channels, spatial..., 1)`, the same
/// row-major memory, and the result's planes go back the same way. Right for layers that treat every
/// channel alike (padding, cropping, upsampling).
func throughPlanes<S>(_ x: Tensor<S>, rank: Int, layer: String, _ body: (Tensor<S>) throws -> Tensor<S>) throws -> Tensor<S> {
    guard x.shape.count == rank else {
        throw GRUModelError.shape(layer: layer, "it takes a channels_first input of rank \(rank), not \(describe(x.shape))")
    }
    let planes = Tensor(values: x.values, shape: [x.shape[0] * x.shape[1]] + x.shape.dropFirst(2) + [1])
    let y = try body(planes)
    return Tensor(values: y.values, shape: [x.shape[0], x.shape[1]] + y.shape.dropFirst().dropLast())
}
