import Foundation
import GRUCore
import GRUIO

extension LayerOptions {
    /// For a layer of a weights-only file, one line naming the defaults gru-run took that the file cannot
    /// confirm and the flags that state otherwise; nil when the file states its config or the flags state
    /// every such value.
    func assumptionNote(for layer: KerasLayer) -> String? {
        let gru: KerasGRU
        let isBidirectional: Bool
        switch layer {
        case .gru(let single): (gru, isBidirectional) = (single, false)
        case .bidirectional(let pair): (gru, isBidirectional) = (pair.forward, true)
        default: return nil
        }
        guard let assumed = gru.assumed else { return nil }
        let config = gru.config
        func onOff(_ value: Bool) -> String { value ? "on" : "off" }
        var items: [(value: String, flag: String)] = []
        if assumed.activations && activation == nil {
            items.append(("activation \(config.activation.rawValue)", "--activation"))
        }
        if assumed.activations && recurrentActivation == nil {
            items.append(("recurrent_activation \(config.recurrentActivation.rawValue)", "--recurrent-activation"))
        }
        let activations = [activation ?? config.activation, recurrentActivation ?? config.recurrentActivation]
        if assumed.hardSigmoid && hardSigmoid == nil && activations.contains(.hardSigmoid) {
            items.append(("hard_sigmoid \(config.hardSigmoid.rawValue)", "--hard-sigmoid"))
        }
        if assumed.resetAfter && resetAfter == nil {
            items.append(("reset_after \(onOff(config.resetAfter))", config.resetAfter ? "--no-reset-after" : "--reset-after"))
        }
        if returnSequences == nil {
            items.append(("return_sequences \(onOff(config.returnSequences))", config.returnSequences ? "--no-return-sequences" : "--return-sequences"))
        }
        if isBidirectional {
            // A weights-only file records no merge_mode; a Bidirectional's directions are fixed.
            if mergeMode == nil { items.append(("merge_mode concat", "--merge-mode")) }
        } else if goBackwards == nil {
            items.append(("go_backwards \(onOff(config.goBackwards))", config.goBackwards ? "--no-go-backwards" : "--go-backwards"))
        }
        guard !items.isEmpty else { return nil }
        let doubt = assumed.doubt.map { " (\($0))" } ?? ""
        return "\(weights) holds weights only; assumed \(assumed.writer) defaults for '\(layer.name)'\(doubt): "
            + items.map(\.value).joined(separator: ", ")
            + " (state otherwise with " + items.map(\.flag).joined(separator: ", ") + ")"
    }
}
