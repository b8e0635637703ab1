import GRUCore
import GRUModel

/// Keras's recurrent layers besides the GRU, as GRUModel layers:
/// - `LSTM` (Keras 2 and 3, and Keras 1's): kernel `(features, 4U)`, recurrent kernel `(U, 4U)`, bias `(4U,)`,
///   gate blocks `[i | f | c | o]`; Keras 1 stores twelve arrays `W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f,
///   b_f, W_o, U_o, b_o` (joined here as `_convert_rnn_weights`'s Keras 1 branch in tf-keras's
///   hdf5_format.py does). recurrent_activation defaults to hard_sigmoid before Keras 2.3, sigmoid after.
/// - `CuDNNLSTM`: the same shapes with a `(8U,)` bias; read as tf-keras loads it into an LSTM
///   (`_convert_rnn_weights`: each gate's input kernel re-laid from cuDNN's column-major order, each gate's
///   recurrent kernel transposed, the two biases summed), with sigmoid and tanh.
/// - `SimpleRNN`: kernel `(features, U)`, recurrent kernel `(U, U)`, bias `(U,)` (Keras 1: W, U, b).
/// - `RNN` over a `GRUCell`, `LSTMCell` or `SimpleRNNCell`, or over `StackedRNNCells` (a list of them): each
///   cell's weights in turn, in the cell's own layout.
/// - `Bidirectional` over any of these: the forward layer's weights, then the backward layer's.
extension KerasLayerConfig {
    /// The recurrent layers read here (a Bidirectional over one of them too).
    static let cellLayers: Set<String> = ["LSTM", "CuDNNLSTM", "SimpleRNN", "RNN"]

    /// Any recurrent layer: GRU, LSTM, SimpleRNN, RNN, or a Bidirectional over one.
    public var runsThroughTime: Bool {
        ["GRU", "CuDNNGRU", "Bidirectional"].contains(className) || Self.cellLayers.contains(className)
    }
}

extension KerasLayerBuilder {
    /// An LSTM, CuDNNLSTM, SimpleRNN or RNN layer; `arrays` are its weights in the file's order.
    func recurrent(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> Recurrent<S> {
        var remaining = arrays[...]
        let built = try recurrent(layer, taking: &remaining)
        guard remaining.isEmpty else {
            throw fail(layer, "holds \(arrays.count) weights, \(remaining.count) more than its cells use")
        }
        return built
    }

    /// A Bidirectional over an LSTM, SimpleRNN or RNN.
    func bidirectionalRecurrent(_ layer: KerasLayerConfig, arrays: [HDF5FloatArray]) throws -> BidirectionalRecurrent<S> {
        guard let inner = layer.config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"]?.object else {
            throw fail(layer, "has no inner layer config")
        }
        guard KerasLayerConfig.cellLayers.contains(innerClass) else {
            throw GRUIOError.unsupportedLayer(path: model.path, "Bidirectional layer \(Printable.quoted(layer.name)) wraps a \(Printable.name(innerClass)); gru-run runs Bidirectional over GRU, LSTM, CuDNNLSTM, SimpleRNN and RNN")
        }
        let forwardLayer = KerasLayerConfig(className: innerClass, name: innerConfig["name"]?.string ?? "forward_" + layer.name, config: innerConfig)
        var backwardLayer = forwardLayer
        if let backward = layer.config["backward_layer"], let config = backward["config"]?.object {
            let backwardClass = backward["class_name"]?.string ?? innerClass
            guard KerasLayerConfig.cellLayers.contains(backwardClass) else {
                throw GRUIOError.unsupportedLayer(path: model.path, "Bidirectional layer \(Printable.quoted(layer.name)) has a backward layer of class \(Printable.name(backwardClass)), which gru-run does not run")
            }
            backwardLayer = KerasLayerConfig(className: backwardClass, name: config["name"]?.string ?? "backward_" + layer.name, config: config)
        } else {
            backwardLayer.name = "backward_" + layer.name
            backwardLayer.config["go_backwards"] = .bool(!((try reader(forwardLayer).bool("go_backwards")) ?? false))
        }
        var remaining = arrays[...]
        let forward = try recurrent(forwardLayer, taking: &remaining)
        let backward = try recurrent(backwardLayer, taking: &remaining)
        guard remaining.isEmpty else {
            throw fail(layer, "holds \(arrays.count) weights, \(remaining.count) more than its two layers use")
        }
        let returnState = (try reader(forwardLayer).bool("return_state")) ?? false
        return try BidirectionalRecurrent(name: layer.name, forward: forward, backward: backward,
                                          mergeMode: try mergeMode(layer), returnState: returnState)
    }

