import ArgumentParser
import Foundation
import GRUCore
import GRUIO

/// `gru-run check`: runs the layer and compares with outputs Keras saved earlier, for CI.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the layer and compare with saved Keras outputs (exit 0 match, 1 mismatch).",
        discussion: """
        A value passes when |got - expected| <= atol + rtol * |expected|; NaN matches only NaN, and +inf
        and -inf only themselves.
        Example:
          gru-run check --weights model.h5 --input x.npy --expect y.npy --expect-state h.npy
        """)

    @OptionGroup var layer: LayerOptions
    @OptionGroup var call: CallOptions
    @OptionGroup var io: IOOptions

    @Option(help: ArgumentHelp("The outputs Keras saved (.npy, .npz or .csv); for a model with several outputs, once per output in the model's order, or one .npz whose arrays are named after the output layers (or arr_0, arr_1, ... in order).", valueName: "file"),
            completion: .dataFile)
    var expect: [String]

    @Option(help: ArgumentHelp("The final state Keras saved, (batch, units); in an .npz, one array named after the layer.", valueName: "file"), completion: .dataFile)
    var expectState: String?

    @Option(help: ArgumentHelp("Absolute tolerance (default 1e-5 for float32, 1e-9 for float64).", valueName: "value"))
    var atol: Double?

    @Option(help: ArgumentHelp("Relative tolerance.", valueName: "value"))
    var rtol: Double = 0

    @Option(help: "Mismatches listed after the worst one.")
    var show = 5

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    func validate() throws {
        if !io.outputs.isEmpty || io.stateOutput != nil {
            throw ValidationError("check writes no outputs; give the saved ones with --expect and --expect-state.")
        }
        if let threads = io.threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if let timesteps = io.timesteps, timesteps < 1 { throw ValidationError("--timesteps must be at least 1.") }
        if let atol, !(atol >= 0) { throw ValidationError("--atol must be a number of at least 0.") }
        if !(rtol >= 0) { throw ValidationError("--rtol must be a number of at least 0.") }
    }

    func run() throws {
        // The run's outputs stay in memory: no scratch file, so nothing to leave behind or to clean up.
        // An .npz of expected outputs is matched by name: the run then keeps its outputs as one .npz too.
        let npzExpect = try expect.count == 1 && isNPZFile(expect[0])
        let npzState = try expectState.map(isNPZFile) ?? false
        var run = Run()
        run.layer = layer
        run.call = call
        run.io = io
        run.io.outputFormat = nil
        run.io.outputs = npzExpect ? ["the outputs.npz"] : expect.indices.map { expect.count == 1 ? "the output.npy" : "output \($0).npy" }
        if expectState != nil { run.io.stateOutput = npzState ? "the final state.npz" : "the final state.npy" }
        let capture = OutputCapture(count: run.io.outputs.count + (expectState != nil ? 1 : 0))
        run.capture = capture
        try run.run()

        var got: [(what: String, array: NPYArray, expected: NPYArray, file: String)] = []
        if npzExpect {
            got = try matched(capture.writers[0], expected: expect[0], kind: "output")
        } else {
            for (index, path) in expect.enumerated() {
                let array = try NPYArray(bytes: capture.writers[index].memory ?? [], path: capture.writers[index].path)
                got.append((expect.count == 1 ? "output" : "output \(index)", array, try loadExpected(path, like: array), path))
            }
        }
        if let expectState, let writer = capture.writers.dropFirst(run.io.outputs.count).first {
            if npzState {
                got += try matched(writer, expected: expectState, kind: "state")
            } else {
                let array = try NPYArray(bytes: writer.memory ?? [], path: writer.path)
                got.append(("state", array, try loadExpected(expectState, like: array), expectState))
            }
        }
        let isFloat64 = got[0].array.element == .float(bits: 64, bigEndian: false)
        let tolerance = atol ?? (isFloat64 ? 1e-9 : 1e-5)
        let reports = try got.map { item in
            ComparisonReport(what: item.what, file: item.file, gotShape: item.array.shape, expectedShape: item.expected.shape,
                             got: try item.array.doubles(), expected: try item.expected.doubles(), atol: tolerance, rtol: rtol, keep: show)
        }
        let passed = reports.allSatisfy(\.passed)
        if json {
            print(ComparisonReport.json(reports, atol: tolerance, rtol: rtol, passed: passed))
        } else {
            for report in reports { print(report.text(atol: tolerance, rtol: rtol, show: show)) }
            print(passed ? "PASS" : "FAIL")
        }
        if !passed { throw ExitCode(1) }
    }

    /// Whether an expected file is an .npz: by its extension, else by the zip signature it starts with.
    private func isNPZFile(_ path: String) throws -> Bool {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ["npz", "npy", "csv", "txt"].contains(ext) { return ext == "npz" }
        return NPZArchive.isZip(try InputFile(path: path).prefix(4))
    }

    /// The run's arrays (an .npz kept in memory) paired with the expected .npz's by name, or arr_K for the
    /// K-th, as the run's inputs are.
    private func matched(_ writer: AtomicFileWriter, expected path: String, kind: String)
        throws -> [(what: String, array: NPYArray, expected: NPYArray, file: String)] {
        let produced = try NPZArchive(bytes: writer.memory ?? [], name: writer.path)
        let expected = try NPZArchive(path: path)
        let order = try NPZNames.assign(expected.names, to: produced.names, file: path, kind: kind, owner: "\(layer.weights) gives")
        return zip(produced.members, order).map { member, index in
            ("\(kind) \(Printable.quoted(member.name))", member.array, expected.members[index].array, expected.memberPath(index))
        }
    }

    /// An expected array from .npy, or from CSV laid out as gru-run writes it.
    private func loadExpected(_ path: String, like got: NPYArray) throws -> NPYArray {
        let bytes = try readWholeFile(path)
        if bytes.starts(with: NPYArray.magic) { return try NPYArray(bytes: bytes, path: path) }
        let csv = try CSVReader.parse(bytes, path: path)
        let shape = got.shape.count == 3 ? csv.shape : [csv.batch * csv.timesteps, csv.features]
        return try NPYArray(bytes: NPYWriter.encode(csv.values, shape: shape), path: path)
    }
}

