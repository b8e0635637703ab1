import GRUCore
import GRUModel

extension KerasModel {
    /// Whether the file states a model that gru-run can run whole (it has a config).
    public var hasGraph: Bool { modelConfig != nil }

    /// Whether `model.predict` is more than one GRU's call: the model has layers besides inputs, Masking
    /// and GRUs, or several inputs (an `initial_state` from an input of its own). A model of other layers
    /// alone runs whole too.
    public var needsGraph: Bool {
        hasGraph && (layers.contains(where: \.isOther) || layerConfigs.filter { $0.className == "InputLayer" }.count > 1)
    }

    /// The model as a graph of layers computing in `S`, `overrides` applied to its GRU or Bidirectional
    /// layers (the caller allows them where the model has one). `through`: the graph ends at that layer's output instead
    /// (Keras's `Model(m.inputs, m.get_layer(NAME).output)`: its first call, or the input an InputLayer
    /// names), and only the layers that output depends on are built, so nothing after it is read or checked.
    /// `placeholders`: the weights left in the file are not read but taken as zeros (a graph for its shapes:
    /// `inspect`).
    public func graph<S: GRUScalar>(_ type: S.Type, through: String? = nil, overrides: GRUOverrides = GRUOverrides(),
                                    placeholders: Bool = false) throws -> ModelGraph<S> {
        try graph(S.self, through: through, overrides: overrides, weights: LayerWeightStore(otherWeights, placeholders: placeholders))
    }

    /// The graph, the model's arrays handed over to it: each layer's arrays are let go once the layer holds
    /// its own copy (packed panels), so a run's memory peaks near the weights' size, not twice that.
    public mutating func takeGraph<S: GRUScalar>(_ type: S.Type, through: String? = nil, overrides: GRUOverrides = GRUOverrides()) throws -> ModelGraph<S> {
        let weights = LayerWeightStore(otherWeights)
        otherWeights = [:]
        return try graph(S.self, through: through, overrides: overrides, weights: weights)
    }

    private func graph<S: GRUScalar>(_ type: S.Type, through: String?, overrides: GRUOverrides, weights: LayerWeightStore) throws -> ModelGraph<S> {
        guard let root = modelConfig else {
            throw GRUIOError.keras(path: path, "holds weights only: without a model config it defines no whole model; run one layer with --layer NAME")
        }
        var connectivity = try KerasConnectivity(root: root, layers: layerConfigs, path: path)
        let inputs = connectivity.inputs.map { ModelGraph<S>.Input(name: $0.name, shape: $0.shape, batch: declaredBatch(of: $0.name)) }
        var throughInput: Int?, throughNested = false
        if let through {
            if let k = connectivity.inputs.firstIndex(where: { $0.name == through }) {
                throughInput = k
                connectivity.outputs = []
            } else if let call = connectivity.calls.first(where: { $0.layer.name == through }) {
                // Calls are listed in the order the layer was called: the first is Keras's `.output`.
                connectivity.outputs = [.init(layer: call.layer.name, node: call.node, tensor: 0)]
            } else if let made = connectivity.nestedOutputs[through] {
                // A nested model: every output of its first call.
                connectivity.outputs = made
                throughNested = true
            } else {
                var named = Set<String>()
                let names = connectivity.inputs.map(\.name) + connectivity.calls.map(\.layer.name).filter { named.insert($0).inserted }
                throw GRUIOError.keras(path: path, "has no layer named \(Printable.quoted(through)) that the model runs; its layers are \(names.map { Printable.name($0) }.joined(separator: ", "))")
            }
        }
        let order = try KerasCallOrder(connectivity, path: path)
        var bare = self
        bare.otherWeights = [:]
        let builder = KerasLayerBuilder<S>(model: bare, weights: weights, overrides: overrides)
        var calls: [ModelGraph<S>.Call] = []
        var built: [String: any ModelLayer<S>] = [:]
        for call in order.calls {
            let layer: any ModelLayer<S>
            do {
                layer = try built[call.layer.name] ?? builder.layer(call.layer)
            } catch GRUIOError.unsupportedLayer(let file, let what) {
                throw GRUIOError.unsupportedLayer(path: file, what + advice(before: call, connectivity))
            }
            built[call.layer.name] = layer
            calls.append(.init(name: call.layer.name, className: builder.className(call.layer),
                               layer: try builder.called(layer, call.layer, kwargs: call.kwargs),
                               inputs: try call.inputs.map { try order.source($0, S.self, inputs: connectivity.inputs, path: path) }))
        }
        let outputs = try connectivity.outputs.map { try order.source($0, S.self, inputs: connectivity.inputs, path: path) }
        var graph = ModelGraph(inputs: inputs, calls: calls, outputs: outputs)
        if let throughInput {
            graph.outputs = [.input(throughInput)]
        } else if through != nil, !throughNested, let last = calls.indices.last {
            // Every tensor the layer gives (a recurrent layer with return_state gives its states too).
            graph.outputs = (0..<graph.outputsOfCall(last)).map { .node(last, output: $0) }
        }
        return graph
    }