    /// Keras's merge_mode (default concat; null is None: both outputs).
    func mergeMode(_ layer: KerasLayerConfig) throws -> MergeMode {
        switch layer.config["merge_mode"] {
        case .none: return .concat
        case .some(.null): return .none
        case .some(.string(let name)):
            guard let mode = MergeMode(rawValue: name), mode != .none else {
                throw fail(layer, "has merge_mode \(Printable.quoted(name)); Keras knows concat, sum, mul, ave and None")
            }
            return mode
        case .some(let other): throw fail(layer, "has merge_mode \(other.brief)")
        }
    }

    private func recurrent(_ layer: KerasLayerConfig, taking arrays: inout ArraySlice<HDF5FloatArray>) throws -> Recurrent<S> {
        let r = reader(layer)
        let cells = try cellConfigs(layer).map { try cell($0, of: layer, taking: &arrays) }
        do {
            return try Recurrent(name: layer.name, cells: cells,
                                 returnSequences: try r.bool("return_sequences") ?? false,
                                 returnState: try r.bool("return_state") ?? false,
                                 goBackwards: try r.bool("go_backwards") ?? false,
                                 timeMajor: try r.bool("time_major") ?? false,
                                 zeroOutputForMask: try r.bool("zero_output_for_mask") ?? false)
        } catch let error as GRUModelError {
            throw GRUIOError.keras(path: model.path, error.description)
        }
    }

    /// The cells a layer steps: the layer itself (LSTM, SimpleRNN), or an RNN's cell or stacked cells.
    private func cellConfigs(_ layer: KerasLayerConfig) throws -> [KerasLayerConfig] {
        guard layer.className == "RNN" else { return [layer] }
        func entry(_ value: JSONValue) throws -> KerasLayerConfig {
            guard let className = value["class_name"]?.string, let config = value["config"]?.object else {
                throw fail(layer, "has a cell without class_name and config")
            }
            return KerasLayerConfig(className: className, name: config["name"]?.string ?? className, config: config)
        }
        let cell: KerasLayerConfig
        switch layer.config["cell"] {
        case .some(.array(let list)):
            cell = KerasLayerConfig(className: "StackedRNNCells", name: "cells", config: ["cells": .array(list)])
        case .some(let value) where value != .null:
            cell = try entry(value)
        default:
            throw fail(layer, "has no cell")
        }
        guard cell.className == "StackedRNNCells" else { return [cell] }
        guard let list = cell.config["cells"]?.array, !list.isEmpty, list.count <= 64 else {
            throw fail(layer, "has a StackedRNNCells without a list of 1 to 64 cells")
        }
        return try list.map(entry)
    }

