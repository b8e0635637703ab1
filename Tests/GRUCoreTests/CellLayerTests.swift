import GRUCore
import TestSupport
import XCTest

/// `CellLayer` (LSTM, SimpleRNN) against Keras's step written out plainly in Double: masks (a padded tail,
/// a hole, leading steps, a sample masked throughout, steps masked for the whole batch), go_backwards,
/// initial states, zero_output_for_mask, time-major inputs, one and two threads (the same bits), on every
/// kernel build this processor runs.
final class CellLayerTests: XCTestCase {
    private struct Case {
        var kind: CellKind
        var batch = 3, steps = 7, features = 4, units = 5
        var goBackwards = false, returnSequences = true, timeMajor = false, zeroOutput = false
        var masked = false, initial = false, bias = true
        var recurrent: Activation = .sigmoid, activation: Activation = .tanh
        /// The first step and the last three masked for every sample (padding common to the batch).
        var commonPadding = false
    }

    private func sigmoidLike(_ kind: Activation, _ x: Double) -> Double { kind(x, hardSigmoid: .keras2) }

    /// Keras's recurrence in Double: output sequence (processing order), last output, final states.
    private func reference(_ c: Case, x: [Double], mask: [Bool]?, w: [Double], u: [Double], b: [Double]?,
                           initial: [[Double]]?) -> (sequence: [Double], last: [Double], states: [[Double]]) {
        let g = c.kind.gates, n = g * c.units, U = c.units
        var sequence = [Double](repeating: 0, count: c.batch * c.steps * U)
        var last = [Double](repeating: 0, count: c.batch * U)
        var states = (0..<c.kind.states).map { k in initial?[k] ?? [Double](repeating: 0, count: c.batch * U) }
        for s in 0..<c.batch {
            var h = Array(states[0][(s * U)..<((s + 1) * U)])
            var cell = c.kind == .lstm ? Array(states[1][(s * U)..<((s + 1) * U)]) : []
            var output = [Double](repeating: 0, count: U)
            for step in 0..<c.steps {
                let t = c.goBackwards ? c.steps - 1 - step : step
                let valid = mask?[s * c.steps + t] ?? true
                if valid {
                    var z = [Double](repeating: 0, count: n)
                    for j in 0..<n {
                        var sum = b?[j] ?? 0
                        for i in 0..<c.features { sum += x[(s * c.steps + t) * c.features + i] * w[i * n + j] }
                        for i in 0..<U { sum += h[i] * u[i * n + j] }
                        z[j] = sum
                    }
                    if c.kind == .lstm {
                        for j in 0..<U {
                            let i = sigmoidLike(c.recurrent, z[j]), f = sigmoidLike(c.recurrent, z[U + j])
                            let cc = sigmoidLike(c.activation, z[2 * U + j]), o = sigmoidLike(c.recurrent, z[3 * U + j])
                            cell[j] = f * cell[j] + i * cc
                            h[j] = o * sigmoidLike(c.activation, cell[j])
                        }
                    } else {
                        for j in 0..<U { h[j] = sigmoidLike(c.activation, z[j]) }
                    }
                    output = h
                } else if c.zeroOutput {
                    output = [Double](repeating: 0, count: U)
                }
                for j in 0..<U { sequence[(s * c.steps + step) * U + j] = output[j] }
            }
            for j in 0..<U {
                last[s * U + j] = output[j]
                states[0][s * U + j] = h[j]
                if c.kind == .lstm { states[1][s * U + j] = cell[j] }
            }
        }
        return (sequence, last, states)
    }

