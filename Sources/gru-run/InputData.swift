import Foundation
import GRUCore
import GRUIO
import GRUModel

/// The scalar types the command line computes in, with their file encodings.
protocol CLIScalar: GRUScalar, LosslessStringConvertible {
    static func values(of array: NPYArray) throws -> [Self]
    static func encodeNPY(_ values: [Self], shape: [Int]) -> [UInt8]
}

extension CLIScalar {
    static func encodeCSV(_ values: [Self], columns: Int, rowsPerBlock: Int?) -> [UInt8] {
        CSVWriter.encode(values, columns: columns, rowsPerBlock: rowsPerBlock)
    }
}

extension Float: CLIScalar {
    static func values(of array: NPYArray) throws -> [Float] { try array.floats() }
    static func encodeNPY(_ values: [Float], shape: [Int]) -> [UInt8] { NPYWriter.encode(values, shape: shape) }
}

extension Double: CLIScalar {
    static func values(of array: NPYArray) throws -> [Double] { try array.doubles() }
    static func encodeNPY(_ values: [Double], shape: [Int]) -> [UInt8] { NPYWriter.encode(values, shape: shape) }
}

/// An input array in the computation's type, with its shape.
struct InputData<S: CLIScalar> {
    var values: [S]
    var shape: [Int]
    /// Instead of `values` (then empty): an .npy file read piece by piece as the pass needs it.
    var file: GRUFileInput<S>?
    /// CSV whose column 1 counts 0, 1, 2 over the first rows (see `CSVBatch.firstColumnCounts`).
    var firstColumnCounts = false
    /// What the CSV reader read differently from one sample per block, for stderr.
    var notes: [String] = []

    init(values: [S], shape: [Int], file: GRUFileInput<S>? = nil) {
        self.values = values
        self.shape = shape
        self.file = file
    }

    /// The Masking rule over the values, wherever they are.
    func maskingRule(maskValue: S) throws -> [Bool] {
        guard let file else { return GRUCore.maskingRule(values, features: shape[2], maskValue: maskValue) }
        let mask = file.maskingRule(maskValue: maskValue)
        try file.check()
        return mask
    }

    /// Reads .npy or CSV (by `format`, the extension, or the .npy magic). CSV is always sample by sample;
    /// with `timeMajor` a CSV input is reordered to (timesteps, batch, features).
    /// With `inPlace`, an .npy file that already holds the computation's type is read as the pass needs it.
    /// `timesteps`: how CSV blocks are cut into samples.
    static func load(path: String, format: FileFormat?, timeMajor: Bool, rank: Int = 3, layout: String? = nil,
                     inPlace: Bool = false, timesteps: CSVTimesteps? = nil) throws -> InputData {
        try load(try InputFile(path: path), format: format, timeMajor: timeMajor, rank: rank, layout: layout, inPlace: inPlace,
                 timesteps: timesteps)
    }

    /// `integers`: what an .npy of integers or booleans gets (refused, unless a layer that reads floats takes it).
    static func load(_ input: InputFile, format: FileFormat?, timeMajor: Bool, rank: Int = 3, layout: String? = nil,
                     inPlace: Bool = false, timesteps: CSVTimesteps? = nil, integers: IntegerInput = .refused(hint: nil)) throws -> InputData {
        let path = input.path
        if try input.isNPY(format) {
            return try array(try NPYArray(input: input), path: path, timeMajor: timeMajor, rank: rank, layout: layout,
                             inPlace: inPlace, integers: integers)
        }
        if try input.isNPZ(format) {
            // One input: an archive of one array, whatever its name.
            let archive = try NPZArchive(input: input)
            guard archive.members.count == 1 else {
                throw CLIError.data("\(displayName(path)) holds \(archive.members.count) arrays (\(NPZArchive.list(archive.names))) where one is read; give an .npz of one array, or an .npy")
            }
            return try array(archive.members[0].array, path: archive.memberPath(0), timeMajor: timeMajor, rank: rank, layout: layout,
                             integers: integers)
        }
        return try parse(try input.readAll(lineLimit: CSVReader.maximumLineBytes), path: path, format: .csv,
                         timeMajor: timeMajor, rank: rank, layout: layout, timesteps: timesteps)
    }

