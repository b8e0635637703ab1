import Foundation
import GRUCore
import TestSupport
import XCTest

/// A layer fed through `GRUInputSource` (read a window of steps at a time) gives exactly the array result.
final class InputSourceTests: XCTestCase {
    private func check<S: GRUScalar>(_ type: S.Type) throws {
        // (batch, steps, features, units): one and three samples whose steps span several ~1 MB windows; a batch the
        // samples split divides unevenly; units split among threads; a small one that stays on one thread.
        for (batch, steps, features, units) in [(1, 1500, 200, 40), (3, 1000, 128, 16), (9, 400, 90, 24), (2, 300, 30, 100), (3, 7, 5, 6)] {
            var generator = SplitMix64(seed: UInt64(batch * 1000 + steps))
            func random(_ count: Int, _ scale: Double) -> [S] { (0..<count).map { _ in S((generator.nextUnitDouble() * 2 - 1) * scale) } }
            let input = random(batch * steps * features, 1)
            let mask = (0..<(batch * steps)).map { $0 % 5 != 2 }
            let initial = random(batch * units, 0.5)
            for resetAfter in [false, true] {
                for backwards in [false, true] {
                    var config = GRUConfig(units: units)
                    config.resetAfter = resetAfter
                    config.goBackwards = backwards
                    config.returnSequences = true
                    let weights = try GRUWeights(inputDim: features, units: units, kernel: random(features * 3 * units, 0.1),
                                                 recurrentKernel: random(units * 3 * units, 0.3), inputBias: random(3 * units, 0.1),
                                                 recurrentBias: resetAfter ? random(3 * units, 0.1) : nil)
                    let gru = try GRULayer(config: config, weights: weights)
                    let reads = ReadLog()
                    let source = GRUInputSource<S> { samples, window, into in
                        reads.add(window.count)
                        for (i, b) in samples.enumerated() {
                            for t in window {
                                for f in 0..<features {
                                    into[(i * window.count + t - window.lowerBound) * features + f] = input[(b * steps + t) * features + f]
                                }
                            }
                        }
                    }
                    let shape = [batch, steps, features]
                    let label = "\(S.self) \(shape) units \(units) reset_after \(resetAfter) go_backwards \(backwards)"
                    for threads in [1, 2] {
                        let expected = try gru(input, shape: shape, mask: mask, initialState: initial, threads: threads)
                        let got = try gru(source, shape: shape, mask: mask, initialState: initial, threads: threads)
                        XCTAssertNil(mismatch(got.output.map(Double.init), expected.output.map(Double.init), shape: expected.outputShape,
                                              tolerance: 0, context: label + ", \(threads) threads, output"))
                        XCTAssertNil(mismatch(got.state.map(Double.init), expected.state.map(Double.init), shape: expected.stateShape,
                                              tolerance: 0, context: label + ", \(threads) threads, state"))
                    }
                    if steps * features * MemoryLayout<S>.size > 1 << 20 {
                        XCTAssertLessThan(reads.smallest, steps, label + ": the input should be read in windows")
                    }
                }
            }
        }
    }

    func testSourceMatchesArray() throws {
        try check(Float.self)
        try check(Double.self)
    }

    func testTimeMajorLayersRefuseASource() throws {
        var config = GRUConfig(units: 2)
        config.timeMajor = true
        let gru = try GRULayer<Float>(config: config, weights: GRUWeights(inputDim: 1, units: 2, kernel: [Float](repeating: 0, count: 6),
                                                                           recurrentKernel: [Float](repeating: 0, count: 12),
                                                                           inputBias: [Float](repeating: 0, count: 6), recurrentBias: nil))
        XCTAssertThrowsError(try gru(GRUInputSource<Float> { _, _, _ in }, shape: [3, 1, 1]))
    }
}

/// Window sizes a source was asked for, from several threads.
private final class ReadLog: @unchecked Sendable {
    private let lock = NSLock()
    private var sizes: [Int] = []
    func add(_ size: Int) { lock.lock(); sizes.append(size); lock.unlock() }
    var smallest: Int { lock.lock(); defer { lock.unlock() }; return sizes.min() ?? 0 }
}
