import GRUCore

/// Keras `RepeatVector(n)`: `(batch, features)` to `(batch, n, features)`.
public struct RepeatVector<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let count: Int
    public var keepsMask: Bool { false }

    public init(name: String, count: Int) throws {
        try requirePositive(count, "n", layer: name)
        self.name = name
        self.count = count
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 2 else { throw GRUModelError.shape(layer: name, "it takes a (batch, features) input, not \(describe(x.shape))") }
        var values: [Scalar] = []
        values.reserveCapacity(try reserveOutput(x.values.count, count, of: Scalar.self, layer: name))
        for b in 0..<x.batch {
            let row = x.values[(b * x.width)..<((b + 1) * x.width)]
            for _ in 0..<count { values += row }
        }
        return Tensor(values: values, shape: [x.batch, count, x.width])
    }
}
