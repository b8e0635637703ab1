import CHDF5
import CHDF5Member
import Foundation
import GRUCore

/// One open HDF5 object (file, group, dataset, attribute, dataspace or type) that closes itself.
final class HDF5Handle {
    let id: hid_t
    private let close: (hid_t) -> herr_t

    init(_ id: hid_t, close: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.close = close
    }

    deinit { _ = close(id) }
}

/// A floating-point dataset read from HDF5, converted by HDF5 into native doubles.
public struct HDF5FloatArray: Sendable {
    public var shape: [Int]
    /// 32 or 64: the stored precision, which decides the computation dtype; 0 for integers a layer keeps
    /// beside its weights (Normalization's `count`), which decide nothing.
    public var bits: Int
    /// float32 data as it is stored, without a Double copy; float64 data as Doubles.
    private var storage: Storage

    private enum Storage: Sendable {
        case floats([Float])
        case doubles([Double])
        /// Not read yet: a large float dataset of a file on disk, read when a layer is built (`loaded()`), or
        /// block by block straight into a layer's packed form (`readRows`).
        case deferred(DeferredDataset)
        /// Zeros standing for a deferred dataset when only shapes are wanted (`inspect`).
        case zeros
    }

    /// Zeros of this array's shape and precision, nothing read: what a model built only for its shapes holds.
    public var placeholder: HDF5FloatArray {
        var copy = self
        copy.storage = .zeros
        return copy
    }

    public var isPlaceholder: Bool {
        if case .zeros = storage { return true }
        return false
    }

    init(shape: [Int], bits: Int, deferred: DeferredDataset) {
        (self.shape, self.storage, self.bits) = (shape, .deferred(deferred), bits)
    }

    /// Whether the values are still in the file.
    public var isDeferred: Bool {
        if case .deferred = storage { return true }
        return false
    }

    /// The array with its values read (itself when they are).
    public func loaded() throws -> HDF5FloatArray {
        guard case .deferred(let dataset) = storage else { return self }
        return try dataset.read()
    }

    /// Rows `rows` of the leading axis, as `S`, into `into` (row-major, `rows.count * rowSize` values): a
    /// block of a deferred dataset read from the file, or copied from the values held.
    public func readRows<S: GRUScalar>(_ rows: Range<Int>, into: UnsafeMutablePointer<S>) throws {
        let rowSize = shape.dropFirst().reduce(1, *)
        switch storage {
        case .deferred(let dataset):
            try dataset.readRows(rows, rowSize: rowSize, into: into)
        case .floats(let floats):
            for i in 0..<(rows.count * rowSize) { into[i] = S(Double(floats[rows.lowerBound * rowSize + i])) }
        case .doubles(let values):
            for i in 0..<(rows.count * rowSize) { into[i] = S(values[rows.lowerBound * rowSize + i]) }
        case .zeros:
            into.update(repeating: 0, count: rows.count * rowSize)
        }
    }

    public init(shape: [Int], values: [Double], bits: Int) {
        (self.shape, self.storage, self.bits) = (shape, .doubles(values), bits)
    }

    init(shape: [Int], floats: [Float]) {
        (self.shape, self.storage, self.bits) = (shape, .floats(floats), 32)
    }

    /// The values as Doubles (a converted copy of float32 data).
    public var values: [Double] {
        get {
            switch storage {
            case .doubles(let values): return values
            case .floats(let floats): return floats.map(Double.init)
            case .deferred(let dataset): return Self.mustHaveBeenLoaded(dataset).values
            case .zeros: return [Double](repeating: 0, count: count)
            }
        }
        set { storage = .doubles(newValue) }
    }

    public var count: Int {
        switch storage {
        case .doubles(let values): return values.count
        case .floats(let floats): return floats.count
        case .deferred, .zeros: return shape.reduce(1, *)
        }
    }

    /// The values in the computation's type: float32 data given to a float32 computation as stored, shared
    /// rather than copied.
    public func converted<S: GRUScalar>(_ type: S.Type) -> [S] {
        switch storage {
        case .floats(let floats) where S.self == Float.self: return unsafeBitCast(floats, to: [S].self)
        case .floats(let floats):
            return unsafeBitCast(floats.withUnsafeBufferPointer { source in
                [Double](unsafeUninitializedCapacity: source.count) { buffer, n in
                    for i in 0..<source.count { buffer[i] = Double(source[i]) }
                    n = source.count
                }
            }, to: [S].self)
        case .doubles(let values): return S.converting(values)
        case .deferred(let dataset): return Self.mustHaveBeenLoaded(dataset).converted(S.self)
        case .zeros:
            // All bits zero is 0 in both types: set at memset's speed (a large embedding's placeholder).
            let count = count
            return [S](unsafeUninitializedCapacity: count) { buffer, n in
                if let base = buffer.baseAddress { memset(UnsafeMutableRawPointer(base), 0, count * MemoryLayout<S>.stride) }
                n = count
            }
        }
    }

