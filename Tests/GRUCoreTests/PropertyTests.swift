import GRUCore
import TestSupport
import XCTest

/// Exact properties over seeded random layers and inputs.
final class PropertyTests: XCTestCase {
    private struct Setup {
        var layer: GRULayer<Double>
        var input: [Double]
        var batch: Int, steps: Int, features: Int
    }

    private func makeSetup(seed: UInt64, resetAfter: Bool, recurrent: Activation = .hardSigmoid,
                           configure: (inout GRUConfig) -> Void = { _ in }) throws -> Setup {
        var generator = SplitMix64(seed: seed)
        func random(_ count: Int, scale: Double = 0.5) -> [Double] {
            (0..<count).map { _ in (generator.nextUnitDouble() * 2 - 1) * scale * 1.7 }
        }
        let batch = 3, steps = 8, features = 5, units = 7
        var config = GRUConfig(units: units)
        config.resetAfter = resetAfter
        config.recurrentActivation = recurrent
        configure(&config)
        let weights = try GRUWeights(inputDim: features, units: units, kernel: random(features * 3 * units),
                                     recurrentKernel: random(units * 3 * units), inputBias: random(3 * units),
                                     recurrentBias: resetAfter ? random(3 * units) : nil)
        return Setup(layer: try GRULayer(config: config, weights: weights),
                     input: random(batch * steps * features, scale: 1), batch: batch, steps: steps, features: features)
    }

    func testAllTrueMaskEqualsNoMask() throws {
        for resetAfter in [false, true] {
            let s = try makeSetup(seed: 1, resetAfter: resetAfter) { $0.returnSequences = true }
            let shape = [s.batch, s.steps, s.features]
            let plain = try s.layer(s.input, shape: shape)
            let masked = try s.layer(s.input, shape: shape, mask: Array(repeating: true, count: s.batch * s.steps))
            XCTAssertEqual(plain.output, masked.output)
            XCTAssertEqual(plain.state, masked.state)
        }
    }

    func testStatefulHalvesEqualOneCall() throws {
        for resetAfter in [false, true] {
            for backwards in [false] {
                let s = try makeSetup(seed: 2, resetAfter: resetAfter) { $0.returnSequences = true; $0.goBackwards = backwards }
                let half = s.steps / 2
                let whole = try s.layer(s.input, shape: [s.batch, s.steps, s.features])
                func slice(_ range: Range<Int>) -> [Double] {
                    (0..<s.batch).flatMap { b in s.input[((b * s.steps + range.lowerBound) * s.features)..<((b * s.steps + range.upperBound) * s.features)] }
                }
                let first = try s.layer(slice(0..<half), shape: [s.batch, half, s.features])
                let second = try s.layer(slice(half..<s.steps), shape: [s.batch, s.steps - half, s.features], initialState: first.state)
                XCTAssertEqual(second.state, whole.state)
                let units = s.layer.config.units
                for b in 0..<s.batch {
                    let joined = Array(first.output[(b * half * units)..<((b + 1) * half * units)])
                        + Array(second.output[(b * half * units)..<((b + 1) * half * units)])
                    XCTAssertEqual(joined, Array(whole.output[(b * s.steps * units)..<((b + 1) * s.steps * units)]))
                }
            }
        }
    }

    func testGoBackwardsEqualsForwardOverReversedInput() throws {
        for resetAfter in [false, true] {
            let backward = try makeSetup(seed: 3, resetAfter: resetAfter) { $0.goBackwards = true }
            let forward = try makeSetup(seed: 3, resetAfter: resetAfter)
            var reversed = forward.input
            for b in 0..<forward.batch {
                for t in 0..<forward.steps {
                    for f in 0..<forward.features {
                        reversed[(b * forward.steps + t) * forward.features + f] =
                            forward.input[(b * forward.steps + forward.steps - 1 - t) * forward.features + f]
                    }
                }
            }
            let shape = [forward.batch, forward.steps, forward.features]
            XCTAssertEqual(try backward.layer(backward.input, shape: shape).output,
                           try forward.layer(reversed, shape: shape).output)
        }
    }

