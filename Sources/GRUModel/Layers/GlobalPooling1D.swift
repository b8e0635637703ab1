import GRUCore

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
