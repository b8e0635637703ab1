import GRUCore

/// Keras `Conv1D` (channels_last): kernel `(kernel_size, in_channels, filters)`, bias `(filters,)`;
/// strides, dilation and valid / same / causal padding. The mask stops here.
public struct Conv1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let kernelSize: Int, inChannels: Int, filters: Int
    public let stride: Int, dilation: Int
    public let padding: Padding
    /// The kernel as a `(kernel_size * in_channels, filters)` matrix and the bias, packed for the products.
    public let product: MatrixProduct<Scalar>
    public let activation: LayerActivation
    public var keepsMask: Bool { false }

    public init(name: String, kernelSize: Int, inChannels: Int, filters: Int, stride: Int, dilation: Int, padding: Padding,
                kernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try requirePositive(filters, "filters", layer: name)
        try requirePositive(inChannels, "input channels", layer: name)
        try requirePositive(stride, "strides", layer: name)
        _ = try windowExtent(size: kernelSize, dilation: dilation, sizeKey: "kernel_size", dilationKey: "dilation_rate", layer: name)
        guard kernel.count == checkedProduct([kernelSize, inChannels, filters]), bias.map({ $0.count == filters }) ?? true else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values and its bias \(bias?.count ?? 0), not (\(kernelSize), \(inChannels), \(filters)) and (\(filters),)")
        }
        (self.name, self.kernelSize, self.inChannels, self.filters) = (name, kernelSize, inChannels, filters)
        (self.stride, self.dilation, self.padding, self.activation) = (stride, dilation, padding, activation)
        product = MatrixProduct(matrix: kernel, k: kernelSize * inChannels, n: filters, bias: bias)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 3 else { throw GRUModelError.shape(layer: name, "it takes a (batch, steps, channels) input, not \(describe(x.shape))") }
        try expectWidth(x, inChannels)
        let steps = x.shape[1]
        let (length, before) = padding.extent(length: steps, window: kernelSize, stride: stride, dilation: dilation)
        guard length >= 1 else {
            throw GRUModelError.shape(layer: name, "its input of \(steps) steps is shorter than its kernel_size \(kernelSize) with dilation_rate \(dilation)")
        }
        let count = try reserveOutput(x.batch, length, filters, of: Scalar.self, layer: name)
        // A product over patches: row (b, t) holds the kernel_size windows of in_channels values the output
        // step reads, zeros where the window falls in the padding; made a block of rows at a time.
        let width = kernelSize * inChannels, rows = x.batch * length
        let blockRows = max(1, min(rows, (1 << 18) / width))
        try reserve(blockRows * width, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        var patches = [Scalar](repeating: 0, count: blockRows * width)
        x.values.withUnsafeBufferPointer { input in
            patches.withUnsafeMutableBufferPointer { patch in
                out.withUnsafeMutableBufferPointer { output in
                    for first in Swift.stride(from: 0, to: rows, by: blockRows) {
                        let count = min(blockRows, rows - first)
                        for r in 0..<count {
                            let b = (first + r) / length, t = (first + r) % length
                            let row = patch.baseAddress! + r * width
                            for k in 0..<kernelSize {
                                let source = t * stride + k * dilation - before
                                let target = row + k * inChannels
                                if source >= 0 && source < steps {
                                    target.update(from: input.baseAddress! + (b * steps + source) * inChannels, count: inChannels)
                                } else {
                                    target.update(repeating: 0, count: inChannels)
                                }
                            }
                        }
                        product.multiply(patch.baseAddress!, rows: count, into: output.baseAddress! + first * filters, threads: threads)
                    }
                }
            }
        }
        let shape = [x.batch, length, filters]
        return try activation.apply(Tensor(values: out, shape: shape), layer: name, threads: threads)
    }
}
