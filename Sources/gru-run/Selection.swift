import GRUCore
import GRUIO

/// The layers of a Keras file that one run executes: one recurrent layer, or a whole model made of
/// Masking, GRU and Bidirectional(GRU) layers only.
struct Selection {
    var layers: [KerasLayer]
    /// The Masking layer's mask_value in front of the first layer.
    var maskValue: Double?
    /// The timesteps the model's input fixes, when the first layer receives that input as it is (only an
    /// InputLayer or Masking in front of it).
    var timesteps: Int?

    var isSingle: Bool { layers.count == 1 }

    init(model: KerasModel, requested: String?) throws {
        let path = model.path
        if let requested {
            guard let (index, layer) = model.layer(named: requested) else {
                throw GRUIOError.keras(path: path, "has no layer named \(Printable.quoted(requested)); its layers are \(model.listing)")
            }
            guard layer.isRecurrent else {
                throw GRUIOError.keras(path: path, "layer \(Printable.quoted(requested)) is a \(Printable.name(layer.className)), not a GRU or Bidirectional(GRU); its layers are \(model.listing)")
            }
            layers = [layer]
            maskValue = model.maskValue(before: index)
            timesteps = Self.fixedTimesteps(model, before: index)
            return
        }
        let recurrent = model.layers.indices.filter { model.layers[$0].isRecurrent }
        guard let first = recurrent.first else {
            throw GRUIOError.keras(path: path, "holds no GRU layer; its layers are \(model.listing)")
        }
        if model.layers.contains(where: { if case .other = $0 { return true } else { return false } }) {
            throw GRUIOError.keras(path: path, "holds layers gru-run does not run (its layers are \(model.listing)); run the GRU alone with --layer \(Printable.name(model.layers[first].name))")
        }
        if recurrent.count > 1 && !model.kind.hasConfig {
            let names = recurrent.map { "\(Printable.quoted(model.layers[$0].name))" }.joined(separator: ", ")
            throw GRUIOError.keras(path: path, "holds \(recurrent.count) recurrent layers (\(names)) and no config that chains them; choose one with --layer NAME")
        }
        if let last = recurrent.last, model.layers[first...last].contains(where: { if case .masking = $0 { return true } else { return false } }) {
            throw GRUIOError.keras(path: path, "has a Masking layer between its recurrent layers, which gru-run does not run; choose one layer with --layer NAME")
        }
        layers = recurrent.map { model.layers[$0] }
        maskValue = model.maskValue(before: first)
        timesteps = Self.fixedTimesteps(model, before: first)
    }

    private static func fixedTimesteps(_ model: KerasModel, before index: Int) -> Int? {
        let direct = model.layers[..<index].allSatisfy {
            switch $0 {
            case .input, .masking: return true
            default: return false
            }
        }
        return direct ? model.inputTimesteps : nil
    }

    /// The stored precision of the first layer's weights.
    var bits: Int {
        switch layers[0] {
        case .gru(let gru): return gru.bits
        case .bidirectional(let layer): return layer.forward.bits
        default: return 32
        }
    }

    var inputDim: Int {
        switch layers[0] {
        case .gru(let gru): return gru.inputDim
        case .bidirectional(let layer): return layer.forward.inputDim
        default: return 0
        }
    }

    var name: String { layers[0].name }

    /// What a run needs to know of the selection once its layers are built.
    struct Summary {
        var name: String
        var inputDim: Int
        var maskValue: Double?
        var isSingle: Bool
        var timesteps: Int?
        /// The model's Embedding layer, which turns token ids into the vectors a GRU reads.
        var embedding: String?
    }

    var summary: Summary {
        Summary(name: name, inputDim: inputDim, maskValue: maskValue, isSingle: isSingle, timesteps: timesteps)
    }
}
