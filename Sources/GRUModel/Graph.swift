import GRUCore

/// A Keras model as gru-run runs it: its inputs, its layer calls in an order where every call comes after
/// the calls it takes tensors from, and its outputs. A Sequential model is the chain of its layers.
public struct ModelGraph<Scalar: GRUScalar>: Sendable {
    /// A tensor: a model input, or output `index` of call `node`.
    public enum Source: Hashable, Sendable {
        case input(Int)
        case node(Int, output: Int)
    }

    public struct Call: Sendable {
        public var name: String
        /// Keras's class name, `TimeDistributed(Dense)` for a wrapper.
        public var className: String
        public var layer: any ModelLayer<Scalar>
        public var inputs: [Source]

        public init(name: String, className: String, layer: any ModelLayer<Scalar>, inputs: [Source]) {
            (self.name, self.className, self.layer, self.inputs) = (name, className, layer, inputs)
        }
    }

    public struct Input: Sendable {
        public var name: String
        /// The shape Keras declares without the batch axis (nil where any size goes); nil when the model
        /// declares none.
        public var shape: [Int?]?
        /// The batch size the model declares (`batch_input_shape`, as a stateful model must), if any.
        public var batch: Int?

        public init(name: String, shape: [Int?]?, batch: Int? = nil) {
            self.name = name
            self.shape = shape
            self.batch = batch
        }
    }

    public var inputs: [Input]
    public var calls: [Call]
    public var outputs: [Source]

    public init(inputs: [Input], calls: [Call], outputs: [Source]) {
        (self.inputs, self.calls, self.outputs) = (inputs, calls, outputs)
    }

    /// How many tensors call `index` gives (a recurrent layer with return_state gives its states too, an
    /// attention layer with return_attention_scores its scores).
    public func outputsOfCall(_ index: Int) -> Int {
        (calls[index].layer as? any MultipleOutputs)?.outputCount ?? 1
    }

    /// Runs the model on one tensor per input; returns one tensor per output.
    /// `observe` sees each call's output shapes as it runs (`inspect` reports them).
    /// `masks`: the inputs' masks (Keras's `model(x, mask=...)`), none when empty.
    /// `keep`: tensors returned after the outputs as well (a layer's final states).
    public func callAsFunction(_ values: [Tensor<Scalar>], masks: [Mask] = [], threads: Int, keep: [Source] = [],
                               observe: ((Int, [[Int]]) -> Void)? = nil) throws -> [Tensor<Scalar>] {
        guard values.count == inputs.count else {
            throw GRUModelError.shape(layer: inputs.first?.name ?? "input", "the model takes \(inputs.count) inputs, not \(values.count)")
        }
        for (input, value) in zip(inputs, values) {
            guard let shape = input.shape else { continue }
            let sample = Array(value.shape.dropFirst())
            guard sample.count == shape.count, zip(sample, shape).allSatisfy({ $1 == nil || $0 == $1 }) else {
                let expected = "(batch, " + shape.map { $0.map(String.init) ?? "any" }.joined(separator: ", ") + ")"
                throw GRUModelError.shape(layer: input.name, "the input has shape \(describe(value.shape)) but the model expects \(expected)")
            }
        }
        var results: [Source: (Tensor<Scalar>, Mask)] = [:]
        for (i, value) in values.enumerated() { results[.input(i)] = (value, i < masks.count ? masks[i] : nil) }
        // A tensor is dropped once its last reader has run.
        var readers: [Source: Int] = [:]
        for call in calls { for source in call.inputs { readers[source, default: 0] += 1 } }
        for source in outputs + keep { readers[source, default: 0] += 1 }
        for (index, call) in calls.enumerated() {
            let given = try call.inputs.map { source -> (Tensor<Scalar>, Mask) in
                guard let value = results[source] else {
                    throw GRUModelError.shape(layer: call.name, "its input is not computed before it")
                }
                return value
            }
            for source in call.inputs {
                readers[source, default: 0] -= 1
                if readers[source] == 0 { results[source] = nil }
            }
            // Most layers make an output the size of their inputs; the others (Dense, Embedding, convolutions,
            // pooling, RepeatVector, GRUs) check their own.
            if !call.layer.checksItsOutput {
                try reserve(given.reduce(0) { $0 + $1.0.values.count }, of: Scalar.self, layer: call.name)
            }
            // Closures, not key paths: a key path into a generic tuple is built anew at run time on every call.
            let produced = try call.layer.call(given.map { $0.0 }, masks: given.map { $0.1 }, threads: threads)
            if (call.layer as? any InputMaskClearing)?.clearsInputMasks == true {
                for source in call.inputs { results[source]?.1 = nil }
            }
            observe?(index, produced.map { $0.0.shape })
            for (k, output) in produced.enumerated() { results[.node(index, output: k)] = output }
        }
        let kept = try keep.map { source in
            guard let value = results[source] else { throw GRUModelError.shape(layer: "model", "a state is never computed") }
            return value.0
        }
        return try outputs.map { source in
            guard let value = results[source] else { throw GRUModelError.shape(layer: "model", "an output is never computed") }
            return value.0
        } + kept
    }
}
