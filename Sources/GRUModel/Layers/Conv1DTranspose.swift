import GRUCore

/// Keras `Conv1DTranspose` (channels_last): kernel `(kernel_size, filters, in_channels)` (filters before the
/// input channels, the reverse of Conv1D), bias `(filters,)`. The output is the adjoint of a Conv1D over an
/// output of length O (`tf.nn.conv1d_transpose`): every input step `i` adds `x[i, c] * kernel[j, f, c]` to
/// output step `i * strides + j * dilation - pad`, then the bias and the activation. With `k` the dilated
/// kernel span, both Keras versions set (`deconv_output_length`, `compute_conv_transpose_output_shape`)
///   valid: O = (L - 1) * s + max(k, s), or (L - 1) * s + k + output_padding; pad = 0
///   same:  O = L * s, or (L - 1) * s + k % 2 + output_padding; pad = max(0, (L - 1) * s + k - O) / 2
/// (TensorFlow's SAME padding of the forward convolution over O). The mask stops here.
public struct Conv1DTranspose<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let kernelSize: Int, inChannels: Int, filters: Int
    public let stride: Int, dilation: Int
    public let padding: Padding
    public let outputPadding: Int?
    /// Laid out `(kernel_size, in_channels, filters)` for the inner loop over filters.
    let weights: [Double]
    let bias: [Double]?
    public let activation: LayerActivation
    public var keepsMask: Bool { false }

    public init(name: String, kernelSize: Int, filters: Int, inChannels: Int, stride: Int, dilation: Int, padding: Padding,
                outputPadding: Int?, kernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try expectAtLeast(1, [kernelSize, filters, inChannels], "kernel sizes", layer: name)
        try expectAtLeast(1, [stride, dilation], "strides and dilation", layer: name)
        // TensorFlow's CPU kernels refuse a dilated transposed convolution, so Keras there gives no numbers to match.
        guard dilation == 1 else { throw GRUModelError.config(layer: name, "its dilation_rate is \(dilation); gru-run runs 1, as TensorFlow does on a CPU") }
        guard padding != .causal else { throw GRUModelError.config(layer: name, "its padding is causal; Keras runs valid and same") }
        if let outputPadding, outputPadding < 0 || outputPadding >= stride {
            throw GRUModelError.config(layer: name, "its output_padding \(outputPadding) is not between 0 and its strides \(stride) (excluded), as Keras requires")
        }
        let expected = try checkedProduct([kernelSize, filters, inChannels], layer: name)
        guard kernel.count == expected, bias.map({ $0.count == filters }) ?? true else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values, not (\(kernelSize), \(filters), \(inChannels)), or its bias not \(filters)")
        }
        (self.name, self.kernelSize, self.inChannels, self.filters) = (name, kernelSize, inChannels, filters)
        (self.stride, self.dilation, self.padding, self.outputPadding, self.activation) = (stride, dilation, padding, outputPadding, activation)
        var w = [Double](repeating: 0, count: expected)
        for j in 0..<kernelSize {
            for f in 0..<filters {
                for c in 0..<inChannels { w[(j * inChannels + c) * filters + f] = Double(kernel[(j * filters + f) * inChannels + c]) }
            }
        }
        weights = w
        self.bias = bias?.map(Double.init)
    }

    /// Output length and padding before the first step, for an input of `length` steps.
    func extent(_ length: Int) throws -> (output: Int, before: Int) {
        let span = (kernelSize - 1) * dilation + 1
        let output: Int
        switch (padding, outputPadding) {
        case (.same, nil): output = length * stride
        case (.same, let extra?): output = (length - 1) * stride + span % 2 + extra
        case (_, nil): output = (length - 1) * stride + max(span, stride)
        case (_, let extra?): output = (length - 1) * stride + span + extra
        }
        guard length >= 1, output >= 1 else {
            throw GRUModelError.shape(layer: name, "an input of \(length) steps gives an output of \(output) steps")
        }
        let before = padding == .same ? max(0, (length - 1) * stride + span - output) / 2 : 0
        return (output, before)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let (batch, steps, _) = try sequenceShape(x, layer: name)
        try expectWidth(x, inChannels)
        let (length, before) = try extent(steps)
        let count = try checkedProduct([batch, length, filters], layer: name)
        try reserve(2 * count, of: Double.self, layer: name)
        var sums = [Double](repeating: 0, count: count)
        for b in 0..<batch {
            for f in 0..<(length * filters) { sums[b * length * filters + f] = bias?[f % filters] ?? 0 }
            for i in 0..<steps {
                for j in 0..<kernelSize {
                    let o = i * stride + j * dilation - before
                    guard o >= 0, o < length else { continue }
                    let target = (b * length + o) * filters
                    for c in 0..<inChannels {
                        let xv = Double(x.values[(b * steps + i) * inChannels + c]), row = (j * inChannels + c) * filters
                        for f in 0..<filters { sums[target + f] += xv * weights[row + f] }
                    }
                }
            }
        }
        let shape = [batch, length, filters]
        return try activation.apply(Tensor(values: sums.map { Scalar($0) }, shape: shape), layer: name)
    }
}
