import GRUCore

/// Keras `ZeroPadding1D(padding)`: `padding = (before, after)` zero steps around `(batch, steps, channels)`
/// (`ops.pad` on axis 1), or on the last axis of `(batch, channels, steps)` with Keras 3's channels_first.
/// No mask passes.
public struct ZeroPadding1D<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let before: Int, after: Int
    /// `data_format="channels_first"`: the spatial axes follow the channels.
    public let channelsFirst: Bool
    public var keepsMask: Bool { false }

    public init(name: String, before: Int, after: Int, channelsFirst: Bool = false) throws {
        try expectAtLeast(0, [before, after], "padding", layer: name)
        self.channelsFirst = channelsFirst
        (self.name, self.before, self.after) = (name, before, after)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        if channelsFirst { return try throughPlanes(x, rank: 3, layer: name) { try applyChannelsLast($0) } }
        return try applyChannelsLast(x)
    }

    func applyChannelsLast(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let (batch, steps, channels) = try sequenceShape(x, layer: name)
        let length = try checkedProduct([steps + before + after], layer: name)
        let count = try checkedProduct([batch, length, channels], layer: name)
        try reserve(count, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        for b in 0..<batch {
            for t in 0..<steps {
                let from = (b * steps + t) * channels, to = (b * length + t + before) * channels
                for c in 0..<channels { out[to + c] = x.values[from + c] }
            }
        }
        return Tensor(values: out, shape: [batch, length, channels])
    }
}
