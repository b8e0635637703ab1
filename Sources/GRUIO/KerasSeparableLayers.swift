import GRUCore
import GRUModel

/// SeparableConv1D and DepthwiseConv1D from their configs and weights.
extension KerasLayerBuilder {
    func depthwiseConv1D(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray], separable: Bool) throws -> any ModelLayer<S> {
        try channelsLast(layer)
        let useBias = try reader(layer).bool("use_bias") ?? true
        let names = ["depthwise_kernel"] + (separable ? ["pointwise_kernel"] : []) + (useBias ? ["bias"] : [])
        let w = try weights(layer, arrays, names)
        let depthwise = w[0]
        guard depthwise.shape.count == 3 else { throw fail(layer, "has a depthwise_kernel of shape \(describe(depthwise.shape))") }
        let (size, channels, multiplier) = (depthwise.shape[0], depthwise.shape[1], depthwise.shape[2])
        try stated(layer, ["kernel_size"], equal: size, "depthwise_kernel", depthwise.shape, bare: false)
        try stated(layer, ["depth_multiplier"], equal: multiplier, "depthwise_kernel", depthwise.shape)
        let padding = try padding(layer)
        if padding == .causal && !separable { throw fail(layer, "has padding 'causal', which Keras refuses for DepthwiseConv1D") }
        let stride = try single(layer, "strides", default: 1), dilation = try single(layer, "dilation_rate", default: 1)
        let bias = useBias ? w[names.count - 1].values : nil
        guard separable else {
            return try DepthwiseConv1D(name: layer.name, kernelSize: size, inChannels: channels, depthMultiplier: multiplier, stride: stride,
                                       dilation: dilation, padding: padding, depthwiseKernel: depthwise.values, bias: bias,
                                       activation: try activation(layer))
        }
        let pointwise = w[1]
        guard pointwise.shape.count == 3, pointwise.shape[0] == 1, pointwise.shape[1] == channels * multiplier else {
            throw fail(layer, "has a pointwise_kernel of shape \(describe(pointwise.shape)), where its depthwise_kernel of shape \(describe(depthwise.shape)) needs (1, \(channels * multiplier), filters)")
        }
        try stated(layer, ["filters"], equal: pointwise.shape[2], "pointwise_kernel", pointwise.shape)
        return try SeparableConv1D(name: layer.name, kernelSize: size, inChannels: channels, depthMultiplier: multiplier,
                                   filters: pointwise.shape[2], stride: stride, dilation: dilation, padding: padding,
                                   depthwiseKernel: depthwise.values, pointwiseKernel: pointwise.values, bias: bias,
                                   activation: try activation(layer))
    }
}
