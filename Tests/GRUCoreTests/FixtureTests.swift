import GRUCore
import TestSupport
import XCTest

/// GRUCore against the numbers real Keras computed for every fixture case, on every kernel build this
/// processor runs (AVX-512, AVX2, portable): each must match Keras on its own.
final class FixtureTests: XCTestCase {
    func testEveryFixtureCaseMatchesKeras() throws {
        let cases = try Fixtures.tfKerasCases()
        XCTAssertGreaterThan(cases.count, 50)
        XCTAssertTrue(GRUKernelSet.supported.contains(.portable))
        try forEachKernelSet { set in
            var worstByGroup: [String: Double] = [:]
            for fixture in cases {
                let worst = fixture.isFloat64 ? try check(fixture, Double.self) : try check(fixture, Float.self)
                worstByGroup[fixture.group] = max(worstByGroup[fixture.group] ?? 0, worst)
            }
            for (group, worst) in worstByGroup.sorted(by: { $0.key < $1.key }) {
                print("fixture group \(group), \(set.rawValue) kernels: max abs error \(worst)")
            }
        }
    }

    /// Runs every call of a case in order (a stateful case carries the state), returns the max abs error.
    private func check<S: GRUScalar>(_ fixture: FixtureCase, _ type: S.Type) throws -> Double {
        let layer = try GRULayer<S>(config: fixture.config, weights: try loadWeights(fixture))
        var carried: [S]?
        var worst = 0.0
        for call in fixture.calls {
            let input = try loadNPY(fixture.path(call.input))
            let x = input.values.map { S($0) }
            var mask: [Bool]?
            if let maskFile = call.mask {
                mask = try loadNPY(fixture.path(maskFile)).values.map { $0 != 0 }
            } else if let value = fixture.mask_value {
                mask = maskingRule(x, features: input.shape[2], maskValue: S(value))
            }
            var initial = carried
            if let file = call.initial_state { initial = try loadNPY(fixture.path(file)).values.map { S($0) } }
            let result = try layer(x, shape: input.shape, mask: mask, initialState: initial)
            let expected = try loadNPY(fixture.path(call.output))
            let expectedState = try loadNPY(fixture.path(call.state))
            XCTAssertEqual(result.outputShape, expected.shape, "\(fixture.name) \(call.output) shape")
            XCTAssertEqual(result.stateShape, expectedState.shape, "\(fixture.name) \(call.state) shape")
            let output = result.output.map { Double($0) }, state = result.state.map { Double($0) }
            if let message = mismatch(output, expected.values, shape: expected.shape, tolerance: fixture.tolerance,
                                      context: "\(fixture.name) \(call.output) (\(GRUKernelSet.active.rawValue) kernels)") {
                XCTFail(message)
            }
            if let message = mismatch(state, expectedState.values, shape: expectedState.shape,
                                      tolerance: fixture.tolerance, context: "\(fixture.name) \(call.state) (\(GRUKernelSet.active.rawValue) kernels)") {
                XCTFail(message)
            }
            worst = max(worst, maxAbsError(output, expected.values), maxAbsError(state, expectedState.values))
            carried = fixture.layer.stateful ? result.state : nil
        }
        return worst
    }

    private func loadWeights<S: GRUScalar>(_ fixture: FixtureCase) throws -> GRUWeights<S> {
        let kernel = try loadNPY(fixture.path(fixture.weights["kernel"]!!))
        let recurrent = try loadNPY(fixture.path(fixture.weights["recurrent_kernel"]!!))
        let units = recurrent.shape[0], cols = 3 * units
        var inputBias: [S]?, recurrentBias: [S]?
        if let biasFile = fixture.weights["bias"] ?? nil {
            let bias = try loadNPY(fixture.path(biasFile)).values.map { S($0) }
            inputBias = Array(bias.prefix(cols))
            recurrentBias = bias.count == 2 * cols ? Array(bias.suffix(cols)) : nil
        }
        return try GRUWeights(inputDim: kernel.shape[0], units: units, kernel: kernel.values.map { S($0) },
                              recurrentKernel: recurrent.values.map { S($0) },
                              inputBias: inputBias, recurrentBias: recurrentBias)
    }
}