    static func parse(_ bytes: [UInt8], path: String, format: FileFormat?, timeMajor: Bool, rank: Int = 3,
                      layout: String? = nil, timesteps: CSVTimesteps? = nil) throws -> InputData {
        if path == "-" && bytes.isEmpty {
            throw GRUIOError.csv(path: path, line: nil, "it is empty; pipe CSV or .npy data in, or give --input FILE")
        }
        let isNPY: Bool
        if let format {
            isNPY = format == .npy
        } else {
            switch URL(fileURLWithPath: path).pathExtension.lowercased() {
            case "npy": isNPY = true
            case "csv", "txt": isNPY = false
            default: isNPY = bytes.starts(with: NPYArray.magic)
            }
        }
        if isNPY {
            return try array(try NPYArray(bytes: bytes, path: path), path: path, timeMajor: timeMajor, rank: rank, layout: layout)
        }
        // A value takes at least two bytes of text ("1,"), and is held as a Double, then in S.
        try MemoryBudget.reserve(MemoryBudget.bytes(bytes.count / 2, 8 + MemoryLayout<S>.size), for: "reading \(path == "-" ? "standard input" : path)")
        let csv = try CSVReader.parse(bytes, path: path, timesteps: timesteps)
        let values = S.converting(csv.values)
        var data: InputData
        if rank == 2 {
            data = InputData(values: values, shape: [csv.batch * csv.timesteps, csv.features])
        } else if timeMajor {
            data = InputData(values: swapLeadingAxes(values, csv.batch, csv.timesteps, inner: csv.features),
                             shape: [csv.timesteps, csv.batch, csv.features])
        } else {
            data = InputData(values: values, shape: csv.shape)
        }
        data.firstColumnCounts = csv.firstColumnCounts
        data.notes = csv.notes
        return data
    }

    /// Checks an .npy array's element type and rank before converting it.
    static func array(_ array: NPYArray, path: String, timeMajor: Bool, rank: Int, layout: String? = nil,
                      inPlace: Bool = false, integers: IntegerInput = .refused(hint: nil)) throws -> InputData {
        var castNote: String?
        if !array.element.isFloat {
            guard case .cast(let reader) = integers else {
                let hint = array.element != .bool ? integers.hint.map { "; " + $0 } ?? "" : ""
                throw GRUIOError.npy(path: path, "it holds \(array.element == .bool ? "booleans" : "integers"); inputs must be float16, float32 or float64" + hint)
            }
            castNote = IntegerInput.castNote(array.element, path: path, reader: reader, into: S.self)
        }
        guard array.shape.count == rank else {
            let expected = layout ?? (rank == 3 ? (timeMajor ? "(timesteps, batch, features)" : "(batch, timesteps, features)") : "(batch, units)")
            var hint = ""
            if rank == 3 && layout == nil && array.shape.count == 2, case .cast(let reader) = integers, !array.element.isFloat {
                hint = "; integers of shape (batch, timesteps) look like token ids, which \(reader) cannot take: they go through an Embedding first"
            } else if rank == 3 && layout == nil && array.shape.count == 2 {
                // One sample saved without its batch axis: np.save("x.npy", x[0]) or a (T, F) array built by hand.
                let (t, f) = (array.shape[0], array.shape[1])
                hint = timeMajor ? "; for one sample add a batch axis: x[:, None] or x.reshape(\(t), 1, \(f))"
                    : "; for one sample add a batch axis: x[None] or x.reshape(1, \(t), \(f))"
            }
            throw GRUIOError.npy(path: path, "it has shape \(describe(array.shape)) but \(rank) dimensions \(expected) are needed" + hint)
        }
        guard array.shape.allSatisfy({ $0 > 0 }) else {
            throw GRUIOError.npy(path: path, "it has shape \(describe(array.shape)); every dimension must be at least 1")
        }
        if inPlace, let file = array.fileInput(S.self, path: path) {
            return InputData(values: [], shape: array.shape, file: file)
        }
        var data = InputData(values: try S.values(of: array), shape: array.shape)
        data.notes = castNote.map { [$0] } ?? []
        return data
    }
}

/// What integer and boolean arrays given as an input become.
enum IntegerInput {
    /// Refused; `hint` says what to do instead (token ids for the Embedding in front of a layer).
    case refused(hint: String?)
    /// Token ids for an Embedding (or IntegerLookup, CategoryEncoding): kept as the integers they are.
    case ids
    /// Cast to the computation's type, as Keras casts an input to its Input's float dtype; `reader` names the
    /// layer that reads them (`layer 'gru' of m.h5`).
    case cast(reader: String)

