import GRUCore

/// Keras `Conv1D` (channels_last): kernel `(kernel_size, in_channels, filters)`, bias `(filters,)`;
/// strides, dilation and valid / same / causal padding. The mask stops here.
public struct Conv1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let kernelSize: Int, inChannels: Int, filters: Int
    public let stride: Int, dilation: Int
    public let padding: Padding
    public let kernel: [Scalar]
    public let bias: [Scalar]?
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
        (self.stride, self.dilation, self.padding, self.kernel, self.bias, self.activation) = (stride, dilation, padding, kernel, bias, activation)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 3 else { throw GRUModelError.shape(layer: name, "it takes a (batch, steps, channels) input, not \(describe(x.shape))") }
        try expectWidth(x, inChannels)
        let steps = x.shape[1]
        let (length, before) = padding.extent(length: steps, window: kernelSize, stride: stride, dilation: dilation)
        guard length >= 1 else {
            throw GRUModelError.shape(layer: name, "its input of \(steps) steps is shorter than its kernel_size \(kernelSize) with dilation_rate \(dilation)")
        }
        let count = try reserveOutput(x.batch, length, filters, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        let weights = kernel.map(Double.init), start = (0..<filters).map { f in bias.map { Double($0[f]) } ?? 0 }
        var sums = [Double](repeating: 0, count: filters)
        weights.withUnsafeBufferPointer { w in
            x.values.withUnsafeBufferPointer { input in
                sums.withUnsafeMutableBufferPointer { sum in
                    out.withUnsafeMutableBufferPointer { output in
                        for b in 0..<x.batch {
                            for t in 0..<length {
                                for f in 0..<filters { sum[f] = start[f] }
                                for k in 0..<kernelSize {
                                    let source = t * stride + k * dilation - before
                                    guard source >= 0, source < steps else { continue }
                                    for c in 0..<inChannels {
                                        let xv = Double(input[(b * steps + source) * inChannels + c])
                                        let row = (k * inChannels + c) * filters
                                        for f in 0..<filters { sum[f] += xv * w[row + f] }
                                    }
                                }
                                for f in 0..<filters { output[(b * length + t) * filters + f] = Scalar(sum[f]) }
                            }
                        }
                    }
                }
            }
        }
        let shape = [x.batch, length, filters]
        return try activation.apply(Tensor(values: out, shape: shape), layer: name)
    }
}