    /// One cell with its weights, taken from the front of `arrays`.
    private func cell(_ cell: KerasLayerConfig, of layer: KerasLayerConfig, taking arrays: inout ArraySlice<HDF5FloatArray>) throws -> RecurrentCell<S> {
        let r = reader(cell)
        switch cell.className {
        case "LSTM", "LSTMCell", "CuDNNLSTM", "SimpleRNN", "SimpleRNNCell":
            let kind: CellKind = cell.className.hasPrefix("SimpleRNN") ? .simpleRNN : .lstm
            let cudnn = cell.className == "CuDNNLSTM"
            let useBias = try cudnn || (r.bool("use_bias") ?? true)
            // Keras 1's twelve arrays start W_i (features, units), U_i (units, units); Keras 2's recurrent kernel
            // is (units, 4*units).
            let keras1 = cell.className == "LSTM" && arrays.count >= 12
                && arrays[arrays.startIndex + 1].shape.count == 2 && arrays[arrays.startIndex + 1].shape[0] == arrays[arrays.startIndex + 1].shape[1]
            let count = keras1 ? 12 : useBias ? 3 : 2
            guard arrays.count >= count else {
                throw fail(layer, "holds too few weights: its \(cell.className) needs \(useBias ? "kernel, recurrent_kernel and bias" : "kernel and recurrent_kernel")")
            }
            let taken = Array(arrays.prefix(count))
            arrays = arrays.dropFirst(count)
            let stored = keras1 ? try joinKeras1LSTM(taken, layer) : taken
            let gates = kind.gates
            guard stored[1].shape.count == 2, stored[1].shape[0] > 0, stored[1].shape[1] == gates * stored[1].shape[0] else {
                throw fail(layer, "has a recurrent kernel of shape \(describe(stored[1].shape)); an \(kind.rawValue)'s is (units, \(gates == 1 ? "" : "\(gates)*")units)")
            }
            let units = stored[1].shape[0], columns = gates * units
            guard stored[0].shape.count == 2, stored[0].shape[0] > 0, stored[0].shape[1] == columns else {
                throw fail(layer, "has a kernel of shape \(describe(stored[0].shape)); with \(units) units it must be (features, \(columns))")
            }
            if let stated = try r.int("units") ?? r.int("output_dim"), stated != units {
                throw fail(layer, "has units = \(stated) in its config but its recurrent kernel holds \(units) units")
            }
            let expectedBias = cudnn ? 2 * columns : columns
            if useBias, stored[2].shape != [expectedBias] {
                throw fail(layer, "has a bias of shape \(describe(stored[2].shape)); (\(expectedBias),) was expected")
            }
            try MemoryBudget.reserve(MemoryBudget.bytes(stored.reduce(0) { $0 + $1.count }, MemoryLayout<S>.size, 3), for: "layer \(Printable.quoted(layer.name))")
            var kernel = stored[0].converted(S.self), recurrentKernel = stored[1].converted(S.self)
            var bias = useBias ? stored[2].converted(S.self) : nil
            if cudnn {
                (kernel, recurrentKernel) = fromCuDNN(kernel, recurrentKernel, features: stored[0].shape[0], units: units, gates: gates)
                bias = bias.map { b in (0..<columns).map { b[$0] + b[columns + $0] } }
            }
            var config = CellConfig(kind: kind, units: units)
            config.hardSigmoid = model.hardSigmoid
            if cudnn {
                (config.activation, config.recurrentActivation) = (.tanh, .sigmoid)
            } else {
                config.activation = try r.activation("activation") ?? .tanh
                let version = model.kerasVersion.map { $0.split(separator: ".").compactMap { Int($0) } } ?? [2, 3]
                let olderDefault: Activation = version.lexicographicallyPrecedes([2, 3]) ? .hardSigmoid : .sigmoid
                config.recurrentActivation = try r.activation("recurrent_activation") ?? r.activation("inner_activation") ?? olderDefault
            }
            do {
                return .cell(try CellLayer(config: config, inputDim: stored[0].shape[0], kernel: kernel, recurrentKernel: recurrentKernel, bias: bias))
            } catch let error as GRUCoreError {
                throw fail(layer, error.description)
            }
        case "GRUCell":
            let useBias = (try r.bool("use_bias")) ?? true
            let count = useBias ? 3 : 2
            guard arrays.count >= count else { throw fail(layer, "holds too few weights for its GRUCell") }
            let taken = Array(arrays.prefix(count))
            arrays = arrays.dropFirst(count)
            let gru = try KerasReader.makeGRU(taken, name: layer.name, className: "GRU", path: model.path, kind: model.kind, version: model.kerasVersion)
            // GRUCell (tf-keras 2 and Keras 3): reset_after True and sigmoid unless the config says otherwise.
            var config = defaultConfig(units: gru.units, keras3: true)
            config.hardSigmoid = gru.hardSigmoid
            try r.apply(to: &config)
            guard config.units == gru.units else {
                throw fail(layer, "has a GRUCell of units = \(config.units) but its recurrent kernel holds \(gru.units) units")
            }
            do {
                return .gru(try GRULayer(config: config, weights: try gru.weights(S.self)))
            } catch let error as GRUCoreError {
                throw fail(layer, error.description)
            }
        default:
            throw GRUIOError.unsupportedLayer(path: model.path, "layer \(Printable.quoted(layer.name)) (\(layer.className)) steps a \(Printable.name(cell.className)), which gru-run does not run (it runs GRUCell, LSTMCell, SimpleRNNCell and StackedRNNCells)")
        }
    }