/// The comparison of one array with Keras's: counts, worst error and the first mismatches.
struct ComparisonReport {
    struct Mismatch {
        var index: [Int]
        var got: Double
        var expected: Double
    }

    var what: String
    var file: String
    var gotShape: [Int]
    var expectedShape: [Int]
    var compared = 0
    var differing = 0
    var maxAbs = 0.0
    var maxRel = 0.0
    var worst: Mismatch?
    var first: [Mismatch] = []

    var shapeMatches: Bool { gotShape == expectedShape }
    var passed: Bool { shapeMatches && differing == 0 }

    init(what: String, file: String, gotShape: [Int], expectedShape: [Int], got: [Double], expected: [Double],
         atol: Double, rtol: Double, keep: Int) {
        self.what = what
        self.file = file
        self.gotShape = gotShape
        self.expectedShape = expectedShape
        guard gotShape == expectedShape, got.count == expected.count else { return }
        compared = got.count
        var worstError = -1.0
        for i in 0..<got.count {
            let a = got[i], e = expected[i]
            let error = Self.error(a, e)
            let relative = error == 0 ? 0 : (error.isInfinite || e == 0 ? Double.infinity : error / abs(e))
            maxAbs = max(maxAbs, error)
            maxRel = max(maxRel, relative)
            let ok = error == 0 || (error.isFinite && error <= atol + rtol * abs(e))
            if error > worstError {
                worstError = error
                worst = Mismatch(index: position(i, gotShape), got: a, expected: e)
            }
            if !ok {
                differing += 1
                if first.count < keep { first.append(Mismatch(index: position(i, gotShape), got: a, expected: e)) }
            }
        }
    }

    /// |got - expected|, where NaN matches NaN only and an infinity only the same infinity: 0 for those
    /// matches, infinite for any other pairing with NaN or an infinity (which no tolerance covers).
    static func error(_ got: Double, _ expected: Double) -> Double {
        if got.isNaN || expected.isNaN { return got.isNaN && expected.isNaN ? 0 : .infinity }
        if got.isInfinite || expected.isInfinite { return got == expected ? 0 : .infinity }
        return abs(got - expected)
    }

    private func position(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    private func describeIndex(_ index: [Int]) -> String {
        "[" + index.map(String.init).joined(separator: ", ") + "]"
    }

    func text(atol: Double, rtol: Double, show: Int) -> String {
        guard shapeMatches else {
            return "\(what): shape mismatch: got \(describe(gotShape)), \(Printable.text(file)) holds \(describe(expectedShape))"
        }
        var lines = ["\(what): \(compared) values compared with \(Printable.text(file)), \(differing) differ by more than \(atol) + \(rtol)*|expected|",
                     "  max abs error \(maxAbs), max rel error \(maxRel)"]
        if let worst {
            lines.append("  worst at \(describeIndex(worst.index)): got \(worst.got), expected \(worst.expected)")
        }
        if !first.isEmpty {
            lines.append("  first mismatches:")
            lines += first.map { "    \(describeIndex($0.index)): got \($0.got), expected \($0.expected)" }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ reports: [ComparisonReport], atol: Double, rtol: Double, passed: Bool) -> String {
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : (x.isNaN ? "\"nan\"" : (x > 0 ? "\"inf\"" : "\"-inf\"")) }
        func mismatch(_ m: ComparisonReport.Mismatch) -> String {
            "{\"index\": [\(m.index.map(String.init).joined(separator: ", "))], \"got\": \(number(m.got)), \"expected\": \(number(m.expected))}"
        }
        let items = reports.map { r -> String in
            var fields = ["\"what\": \"\(r.what)\"", "\"shape_matches\": \(r.shapeMatches)",
                          "\"got_shape\": [\(r.gotShape.map(String.init).joined(separator: ", "))]",
                          "\"expected_shape\": [\(r.expectedShape.map(String.init).joined(separator: ", "))]",
                          "\"compared\": \(r.compared)", "\"differing\": \(r.differing)",
                          "\"max_abs_error\": \(number(r.maxAbs))", "\"max_rel_error\": \(number(r.maxRel))"]
            if let worst = r.worst { fields.append("\"worst\": " + mismatch(worst)) }
            fields.append("\"first_mismatches\": [" + r.first.map(mismatch).joined(separator: ", ") + "]")
            return "{" + fields.joined(separator: ", ") + "}"
        }
        let status = passed ? "{\"status\": \"pass\", \"exit\": 0" : "{\"status\": \"fail\", \"exit\": 1"
        return status + ", \"passed\": \(passed), \"atol\": \(atol), \"rtol\": \(rtol), \"reports\": [" + items.joined(separator: ", ") + "]}"
    }

    /// The object `check --json` prints when it refuses to compare: the same status and exit keys as a
    /// report, and the one-sentence message that stderr also gets.
    static func jsonError(_ message: String, exit code: Int32) -> String {
        "{\"status\": \"error\", \"exit\": \(code), \"passed\": false, \"message\": \(Printable.json(Printable.name(message, limit: Printable.textLimit)))}"
    }
}
