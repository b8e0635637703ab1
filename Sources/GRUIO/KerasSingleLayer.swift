import GRUCore

/// One recurrent layer of a file run on the input given: a graph of one call.
public struct KerasSingleLayer: Sendable {
    public var layer: KerasLayer
    /// The mask_value of a Masking layer right in front of it.
    public var maskValue: Double?
    /// The timesteps the model's input fixes, when the layer receives that input as it is.
    public var timesteps: Int?
    /// The model's Embedding layer, which turns token ids into the vectors a GRU reads.
    public var embedding: String?

    /// The stored precision of the layer's weights.
    public var bits: Int {
        switch layer {
        case .gru(let gru): return gru.bits
        case .bidirectional(let pair): return pair.forward.bits
        default: return 32
        }
    }

    /// The features per step the layer reads.
    public var inputDim: Int {
        switch layer {
        case .gru(let gru): return gru.inputDim
        case .bidirectional(let pair): return pair.forward.inputDim
        default: return 0
        }
    }
}

extension KerasModel {
    /// The layer a run without `--through` computes alone: the one named `requested`, or a file's only
    /// recurrent layer when the file is that layer (with an input and a Masking layer at most, or weights
    /// only); nil when the model runs whole.
    public func singleLayer(requested: String?) throws -> KerasSingleLayer? {
        let index: Int
        if let requested {
            guard let (found, layer) = self.layer(named: requested) else {
                throw GRUIOError.keras(path: path, "has no layer named \(Printable.quoted(requested)); its layers are \(listing)")
            }
            guard layer.isRecurrent else {
                let through = hasGraph ? "; run the model up to it with --through \(Printable.name(requested))" : ""
                throw GRUIOError.keras(path: path, "layer \(Printable.quoted(requested)) is \(Printable.withArticle(layer.className)); --layer runs a GRU or Bidirectional(GRU) alone\(through); its layers are \(listing)")
            }
            index = found
        } else {
            let recurrent = layers.indices.filter { layers[$0].isRecurrent }
            if hasGraph {
                let masking = layers.indices.filter { if case .masking = layers[$0] { return true } else { return false } }
                guard !needsGraph, recurrent.count == 1, masking.allSatisfy({ $0 < recurrent[0] }) else { return nil }
            } else {
                guard !recurrent.isEmpty else {
                    throw GRUIOError.keras(path: path, "holds no GRU layer; its layers are \(listing)")
                }
                guard recurrent.count == 1 else {
                    let names = recurrent.map { "\(Printable.quoted(layers[$0].name))" }.joined(separator: ", ")
                    throw GRUIOError.keras(path: path, "holds \(recurrent.count) recurrent layers (\(names)) and no config that chains them; choose one with --layer NAME")
                }
            }
            index = recurrent[0]
        }
        let direct = layers[..<index].allSatisfy {
            switch $0 {
            case .input, .masking: return true
            default: return false
            }
        }
        let embedding = layers.first { if case .other(_, "Embedding") = $0 { return true } else { return false } }?.name
        return KerasSingleLayer(layer: layers[index], maskValue: maskValue(before: index),
                                timesteps: direct ? inputTimesteps : nil, embedding: embedding)
    }
}
