import Foundation
import GRUCore
import GRUIO

/// CSV in, CSV out, computed as the rows arrive: each sample runs in chunks of timesteps (up to 4096, or
/// the rows that came before the producer paused) that carry the state (and the output masked steps
/// repeat) from one chunk to the next, which is exactly one call over the whole sample. Memory stays bounded by the model and the chunk, not by the input's length.
struct CSVStreamer<S: CLIScalar> {
    let layer: GRULayer<S>
    let layerName: String
    let maskValue: Double?
    let inputPath: String
    let timesteps: CSVTimesteps?
    let threads: Int
    static var chunkSteps: Int { 4096 }

    /// Streams from `descriptor` (after `prefix`, bytes already read) to `output`; returns the final
    /// states `(samples, units)`.
    func run(descriptor: Int32, prefix: [UInt8], ended: Bool = false, output: AtomicFileWriter,
             progress: (Int) -> Void = { _ in }) throws -> (states: [S], samples: Int, notes: [String]) {
        let config = layer.config
        let features = layer.weights.inputDim, units = config.units
        let stream = CSVStream(descriptor: descriptor, path: inputPath, prefix: prefix, ended: ended, timesteps: timesteps)
        var chunk: [S] = []
        chunk.reserveCapacity(Self.chunkSteps * features)
        var state = [S](repeating: 0, count: units)
        var previous = [S](repeating: 0, count: units)
        var states: [S] = []
        var rows = 0, samples = 0
        var totalRows = 0

        func runChunk() throws {
            let steps = chunk.count / features
            guard steps > 0 else { return }
            let mask = maskValue.map { maskingRule(chunk, features: features, maskValue: S($0)) }
            let result = try layer(chunk, shape: [1, steps, features], mask: mask,
                                   initialState: state, threads: threads, previousOutput: previous)
            state = result.state
            if config.returnSequences {
                if rows == steps && samples > 0 { try output.write([0x0A]) }  // a blank line between samples
                try output.write(S.encodeCSV(result.output, columns: units, rowsPerBlock: nil))
                previous = Array(result.output.suffix(units))
            } else {
                previous = result.output
            }
            chunk.removeAll(keepingCapacity: true)
            totalRows += steps
            progress(totalRows)
        }

        loop: while true {
            // Rows that have arrived are computed and written before waiting for more.
            if !chunk.isEmpty && !stream.hasInputReady() { try runChunk() }
            switch try stream.next() {
            case .row(let values):
                guard values.count == features else { throw featureMismatch(values.count, stream) }
                chunk.append(contentsOf: values.map { S($0) })
                rows += 1
                if chunk.count >= Self.chunkSteps * features { try runChunk() }
            case .endOfSample:
                try runChunk()
                if !config.returnSequences {
                    try output.write(S.encodeCSV(previous, columns: units, rowsPerBlock: nil))
                }
                states += state
                samples += 1
                rows = 0
                state = [S](repeating: 0, count: units)
                previous = [S](repeating: 0, count: units)
            case .end:
                break loop
            }
        }
        return (states, samples, stream.notes)
    }

    /// A row of the wrong width. One value too many, with column 1 counting 0, 1, 2 over the first rows
    /// (read on to see them), is named as the index column it likely is.
    private func featureMismatch(_ count: Int, _ stream: CSVStream) -> Error {
        let line = stream.line, features = layer.weights.inputDim
        var hint = ""
        if count == features + 1 {
            var more = 0
            while more < 2, let event = try? stream.next(), event != .end {
                if case .row = event { more += 1 }
            }
            if stream.firstColumnCounts { hint = "; " + indexColumnHint }
        }
        return GRUIOError.csv(path: inputPath, line: line, "the row has \(count) features per step but layer \(Printable.quoted(layerName)) expects \(features)" + hint)
    }
}

/// Why a first column counting 0, 1, 2 is refused rather than dropped: it may be data.
let indexColumnHint = "column 1 counts 0, 1, 2, ... like an index written with the data (pandas' to_csv writes one unless index=False); remove that column"
