import GRUCore

/// Keras `EinsumDense(equation, output_shape, bias_axes, activation)`:
/// `activation(einsum(equation, x, kernel) + bias)`. The kernel's axes are the equation's second operand;
/// the bias covers the output letters from the first one in `bias_axes` to the end (size 1 for letters not
/// in `bias_axes`, and for the dims a trailing `...` stands for), and is added by broadcasting on the
/// output's last axes. Equations are those Keras's `_analyze_einsum_string` accepts: `ab,bc->ac`,
/// `...b,bc->...c` and `ab...,bc->ac...` (see `EinsumEquation`). The mask stops here.
public struct EinsumDense<Scalar: GRUScalar>: UnaryLayer {
    public var checksItsOutput: Bool { true }
    public let name: String
    public let equation: EinsumEquation
    let kernel: [Double], kernelShape: [Int]
    let bias: [Double]?, biasAxes: String?
    public let activation: LayerActivation
    public var keepsMask: Bool { false }

    public init(name: String, equation: String, kernel: [Scalar], kernelShape: [Int], bias: [Scalar]?, biasAxes: String?,
                activation: LayerActivation) throws {
        let parsed = try EinsumEquation(equation, layer: name)
        guard kernelShape.count == parsed.kernel.count, kernelShape.allSatisfy({ $0 >= 1 }), kernelShape.reduce(1, *) == kernel.count else {
            throw GRUModelError.config(layer: name, "its kernel of shape \(describe(kernelShape)) does not fit the equation '\(equation)'")
        }
        if let biasAxes {
            guard bias != nil, !biasAxes.isEmpty, biasAxes.allSatisfy({ parsed.output.contains($0) }), Set(biasAxes).count == biasAxes.count else {
                throw GRUModelError.config(layer: name, "its bias_axes '\(biasAxes)' are not letters of the output '\(String(parsed.output))', each once")
            }
        } else if bias != nil {
            throw GRUModelError.config(layer: name, "it holds a bias but names no bias_axes")
        }
        (self.name, self.equation, self.kernelShape, self.biasAxes, self.activation) = (name, parsed, kernelShape, biasAxes, activation)
        self.kernel = kernel.map(Double.init)
        self.bias = bias?.map(Double.init)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        let plan = try equation.plan(input: x.shape, kernel: kernelShape, layer: name)
        let count = try checkedProduct(plan.outputShape, layer: name)
        try reserve(count, of: Scalar.self, layer: name)
        let biasIndex = try self.biasIndex(plan)
        var out = [Scalar](repeating: 0, count: count)
        // Every pairing of input and kernel offsets one output element sums over.
        var pairs: [(Int, Int)] = []
        var index = [Int](repeating: 0, count: plan.summed.count)
        for _ in 0..<plan.summed.reduce(1, { $0 * $1.size }) {
            pairs.append(zip(index, plan.summed).reduce((0, 0)) { ($0.0 + $1.0 * $1.1.input, $0.1 + $1.0 * $1.1.kernel) })
            advance(&index, through: plan.summed.map(\.size))
        }
        var at = [Int](repeating: 0, count: plan.kept.count)
        for o in 0..<count {
            let (xBase, kBase) = zip(at, plan.kept).reduce((0, 0)) { ($0.0 + $1.0 * $1.1.input, $0.1 + $1.0 * $1.1.kernel) }
            var sum = 0.0
            for (xi, ki) in pairs { sum += Double(x.values[xBase + xi]) * kernel[kBase + ki] }
            if let bias { sum += bias[biasIndex(o)] }
            out[o] = Scalar(sum)
            advance(&at, through: plan.outputShape)
        }
        return try activation.apply(Tensor(values: out, shape: plan.outputShape), layer: name)
    }

    /// Maps an output element to its bias value: strides over the output letters in `bias_axes`.
    private func biasIndex(_ plan: EinsumEquation.Plan) throws -> (Int) -> Int {
        guard let biasAxes, let bias else { return { _ in 0 } }
        var strides: [(inner: Int, size: Int, stride: Int)] = []
        var inner = 1, stride = 1
        for (axis, letter) in plan.outputLetters.enumerated().reversed() {
            let size = plan.outputShape[axis]
            if let letter, biasAxes.contains(letter) {
                strides.append((inner, size, stride))
                stride *= size
            }
            inner *= size
        }
        guard stride == bias.count else {
            throw GRUModelError.shape(layer: name, "its bias holds \(bias.count) values, but bias_axes '\(biasAxes)' of an output of shape \(describe(plan.outputShape)) need \(stride)")
        }
        return { o in strides.reduce(0) { $0 + (o / $1.inner) % $1.size * $1.stride } }
    }
}
