import GRUCore

/// Sizes from a config multiplied with an input's: a config may hold numbers up to 1e9, so a product can
/// overflow `Int` (a trap even in release builds); this refuses it with a sentence instead.
func checkedProduct(_ factors: [Int], layer: String) throws -> Int {
    var product = 1
    for factor in factors {
        let (next, overflow) = product.multipliedReportingOverflow(by: factor)
        guard !overflow, factor >= 0 else {
            throw GRUModelError.shape(layer: layer, "its output of \(factors.map(String.init).joined(separator: " x ")) values is too large")
        }
        product = next
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
