import GRUCore

/// Keras `DepthwiseConv1D(kernel_size, strides, padding, depth_multiplier, dilation_rate, activation, use_bias)`
/// (channels_last; keras/src/layers/convolutional/depthwise_conv1d.py, tf_keras alike): each input channel c
/// convolved on its own with `depth_multiplier` filters; output channel `c * depth_multiplier + m`.
/// Weights: depthwise_kernel `(kernel_size, in_channels, depth_multiplier)`, bias `(in_channels * depth_multiplier,)`.
/// Runs as a `Conv1D` whose kernel is zero between different channels. Padding valid or same (Keras refuses
/// causal here). The mask stops here.
public struct DepthwiseConv1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public var keepsMask: Bool { false }
    public let name: String
    let conv: Conv1D<Scalar>

    public init(name: String, kernelSize: Int, inChannels: Int, depthMultiplier: Int, stride: Int, dilation: Int, padding: Padding,
                depthwiseKernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try requirePositive(kernelSize, "kernel_size", layer: name)
        try requirePositive(inChannels, "input channels", layer: name)
        try requirePositive(depthMultiplier, "depth_multiplier", layer: name)
        guard depthwiseKernel.count == checkedProduct([kernelSize, inChannels, depthMultiplier]) else {
            throw GRUModelError.config(layer: name, "its depthwise_kernel holds \(depthwiseKernel.count) values, not (\(kernelSize), \(inChannels), \(depthMultiplier))")
        }
        guard let outChannels = checkedProduct([inChannels, depthMultiplier]), let full = checkedProduct([kernelSize, inChannels, outChannels]) else {
            throw GRUModelError.config(layer: name, "its \(inChannels) channels times depth_multiplier \(depthMultiplier) are too many")
        }
        try reserve(full, of: Scalar.self, layer: name)
        var kernel = [Scalar](repeating: 0, count: full)
        for k in 0..<kernelSize {
            for c in 0..<inChannels {
                for m in 0..<depthMultiplier {
                    kernel[(k * inChannels + c) * outChannels + c * depthMultiplier + m] = depthwiseKernel[(k * inChannels + c) * depthMultiplier + m]
                }
            }
        }
        self.name = name
        conv = try Conv1D(name: name, kernelSize: kernelSize, inChannels: inChannels, filters: outChannels, stride: stride, dilation: dilation,
                          padding: padding, kernel: kernel, bias: bias, activation: activation)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try conv.apply(x, threads: threads)
    }
}
