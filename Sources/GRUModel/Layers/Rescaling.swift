import GRUCore

/// Keras `Rescaling(scale, offset)`: `x * scale + offset` (keras/src/layers/preprocessing/rescaling.py;
/// tf_keras/src/layers/preprocessing/image_preprocessing.py). Each of scale and offset is a number or a list
/// broadcast over the input's last axes as numpy does (a list of one value per channel). No weights; the
/// mask passes.
public struct Rescaling<Scalar: GRUScalar>: UnaryLayer {
    public let name: String
    let scale: [Double], offset: [Double]

    public init(name: String, scale: [Double], offset: [Double]) throws {
        guard !scale.isEmpty, !offset.isEmpty else { throw GRUModelError.config(layer: name, "its scale or offset is an empty list") }
        (self.name, self.scale, self.offset) = (name, scale, offset)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        for (key, list) in [("scale", scale), ("offset", offset)] where list.count != 1 && list.count != x.width {
            throw GRUModelError.shape(layer: name, "its \(key) holds \(list.count) values for an input of shape \(describe(x.shape)); it takes one, or one per value on the last axis")
        }
        // Keras casts scale and offset to the layer's dtype, then computes x * scale + offset in it.
        let s = scale.map { Double(Scalar($0)) }, o = offset.map { Double(Scalar($0)) }
        let width = max(x.width, 1)
        var values = x.values
        for i in values.indices {
            let c = i % width
            let scaled = Scalar(Double(values[i]) * s[s.count == 1 ? 0 : c])
            values[i] = Scalar(Double(scaled) + o[o.count == 1 ? 0 : c])
        }
        return Tensor(values: values, shape: x.shape)
    }
}
