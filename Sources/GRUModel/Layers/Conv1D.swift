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
        let out: [Scalar]
        if dilation == 1 && before == 0 && (length - 1) * stride + kernelSize <= steps {
            // Every window undilated and inside the input (valid padding): output step t's window is the run
            // of kernel_size * in_channels values from step t * stride, so the product reads the windows in
            // place, one row every stride * in_channels values, without copying them out first.
            out = try windowsInPlace(x, steps: steps, length: length, threads: threads)
        } else {
            out = try patchProduct(x, steps: steps, length: length, before: before, threads: threads)
        }
        let shape = [x.batch, length, filters]
        if activation.isElementwise { return Tensor(values: out, shape: shape) }  // applied block by block
        return try activation.apply(Tensor(values: out, shape: shape), layer: name, threads: threads)
    }

    /// The product over patches gathered row by row (padding, dilation, windows past the input).
    private func patchProduct(_ x: Tensor<Scalar>, steps: Int, length: Int, before: Int, threads: Int) throws -> [Scalar] {
        // Row (b, t) of the patches: the kernel_size windows of in_channels values output step t reads.
        let (stride, dilation, kernelSize, inChannels) = (stride, dilation, kernelSize, inChannels)
        return try x.values.withUnsafeBufferPointer { input in
            let address = Int(bitPattern: input.baseAddress!)
            return try productOverPatches(product, rows: x.batch * length, threads: threads, layer: name, activation: activation) { rows, patches in
                let input = UnsafePointer<Scalar>(bitPattern: address)!
                var (b, t) = (rows.lowerBound / length, rows.lowerBound % length)
                var target = patches
                for _ in rows {
                    let first = t * stride - before
                    // Undilated and inside the input: the window is one run of kernel_size * in_channels values.
                    if dilation == 1 && first >= 0 && first + kernelSize <= steps {
                        target.update(from: input + (b * steps + first) * inChannels, count: kernelSize * inChannels)
                    } else {
                        for k in 0..<kernelSize {
                            let source = t * stride + k * dilation - before
                            if source >= 0 && source < steps {
                                (target + k * inChannels).update(from: input + (b * steps + source) * inChannels, count: inChannels)
                            } else {
                                (target + k * inChannels).update(repeating: 0, count: inChannels)
                            }
                        }
                    }
                    target += kernelSize * inChannels
                    t += 1
                    if t == length { (b, t) = (b + 1, 0) }
                }
            }
        }
    }

    /// The product over windows read in place, sample by sample (the samples shared among the threads, or
    /// each sample's rows where there are fewer samples than threads), an element-wise activation applied to
    /// each sample's output while it is in cache.
    private func windowsInPlace(_ x: Tensor<Scalar>, steps: Int, length: Int, threads: Int) throws -> [Scalar] {
        let count = try reserveOutput(x.batch, length, filters, of: Scalar.self, layer: name)
        let (product, activation, rowStride) = (product, activation, stride * inChannels)
        let (batch, inChannels, filters) = (x.batch, inChannels, filters)
        return x.values.withUnsafeBufferPointer { input in
            unfilledOutput(count) { output in
                let (source, target) = (Int(bitPattern: input.baseAddress!), Int(bitPattern: output))
                let bySamples = threads > 1 && batch >= 2 * threads
                let run: @Sendable (Range<Int>, Int) -> Void = { samples, threads in
                    let input = UnsafePointer<Scalar>(bitPattern: source)!, output = UnsafeMutablePointer<Scalar>(bitPattern: target)!
                    for b in samples {
                        let c = output + b * length * filters
                        product.multiply(input + b * steps * inChannels, rows: length, rowStride: rowStride, into: c, threads: threads)
                        activation.applyElementwise(c, count: length * filters)
                    }
                }
                if bySamples {
                    parallelRows(batch, threads: threads, minimumPerThread: 1) { run($0, 1) }
                } else {
                    run(0..<batch, threads)
                }
            }
        }
    }
}
