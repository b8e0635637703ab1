import GRUCore

/// The axes a BatchNormalization or LayerNormalization works over, resolved against its input's rank.
///
/// Keras stores the axes as written (tf-keras LayerNormalization: made positive, in the given order;
/// Keras 3: sorted as written, negatives first; tf-keras BatchNormalization: positive). Its parameters hold
/// `prod(shape[axis])` values, and both versions lay their memory over the axes in positional order
/// (`tf.reshape(gamma, broadcast_shape)`, broadcast_shape ordered by position), whatever order the list
/// has. So an element's parameter index is its coordinates on the axes, row-major in positional order.
struct NormalizedAxes {
    /// Positional axes, ascending, each in `1..<rank` (axis 0, the batch, has no fixed size).
    let axes: [Int]
    /// The input's shape.
    let shape: [Int]
    /// Values per parameter: the product of the normalized axes' sizes.
    let parameterCount: Int

    /// `listed` as the config gives it; throws a sentence naming the layer when an axis is outside the
    /// input's rank, is the batch axis, or is listed twice.
    init(_ listed: [Int], shape: [Int], layer: String) throws {
        var resolved: [Int] = []
        for axis in listed {
            let positive = try resolvedAxis(axis, shape: shape, layer: layer)
            guard !resolved.contains(positive) else {
                throw GRUModelError.config(layer: layer, "its axis list \(listed) names axis \(positive) twice")
            }
            resolved.append(positive)
        }
        guard !resolved.isEmpty else { throw GRUModelError.config(layer: layer, "its axis list is empty") }
        axes = resolved.sorted()
        self.shape = shape
        parameterCount = axes.reduce(1) { $0 * shape[$1] }
    }

    /// True when the axes are exactly the last one: each row of `width` values is one group.
    var isLastAxis: Bool { axes == [shape.count - 1] }

    /// For every element (row-major over `shape`): its parameter index (its coordinates on the normalized
    /// axes) and its group (its coordinates on the other axes, batch included).
    func indices() -> (parameter: [Int], group: [Int], groups: Int) {
        let count = shape.reduce(1, *)
        var parameter = [Int](repeating: 0, count: count), group = [Int](repeating: 0, count: count)
        var parameterStride = [Int](repeating: 0, count: shape.count), groupStride = parameterStride
        var p = 1, g = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            if axes.contains(axis) { parameterStride[axis] = p; p *= shape[axis] } else { groupStride[axis] = g; g *= shape[axis] }
        }
        var coordinate = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            for (axis, c) in coordinate.enumerated() {
                parameter[i] += c * parameterStride[axis]
                group[i] += c * groupStride[axis]
            }
            advance(&coordinate, through: shape)
        }
        return (parameter, group, g)
    }
}
