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
        // Each sample's output in order, a run along its last axis at a time (one copy when that axis is the
        // input's last too); the samples shared among the threads. Every value is written.
        let (outer, inner) = (outShape.dropLast().reduce(1, *), outShape[outShape.count - 1])
        let innerStride = inStrides[dims[dims.count - 1] - 1]
        let leading = Array(outShape.dropLast()), leadingStrides = dims.dropLast().map { inStrides[$0 - 1] }
        let values: [Scalar] = x.values.withUnsafeBufferPointer { input in
            unfilledOutput(x.values.count) { output in
                guard size > 0 else { return }
                let (source, target) = (Int(bitPattern: input.baseAddress!), Int(bitPattern: output))
                parallelRows(x.batch, threads: threads, minimumPerThread: max(1, 16_384 / size)) { samples in
                    let input = UnsafePointer<Scalar>(bitPattern: source)!, output = UnsafeMutablePointer<Scalar>(bitPattern: target)!
                    var index = [Int](repeating: 0, count: leading.count)
                    for b in samples {
                        for axis in index.indices { index[axis] = 0 }
                        for o in 0..<outer {
                            var offset = 0
                            for axis in index.indices { offset += index[axis] * leadingStrides[axis] }
                            let from = input + b * size + offset, to = output + b * size + o * inner
                            if innerStride == 1 {
                                to.update(from: from, count: inner)
                            } else {
                                for e in 0..<inner { to[e] = from[e * innerStride] }
                            }
                            advance(&index, through: leading)
                        }
                    }
                }
            }
        }
        return Tensor(values: values, shape: [x.batch] + outShape)
    }
}
