import GRUCore

/// How a convolution or pooling window meets the edges, as Keras names it.
public enum Padding: String, Sendable {
    case valid, same, causal

    /// Output length and the padding before the first position, for an input of `length`.
    func extent(length: Int, window: Int, stride: Int, dilation: Int = 1) -> (output: Int, before: Int) {
        let span = (window - 1) * dilation + 1
        switch self {
        case .valid: return (length >= span ? (length - span) / stride + 1 : 0, 0)
        case .same:
            let output = (length + stride - 1) / stride
            let total = max(0, (output - 1) * stride + span - length)
            return (output, total / 2)
        case .causal: return ((length + stride - 1) / stride, span - 1)
        }
    }
}

/// Keras `Conv1D` (channels_last): kernel `(kernel_size, in_channels, filters)`, bias `(filters,)`;
/// strides, dilation and valid / same / causal padding. The mask stops here.
public struct Conv1D<Scalar: GRUScalar>: UnaryLayer {
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
        guard kernel.count == kernelSize * inChannels * filters, bias.map({ $0.count == filters }) ?? true,
              stride >= 1, dilation >= 1 else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values, not (\(kernelSize), \(inChannels), \(filters)), or its strides or dilation are below 1")
        }
        (self.name, self.kernelSize, self.inChannels, self.filters) = (name, kernelSize, inChannels, filters)
        (self.stride, self.dilation, self.padding, self.kernel, self.bias, self.activation) = (stride, dilation, padding, kernel, bias, activation)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 3 else { throw GRUModelError.shape(layer: name, "it takes a (batch, steps, channels) input, not \(describe(x.shape))") }
        try expectWidth(x, inChannels)
        let steps = x.shape[1]
        let (length, before) = padding.extent(length: steps, window: kernelSize, stride: stride, dilation: dilation)
        var out = [Scalar](repeating: 0, count: x.batch * length * filters)
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
        activation.apply(&out, shape: shape)
        return Tensor(values: out, shape: shape)
    }
}

/// Keras `MaxPooling1D` / `AveragePooling1D` (channels_last): windows of `pool_size` every `strides`
/// steps; valid or same padding (an average counts only the steps inside the input).
public struct Pooling1D<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    public let poolSize: Int, stride: Int
    public let padding: Padding
    public let average: Bool
    public var keepsMask: Bool { false }

    public init(name: String, poolSize: Int, stride: Int, padding: Padding, average: Bool) {
        (self.name, self.poolSize, self.stride, self.padding, self.average) = (name, poolSize, stride, padding, average)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        guard x.shape.count == 3 else { throw GRUModelError.shape(layer: name, "it takes a (batch, steps, channels) input, not \(describe(x.shape))") }
        let (steps, channels) = (x.shape[1], x.shape[2])
        let (length, before) = padding.extent(length: steps, window: poolSize, stride: stride)
        var out = [Scalar](repeating: 0, count: x.batch * length * channels)
        for b in 0..<x.batch {
            for t in 0..<length {
                let start = max(0, t * stride - before), end = min(steps, t * stride - before + poolSize)
                for c in 0..<channels {
                    var best = -Scalar.infinity, sum = 0.0
                    for s in start..<end {
                        let v = x.values[(b * steps + s) * channels + c]
                        if v > best || v.isNaN { best = v }
                        sum += Double(v)
                    }
                    out[(b * length + t) * channels + c] = average ? Scalar(sum / Double(max(1, end - start))) : best
                }
            }
        }
        return Tensor(values: out, shape: [x.batch, length, channels])
    }
}

/// Keras `GlobalMaxPooling1D` / `GlobalAveragePooling1D`: over the time axis. The average honours the
/// mask (masked steps left out), as Keras's does; the maximum ignores it, as Keras's does.
public struct GlobalPooling1D<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let average: Bool

    public init(name: String, average: Bool) {
        self.name = name
        self.average = average
    }

    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1, inputs[0].shape.count == 3 else {
            throw GRUModelError.shape(layer: name, "it takes one (batch, steps, channels) input")
        }
        let x = inputs[0], mask = average ? masks.first ?? nil : nil
        let (steps, channels) = (x.shape[1], x.shape[2])
        var out = [Scalar](repeating: 0, count: x.batch * channels)
        for b in 0..<x.batch {
            for c in 0..<channels {
                var best = -Scalar.infinity, sum = 0.0, count = 0.0
                for t in 0..<steps where mask?[b * steps + t] ?? true {
                    let v = x.values[(b * steps + t) * channels + c]
                    if v > best || v.isNaN { best = v }
                    sum += Double(v)
                    count += 1
                }
                out[b * channels + c] = average ? Scalar(sum / count) : best
            }
        }
        return [(Tensor(values: out, shape: [x.batch, channels]), nil)]
    }
}
