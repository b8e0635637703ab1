import GRUCore

/// Keras `Permute(dims)`: reorders the axes after the batch axis; `dims` counts them from 1.
public struct Permute<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let dims: [Int]
    public var keepsMask: Bool { false }

    /// `dims` must be a permutation of 1...dims.count (Keras checks the same when it builds the layer).
    public init(name: String, dims: [Int]) throws {
        guard !dims.isEmpty else { throw GRUModelError.config(layer: name, "its dims list is empty") }
        guard dims.sorted() == Array(1...dims.count) else {
            throw GRUModelError.config(layer: name, "its dims \(dims) are not an ordering of the axes 1 to \(dims.count)")
        }
        self.name = name
        self.dims = dims
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let sample = Array(x.shape.dropFirst())
        guard dims.count == sample.count else {
            throw GRUModelError.shape(layer: name, "its dims \(dims) do not reorder the axes of an input of shape \(describe(x.shape))")
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
            advance(&index, through: outShape)
        }
        return Tensor(values: values, shape: [x.batch] + outShape)
    }
}
