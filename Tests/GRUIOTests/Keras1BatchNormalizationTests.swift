import GRUModel
import XCTest

/// Keras 1 BatchNormalization modes 1 and 2 (Keras 1.2.2 normalization.py): exact properties of the formulas,
/// beside the tf-keras references in Fixtures/keras1.
final class Keras1BatchNormalizationTests: XCTestCase {
    /// Seeded values in [-2, 2).
    private func values(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 4 - 2
        }
    }

    /// Mode 1 on one row [1, 2, 3]: mean 2, biased variance 2/3, so y = gamma * (x - 2) / (sqrt(2/3 + eps) + eps) + beta.
    func testSampleWiseModeAddsEpsilonTwice() throws {
        let layer = try BatchNormalizationKeras1<Double>(name: "bn", mode: .sampleWise, axis: -1, gamma: [1, 2, 0.5],
                                                         beta: [0, 1, -1], epsilon: 0.01)
        let y = try layer.apply(Tensor(values: [1, 2, 3], shape: [1, 3]), threads: 1).values
        let denominator = (2.0 / 3 + 0.01).squareRoot() + 0.01
        XCTAssertEqual(y[0], -1 / denominator, accuracy: 1e-15)
        XCTAssertEqual(y[1], 1, accuracy: 1e-15)
        XCTAssertEqual(y[2], 0.5 / denominator - 1, accuracy: 1e-15)
    }

    /// Mode 2 normalizes runs of 32 samples on their own: samples 0-31 do not see sample 35, samples 32-39
    /// give what they give alone, and each run's output has mean beta per feature.
    func testBatchModeNormalizesEachRunOf32Samples() throws {
        let layer = try BatchNormalizationKeras1<Double>(name: "bn", mode: .batchStatistics, axis: -1, gamma: [1.5, 0.5],
                                                         beta: [0.25, -1], epsilon: 1e-3)
        let shape = [40, 3, 2], perSample = 6
        var x = values(40 * perSample, seed: 7)
        let y = try layer.apply(Tensor(values: x, shape: shape), threads: 1).values
        let tail = try layer.apply(Tensor(values: Array(x[(32 * perSample)...]), shape: [8, 3, 2]), threads: 1).values
        XCTAssertEqual(Array(y[(32 * perSample)...]), tail)
        for feature in 0..<2 {
            let first = stride(from: feature, to: 32 * perSample, by: 2).map { y[$0] }
            XCTAssertEqual(first.reduce(0, +) / Double(first.count), [0.25, -1][feature], accuracy: 1e-12)
        }
        x[35 * perSample] += 5
        let changed = try layer.apply(Tensor(values: x, shape: shape), threads: 1).values
        XCTAssertEqual(Array(changed[..<(32 * perSample)]), Array(y[..<(32 * perSample)]))
        XCTAssertNotEqual(changed[33 * perSample], y[33 * perSample])
    }

    /// Mode 2 over axis 1 of (batch, steps, features): one mean and variance per step, over samples and features.
    func testBatchModeOverTheStepAxis() throws {
        let layer = try BatchNormalizationKeras1<Double>(name: "bn", mode: .batchStatistics, axis: 1, gamma: [1, 1, 1],
                                                         beta: [0, 0, 0], epsilon: 0)
        let y = try layer.apply(Tensor(values: values(4 * 3 * 2, seed: 3), shape: [4, 3, 2]), threads: 1).values
        for step in 0..<3 {
            let group = (0..<4).flatMap { s in (0..<2).map { f in y[(s * 3 + step) * 2 + f] } }
            let mean = group.reduce(0, +) / 8
            XCTAssertEqual(mean, 0, accuracy: 1e-12)
            XCTAssertEqual(group.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 8, 1, accuracy: 1e-12)
        }
        XCTAssertThrowsError(try layer.apply(Tensor(values: values(8, seed: 1), shape: [2, 4]), threads: 1))
    }
}
