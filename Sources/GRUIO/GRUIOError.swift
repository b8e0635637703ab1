/// Errors of reading and writing files; each prints as one sentence naming the file and what is wrong.
public enum GRUIOError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    case unreadable(path: String)
    case notHDF5(path: String)
    /// A TensorFlow SavedModel folder with no Keras model in it (Keras 3 `model.export`, a `tf.function`).
    case savedModel(path: String)
    case hdf5(path: String, String)
    case keras(path: String, String)
    case npy(path: String, String)
    /// An .npz archive as a whole (a member's own array is `.npy`, named `NAME.npy in FILE`).
    case npz(path: String, String)
    case csv(path: String, line: Int?, String)
    case read(path: String, String)
    case write(path: String, String)
    /// A model holding a layer gru-run does not run.
    case unsupportedLayer(path: String, String)
    /// A run that would need more memory than the process can have.
    case memory(String)
    /// Arguments that contradict the file or each other.
    case usage(String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(name(path)) does not exist."
        case .unreadable(let path): return "\(name(path)) cannot be read: permission denied."
        case .notHDF5(let path): return "\(name(path)) is not an HDF5 file (Keras .h5 files are HDF5)."
        case .savedModel(let path):
            return "\(name(path)) is a TensorFlow SavedModel that holds a TensorFlow graph and no Keras model; gru-run runs Keras models: save the model with model.save(\"m.keras\"), model.save(\"m.h5\") or tf-keras's model.save(\"dir\")."
        case .hdf5(let path, let what): return sentence("\(name(path)) \(what)")
        case .keras(let path, let what): return sentence("\(name(path)): \(what)")
        case .npy(let path, let what): return sentence("\(name(path)) is not a usable .npy array: \(what)")
        case .npz(let path, let what): return sentence("\(name(path)) is not a usable .npz archive: \(what)")
        case .csv(let path, let line, let what):
            if let line { return sentence("\(name(path)), line \(line): \(what)") }
            return sentence("\(name(path)): \(what)")
        case .read(let path, let what): return sentence("Could not read \(name(path)): \(what)")
        case .write(let path, let what): return sentence("Could not write \(path == "-" ? "standard output" : path): \(what)")
        case .memory(let what), .usage(let what): return sentence(what)
        case .unsupportedLayer(let path, let what): return sentence("\(name(path)): \(what)")
        }
    }

    /// The sysexits code for this error: 64 usage, 66 missing input, 74 I/O failure, 71 not enough memory,
    /// 65 bad data.
    public var exitCode: Int32 {
        switch self {
        case .missingFile, .unreadable: return 66
        case .read, .write: return 74
        case .memory: return 71
        case .usage: return 64
        default: return 65
        }
    }
}

private func name(_ path: String) -> String {
    path == "-" ? "standard input" : path
}

private func sentence(_ text: String) -> String {
    text.hasSuffix(".") || text.hasSuffix("?") ? text : text + "."
}