    var hint: String? {
        if case .refused(let hint) = self { return hint }
        return nil
    }

    /// The one stderr line a cast gets.
    static func castNote<S: CLIScalar>(_ element: NPYElement, path: String, reader: String, into type: S.Type) -> String {
        "\(displayName(path)) holds \(element == .bool ? "booleans" : element.numpyName + " values") and \(reader) reads floats: they were cast to \(S.self == Float.self ? "float32" : "float64"), as Keras casts them"
    }
}

extension InputData {
    /// A model input: floats, or integer token ids for an Embedding, from .npy (any numeric dtype, any rank
    /// from 2) or CSV. `rank`: the rank the model declares, batch axis included, when it declares one.
    /// `notes`: what the CSV reader read differently from one sample per block, for stderr.
    /// `integers`: `.ids` where the input feeds an Embedding (or another layer of integer ids), else `.cast`.
    static func modelInput(_ file: InputFile, format: FileFormat?, rank: Int?, timesteps: CSVTimesteps?, integers: IntegerInput,
                           notes: inout [String]) throws -> Tensor<S> {
        let path = file.path
        if try file.isNPY(format) {
            return try modelInput(try NPYArray(input: file), path: path, integers: integers, notes: &notes)
        }
        let csv = try CSVReader.parse(try file.readAll(lineLimit: CSVReader.maximumLineBytes), path: path, timesteps: timesteps)
        notes += csv.notes
        let values = S.converting(csv.values)
        switch rank {
        case 2 where csv.features == 1:
            return Tensor(values: values, shape: [csv.batch, csv.timesteps])  // token ids: one per row
        case 2:
            return Tensor(values: values, shape: [csv.batch * csv.timesteps, csv.features])
        case nil, 3:
            return Tensor(values: values, shape: csv.shape)
        default:
            throw GRUIOError.csv(path: path, line: nil, "the model takes inputs of \(rank!) dimensions, which CSV cannot hold; give an .npy file")
        }
    }
}

extension InputData {
    /// A model input from an array (of an .npy file, or of an .npz archive).
    static func modelInput(_ array: NPYArray, path: String, integers: IntegerInput, notes: inout [String]) throws -> Tensor<S> {
        guard array.shape.allSatisfy({ $0 > 0 }), array.shape.count >= 2 else {
            throw GRUIOError.npy(path: path, "it has shape \(describe(array.shape)); a model input needs a batch axis and every dimension at least 1")
        }
        if array.element.isFloat { return Tensor(values: try S.values(of: array), shape: array.shape) }
        if case .cast(let reader) = integers {
            notes.append(IntegerInput.castNote(array.element, path: path, reader: reader, into: S.self))
            return Tensor(values: try S.values(of: array), shape: array.shape)
        }
        if S.self == Float.self, case .integer(let bytes, _, _) = array.element, bytes >= 4 {
            // Token ids past 2^24 that float32 would round to a neighbour are refused, naming the id itself.
            let ids = try array.doubles()
            if let index = ids.firstIndex(where: { Double(Float($0)) != $0 }) {
                let id = ids[index].magnitude < 9e18 ? String(Int64(ids[index])) : "\(ids[index])"
                throw GRUIOError.npy(path: path, "value \(index) is the integer \(id), which float32 cannot hold exactly; run with --dtype float64")
            }
            return Tensor(values: S.converting(ids), shape: array.shape)
        }
        return Tensor(values: try S.values(of: array), shape: array.shape)
    }
}

extension InputFile {
    /// .npy, .npz or CSV: `--input-format`, else the extension (.npy; .npz; .csv or .txt), else the .npy magic
    /// or a zip's in the first bytes (kept for whoever reads on).
    func isNPY(_ format: FileFormat?) throws -> Bool {
        if let format { return format == .npy }
        if let ext = knownExtension { return ext == "npy" }
        return try prefix(NPYArray.magic.count).elementsEqual(NPYArray.magic)
    }

    func isNPZ(_ format: FileFormat?) throws -> Bool {
        if let format { return format == .npz }
        if let ext = knownExtension { return ext == "npz" }
        return NPZArchive.isZip(try prefix(4))
    }

    private var knownExtension: String? {
        let ext = path == "-" ? "" : URL(fileURLWithPath: path).pathExtension.lowercased()
        return ["npy", "npz", "csv", "txt"].contains(ext) ? ext : nil
    }
}
