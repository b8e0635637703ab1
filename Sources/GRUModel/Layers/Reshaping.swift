import GRUCore

/// Keras `Flatten`: `(batch, ...)` to `(batch, product)`, C order (channels_last).
public struct Flatten<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public var keepsMask: Bool { false }

    public init(name: String) { self.name = name }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        Tensor(values: x.values, shape: [x.batch, x.sampleSize])
    }
}

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

/// Keras `RepeatVector(n)`: `(batch, features)` to `(batch, n, features)`.
public struct RepeatVector<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let count: Int
    public var keepsMask: Bool { false }

    public init(name: String, count: Int) {
        self.name = name
        self.count = count
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 2 else { throw GRUModelError.shape(layer: name, "it takes a (batch, features) input, not \(describe(x.shape))") }
        var values: [Scalar] = []
        values.reserveCapacity(x.values.count * count)
        for b in 0..<x.batch {
            let row = x.values[(b * x.width)..<((b + 1) * x.width)]
            for _ in 0..<count { values += row }
        }
        return Tensor(values: values, shape: [x.batch, count, x.width])
    }
}

/// Keras `Permute(dims)`: reorders the axes after the batch axis; `dims` counts them from 1.
public struct Permute<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let dims: [Int]
    public var keepsMask: Bool { false }

    public init(name: String, dims: [Int]) {
        self.name = name
        self.dims = dims
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let sample = Array(x.shape.dropFirst())
        guard dims.sorted() == Array(1...max(1, sample.count)), dims.count == sample.count else {
            throw GRUModelError.shape(layer: name, "dims \(dims) do not reorder the axes of an input of shape \(describe(x.shape))")
        }
        let outShape = dims.map { sample[$0 - 1] }
        var inStrides = [Int](repeating: 1, count: sample.count)
        for axis in stride(from: sample.count - 2, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * sample[axis + 1] }
        let size = x.sampleSize
        var values = [Scalar](repeating: 0, count: x.values.count)
        var index = [Int](repeating: 0, count: sample.count)
        for o in 0..<size {
            var source = 0
            for axis in 0..<sample.count { source += index[axis] * inStrides[dims[axis] - 1] }
            for b in 0..<x.batch { values[b * size + o] = x.values[b * size + source] }
            var axis = sample.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < outShape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(values: values, shape: [x.batch] + outShape)
    }
}
