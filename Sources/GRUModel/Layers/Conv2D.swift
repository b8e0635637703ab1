import GRUCore

/// Keras `Conv2D` (channels_last): input `(batch, rows, cols, channels)`, kernel `(kh, kw, in, filters)`,
/// bias `(filters,)`; strides, dilation, valid or same padding.
public struct Conv2D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let kernelSize: (Int, Int), strides: (Int, Int), dilation: (Int, Int)
    public let inChannels: Int, filters: Int
    public let padding: Padding
    /// The kernel as a `(kh * kw * in, filters)` matrix and the bias, packed for the products.
    public let product: MatrixProduct<Scalar>
    public let activation: LayerActivation
    public var keepsMask: Bool { false }

    public init(name: String, kernelSize: (Int, Int), strides: (Int, Int), dilation: (Int, Int), inChannels: Int, filters: Int,
                padding: Padding, kernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try requirePositive(filters, "filters", layer: name)
        try requirePositive(inChannels, "input channels", layer: name)
        for stride in [strides.0, strides.1] { try requirePositive(stride, "strides", layer: name) }
        _ = try windowExtent(size: kernelSize.0, dilation: dilation.0, sizeKey: "kernel_size", dilationKey: "dilation_rate", layer: name)
        _ = try windowExtent(size: kernelSize.1, dilation: dilation.1, sizeKey: "kernel_size", dilationKey: "dilation_rate", layer: name)
        guard padding != .causal else { throw GRUModelError.config(layer: name, "its padding 'causal' is for Conv1D only") }
        guard kernel.count == checkedProduct([kernelSize.0, kernelSize.1, inChannels, filters]), bias.map({ $0.count == filters }) ?? true else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values and its bias \(bias?.count ?? 0), not (\(kernelSize.0), \(kernelSize.1), \(inChannels), \(filters)) and (\(filters),)")
        }
        (self.name, self.kernelSize, self.strides, self.dilation) = (name, kernelSize, strides, dilation)
        (self.inChannels, self.filters, self.padding, self.activation) = (inChannels, filters, padding, activation)
        product = MatrixProduct(matrix: kernel, k: kernelSize.0 * kernelSize.1 * inChannels, n: filters, bias: bias)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 4 else { throw GRUModelError.shape(layer: name, "it takes a (batch, rows, cols, channels) input, not \(describe(x.shape))") }
        try expectWidth(x, inChannels)
        let (rows, cols) = (x.shape[1], x.shape[2])
        let (outRows, top) = padding.extent(length: rows, window: kernelSize.0, stride: strides.0, dilation: dilation.0)
        let (outCols, left) = padding.extent(length: cols, window: kernelSize.1, stride: strides.1, dilation: dilation.1)
        guard outRows >= 1, outCols >= 1 else {
            throw GRUModelError.shape(layer: name, "its input of \(rows) x \(cols) is smaller than its kernel's extent")
        }
        // Row (b, r, c) of the patches: the kh x kw pixels of in_channels values output pixel (r, c) reads.
        let (kernelSize, strides, dilation, inChannels) = (kernelSize, strides, dilation, inChannels)
        let out = try x.values.withUnsafeBufferPointer { input in
            let source = Int(bitPattern: input.baseAddress!)
            return try productOverPatches(product, rows: x.batch * outRows * outCols, threads: threads, layer: name, activation: activation) { pixels, patches in
                let input = UnsafePointer<Scalar>(bitPattern: source)!
                // The first pixel's place once, then column by column (no division per pixel).
                var (c, r, b) = (pixels.lowerBound % outCols, pixels.lowerBound / outCols % outRows, pixels.lowerBound / (outCols * outRows))
                var target = patches
                let (lastRow, lastColumn) = ((kernelSize.0 - 1) * dilation.0, (kernelSize.1 - 1) * dilation.1)
                let run = kernelSize.1 * inChannels
                for _ in pixels {
                    let (sr0, sc0) = (r * strides.0 - top, c * strides.1 - left)
                    if dilation.1 == 1 && sr0 >= 0 && sr0 + lastRow < rows && sc0 >= 0 && sc0 + lastColumn < cols {
                        // The window inside the input, its columns adjacent: one run of kw * in_channels values
                        // per kernel row.
                        for i in 0..<kernelSize.0 {
                            let from = input + ((b * rows + sr0 + i * dilation.0) * cols + sc0) * inChannels
                            if run < 16 {
                                for e in 0..<run { target[e] = from[e] }
                            } else {
                                target.update(from: from, count: run)
                            }
                            target += run
                        }
                    } else {
                        for i in 0..<kernelSize.0 {
                            let sr = r * strides.0 + i * dilation.0 - top
                            for j in 0..<kernelSize.1 {
                                let sc = c * strides.1 + j * dilation.1 - left
                                if sr >= 0 && sr < rows && sc >= 0 && sc < cols {
                                    let from = input + ((b * rows + sr) * cols + sc) * inChannels
                                    // A few channels (an image's 1 or 3) one by one rather than a copy call each.
                                    if inChannels < 8 {
                                        for e in 0..<inChannels { target[e] = from[e] }
                                    } else {
                                        target.update(from: from, count: inChannels)
                                    }
                                } else {
                                    for e in 0..<inChannels { target[e] = 0 }
                                }
                                target += inChannels
                            }
                        }
                    }
                    c += 1
                    if c == outCols {
                        c = 0
                        r += 1
                        if r == outRows { (r, b) = (0, b + 1) }
                    }
                }
            }
        }
        let shape = [x.batch, outRows, outCols, filters]
        if activation.isElementwise { return Tensor(values: out, shape: shape) }  // applied block by block
        return try activation.apply(Tensor(values: out, shape: shape), layer: name, threads: threads)
    }
}
