import GRUCore

/// Keras 3 `RMSNormalization(axis, epsilon)` (`ops.rms_normalization`):
/// `x * rsqrt(mean(x^2 over axis) + epsilon) * scale`. Its one weight, `scale`, has the sizes of the axes
/// sorted as written (`sorted(axis)`, so [-1, 1] gives (features, steps)), and is multiplied by NumPy
/// broadcasting, aligned on the input's last axes, not reshaped onto the normalized axes: this layer does
/// the same, and refuses a scale that does not broadcast (Keras fails there too). Keras 3 drops the mask
/// (the layer does not support masking).
public struct RMSNormalization<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let axis: [Int]
    public let epsilon: Double
    public let scale: [Double]
    public let scaleShape: [Int]
    public var keepsMask: Bool { false }

    public init(name: String, axis: [Int], epsilon: Double, scale: [Scalar], scaleShape: [Int]) throws {
        guard !axis.isEmpty else { throw GRUModelError.config(layer: name, "its axis list is empty") }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw GRUModelError.config(layer: name, "its epsilon \(epsilon) is not a non-negative number")
        }
        guard scaleShape.allSatisfy({ $0 >= 0 }), scaleShape.reduce(1, *) == scale.count else {
            throw GRUModelError.config(layer: name, "its scale holds \(scale.count) values, not \(describe(scaleShape))")
        }
        (self.name, self.axis, self.epsilon) = (name, axis, epsilon)
        (self.scale, self.scaleShape) = (scale.map(Double.init), scaleShape)
    }

    /// For every element of an input of `shape`, the index of the scale value NumPy broadcasting gives it.
    func scaleIndex(_ shape: [Int]) throws -> (Int) -> Int {
        guard scaleShape.count <= shape.count else {
            throw GRUModelError.shape(layer: name, "its scale of shape \(describe(scaleShape)) does not broadcast against an input of shape \(describe(shape))")
        }
        let offset = shape.count - scaleShape.count
        var strides: [(size: Int, inner: Int, scaleStride: Int)] = []
        var inner = 1, scaleStride = 1
        for axis in stride(from: shape.count - 1, through: offset, by: -1) {
            let size = scaleShape[axis - offset]
            guard size == shape[axis] || size == 1 else {
                throw GRUModelError.shape(layer: name, "its scale of shape \(describe(scaleShape)) does not broadcast against an input of shape \(describe(shape))")
            }
            if size != 1 { strides.append((shape[axis], inner, scaleStride)) }
            inner *= shape[axis]
            scaleStride *= size
        }
        return { i in strides.reduce(0) { $0 + (i / $1.inner) % $1.size * $1.scaleStride } }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let axes = try NormalizedAxes(axis, shape: x.shape, layer: name)
        let index = try scaleIndex(x.shape)
        try reserve(2 * x.values.count, of: Int.self, layer: name)
        let (_, group, groups) = axes.indices()
        var squares = [Double](repeating: 0, count: groups)
        for i in x.values.indices { squares[group[i]] += Double(x.values[i]) * Double(x.values[i]) }
        let n = Double(axes.parameterCount)
        let inv = squares.map { 1 / ($0 / n + epsilon).squareRoot() }
        var values = x.values
        for i in values.indices { values[i] = Scalar(Double(values[i]) * inv[group[i]] * scale[index(i)]) }
        return Tensor(values: values, shape: x.shape)
    }
}
