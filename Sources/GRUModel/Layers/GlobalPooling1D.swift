import GRUCore

/// Keras `GlobalMaxPooling1D` / `GlobalAveragePooling1D`: over the steps axis (axis 1 of `(batch, steps,
/// channels)`, or axis 2 of `(batch, channels, steps)` with `data_format="channels_first"`), to
/// `(batch, channels)`, or with `keepdims=True` `(batch, 1, channels)` / `(batch, channels, 1)`. The average
/// honours the mask (masked steps left out: `sum(x * mask) / sum(mask)`), as Keras's does; the maximum
/// ignores it, as Keras's does. Neither passes a mask on. A channels_first average given a mask is refused:
/// Keras lays the (batch, steps) mask over the last axis, which is not the axis the mask was made for.
public struct GlobalPooling1D<Scalar: GRUScalar>: ModelLayer {
    public let name: String
    public let average: Bool
    public let keepDims: Bool
    public let channelsFirst: Bool

    public init(name: String, average: Bool, keepDims: Bool = false, channelsFirst: Bool = false) {
        (self.name, self.average, self.keepDims, self.channelsFirst) = (name, average, keepDims, channelsFirst)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 1, inputs[0].shape.count == 3 else {
            throw GRUModelError.shape(layer: name, "it takes one (batch, steps, channels) input")
        }
        let x = inputs[0], mask = average ? masks.first ?? nil : nil
        if channelsFirst, mask != nil {
            throw GRUModelError.shape(layer: name, "it averages channels_first with a mask, which Keras lays over the wrong axis; gru-run does not run that")
        }
        let (steps, channels) = channelsFirst ? (x.shape[2], x.shape[1]) : (x.shape[1], x.shape[2])
        // Where value (b, t, c) lies.
        let (stepStride, channelStride) = channelsFirst ? (1, steps) : (channels, 1)
        var out = [Scalar](repeating: 0, count: x.batch * channels)
        if channelsFirst {
            for b in 0..<x.batch {
                for c in 0..<channels {
                    var best = -Scalar.infinity, sum = 0.0, count = 0.0
                    for t in 0..<steps {
                        let v = x.values[b * steps * channels + t * stepStride + c * channelStride]
                        if v > best || v.isNaN { best = v }
                        sum += Double(v)
                        count += 1
                    }
                    out[b * channels + c] = average ? Scalar(sum / count) : best
                }
            }
        } else {
            // Channels last: each sample's steps are rows, taken whole one after another.
            let average = self.average
            x.values.withUnsafeBufferPointer { xs in
                out.withUnsafeMutableBufferPointer { os in
                    let (input, output) = (Int(bitPattern: xs.baseAddress), Int(bitPattern: os.baseAddress))
                    parallelRows(x.batch, threads: threads, minimumPerThread: max(1, 65_536 / max(1, steps * channels))) { samples in
                        guard let input = UnsafePointer<Scalar>(bitPattern: input), let output = UnsafeMutablePointer<Scalar>(bitPattern: output) else { return }
                        let sums = UnsafeMutablePointer<Double>.allocate(capacity: channels)
                        defer { sums.deallocate() }
                        for b in samples {
                            let o = output + b * channels
                            if average { sums.initialize(repeating: 0, count: channels) } else { o.update(repeating: -Scalar.infinity, count: channels) }
                            var count = 0.0
                            for t in 0..<steps where mask?[b * steps + t] ?? true {
                                let row = input + (b * steps + t) * channels
                                if average {
                                    for c in 0..<channels { sums[c] += Double(row[c]) }
                                } else {
                                    for c in 0..<channels where row[c] > o[c] || row[c].isNaN { o[c] = row[c] }
                                }
                                count += 1
                            }
                            if average { for c in 0..<channels { o[c] = Scalar(sums[c] / count) } }
                        }
                    }
                }
            }
        }
        let kept = channelsFirst ? [x.batch, channels, 1] : [x.batch, 1, channels]
        return [(Tensor(values: out, shape: keepDims ? kept : [x.batch, channels]), nil)]
    }
}
