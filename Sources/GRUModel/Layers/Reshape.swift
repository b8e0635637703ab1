import GRUCore

/// Keras `Reshape(target_shape)`: the sample's values in the same order under a new shape; one -1 is inferred
/// (Keras allows exactly one).
public struct Reshape<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let targetShape: [Int]
    public var keepsMask: Bool { false }
    /// The product of the sizes the target shape states (the -1 left out).
    let knownSize: Int

    public init(name: String, targetShape: [Int]) throws {
        guard !targetShape.isEmpty else { throw GRUModelError.config(layer: name, "its target_shape is empty") }
        for size in targetShape where size < 1 && size != -1 {
            throw GRUModelError.config(layer: name, "its target_shape \(describe(targetShape)) holds \(size); sizes are at least 1, or one -1")
        }
        guard targetShape.filter({ $0 == -1 }).count <= 1 else {
            throw GRUModelError.config(layer: name, "its target_shape \(describe(targetShape)) holds more than one -1")
        }
        guard let known = checkedProduct(targetShape.filter { $0 != -1 }) else {
            throw GRUModelError.config(layer: name, "its target_shape \(describe(targetShape)) holds more values than any memory")
        }
        (self.name, self.targetShape, knownSize) = (name, targetShape, known)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var shape = targetShape
        if let unknown = shape.firstIndex(of: -1), x.sampleSize % knownSize == 0 { shape[unknown] = x.sampleSize / knownSize }
        guard !shape.contains(-1), checkedProduct(shape) == x.sampleSize else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)), whose \(x.sampleSize) values per sample cannot take target_shape \(describe(targetShape))")
        }
        return Tensor(values: x.values, shape: [x.batch] + shape)
    }
}
