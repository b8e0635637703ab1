import GRUCore

/// Keras `Dot(axes, normalize)` of two inputs (keras/src/layers/merging/dot.py, tf_keras alike): with
/// normalize, each input is first L2-normalized along its summed axis (`x * min(rsqrt(Σx²), 1e7)` in Keras 3,
/// `x * rsqrt(max(Σx², 1e-12))` in tf-keras: the same but for vectors near 0); then
/// `batch_dot`: out[b, x's other axes..., y's other axes...] = Σ_k x[..k..] y[..k..]; (B, 1) when nothing is
/// left. `axes`: the summed axis of each input, negative counting from the end. No mask goes on.
public struct Dot<Scalar: GRUScalar>: ModelLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let axes: (Int, Int)
    public let normalize: Bool
    let keras3: Bool

    public init(name: String, axes: (Int, Int), normalize: Bool, keras3: Bool) {
        (self.name, self.axes, self.normalize, self.keras3) = (name, axes, normalize, keras3)
    }

    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 2 else { throw GRUModelError.shape(layer: name, "it takes two inputs, not \(inputs.count)") }
        let (x, y) = (inputs[0], inputs[1])
        guard x.shape.count >= 2, y.shape.count >= 2, x.batch == y.batch else {
            throw GRUModelError.shape(layer: name, "its inputs of shapes \(describe(x.shape)) and \(describe(y.shape)) are not two batches of one size")
        }
        let ax = try resolvedAxis(axes.0, key: "axes", shape: x.shape, layer: name)
        let ay = try resolvedAxis(axes.1, key: "axes", shape: y.shape, layer: name)
        guard x.shape[ax] == y.shape[ay] else {
            throw GRUModelError.shape(layer: name, "its inputs of shapes \(describe(x.shape)) and \(describe(y.shape)) differ on the axes \(ax) and \(ay) it sums over")
        }
        let length = x.shape[ax]
        let xLanes = lanes(x, axis: ax), yLanes = lanes(y, axis: ay)
        let xs = normalize ? normalized(x, xLanes) : x.values.map(Double.init)
        let ys = normalize ? normalized(y, yLanes) : y.values.map(Double.init)
        let xFree = xLanes.count / x.batch, yFree = yLanes.count / y.batch
        let count = try reserveOutput(x.batch, xFree, yFree, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        for b in 0..<x.batch {
            for i in 0..<xFree {
                let (xStart, xStep) = xLanes[b * xFree + i]
                for j in 0..<yFree {
                    let (yStart, yStep) = yLanes[b * yFree + j]
                    var sum = 0.0
                    for k in 0..<length { sum += xs[xStart + k * xStep] * ys[yStart + k * yStep] }
                    out[(b * xFree + i) * yFree + j] = Scalar(sum)
                }
            }
        }
        let shape = [x.batch] + x.shape.enumerated().filter { $0.offset != 0 && $0.offset != ax }.map(\.element)
            + y.shape.enumerated().filter { $0.offset != 0 && $0.offset != ay }.map(\.element)
        return [(Tensor(values: out, shape: shape.count == 1 ? [x.batch, 1] : shape), nil)]
    }

    /// The start and stride of every vector along `axis`, in C order of the other axes (batch first).
    private func lanes(_ x: Tensor<Scalar>, axis: Int) -> [(Int, Int)] {
        let inner = x.shape[(axis + 1)...].reduce(1, *), length = x.shape[axis]
        let outer = x.values.count / max(1, inner * length)
        var found: [(Int, Int)] = []
        found.reserveCapacity(outer * inner)
        for o in 0..<outer { for i in 0..<inner { found.append((o * length * inner + i, inner)) } }
        return found
    }

    private func normalized(_ x: Tensor<Scalar>, _ lanes: [(Int, Int)]) -> [Double] {
        var values = x.values.map(Double.init)
        let length = lanes.isEmpty ? 0 : values.count / lanes.count
        for (start, step) in lanes {
            var sum = 0.0
            for k in 0..<length { sum += values[start + k * step] * values[start + k * step] }
            let inverse = keras3 ? min(1 / sum.squareRoot(), 1e7) : 1 / max(sum, 1e-12).squareRoot()
            for k in 0..<length { values[start + k * step] *= inverse }
        }
        return values
    }
}
