import GRUCore
import GRUModel
import XCTest

/// GRUModel's layers in-process: exact properties and small cases computed by hand, masks as Keras carries
/// them. (Every layer kind is also held to Keras's own numbers by the whole-model fixtures.)
final class LayerTests: XCTestCase {
    private func tensor(_ shape: [Int], _ make: (Int) -> Double = { Double($0) }) -> Tensor<Double> {
        Tensor(values: (0..<shape.reduce(1, *)).map(make), shape: shape)
    }

    /// A (B, U) vector merged into a (B, T, U) sequence is expanded at axis 1, as Keras's merge layers do;
    /// a (B, T, 1) gate repeats along the features.
    func testMergeBroadcastsAsKeras() throws {
        let sequence = tensor([2, 3, 4]), vector = tensor([2, 4]) { Double($0) * 10 }, gate = tensor([2, 3, 1]) { Double($0) + 1 }
        let add = Merge<Double>(name: "add", operation: .add)
        let (sum, _) = try add.call([sequence, vector], masks: [nil, nil], threads: 1)[0]
        XCTAssertEqual(sum.shape, [2, 3, 4])
        for b in 0..<2 { for t in 0..<3 { for u in 0..<4 {
            XCTAssertEqual(sum.values[(b * 3 + t) * 4 + u], sequence.values[(b * 3 + t) * 4 + u] + vector.values[b * 4 + u])
        } } }
        let (product, _) = try Merge<Double>(name: "mul", operation: .multiply).call([gate, sequence], masks: [nil, nil], threads: 1)[0]
        for i in 0..<24 { XCTAssertEqual(product.values[i], sequence.values[i] * gate.values[i / 4]) }
        XCTAssertThrowsError(try add.call([sequence, tensor([2, 3, 3])], masks: [nil, nil], threads: 1)) { error in
            XCTAssertTrue("\(error)".contains("do not broadcast to one shape"), "\(error)")
        }
        // A masked input that would be repeated along the masked axes is refused, not misread.
        let masked = tensor([2, 1, 4])
        XCTAssertThrowsError(try add.call([sequence, masked], masks: [nil, [true, false]], threads: 1))
    }

    /// LayerNormalization over axes [1, 2] leaves each sample with mean 0 and variance 1/(1+epsilon/var).
    func testLayerNormalizationOverSeveralAxes() throws {
        let x = tensor([2, 3, 4]) { sin(Double($0)) * 3 }
        let norm = try LayerNormalization<Double>(name: "ln", axis: [1, -1], gamma: nil, beta: nil, epsilon: 0)
        let y = try norm.apply(x, threads: 1)
        for b in 0..<2 {
            let sample = y.values[(b * 12)..<((b + 1) * 12)]
            let mean = sample.reduce(0, +) / 12
            XCTAssertEqual(mean, 0, accuracy: 1e-12)
            XCTAssertEqual(sample.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 12, 1, accuracy: 1e-12)
        }
        // gamma over (3, 4) in positional order: each element scaled by its own parameter.
        let gamma = (0..<12).map { Double($0) + 1 }
        let scaled = try LayerNormalization<Double>(name: "ln", axis: [2, 1], gamma: gamma, beta: nil, epsilon: 0).apply(x, threads: 1)
        for i in 0..<24 { XCTAssertEqual(scaled.values[i], y.values[i] * gamma[i % 12], accuracy: 1e-12) }
        XCTAssertThrowsError(try norm.apply(tensor([2, 3]), threads: 1))
    }

    /// BatchNormalization on axis 1 of (B, T, U) scales each step by its own statistics.
    func testBatchNormalizationPerStep() throws {
        let x = tensor([2, 3, 4])
        let norm = try BatchNormalization<Double>(name: "bn", gamma: [1, 2, 3], beta: [0, 1, 0], movingMean: [1, 0, 2],
                                                  movingVariance: [1, 4, 9], epsilon: 0, axis: [1])
        let y = try norm.apply(x, threads: 1)
        let (g, b, m, v) = ([1.0, 2, 3], [0.0, 1, 0], [1.0, 0, 2], [1.0, 4, 9])
        for i in 0..<24 {
            let t = (i / 4) % 3
            XCTAssertEqual(y.values[i], (x.values[i] - m[t]) / v[t].squareRoot() * g[t] + b[t], accuracy: 1e-12)
        }
    }

    /// Dense and Activation pass a sequence's mask on; GlobalAveragePooling1D averages the unmasked steps only
    /// and ends the mask.
    func testMasksTravelAndPoolingLeavesMaskedStepsOut() throws {
        let x = tensor([1, 3, 2]), mask: Mask = [true, false, true]
        let dense = try Dense<Double>(name: "dense", inputDim: 2, units: 2, kernel: [1, 0, 0, 1], bias: nil, activation: .linear)
        let (through, carried) = try dense.call([x], masks: [mask], threads: 1)[0]
        XCTAssertEqual(through.values, x.values)
        XCTAssertEqual(carried, mask)
        let (pooled, after) = try GlobalPooling1D<Double>(name: "gap", average: true).call([through], masks: [carried], threads: 1)[0]
        XCTAssertEqual(pooled.shape, [1, 2])
        XCTAssertEqual(pooled.values, [2, 3] as [Double])
        XCTAssertNil(after)
    }

    /// A graph where two calls read the input and a third joins them: each call sees the tensors it names.
    func testGraphRunsADiamond() throws {
        let double = try Dense<Double>(name: "double", inputDim: 2, units: 2, kernel: [2, 0, 0, 2], bias: nil, activation: .linear)
        let shift = try Dense<Double>(name: "shift", inputDim: 2, units: 2, kernel: [1, 0, 0, 1], bias: [1, 1], activation: .linear)
        let graph = ModelGraph<Double>(
            inputs: [.init(name: "x", shape: [2])],
            calls: [.init(name: "double", className: "Dense", layer: double, inputs: [.input(0)]),
                    .init(name: "shift", className: "Dense", layer: shift, inputs: [.input(0)]),
                    .init(name: "add", className: "Add", layer: Merge<Double>(name: "add", operation: .add), inputs: [.node(0, output: 0), .node(1, output: 0)])],
            outputs: [.node(2, output: 0), .node(0, output: 0)])
        let out = try graph([Tensor(values: [1, 2, 3, 4], shape: [2, 2])], threads: 1)
        XCTAssertEqual(out[0].values, [4, 7, 10, 13] as [Double])
        XCTAssertEqual(out[1].values, [2, 4, 6, 8] as [Double])
        XCTAssertThrowsError(try graph([Tensor(values: [1, 2, 3], shape: [1, 3])], threads: 1))
    }
}