    /// The batch size an input declares: its InputLayer's (or a Sequential's first layer's) first dimension.
    private func declaredBatch(of input: String) -> Int? {
        let config = layerConfigs.first { $0.className == "InputLayer" && $0.name == input }?.config
            ?? (layerConfigs.first?.className == "InputLayer" ? nil : layerConfigs.first?.config)
        guard let shape = (config?["batch_input_shape"] ?? config?["batch_shape"])?.array, let first = shape.first,
              let batch = first.wholeNumber, batch >= 1 else { return nil }
        return batch
    }

    /// What a user can run instead of a model gru-run refuses at `call`: the model up to the layer that feeds
    /// it (`--through`), and a recurrent layer alone (`--layer`) only where the model's input goes straight
    /// into it, so that the input a user has is the input that layer takes.
    private func advice(before call: KerasConnectivity.Call, _ connectivity: KerasConnectivity) -> String {
        var ways: [String] = []
        let inputNames = Set(connectivity.inputs.map(\.name))
        if let feeder = call.inputs.first(where: { !inputNames.contains($0.layer) })?.layer {
            ways.append("run the model up to \(Printable.quoted(feeder)) with --through \(Printable.name(feeder))")
        }
        let byName = Dictionary(connectivity.calls.map { ($0.layer.name, $0) }, uniquingKeysWith: { first, _ in first })
        let direct = connectivity.calls.first { candidate in
            guard candidate.layer.isRecurrent, candidate.layer.name != call.layer.name, let source = candidate.inputs.first?.layer else { return false }
            if inputNames.contains(source) { return true }
            // A Masking layer over the input: --layer applies the file's mask value.
            return byName[source].map { $0.layer.className == "Masking" && $0.inputs.allSatisfy { inputNames.contains($0.layer) } } ?? false
        }
        if let direct {
            ways.append("run \(Printable.quoted(direct.layer.name)) alone on your input with --layer \(Printable.name(direct.layer.name))")
        }
        return ways.isEmpty ? "" : "; " + ways.joined(separator: ", or ")
    }
}

/// The calls a model's outputs depend on, in the order Keras's functional model runs them (`keras_order`),
/// each after the calls it reads from, found in O(n log n) for n calls, so that a config listed in any order
/// costs the same. The order matters where a call changes what later ones see: Keras 3's MultiHeadAttention
/// takes the masks off the tensors it reads.
struct KerasCallOrder {
    let calls: [KerasConnectivity.Call]
    /// Where each call is: its position in `calls`.
    private let positions: [KerasConnectivity.CallKey: Int]