    /// Every reader of values loads a deferred array first (`LayerWeightStore.take`); one that did not is a
    /// bug, and reading here still gives the right numbers, or stops with one sentence when the file fails.
    private static func mustHaveBeenLoaded(_ dataset: DeferredDataset) -> HDF5FloatArray {
        do {
            return try dataset.read()
        } catch {
            fputs("gru-run: \(error)\n", stderr)
            exit(65)
        }
    }
}

/// A float dataset of a file on disk whose values are read only when asked for (the file stays open while
/// it is held).
public final class DeferredDataset: @unchecked Sendable {
    let file: HDF5File
    let datasetPath: String
    let shape: [Int]

    init(file: HDF5File, datasetPath: String, shape: [Int]) {
        (self.file, self.datasetPath, self.shape) = (file, datasetPath, shape)
    }

    /// Wraps every later read (a command line installs HDF5Guard here, as around its first reading of the file).
    nonisolated(unsafe) public static var guardRead: ((_ path: String, _ read: () throws -> Void) throws -> Void)?

    private func guarded(_ read: () throws -> Void) throws {
        if let guardRead = Self.guardRead { try guardRead(file.path, read) } else { try read() }
    }

    func read() throws -> HDF5FloatArray {
        var array: HDF5FloatArray?
        try guarded { array = try file.floatDataset(datasetPath) }
        return array!
    }

    func readRows<S: GRUScalar>(_ rows: Range<Int>, rowSize: Int, into: UnsafeMutablePointer<S>) throws {
        try guarded {
            try file.readRows(datasetPath, shape: shape, rows: rows, rowSize: rowSize, double: S.self == Double.self,
                              into: UnsafeMutableRawPointer(into))
        }
    }
}

/// A read-only HDF5 file opened through libhdf5. All raw HDF5 calls of the project live in this file.
final class HDF5File {
    let path: String
    private let file: HDF5Handle
    /// Group names written with backslashes (Keras saving on Windows made `layers\\gru\\cell` one group
    /// name where Linux makes nested groups): each such object's path read with "/" -> its real path.
    private var backslashAliases: [String: String] = [:]
    /// The groups those paths imply without existing ("/layers", "/layers/gru"), with their members.
    private var impliedGroups: [String: [String]] = [:]
    /// Whether the file names groups with backslashes (they are read as if written with "/").
    var usesBackslashNames: Bool { !backslashAliases.isEmpty }

    /// Opens `path`, or an in-memory image of a file when `image` is given (`path` then names it in errors).
    convenience init(path: String, image: [UInt8]? = nil) throws {
        try self.init(path: path, opening: path, image: image)
    }

    /// Opens the file at `opening` (an unnamed file through /proc/self/fd/N), named `path` in errors.
    convenience init(path: String, opening: String) throws {
        try self.init(path: path, opening: opening, image: nil)
    }

    private init(path: String, opening: String, image: [UInt8]?) throws {
        chdf5_silence_errors()
        self.path = path
        if let image {
            let fapl = H5Pcreate(chdf5_p_file_access())
            guard fapl >= 0 else { throw GRUIOError.hdf5(path: path, "could not be opened in memory") }
            defer { H5Pclose(fapl) }
            _ = H5Pset_fapl_core(fapl, 1 << 20, false)
            let status = image.withUnsafeBytes { H5Pset_file_image(fapl, UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count) }
            guard status >= 0 else { throw GRUIOError.hdf5(path: path, "could not be opened in memory") }
            let id = H5Fopen("in-memory", chdf5_acc_rdonly(), fapl)
            guard id >= 0 else { throw GRUIOError.notHDF5(path: path) }
            file = HDF5Handle(id, close: H5Fclose)
            imageBacked = true
            findBackslashNames()
            return
        }
        guard FileManager.default.fileExists(atPath: opening) else { throw GRUIOError.missingFile(path: path) }
        guard FileManager.default.isReadableFile(atPath: opening) else { throw GRUIOError.unreadable(path: path) }
        guard H5Fis_hdf5(opening) > 0 else { throw GRUIOError.notHDF5(path: path) }
        let id = H5Fopen(opening, chdf5_acc_rdonly(), chdf5_p_default())
        guard id >= 0 else { throw GRUIOError.hdf5(path: path, "is damaged or truncated: libhdf5 could not open it") }
        file = HDF5Handle(id, close: H5Fclose)
        findBackslashNames()
    }