    func testTimeMajorEqualsBatchMajorOnTransposedInput() throws {
        let batchMajor = try makeSetup(seed: 4, resetAfter: true) { $0.returnSequences = true }
        let timeMajor = try makeSetup(seed: 4, resetAfter: true) { $0.returnSequences = true; $0.timeMajor = true }
        let s = batchMajor
        var transposed = s.input
        for b in 0..<s.batch {
            for t in 0..<s.steps {
                for f in 0..<s.features {
                    transposed[(t * s.batch + b) * s.features + f] = s.input[(b * s.steps + t) * s.features + f]
                }
            }
        }
        let a = try batchMajor.layer(s.input, shape: [s.batch, s.steps, s.features])
        let b = try timeMajor.layer(transposed, shape: [s.steps, s.batch, s.features])
        XCTAssertEqual(b.outputShape, [s.steps, s.batch, 7])
        let units = 7
        for bi in 0..<s.batch {
            for t in 0..<s.steps {
                XCTAssertEqual(Array(a.output[((bi * s.steps + t) * units)..<((bi * s.steps + t + 1) * units)]),
                               Array(b.output[((t * s.batch + bi) * units)..<((t * s.batch + bi + 1) * units)]))
            }
        }
        XCTAssertEqual(a.state, b.state)
    }

    /// The training path written out per sample, with masks of ones, equals the fast inference path.
    func testTrainingPathWithUnitMasksEqualsInference() throws {
        for resetAfter in [false, true] {
            for implementation in [1, 2] {
                for backwards in [false, true] {
                    let s = try makeSetup(seed: 5, resetAfter: resetAfter, recurrent: .sigmoid) {
                        $0.returnSequences = true; $0.implementation = implementation; $0.goBackwards = backwards
                    }
                    let shape = [s.batch, s.steps, s.features]
                    let mask = (0..<(s.batch * s.steps)).map { $0 % 3 != 1 }
                    let ones = DropoutMasks<Double>(input: Array(repeating: Array(repeating: 1, count: s.batch * s.features), count: 3),
                                                    recurrent: Array(repeating: Array(repeating: 1, count: s.batch * 7), count: 3))
                    let fast = try s.layer(s.input, shape: shape, mask: mask)
                    let literal = try s.layer(s.input, shape: shape, mask: mask, training: ones)
                    for (a, b) in zip(fast.output, literal.output) { XCTAssertEqual(a, b, accuracy: 1e-12) }
                    for (a, b) in zip(fast.state, literal.state) { XCTAssertEqual(a, b, accuracy: 1e-12) }
                }
            }
        }
    }

    func testDropoutRateZeroEqualsInferenceAndSeedsRepeat() throws {
        let inference = try makeSetup(seed: 6, resetAfter: false) { $0.returnSequences = true }
        let shape = [inference.batch, inference.steps, inference.features]
        let zero = DropoutMasks<Double>(config: inference.layer.config, batch: inference.batch, features: inference.features, seed: 9)
        XCTAssertNil(zero.input)
        XCTAssertNil(zero.recurrent)
        let expected = try inference.layer(inference.input, shape: shape)
        let trainedAtZero = try inference.layer(inference.input, shape: shape, training: zero)
        for (a, b) in zip(expected.output, trainedAtZero.output) { XCTAssertEqual(a, b, accuracy: 1e-12) }

        let dropped = try makeSetup(seed: 6, resetAfter: false) {
            $0.returnSequences = true; $0.dropout = 0.4; $0.recurrentDropout = 0.3
        }
        let masksA = DropoutMasks<Double>(config: dropped.layer.config, batch: dropped.batch, features: dropped.features, seed: 42)
        let masksB = DropoutMasks<Double>(config: dropped.layer.config, batch: dropped.batch, features: dropped.features, seed: 42)
        let masksC = DropoutMasks<Double>(config: dropped.layer.config, batch: dropped.batch, features: dropped.features, seed: 43)
        XCTAssertEqual(try dropped.layer(dropped.input, shape: shape, training: masksA).output,
                       try dropped.layer(dropped.input, shape: shape, training: masksB).output)
        XCTAssertNotEqual(try dropped.layer(dropped.input, shape: shape, training: masksA).output,
                          try dropped.layer(dropped.input, shape: shape, training: masksC).output)
        // Kept entries are scaled by 1/(1-rate); the others are zero.
        for mask in masksA.input! { XCTAssertTrue(mask.allSatisfy { $0 == 0 || abs($0 - 1 / 0.6) < 1e-15 }) }
        XCTAssertEqual(masksA.input?.count, 3)
        XCTAssertEqual(masksA.input?[0].count, dropped.batch * dropped.features)
    }

