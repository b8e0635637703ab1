import GRUCore

/// Keras `GlobalMaxPooling1D` / `GlobalAveragePooling1D` (channels_last): over the time axis, to
/// `(batch, channels)`, or `(batch, 1, channels)` with `keepdims=True`. The average honours the mask (masked
/// steps left out: `sum(x * mask) / sum(mask)`), as Keras's does; the maximum ignores it, as Keras's does.
/// Neither passes a mask on.
public struct GlobalPooling1D<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let average: Bool
    public let keepDims: Bool

    public init(name: String, average: Bool, keepDims: Bool = false) {
        self.name = name
        self.average = average
        self.keepDims = keepDims
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
        return [(Tensor(values: out, shape: keepDims ? [x.batch, 1, channels] : [x.batch, channels]), nil)]
    }
}
