import GRUCore

/// Keras `Reshape(target_shape)`: the sample's values in the same order under a new shape; one -1 is inferred.
public struct Reshape<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let targetShape: [Int]
    public var keepsMask: Bool { false }

    public init(name: String, targetShape: [Int]) {
        self.name = name
        self.targetShape = targetShape
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        var shape = targetShape
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        if let unknown = shape.firstIndex(of: -1), known > 0, x.sampleSize % known == 0 { shape[unknown] = x.sampleSize / known }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == x.sampleSize else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)), which cannot take target shape \(describe(targetShape))")
        }
        return Tensor(values: x.values, shape: [x.batch] + shape)
    }
}