    /// One input mask per sample for the whole sequence: with implementation 2 and input dropout only,
    /// a training run equals inference on the input multiplied by that mask at every step.
    func testInputDropoutMaskIsConstantOverTime() throws {
        let s = try makeSetup(seed: 7, resetAfter: true) {
            $0.returnSequences = true; $0.implementation = 2; $0.dropout = 0.5
        }
        let masks = DropoutMasks<Double>(config: s.layer.config, batch: s.batch, features: s.features, seed: 11)
        XCTAssertNil(masks.recurrent)
        var scaled = s.input
        for b in 0..<s.batch {
            for t in 0..<s.steps {
                for f in 0..<s.features { scaled[(b * s.steps + t) * s.features + f] *= masks.input![0][b * s.features + f] }
            }
        }
        let shape = [s.batch, s.steps, s.features]
        let trained = try s.layer(s.input, shape: shape, training: masks)
        let reference = try s.layer(scaled, shape: shape)
        for (a, b) in zip(trained.output, reference.output) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testFullyMaskedSampleKeepsInitialStateAndOutputsZero() throws {
        let s = try makeSetup(seed: 8, resetAfter: false) { $0.returnSequences = true }
        let units = 7
        let initial = (0..<(s.batch * units)).map { Double($0) / 10 }
        var mask = Array(repeating: true, count: s.batch * s.steps)
        for t in 0..<s.steps { mask[1 * s.steps + t] = false }
        let result = try s.layer(s.input, shape: [s.batch, s.steps, s.features], mask: mask, initialState: initial)
        XCTAssertEqual(Array(result.state[units..<(2 * units)]), Array(initial[units..<(2 * units)]))
        XCTAssertTrue(result.output[(s.steps * units)..<(2 * s.steps * units)].allSatisfy { $0 == 0 })
    }

    func testShapeErrorsAreSentences() throws {
        let s = try makeSetup(seed: 9, resetAfter: false)
        XCTAssertThrowsError(try s.layer(s.input, shape: [s.batch, s.steps, 4])) { error in
            XCTAssertEqual("\(error)", "The input has 4 features per step but the layer's kernel expects 5.")
        }
        XCTAssertThrowsError(try s.layer(s.input, shape: [s.batch * s.steps, s.features]))
        XCTAssertThrowsError(try s.layer(s.input, shape: [s.batch, s.steps, s.features], initialState: [1, 2]))
    }
}

/// The threaded splits (samples among threads, units among threads) give exactly the single-thread result,
/// in both types (floats and doubles use row blocks of different sizes).
final class ThreadingTests: XCTestCase {
    private func layer<S: GRUScalar>(_ type: S.Type, features: Int, units: Int, resetAfter: Bool,
                                     configure: (inout GRUConfig) -> Void) throws -> GRULayer<S> {
        var generator = SplitMix64(seed: UInt64(units * 31 + features))
        func random(_ count: Int) -> [S] { (0..<count).map { _ in S(generator.nextUnitDouble() * 0.3 - 0.15) } }
        var config = GRUConfig(units: units)
        config.resetAfter = resetAfter
        config.recurrentActivation = .sigmoid
        configure(&config)
        let weights = try GRUWeights(inputDim: features, units: units, kernel: random(features * 3 * units),
                                     recurrentKernel: random(units * 3 * units), inputBias: random(3 * units),
                                     recurrentBias: resetAfter ? random(3 * units) : nil)
        return try GRULayer(config: config, weights: weights)
    }

