import GRUCore

/// `PReLU`: `x` where positive, `alpha * x` elsewhere, with `alpha` learned per position (shared along
/// `shared_axes`, stored with those axes of size 1).
public struct PReLU<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    /// Shape of alpha without the batch axis, e.g. (T, F) or (1, F) with shared_axes=[1].
    public let alphaShape: [Int]
    public let alpha: [Scalar]

    public init(name: String, alphaShape: [Int], alpha: [Scalar]) {
        self.name = name
        self.alphaShape = alphaShape
        self.alpha = alpha
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let sample = Array(x.shape.dropFirst())
        guard sample.count == alphaShape.count, zip(sample, alphaShape).allSatisfy({ $1 == 1 || $0 == $1 }) else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)) but its alpha has shape \(describe(alphaShape))")
        }
        var values = x.values
        let size = x.sampleSize
        for i in values.indices where values[i] < 0 {
            var index = i % size, a = 0, step = 1
            var position = [Int](repeating: 0, count: sample.count)
            for axis in stride(from: sample.count - 1, through: 0, by: -1) {
                position[axis] = index % sample[axis]
                index /= sample[axis]
            }
            for axis in stride(from: sample.count - 1, through: 0, by: -1) {
                a += (alphaShape[axis] == 1 ? 0 : position[axis]) * step
                step *= alphaShape[axis]
            }
            values[i] = values[i] * alpha[a]
        }
        return Tensor(values: values, shape: x.shape)
    }
}