    init(_ connectivity: KerasConnectivity, path: String) throws {
        let needed = connectivity.neededCalls
        var producer: [KerasConnectivity.CallKey: Int] = [:]
        for (i, call) in needed.enumerated() { producer[call.key] = i }
        let inputNames = Set(connectivity.inputs.map(\.name))
        var waiting = [Int](repeating: 0, count: needed.count)
        var readers = [[Int]](repeating: [], count: needed.count)
        for (i, call) in needed.enumerated() {
            for ref in call.inputs {
                if ref.node == 0 && ref.tensor == 0 && inputNames.contains(ref.layer) { continue }
                guard let p = producer[.init(layer: ref.layer, node: ref.node)], ref.tensor >= 0, ref.tensor < 8 else {
                    throw GRUIOError.keras(path: path, "layer \(Printable.quoted(call.layer.name)) reads a tensor that no layer makes (output \(ref.tensor) of call \(ref.node) of \(Printable.quoted(ref.layer)))")
                }
                waiting[i] += 1
                readers[p].append(i)
            }
        }
        var ready = MinHeap(needed.indices.filter { waiting[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(needed.count)
        while let next = ready.pop() {
            order.append(next)
            for reader in readers[next] {
                waiting[reader] -= 1
                if waiting[reader] == 0 { ready.push(reader) }
            }
        }
        guard order.count == needed.count else {
            throw GRUIOError.keras(path: path, "the model's layers form a cycle: " + Self.cycle(needed, waiting: waiting, producer: producer))
        }
        let parents = needed.map { call in
            call.inputs.compactMap { ref in
                ref.node == 0 && ref.tensor == 0 && inputNames.contains(ref.layer) ? nil : producer[.init(layer: ref.layer, node: ref.node)]
            }
        }
        let roots = connectivity.outputs.compactMap { ref in
            ref.node == 0 && ref.tensor == 0 && inputNames.contains(ref.layer) ? nil : producer[.init(layer: ref.layer, node: ref.node)]
        }
        let kerasOrder = Self.kerasOrder(parents: parents, roots: roots, layers: needed.map(\.layer.name))
        // Keras's order puts every call after the calls it reads (as the order above does); were it not to, the
        // order above stands.
        var placed = [Int](repeating: -1, count: needed.count)
        for (position, i) in kerasOrder.enumerated() { placed[i] = position }
        let consistent = kerasOrder.count == needed.count && kerasOrder.allSatisfy { i in parents[i].allSatisfy { placed[$0] >= 0 && placed[$0] < placed[i] } }
        calls = (consistent ? kerasOrder : order).map { needed[$0] }
        var positions: [KerasConnectivity.CallKey: Int] = [:]
        for (position, call) in calls.enumerated() { positions[call.key] = position }
        self.positions = positions
    }

    /// The graph's source for a tensor a call or an output reads (an input, or a call's output).
    func source<S>(_ ref: KerasConnectivity.Reference, _ type: S.Type, inputs: [(name: String, shape: [Int?]?)], path: String) throws -> ModelGraph<S>.Source {
        if let position = positions[.init(layer: ref.layer, node: ref.node)], ref.tensor >= 0, ref.tensor < 8 {
            return .node(position, output: ref.tensor)
        }
        guard ref.node == 0, ref.tensor == 0, let k = inputs.firstIndex(where: { $0.name == ref.layer }) else {
            throw GRUIOError.keras(path: path, "the model's output \(Printable.quoted(ref.layer)) is made by no layer")
        }
        return .input(k)
    }

    /// The order of Keras's `Functional` run (keras/src/ops/function.py `map_graph` and `_run_through_graph`;
    /// tf_keras/src/engine/functional.py `_map_graph_network` and `_run_internal_graph`): the calls in
    /// post-order of a depth-first walk from the outputs (each call's inputs in order), then, from the last of
    /// them back, each given a depth: at least its layer's depth in a later call and at least one more than any
    /// call that reads it; the calls run deepest first, calls of one depth in the order they were first given
    /// one. `parents`: the calls each call reads; `roots`: the calls making the outputs, in order.
    static func kerasOrder(parents: [[Int]], roots: [Int], layers: [String]) -> [Int] {
        let n = parents.count
        var finished = [Bool](repeating: false, count: n)
        var postOrder: [Int] = []
        postOrder.reserveCapacity(n)
        for root in roots where !finished[root] {
            var path: [(call: Int, next: Int)] = [(root, 0)]
            finished[root] = true
            while let top = path.last {
                if top.next < parents[top.call].count {
                    path[path.count - 1].next += 1
                    let parent = parents[top.call][top.next]
                    if !finished[parent] {
                        finished[parent] = true
                        path.append((parent, 0))
                    }
                } else {
                    path.removeLast()
                    postOrder.append(top.call)
                }
            }
        }
        var depth = [Int](repeating: -1, count: n), firstGiven = [Int](repeating: 0, count: n), given = 0
        func give(_ call: Int, atLeast value: Int) {
            if depth[call] < 0 {
                (depth[call], firstGiven[call]) = (value, given)
                given += 1
            } else {
                depth[call] = max(depth[call], value)
            }
        }
        var layerDepth: [String: Int] = [:]
        for call in postOrder.reversed() {
            give(call, atLeast: 0)
            let d = max(depth[call], layerDepth[layers[call]] ?? 0)
            layerDepth[layers[call]] = d
            depth[call] = d
            for parent in parents[call] { give(parent, atLeast: d + 1) }
        }
        return postOrder.sorted { depth[$0] != depth[$1] ? depth[$0] > depth[$1] : firstGiven[$0] < firstGiven[$1] }
    }

    /// The layers of one cycle among the calls that never became ready, named in the order they read each other.
    private static func cycle(_ calls: [KerasConnectivity.Call], waiting: [Int], producer: [KerasConnectivity.CallKey: Int]) -> String {
        guard var at = waiting.indices.first(where: { waiting[$0] > 0 }) else { return "" }
        var seen: [Int: Int] = [:], path: [Int] = []
        while seen[at] == nil {
            seen[at] = path.count
            path.append(at)
            guard let next = calls[at].inputs.compactMap({ producer[.init(layer: $0.layer, node: $0.node)] }).first(where: { waiting[$0] > 0 }) else { break }
            at = next
        }
        // From the layer the config lists first, each followed by the layer that reads it.
        let ring = Array(path[(seen[at] ?? 0)...].reversed())
        let start = ring.firstIndex(of: ring.min()!)!
        let loop = (ring[start...] + ring[..<start]).map { Printable.quoted(calls[$0].layer.name) }
        return (loop + [loop[0]]).joined(separator: " -> ")
    }
}

/// A binary min-heap of positions.
private struct MinHeap {
    private var items: [Int]

    init(_ items: [Int]) {
        self.items = []
        items.forEach { push($0) }
    }

    mutating func push(_ value: Int) {
        items.append(value)
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2] > items[i] {
            items.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count, items[l] < items[smallest] { smallest = l }
                if r < items.count, items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return top
    }
}

/// The arrays of the layers not yet built, each given up to the builder once.
final class LayerWeightStore: @unchecked Sendable {
    private var arrays: [String: [HDF5FloatArray]]

    private let placeholders: Bool

    init(_ arrays: [String: [HDF5FloatArray]], placeholders: Bool = false) {
        self.arrays = arrays
        self.placeholders = placeholders
    }

    /// The layer's arrays, read from the file if they were deferred (zeros in their place with
    /// `placeholders`), except those `keepDeferred` names by position (which their layer reads block by block).
    func take(_ layer: String, keepDeferred: (Int) -> Bool = { _ in false }) throws -> [HDF5FloatArray] {
        let taken = arrays.removeValue(forKey: layer) ?? []
        return try taken.enumerated().map { index, array in
            guard array.isDeferred else { return array }
            if placeholders { return array.placeholder }
            return keepDeferred(index) ? array : try array.loaded()
        }
    }
}