    private func checkSplits<S: GRUScalar>(_ type: S.Type) throws {
        // (batch, steps, features, units): batch 1 and 2 split units, batch 12, 13 and 10 split samples (10: four
        // and six, whose second share ends in a part block).
        for (batch, steps, features, units) in [(1, 300, 24, 100), (2, 150, 17, 131), (12, 60, 40, 64), (13, 50, 20, 48),
                                                (10, 40, 64, 128)] {
            for resetAfter in [false, true] {
                for backwards in [false, true] {
                    let gru = try layer(S.self, features: features, units: units, resetAfter: resetAfter) {
                        $0.returnSequences = true; $0.goBackwards = backwards
                    }
                    var generator = SplitMix64(seed: 99)
                    let input = (0..<(batch * steps * features)).map { _ in S(generator.nextUnitDouble() * 2 - 1) }
                    let mask = (0..<(batch * steps)).map { $0 % 7 != 3 }
                    let initial = (0..<(batch * units)).map { S($0 % 5) / 10 }
                    let shape = [batch, steps, features]
                    let one = try gru(input, shape: shape, mask: mask, initialState: initial, threads: 1)
                    let two = try gru(input, shape: shape, mask: mask, initialState: initial, threads: 2)
                    let three = try gru(input, shape: shape, threads: 3)
                    let label = "\(GRUKernelSet.active.rawValue) \(S.self) batch \(batch) units \(units) reset_after \(resetAfter) go_backwards \(backwards)"
                    XCTAssertNil(mismatch(two.output.map(Double.init), one.output.map(Double.init), shape: one.outputShape,
                                          tolerance: 0, context: label + " output, 2 threads"))
                    XCTAssertNil(mismatch(two.state.map(Double.init), one.state.map(Double.init), shape: one.stateShape,
                                          tolerance: 0, context: label + " state, 2 threads"))
                    let reference = try gru(input, shape: shape, threads: 1)
                    XCTAssertNil(mismatch(three.output.map(Double.init), reference.output.map(Double.init), shape: reference.outputShape,
                                          tolerance: 0, context: label + " output, 3 threads"))
                }
            }
        }
    }

    func testSplitsMatchOneThread() throws {
        try forEachKernelSet { _ in
            try checkSplits(Float.self)
            try checkSplits(Double.self)
        }
    }

    /// Padding common to the whole batch (leading and trailing steps masked for every sample, besides scattered
    /// masked steps), in a batch large enough that two threads take blocks of samples in turn: the fast path,
    /// which carries the states without a product where every sample of a group is masked and leaves masked
    /// rows out of the input projection, equals the training path written out per sample, on every kernel build.
    func testPaddingCommonToTheBatchEqualsTheLiteralPath() throws {
        try forEachKernelSet { kernels in
            for resetAfter in [false, true] {
                for backwards in [false, true] {
                    var generator = SplitMix64(seed: 21)
                    func random(_ count: Int, scale: Double = 0.8) -> [Double] {
                        (0..<count).map { _ in (generator.nextUnitDouble() * 2 - 1) * scale }
                    }
                    let batch = 96, steps = 40, features = 6, units = 20
                    var config = GRUConfig(units: units)
                    config.resetAfter = resetAfter
                    config.returnSequences = true
                    config.goBackwards = backwards
                    config.recurrentActivation = .sigmoid
                    let weights = try GRUWeights(inputDim: features, units: units, kernel: random(features * 3 * units),
                                                 recurrentKernel: random(units * 3 * units), inputBias: random(3 * units),
                                                 recurrentBias: resetAfter ? random(3 * units) : nil)
                    let layer = try GRULayer(config: config, weights: weights)
                    let input = random(batch * steps * features, scale: 2)
                    let mask = (0..<(batch * steps)).map { i in i % steps >= 5 && i % steps < 31 && i % 13 != 5 }
                    let ones = DropoutMasks<Double>(input: Array(repeating: Array(repeating: 1, count: batch * features), count: 3),
                                                    recurrent: Array(repeating: Array(repeating: 1, count: batch * units), count: 3))
                    let shape = [batch, steps, features]
                    let literal = try layer(input, shape: shape, mask: mask, training: ones)
                    for threads in [1, 2] {
                        let fast = try layer(input, shape: shape, mask: mask, threads: threads)
                        let label = "\(kernels.rawValue) reset_after \(resetAfter) go_backwards \(backwards) \(threads) threads"
                        XCTAssertNil(mismatch(fast.output, literal.output, shape: fast.outputShape, tolerance: 1e-12, context: label))
                        XCTAssertNil(mismatch(fast.state, literal.state, shape: [batch, units], tolerance: 1e-12, context: label))
                    }
                }
            }
        }
    }