    private func run<S: GRUScalar>(_ type: S.Type, _ c: Case, tolerance: Double, label: String) throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int, _ scale: Double = 0.5) -> [Double] { (0..<count).map { _ in Double.random(in: -2...2, using: &generator) * scale } }
        let n = c.kind.gates * c.units
        // Values exact in both types, so that the reference sees what the layer sees.
        func exact(_ v: [Double]) -> [Double] { v.map { Double(Float($0)) } }
        // Weights scaled by the fan-in, so that the recurrence contracts and rounding differences stay small.
        let x = exact(random(c.batch * c.steps * c.features, 1)), w = exact(random(c.features * n, 1 / Double(c.features).squareRoot()))
        let u = exact(random(c.units * n, 0.5 / Double(c.units).squareRoot()))
        let b = c.bias ? exact(random(n)) : nil
        var mask: [Bool]?
        if c.masked {
            var m = [Bool](repeating: true, count: c.batch * c.steps)
            for t in (c.steps - 2)..<c.steps { m[t] = false }                       // sample 0: padded tail
            m[c.steps + 2] = false; m[c.steps + 3] = false                           // sample 1: a hole
            if c.batch > 2 { m[2 * c.steps] = false }                                // sample 2: a leading step
            if c.batch > 3 { for t in 0..<c.steps { m[3 * c.steps + t] = false } }   // sample 3: nothing valid
            if c.commonPadding {
                for s in 0..<c.batch { for t in [0] + Array((c.steps - 3)..<c.steps) { m[s * c.steps + t] = false } }
            }
            mask = m
        }
        let initial = c.initial ? (0..<c.kind.states).map { _ in exact(random(c.batch * c.units)) } : nil
        let expected = reference(c, x: x, mask: mask, w: w, u: u, b: b, initial: initial)
        var config = CellConfig(kind: c.kind, units: c.units)
        (config.activation, config.recurrentActivation) = (c.activation, c.recurrent)
        (config.goBackwards, config.returnSequences, config.timeMajor, config.zeroOutputForMask) = (c.goBackwards, c.returnSequences, c.timeMajor, c.zeroOutput)
        let layer = try CellLayer(config: config, inputDim: c.features, kernel: w.map { S($0) }, recurrentKernel: u.map { S($0) }, bias: b?.map { S($0) })
        var input = x.map { S($0) }, shape = [c.batch, c.steps, c.features], layerMask = mask
        if c.timeMajor {
            input = swapLeadingAxes(input, c.batch, c.steps, inner: c.features)
            shape = [c.steps, c.batch, c.features]
            layerMask = mask.map { swapLeadingAxes($0, c.batch, c.steps, inner: 1) }
        }
        let states = initial?.map { $0.map { S($0) } }
        let one = try layer(input, shape: shape, mask: layerMask, initialStates: states, threads: 1)
        let two = try layer(input, shape: shape, mask: layerMask, initialStates: states, threads: 2)
        XCTAssertEqual(one.outputs[0].values, two.outputs[0].values, "\(label): threads change the output")
        XCTAssertEqual(one.states.map(\.values), two.states.map(\.values), "\(label): threads change the states")
        var want = c.returnSequences ? expected.sequence : expected.last
        if c.returnSequences && c.timeMajor { want = swapLeadingAxes(want, c.batch, c.steps, inner: c.units) }
        let shapeWanted = c.returnSequences ? (c.timeMajor ? [c.steps, c.batch, c.units] : [c.batch, c.steps, c.units]) : [c.batch, c.units]
        XCTAssertEqual(one.outputs[0].shape, shapeWanted, label)
        let worst = zip(want, one.outputs[0].values).map { abs($0 - Double($1)) }.max() ?? 0
        XCTAssertLessThan(worst, tolerance, "\(label) \(S.self) output")
        XCTAssertEqual(one.states.count, c.kind.states)
        for (k, state) in one.states.enumerated() {
            let error = zip(expected.states[k], state.values).map { abs($0 - Double($1)) }.max() ?? 0
            XCTAssertLessThan(error, tolerance, "\(label) \(S.self) state \(k)")
        }
    }

    func testCellsMatchKerasStepsWrittenOut() throws {
        var cases: [Case] = []
        for kind in [CellKind.lstm, .simpleRNN] {
            cases.append(Case(kind: kind))
            cases.append(Case(kind: kind, goBackwards: true, masked: true, initial: true))
            cases.append(Case(kind: kind, batch: 4, returnSequences: true, zeroOutput: true, masked: true))
            cases.append(Case(kind: kind, batch: 4, goBackwards: true, returnSequences: false, masked: true, bias: false))
            cases.append(Case(kind: kind, timeMajor: true, masked: true, initial: true))
            cases.append(Case(kind: kind, batch: 20, steps: 30, features: 24, units: 40, masked: true, initial: true))
            cases.append(Case(kind: kind, batch: 2, steps: 40, features: 8, units: 150, goBackwards: true))
            cases.append(Case(kind: kind, recurrent: .hardSigmoid, activation: .relu))
            cases.append(Case(kind: kind, batch: 20, steps: 30, features: 24, units: 40, masked: true, commonPadding: true))
            cases.append(Case(kind: kind, batch: 4, steps: 12, features: 8, units: 150, goBackwards: true, masked: true, commonPadding: true))
        }
        try forEachKernelSet { set in
            for (i, c) in cases.enumerated() {
                try run(Float.self, c, tolerance: 2e-5, label: "\(set.rawValue) case \(i)")
                try run(Double.self, c, tolerance: 1e-11, label: "\(set.rawValue) case \(i)")
            }
        }
    }

    func testBadShapesAreRefused() throws {
        let layer = try CellLayer<Float>(config: CellConfig(kind: .lstm, units: 2), inputDim: 3, kernel: [Float](repeating: 0.1, count: 24),
                                         recurrentKernel: [Float](repeating: 0.1, count: 16), bias: nil)
        XCTAssertThrowsError(try layer([Float](repeating: 0, count: 12), shape: [2, 2, 3, 1]))
        XCTAssertThrowsError(try layer([Float](repeating: 0, count: 8), shape: [2, 2, 2]))
        XCTAssertThrowsError(try layer([Float](repeating: 0, count: 12), shape: [2, 2, 3], mask: [true]))
        XCTAssertThrowsError(try layer([Float](repeating: 0, count: 12), shape: [2, 2, 3], initialStates: [[0, 0, 0, 0]]))
        XCTAssertThrowsError(try layer([Float](repeating: 0, count: 12), shape: [2, 2, 3], initialStates: [[0, 0, 0, 0], [0]]))
        XCTAssertThrowsError(try layer([], shape: [0, 2, 3]))
        XCTAssertThrowsError(try CellLayer<Float>(config: CellConfig(kind: .lstm, units: 2), inputDim: 3, kernel: [0], recurrentKernel: [0], bias: nil))
        XCTAssertThrowsError(try CellLayer<Float>(config: CellConfig(kind: .simpleRNN, units: 2), inputDim: 3, kernel: [Float](repeating: 0, count: 6),
                                                  recurrentKernel: [Float](repeating: 0, count: 4), bias: [0]))
    }
}
