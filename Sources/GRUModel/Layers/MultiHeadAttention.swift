import GRUCore

/// Keras `MultiHeadAttention(num_heads, key_dim, value_dim, output_shape, use_bias)` called as
/// `(query, value[, key])` on inputs of shape (B, T, Dq), (B, S, Dv), (B, S, Dk), the key being the value
/// when not given, attending over axis 1 (the default attention_axes for rank 3)
/// (keras/src/layers/attention/multi_head_attention.py; tf_keras/src/layers/attention/multi_head_attention.py).
/// Each projection is an EinsumDense; flattened, each is a matrix product:
///   query (Dq, N, key_dim) + bias (N, key_dim)   -> Q (B, T, N, key_dim), times 1/sqrt(key_dim)
///   key   (Dk, N, key_dim) + bias (N, key_dim)   -> K (B, S, N, key_dim)
///   value (Dv, N, value_dim) + bias (N, value_dim) -> V (B, S, N, value_dim)
///   scores (B, N, T, S) = softmax_S(Q · K), masked; O (B, T, N, value_dim) = scores · V
///   attention_output (N, value_dim, Dout) + bias (Dout,) -> output (B, T, Dout)
/// tf-keras stores the weights as query/kernel, query/bias, key/..., value/..., attention_output/... (biases
/// only with use_bias); Keras 3 under the sublayers query_dense, key_dense, value_dense, output_dense.
/// The attention mask is the AND of the query's mask (B, T, 1), the value's and the key's (B, 1, S) and the
/// causal mask; what a hidden score becomes is `MaskedScores`: tf-keras's Softmax subtracts 1e9, Keras 3
/// leaves it out (a row hidden throughout: equal weights, or 0 when the scores are returned or dropout is
/// set, as its Softmax layer then runs). The output carries the query's mask; the scores come second with
/// return_attention_scores. Keras 3 casts the scale 1/sqrt(key_dim), a Python float, through TensorFlow's
/// float32 (`float32Scale`), also when the layer computes in float64; tf-keras multiplies by it as it is.
public struct MultiHeadAttention<Scalar: GRUScalar>: ModelLayer, MultipleOutputs, AttentionCall, InputMaskClearing {
    /// Whose softmax runs: tf-keras's (subtracts 1e9; with softmax_robust_masking it replaces the score by
    /// -1e9, a row hidden throughout then giving equal weights), or Keras 3's.
    public enum Softmax: Sendable { case tfKeras, tfKerasRobust, keras3 }
    /// One projection's kernel as an (inputs, outputs) matrix, row-major, and its bias (outputs,), as read;
    /// packed for the product kernels once the layer has checked them.
    public struct Projection: Sendable {
        let kernel: [Scalar], bias: [Scalar]?
        let inputs: Int, outputs: Int

        public init(kernel: [Scalar], bias: [Scalar]?, inputs: Int, outputs: Int) {
            (self.kernel, self.bias, self.inputs, self.outputs) = (kernel, bias, inputs, outputs)
        }
    }

    public var checksItsOutput: Bool { true }
    public let name: String
    public let heads: Int, keyDim: Int, valueDim: Int
    let query: MatrixProduct<Scalar>, key: MatrixProduct<Scalar>, value: MatrixProduct<Scalar>, output: MatrixProduct<Scalar>
    let softmax: Softmax, dropout: Bool, float32Scale: Bool
    public private(set) var options = AttentionOptions()
    public var outputCount: Int { options.returnAttentionScores ? 2 : 1 }
    /// Keras 3's layer takes the masks off its inputs: a layer built after it that reads the same tensors
    /// sees them unmasked.
    public var clearsInputMasks: Bool { softmax == .keras3 }

