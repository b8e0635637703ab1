import Foundation
import GRUCore
import GRUIO
import GRUModel

/// .npz files of whole models: one archive holds every input (or output), each array named after its Input
/// layer (or output layer), as `np.savez(f, tokens=..., features=...)` and Keras's `model.output_names` name them.
enum NPZNames {
    /// For each target (a model's input or output, by name), the index of its array: the array of the same
    /// name, else `arr_K` for target K (np.savez's names for arrays given in order). Refused in one sentence
    /// naming both lists when an array fits no target, a target has no array, or a target gets two.
    /// `kind`: "input" or "output"; `owner`: what has the targets (`m.h5 takes`, `m.h5 gives`).
    static func assign(_ arrays: [String], to targets: [String], file: String, kind: String, owner: String) throws -> [Int] {
        var chosen = [[Int]](repeating: [], count: targets.count)
        var unmatched: [String] = []
        for (index, name) in arrays.enumerated() {
            if let k = targets.firstIndex(of: name) {
                chosen[k].append(index)
            } else if name.hasPrefix("arr_"), let k = Int(name.dropFirst(4)), String(k) == name.dropFirst(4), k < targets.count {
                chosen[k].append(index)
            } else {
                unmatched.append(name)
            }
        }
        let missing = targets.indices.filter { chosen[$0].isEmpty }.map { targets[$0] }
        let doubled = targets.indices.filter { chosen[$0].count > 1 }
        guard !unmatched.isEmpty || !missing.isEmpty || !doubled.isEmpty else { return chosen.map { $0[0] } }
        var problems: [String] = []
        if !unmatched.isEmpty { problems.append("\(NPZArchive.list(unmatched)) \(unmatched.count == 1 ? "matches" : "match") no \(kind)") }
        if !missing.isEmpty { problems.append("\(kind)\(missing.count == 1 ? " " : "s ")\(NPZArchive.list(missing)) \(missing.count == 1 ? "has" : "have") no array") }
        for k in doubled {
            problems.append("\(kind) \(Printable.quoted(targets[k])) gets both \(NPZArchive.list(chosen[k].map { arrays[$0] }))")
        }
        let plural = targets.count == 1 ? "" : "s"
        throw CLIError.data("\(displayName(file)) holds array\(arrays.count == 1 ? "" : "s") \(NPZArchive.list(arrays)) and \(owner) \(kind)\(plural) \(NPZArchive.list(targets)): " + problems.joined(separator: ", ") + "; name each array after its \(kind), or save them in the model's order as arr_0, arr_1, ...")
    }

    /// The names of a graph's outputs as tf-keras's `model.output_names` gives them: the layer's name, and for
    /// a later output of the same layer `name_1`, `name_2`, ... (Keras 3 repeats the name; a file needs them apart).
    static func outputNames<S>(_ graph: ModelGraph<S>) -> [String] {
        var used = Set<String>(), counts: [String: Int] = [:]
        return graph.outputs.map { source in
            let base: String
            switch source {
            case .input(let k): base = graph.inputs[k].name
            case .node(let call, _): base = graph.calls[call].name
            }
            var proposal = base
            while used.contains(proposal) {
                let n = counts[base, default: 1]
                proposal = "\(base)_\(n)"
                counts[base] = n + 1
            }
            used.insert(proposal)
            return proposal
        }
    }

    /// Writes `arrays` (name, values, shape) as one .npz.
    static func write<S: CLIScalar>(_ arrays: [(name: String, values: [S], shape: [Int])], to writer: AtomicFileWriter) throws {
        let archive = NPZWriter(writer)
        for array in arrays { try archive.add(name: array.name, values: array.values, shape: array.shape) }
        try archive.finish()
    }

    /// The bytes of an .npz of one array, for outputs encoded in memory (the final states).
    static func encode<S: CLIScalar>(_ values: [S], shape: [Int], name: String) throws -> [UInt8] {
        let writer = AtomicFileWriter(inMemory: name)
        try write([(name, values, shape)], to: writer)
        return writer.memory ?? []
    }
}

extension ModelGraph {
    /// What integer arrays given as input `k` become: token ids where every layer reading it takes ids (an
    /// Embedding, IntegerLookup, CategoryEncoding), else floats, cast as Keras casts them to the Input's dtype.
    func integerUse(ofInput k: Int, model path: String) -> IntegerInput {
        let readers = calls.filter { $0.inputs.contains(.input(k)) }
        let idLayers = ["Embedding", "IntegerLookup", "CategoryEncoding"]
        let takesIDs: (Call) -> Bool = { call in idLayers.contains { call.className == $0 || call.className == "TimeDistributed(\($0))" } }
        if !readers.isEmpty && readers.allSatisfy(takesIDs) { return .ids }
        guard let reader = readers.first(where: { !takesIDs($0) }) else { return .cast(reader: "input \(Printable.quoted(inputs[k].name)) of \(path)") }
        return .cast(reader: "layer \(Printable.quoted(reader.name)) of \(path)")
    }
}

/// Whether a path names an .npz, by `--*-format` or by its extension.
func isNPZPath(_ path: String, format: FileFormat?) -> Bool {
    if let format { return format == .npz }
    return URL(fileURLWithPath: path).pathExtension.lowercased() == "npz"
}
