import GRUCore

/// Keras `SeparableConv1D(filters, kernel_size, strides, padding, dilation_rate, depth_multiplier, activation,
/// use_bias)` (channels_last; keras/src/layers/convolutional/separable_conv1d.py, tf_keras alike): a depthwise
/// convolution (no bias, no activation) then a pointwise one (kernel size 1) with the bias and activation.
/// Weights: depthwise_kernel `(kernel_size, in_channels, depth_multiplier)`, pointwise_kernel
/// `(1, in_channels * depth_multiplier, filters)`, bias `(filters,)`. Padding valid, same, or causal
/// (tf-keras only). The mask stops here.
public struct SeparableConv1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public var keepsMask: Bool { false }
    public let name: String
    let depthwise: DepthwiseConv1D<Scalar>
    let pointwise: Conv1D<Scalar>

    public init(name: String, kernelSize: Int, inChannels: Int, depthMultiplier: Int, filters: Int, stride: Int, dilation: Int,
                padding: Padding, depthwiseKernel: [Scalar], pointwiseKernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        depthwise = try DepthwiseConv1D(name: name, kernelSize: kernelSize, inChannels: inChannels, depthMultiplier: depthMultiplier,
                                        stride: stride, dilation: dilation, padding: padding, depthwiseKernel: depthwiseKernel, bias: nil,
                                        activation: .linear)
        pointwise = try Conv1D(name: name, kernelSize: 1, inChannels: depthwise.conv.filters, filters: filters, stride: 1, dilation: 1,
                               padding: .valid, kernel: pointwiseKernel, bias: bias, activation: activation)
        self.name = name
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try pointwise.apply(try depthwise.apply(x, threads: threads), threads: threads)
    }
}