    /// Opens the HDF5 file stored uncompressed at `offset` of the open `descriptor` (`size` bytes: a zip
    /// member), reading it in place; named `path` in errors.
    init(path: String, member descriptor: Int32, offset: Int64, size: Int64) throws {
        chdf5_silence_errors()
        self.path = path
        let fapl = chdf5_member_fapl(descriptor, offset, size)
        guard fapl >= 0 else { throw GRUIOError.hdf5(path: path, "could not be opened in place") }
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, chdf5_acc_rdonly(), fapl)
        guard id >= 0 else { throw GRUIOError.notHDF5(path: path) }
        file = HDF5Handle(id, close: H5Fclose)
        findBackslashNames()
    }

    /// Walks the groups (a bounded number, a few levels deep) for names holding a backslash.
    private func findBackslashNames() {
        var pending: [(real: String, read: String, depth: Int)] = [("/", "/", 0)], visited = 0
        while let (real, read, depth) = pending.popLast(), visited < 20_000 {
            visited += 1
            for name in rawMembers(of: real) {
                let realChild = (real == "/" ? "" : real) + "/" + name
                let readChild = (read == "/" ? "" : read) + "/" + name.split(separator: "\\", omittingEmptySubsequences: true).joined(separator: "/")
                if name.contains("\\") { backslashAliases[readChild] = realChild }
                if depth < 6, rawIsGroup(realChild) { pending.append((realChild, readChild, depth + 1)) }
            }
        }
        for read in backslashAliases.keys {
            var parts = read.split(separator: "/").map(String.init)
            while parts.count > 1 {
                let child = parts.removeLast(), parent = "/" + parts.joined(separator: "/")
                guard backslashAliases[parent] == nil else { break }
                if !(impliedGroups[parent]?.contains(child) ?? false) { impliedGroups[parent, default: []].append(child) }
            }
            if let top = parts.first, !(impliedGroups["/"]?.contains(top) ?? false) { impliedGroups["/", default: []].append(top) }
        }
    }

    /// `objectPath` as the file stores it: the longest prefix that names a backslash group replaced.
    private func resolved(_ objectPath: String) -> String {
        guard !backslashAliases.isEmpty else { return objectPath }
        let parts = objectPath.split(separator: "/")
        for k in stride(from: parts.count, through: 1, by: -1) {
            if let real = backslashAliases["/" + parts[..<k].joined(separator: "/")] {
                return real + parts[k...].map { "/" + $0 }.joined()
            }
        }
        return objectPath
    }

    /// True when every component of `path` (absolute, "/"-separated) exists.
    func exists(_ objectPath: String) -> Bool {
        if impliedGroups[objectPath] != nil { return true }
        let objectPath = resolved(objectPath)
        var prefix = ""
        for component in objectPath.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            guard H5Lexists(file.id, prefix, chdf5_p_default()) > 0 else { return false }
        }
        return true
    }

    func isGroup(_ objectPath: String) -> Bool {
        if impliedGroups[objectPath] != nil { return true }
        return rawIsGroup(resolved(objectPath))
    }

    private func rawIsGroup(_ objectPath: String) -> Bool {
        guard exists(objectPath) || objectPath == "/" else { return false }
        var info = H5O_info_t()
        guard H5Oget_info_by_name1(file.id, objectPath, &info, chdf5_p_default()) >= 0 else { return false }
        return info.type == H5O_TYPE_GROUP
    }

    /// Names of the members of a group, in HDF5's name order.
    func members(of groupPath: String) -> [String] {
        let own = impliedGroups[groupPath] == nil || groupPath == "/" ? rawMembers(of: resolved(groupPath)) : []
        return own.filter { !$0.contains("\\") } + (impliedGroups[groupPath] ?? [])
    }

    private func rawMembers(of groupPath: String) -> [String] {
        guard rawIsGroup(groupPath) else { return [] }
        var names: [String] = []
        var index: hsize_t = 0
        var numberOfLinks: hsize_t = 0
        let group = H5Gopen2(file.id, groupPath, chdf5_p_default())
        guard group >= 0 else { return [] }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { return [] }
        numberOfLinks = info.nlinks
        while index < numberOfLinks && names.count < 100_000 {
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_p_default())
            if length > 0 {
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                _ = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, Int(length) + 1, chdf5_p_default())
                names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            index += 1
        }
        return names
    }

    private func openObject(_ objectPath: String) -> HDF5Handle? {
        guard objectPath == "/" || exists(objectPath) else { return nil }
        let objectPath = resolved(objectPath)
        let id = H5Oopen(file.id, objectPath, chdf5_p_default())
        return id >= 0 ? HDF5Handle(id, close: H5Oclose) : nil
    }

    /// A string attribute (scalar or 1-D, fixed- or variable-length) as a list of strings; nil when absent.
    func stringAttribute(_ name: String, of objectPath: String) throws -> [String]? {
        guard let object = openObject(objectPath), H5Aexists(object.id, name) > 0 else { return nil }
        let attributeID = H5Aopen(object.id, name, chdf5_p_default())
        guard attributeID >= 0 else { throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) could not be opened") }
        let attribute = HDF5Handle(attributeID, close: H5Aclose)
        let type = HDF5Handle(H5Aget_type(attribute.id), close: H5Tclose)
        let space = HDF5Handle(H5Aget_space(attribute.id), close: H5Sclose)
        guard H5Tget_class(type.id) == H5T_STRING else {
            // h5py stores an empty Python list as an empty float array.
            if H5Sget_simple_extent_npoints(space.id) == 0 { return [] }
            throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) is not a string")
        }
        let rank = H5Sget_simple_extent_ndims(space.id)
        guard rank >= 0 && rank <= 1 else {
            throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) has \(rank) dimensions; a list of strings was expected")
        }
        let count = Int(H5Sget_simple_extent_npoints(space.id))
        guard count >= 0 && count <= 10_000_000 else {
            throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) claims \(count) strings")
        }
        if count == 0 { return [] }
        if H5Tis_variable_str(type.id) > 0 {
            let memType = HDF5Handle(H5Tcopy(chdf5_c_s1()), close: H5Tclose)
            H5Tset_size(memType.id, chdf5_variable())
            H5Tset_cset(memType.id, H5Tget_cset(type.id))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute.id, memType.id, &pointers) >= 0 else {
                throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) could not be read")
            }
            defer { H5Dvlen_reclaim(memType.id, space.id, chdf5_p_default(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type.id)
        guard size > 0, size <= 1 << 24, count.multipliedReportingOverflow(by: size).overflow == false,
              count * size <= 1 << 28 else {
            throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) has an unreadable string size")
        }
        var bytes = [UInt8](repeating: 0, count: count * size)
        guard H5Aread(attribute.id, type.id, &bytes) >= 0 else {
            throw GRUIOError.hdf5(path: path, "attribute \(name) of \(Printable.name(objectPath)) could not be read")
        }
        return (0..<count).map { i in
            let slice = bytes[(i * size)..<((i + 1) * size)]
            let end = slice.firstIndex(of: 0) ?? slice.endIndex
            return String(decoding: slice[slice.startIndex..<end], as: UTF8.self)
        }
    }

    /// A list attribute that Keras may have split into `name0`, `name1`, ... when it exceeded 64 KB.
    func splitStringAttribute(_ name: String, of objectPath: String) throws -> [String]? {
        if let whole = try stringAttribute(name, of: objectPath) { return whole }
        var parts: [String] = []
        var index = 0
        while let chunk = try stringAttribute(name + String(index), of: objectPath) {
            parts += chunk
            index += 1
        }
        return index > 0 ? parts : nil
    }

    /// A floating-point dataset, converted by HDF5 to native doubles.
    /// `integers`: an integer dataset is read too (as doubles, `bits` 0).
    /// Whether the file is an in-memory image (a .keras archive's member), which deferred reads would keep.
    var isImage: Bool { imageBacked }
    private var imageBacked = false

    /// A dataset's values; with `deferring`, a float dataset of at least that many values on a file on disk
    /// is checked now and read later (`DeferredDataset`).
    func floatDataset(_ datasetPath: String, limit: Int = 1 << 30, integers: Bool = false, deferring: Int? = nil) throws -> HDF5FloatArray {
        guard exists(datasetPath) else { throw GRUIOError.hdf5(path: path, "has no dataset \(Printable.name(datasetPath))") }
        let datasetID = H5Dopen2(file.id, resolved(datasetPath), chdf5_p_default())
        guard datasetID >= 0 else { throw GRUIOError.hdf5(path: path, "\(Printable.name(datasetPath)) is not a dataset") }
        let dataset = HDF5Handle(datasetID, close: H5Dclose)
        let type = HDF5Handle(H5Dget_type(dataset.id), close: H5Tclose)
        let space = HDF5Handle(H5Dget_space(dataset.id), close: H5Sclose)
        let integer = integers && H5Tget_class(type.id) == H5T_INTEGER
        guard H5Tget_class(type.id) == H5T_FLOAT || integer else {
            throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) holds \(typeClassName(type.id)), not floating-point numbers")
        }
        let rank = Int(H5Sget_simple_extent_ndims(space.id))
        guard rank >= 0 && rank <= 8 else { throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) has an unreadable shape") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        _ = H5Sget_simple_extent_dims(space.id, &dims, nil)
        let shape = dims.prefix(rank).map { Int(clamping: $0) }
        guard let count = checkedProduct(shape), count <= limit else {
            throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) claims shape \(describe(shape)), too large to be a GRU weight")
        }
        let bits = H5Tget_size(type.id) > 4 ? 64 : 32
        // Allocate only what the stored bytes can justify: a dataset claiming far more values than its
        // storage holds (even compressed a thousandfold) is damaged, not big.
        let stored = Int(clamping: H5Dget_storage_size(dataset.id))
        let typeSize = max(1, H5Tget_size(type.id))
        let (claimed, overflow) = count.multipliedReportingOverflow(by: typeSize)
        if count > 0 && (overflow || claimed > stored.saturatingMultiply(1024) + (1 << 16)) {
            throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) claims shape \(describe(shape)) but stores only \(stored) bytes; the file is damaged")
        }
        if let deferring, !integer, !imageBacked, count >= deferring {
            return HDF5FloatArray(shape: shape, bits: bits, deferred: DeferredDataset(file: self, datasetPath: datasetPath, shape: shape))
        }
        // float32 data is read as it is stored (half the memory of Doubles, no conversion); anything wider as
        // Doubles, with libhdf5's conversion buffer beside them.
        if !integer && bits == 32 && typeSize == 4 {
            try MemoryBudget.reserve(MemoryBudget.bytes(count, 4), for: "reading dataset \(datasetPath) of \(path)")
            var floats = [Float](repeating: 0, count: count)
            if count > 0 {
                guard H5Dread(dataset.id, chdf5_native_float(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &floats) >= 0 else {
                    throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) could not be read; the file may be truncated or damaged")
                }
            }
            return HDF5FloatArray(shape: shape, floats: floats)
        }
        try MemoryBudget.reserve(MemoryBudget.bytes(count, 16), for: "reading dataset \(datasetPath) of \(path)")
        var values = [Double](repeating: 0, count: count)
        if count > 0 {
            guard H5Dread(dataset.id, chdf5_native_double(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &values) >= 0 else {
                throw GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) could not be read; the file may be truncated or damaged")
            }
        }
        return HDF5FloatArray(shape: shape, values: values, bits: integer ? 0 : bits)
    }

    /// Rows `rows` of the leading axis of a float dataset already checked by `floatDataset`, converted by
    /// libhdf5 to float32 or float64 straight into `into`.
    func readRows(_ datasetPath: String, shape: [Int], rows: Range<Int>, rowSize: Int, double: Bool, into: UnsafeMutableRawPointer) throws {
        guard !rows.isEmpty else { return }
        let failed = GRUIOError.hdf5(path: path, "dataset \(Printable.name(datasetPath)) could not be read; the file may be truncated or damaged")
        let datasetID = H5Dopen2(file.id, resolved(datasetPath), chdf5_p_default())
        guard datasetID >= 0 else { throw failed }
        let dataset = HDF5Handle(datasetID, close: H5Dclose)
        let fileSpace = HDF5Handle(H5Dget_space(dataset.id), close: H5Sclose)
        var start = [hsize_t](repeating: 0, count: shape.count), count = shape.map { hsize_t($0) }
        start[0] = hsize_t(rows.lowerBound)
        count[0] = hsize_t(rows.count)
        guard H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, start, nil, count, nil) >= 0 else { throw failed }
        var memoryDims = [hsize_t(rows.count * rowSize)]
        let memorySpace = HDF5Handle(H5Screate_simple(1, &memoryDims, nil), close: H5Sclose)
        guard H5Dread(dataset.id, double ? chdf5_native_double() : chdf5_native_float(), memorySpace.id, fileSpace.id,
                      chdf5_p_default(), into) >= 0 else { throw failed }
    }

    private func typeClassName(_ type: hid_t) -> String {
        switch H5Tget_class(type) {
        case H5T_INTEGER: return "integers"
        case H5T_STRING: return "strings"
        case H5T_COMPOUND: return "compound records"
        case H5T_ENUM: return "enumerated values"
        default: return "non-numeric data"
        }
    }
}

extension Int {
    func saturatingMultiply(_ other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}