    /// `query`, `key`, `value`, `output`: (inputs, N * key_dim), (inputs, N * key_dim), (inputs, N * value_dim),
    /// (N * value_dim, Dout), as the builder checked them against the config.
    public init(name: String, heads: Int, keyDim: Int, valueDim: Int, query: Projection, key: Projection, value: Projection,
                output: Projection, softmax: Softmax, dropout: Bool, float32Scale: Bool) throws {
        try requirePositive(heads, "num_heads", layer: name)
        try requirePositive(keyDim, "key_dim", layer: name)
        try requirePositive(valueDim, "value_dim", layer: name)
        let (qk, v) = (checkedProduct([heads, keyDim]), checkedProduct([heads, valueDim]))
        guard let qk, let v, query.outputs == qk, key.outputs == qk, value.outputs == v, output.inputs == v,
              [query, key, value, output].allSatisfy({ $0.inputs >= 1 && $0.outputs >= 1 && $0.kernel.count == $0.inputs * $0.outputs && ($0.bias?.count ?? $0.outputs) == $0.outputs }) else {
            throw GRUModelError.config(layer: name, "its kernels do not fit num_heads \(heads), key_dim \(keyDim) and value_dim \(valueDim)")
        }
        (self.name, self.heads, self.keyDim, self.valueDim) = (name, heads, keyDim, valueDim)
        let products = [query, key, value, output].map { MatrixProduct(matrix: $0.kernel, k: $0.inputs, n: $0.outputs, bias: $0.bias) }
        (self.query, self.key, self.value, self.output) = (products[0], products[1], products[2], products[3])
        (self.softmax, self.dropout) = (softmax, dropout)
        self.float32Scale = float32Scale
    }

    public func called(with options: AttentionOptions) -> MultiHeadAttention {
        var copy = self
        copy.options = options
        return copy
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func call(_ inputs: [Tensor<Scalar>], masks: [Mask], threads: Int) throws -> [(Tensor<Scalar>, Mask)] {
        guard inputs.count == 2 || inputs.count == 3 else {
            throw GRUModelError.shape(layer: name, "it takes query, value and an optional key, not \(inputs.count) inputs")
        }
        let q = inputs[0], v = inputs[1], k = inputs.count == 3 ? inputs[2] : inputs[1]
        guard q.shape.count == 3, v.shape.count == 3, k.shape.count == 3, q.width == query.k, v.width == value.k,
              k.width == key.k, v.shape[0] == q.batch, k.shape[0] == q.batch, k.shape[1] == v.shape[1] else {
            throw GRUModelError.shape(layer: name, "its query \(describe(q.shape)), value \(describe(v.shape)) and key \(describe(k.shape)) do not fit kernels for (batch, steps, \(query.k)), (batch, steps, \(value.k)) and (batch, steps, \(key.k)) with the value's steps")
        }
        let (batch, t, s, n) = (q.batch, q.shape[1], v.shape[1], heads)
        let queryMask = try checkedMask(masks.first ?? nil, batch: batch, steps: t, input: "query", layer: name)
        let valueMask = try checkedMask(masks.count > 1 ? masks[1] : nil, batch: batch, steps: s, input: "value", layer: name)
        let keyMask = try checkedMask(masks.count > 2 ? masks[2] : nil, batch: batch, steps: s, input: "key", layer: name)
        let outCount = try reserveOutput(batch, t, output.n, of: Scalar.self, layer: name)
        let scoreCount = options.returnAttentionScores ? try reserveOutput(batch, n, t, s, of: Scalar.self, layer: name) : 0
        _ = try reserveOutput(batch, t + 2 * s, n, max(keyDim, valueDim), 2, of: Scalar.self, layer: name)
        // The projections (B*T, N*key_dim) etc. in the layer's precision, the query times 1/sqrt(key_dim).
        let exact = 1 / Double(keyDim).squareRoot()
        let scale = Scalar(float32Scale ? Double(Float(exact)) : exact)
        var Q = query(q.values, rows: batch * t, threads: threads)
        for i in Q.indices { Q[i] *= scale }
        let K = key(k.values, rows: batch * s, threads: threads)
        let V = value(v.values, rows: batch * s, threads: threads)
        let style: MaskedScores = switch softmax {
        case .tfKeras: .subtractLarge
        case .tfKerasRobust: .dropUniformRow
        case .keras3: options.returnAttentionScores || dropout ? .dropZeroRow : .dropUniformRow
        }
        let keys: Mask = valueMask == nil && keyMask == nil ? nil
            : (0..<(batch * s)).map { (valueMask?[$0] ?? true) && (keyMask?[$0] ?? true) }
        let hiding = AttentionHiding(keys: keys, queries: queryMask, causal: options.useCausalMask, style: style)
        var scores = [Scalar](repeating: 0, count: scoreCount)
        let O = attentionHeads(q: Q, k: K, v: V, scores: &scores, batch: batch, heads: n, tq: t, tv: s, dk: keyDim, dv: valueDim,
                               score: .dot(scale: nil), hiding: hiding, threads: threads)
        let out = output(O, rows: batch * t, threads: threads)
        precondition(out.count == outCount)
        let result = (Tensor(values: out, shape: [batch, t, output.n]), queryMask)
        return scoreCount > 0 ? [result, (Tensor(values: scores, shape: [batch, n, t, s]), nil)] : [result]
    }
}