    /// A one-sample pass computes the gates from the kernel's registers; a sample among others takes the
    /// loops over scratch. Each sample alone (1 and 2 threads) must give the bits it gets in the batch.
    private func checkOneSample<S: GRUScalar>(_ type: S.Type, resetAfter: Bool) throws {
        let activations: [(Activation, Activation, HardSigmoidDefinition)] = [
            (.sigmoid, .tanh, .keras2), (.hardSigmoid, .tanh, .keras2), (.hardSigmoid, .relu, .keras3), (.sigmoid, .linear, .keras2),
            (.tanh, .sigmoid, .keras2), (.hardSigmoid, .hardSigmoid, .keras3),
        ]
        let batch = 4, steps = 150, features = 9
        for units in [13, 100] {
            for (recurrent, activation, definition) in activations {
                for backwards in [false, true] {
                    let gru = try layer(S.self, features: features, units: units, resetAfter: resetAfter) {
                        $0.returnSequences = true; $0.goBackwards = backwards
                        $0.recurrentActivation = recurrent; $0.activation = activation; $0.hardSigmoid = definition
                    }
                    var generator = SplitMix64(seed: 7)
                    var input = (0..<(batch * steps * features)).map { _ in S(generator.nextUnitDouble() * 8 - 4) }
                    input[(3 * steps + 70) * features + 2] = .nan  // sample 3 turns NaN at step 70
                    input[(2 * steps + 11) * features] = 1e30     // saturates every gate of sample 2 at step 11
                    let mask = (0..<(batch * steps)).map { $0 % 11 != 4 }
                    let initial = (0..<(batch * units)).map { S($0 % 7) / 10 - 0.3 }
                    let all = try gru(input, shape: [batch, steps, features], mask: mask, initialState: initial, threads: 1)
                    for b in 0..<batch {
                        let x = Array(input[(b * steps * features)..<((b + 1) * steps * features)])
                        let m = Array(mask[(b * steps)..<((b + 1) * steps)])
                        let h0 = Array(initial[(b * units)..<((b + 1) * units)])
                        let expected = all.output[(b * steps * units)..<((b + 1) * steps * units)].map(Double.init)
                        for threads in [1, 2] {
                            let alone = try gru(x, shape: [1, steps, features], mask: m, initialState: h0, threads: threads)
                            let label = "\(GRUKernelSet.active.rawValue) \(S.self) reset_after \(resetAfter) units \(units) \(recurrent)/\(activation) \(definition) go_backwards \(backwards) sample \(b), \(threads) threads"
                            XCTAssertNil(mismatch(alone.output.map(Double.init), expected, shape: alone.outputShape,
                                                  tolerance: 0, context: label))
                        }
                    }
                }
            }
        }
    }

    func testOneSampleMatchesItsRowInABatch() throws {
        try forEachKernelSet { _ in
            for resetAfter in [true, false] {
                try checkOneSample(Float.self, resetAfter: resetAfter)
                try checkOneSample(Double.self, resetAfter: resetAfter)
            }
        }
    }

    /// A layer keeps its buffers from one pass to the next: a pass after one with an initial state, a mask
    /// and a hard_sigmoid-free candidate that leaves values in the padding gives a fresh layer's bits.
    func testAPassLeavesNothingForTheNext() throws {
        try forEachKernelSet { set in
            for resetAfter in [true, false] {
                for (batch, threads) in [(1, 1), (1, 2), (3, 1), (12, 2)] {
                    func make() throws -> GRULayer<Float> {
                        try layer(Float.self, features: 5, units: 21, resetAfter: resetAfter) {
                            $0.returnSequences = true; $0.activation = .sigmoid
                        }
                    }
                    let used = try make()
                    var generator = SplitMix64(seed: 3)
                    let input = (0..<(batch * 40 * 5)).map { _ in Float(generator.nextUnitDouble() * 6 - 3) }
                    let shape = [batch, 40, 5]
                    _ = try used(input.map { $0 * 2 }, shape: shape, mask: (0..<(batch * 40)).map { $0 % 3 != 0 },
                                 initialState: [Float](repeating: 0.7, count: batch * 21), threads: threads)
                    let again = try used(input, shape: shape, threads: threads)
                    let fresh = try make()(input, shape: shape, threads: threads)
                    let label = "\(set.rawValue) reset_after \(resetAfter) batch \(batch) threads \(threads)"
                    XCTAssertEqual(again.output, fresh.output, label)
                    XCTAssertEqual(again.state, fresh.state, label)
                }
            }
        }
    }

    /// Linux would start a new thread on its creator's CPU; members that meet at every step must not share one.
    func testTeamMembersStartOnCPUsOfTheirOwn() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2, teamStartCPUs(1) != nil else {
            throw XCTSkip("needs two CPUs and sched_getcpu")
        }
        for round in 0..<20 {
            // Teams back to back, as forward passes are: a member still exiting keeps its CPU busy.
            let cpus = try XCTUnwrap(teamStartCPUs(2, busy: 0.005))
            XCTAssertNotEqual(cpus[0], cpus[1], "round \(round): both members on CPU \(cpus[0])")
        }
    }
}