    /// Keras 1's twelve LSTM arrays as Keras 2's three: W, U and b of the gates in the order i, f, c, o.
    private func joinKeras1LSTM(_ arrays: [HDF5FloatArray], _ layer: KerasLayerConfig) throws -> [HDF5FloatArray] {
        // Stored i, c, f, o: W_i U_i b_i W_c U_c b_c W_f U_f b_f W_o U_o b_o.
        let order = [0, 2, 1, 3]
        let w = order.map { arrays[3 * $0] }, u = order.map { arrays[3 * $0 + 1] }, b = order.map { arrays[3 * $0 + 2] }
        guard let units = u[0].shape.last, let features = w[0].shape.first,
              w.allSatisfy({ $0.shape == [features, units] }), u.allSatisfy({ $0.shape == [units, units] }),
              b.allSatisfy({ $0.shape == [units] }) else {
            throw fail(layer, "holds twelve weights of shapes \(arrays.map { describe($0.shape) }.joined(separator: ", ")); a Keras 1 LSTM holds W (features, units), U (units, units) and b (units,) for each of i, c, f, o")
        }
        func join(_ blocks: [HDF5FloatArray], rows: Int, shape: [Int]) -> HDF5FloatArray {
            let parts = blocks.map(\.values)
            var values: [Double] = []
            values.reserveCapacity(rows * 4 * units)
            for row in 0..<rows { for part in parts { values += part[(row * units)..<((row + 1) * units)] } }
            return HDF5FloatArray(shape: shape, values: values, bits: blocks[0].bits)
        }
        return [join(w, rows: features, shape: [features, 4 * units]), join(u, rows: units, shape: [units, 4 * units]),
                join(b, rows: 1, shape: [4 * units])]
    }

    /// cuDNN's layout to Keras's, per gate: the input block `(D, U)` holds the row-major values of a `(U, D)`
    /// matrix (new = old.reshape(U, D).T), the recurrent block is transposed.
    private func fromCuDNN(_ kernel: [S], _ recurrent: [S], features d: Int, units u: Int, gates: Int) -> ([S], [S]) {
        let columns = gates * u
        var k = kernel, rk = recurrent
        for g in 0..<gates {
            var block = [S](repeating: 0, count: d * u)
            for i in 0..<d { for j in 0..<u { block[i * u + j] = kernel[i * columns + g * u + j] } }
            for i in 0..<d { for j in 0..<u { k[i * columns + g * u + j] = block[j * d + i] } }
            for i in 0..<u { for j in 0..<u { rk[i * columns + g * u + j] = recurrent[j * columns + g * u + i] } }
        }
        return (k, rk)
    }
}
