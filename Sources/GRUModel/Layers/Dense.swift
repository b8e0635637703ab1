import GRUCore

/// Keras `Dense`: `activation(x · kernel + bias)` over the last axis; kernel `(input_dim, units)`,
/// bias `(units,)`. Any leading axes are kept, and the mask passes (Keras 2 and 3 alike).
public struct Dense<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let inputDim: Int
    public let units: Int
    /// `(inputDim, units)` row-major.
    public let kernel: [Scalar]
    public let bias: [Scalar]?
    public let activation: LayerActivation

    public init(name: String, inputDim: Int, units: Int, kernel: [Scalar], bias: [Scalar]?, activation: LayerActivation) throws {
        try requirePositive(inputDim, "kernel's input size", layer: name)
        try requirePositive(units, "units", layer: name)
        guard kernel.count == checkedProduct([inputDim, units]), bias.map({ $0.count == units }) ?? true else {
            throw GRUModelError.config(layer: name, "its kernel holds \(kernel.count) values and its bias \(bias?.count ?? 0); (\(inputDim), \(units)) and (\(units),) were expected")
        }
        (self.name, self.inputDim, self.units, self.kernel, self.bias, self.activation) = (name, inputDim, units, kernel, bias, activation)
    }

    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        try expectWidth(x, inputDim)
        let rows = x.values.count / inputDim
        let count = try reserveOutput(rows, units, of: Scalar.self, layer: name)
        // The kernel widened to Double besides: two scalars' worth at most.
        let (total, overflow) = count.addingReportingOverflow(kernel.count * 2)
        try reserve(overflow ? .max : total, of: Scalar.self, layer: name)
        var out = [Scalar](repeating: 0, count: count)
        // Sums in Double over the kernel's rows, each `units` values: the inner loop vectorizes.
        let weights = kernel.map(Double.init), start = (0..<units).map { u in bias.map { Double($0[u]) } ?? 0 }
        var sums = [Double](repeating: 0, count: units)
        weights.withUnsafeBufferPointer { w in
            x.values.withUnsafeBufferPointer { input in
                sums.withUnsafeMutableBufferPointer { sum in
                    out.withUnsafeMutableBufferPointer { output in
                        for r in 0..<rows {
                            for u in 0..<units { sum[u] = start[u] }
                            for i in 0..<inputDim {
                                let xi = Double(input[r * inputDim + i])
                                let row = i * units
                                for u in 0..<units { sum[u] += xi * w[row + u] }
                            }
                            for u in 0..<units { output[r * units + u] = Scalar(sum[u]) }
                        }
                    }
                }
            }
        }
        let shape = Array(x.shape.dropLast()) + [units]
        return try activation.apply(Tensor(values: out, shape: shape), layer: name)
    }
}
