import GRUCore
import TestSupport
import XCTest

/// `MatrixProduct` against a plain sum in Double, on every kernel build this processor runs: shapes around
/// the panel width and the row blocks (tails of each), one and two threads, float32 and float64.
final class MatrixProductTests: XCTestCase {
    private func check<S: GRUScalar>(_ type: S.Type, rows: Int, k: Int, n: Int, bias: Bool, threads: Int, tolerance: Double, label: String) {
        var generator = SystemRandomNumberGenerator()
        let a = (0..<(rows * k)).map { _ in S(Double.random(in: -1...1, using: &generator)) }
        let w = (0..<(k * n)).map { _ in S(Double.random(in: -1...1, using: &generator)) }
        let b = bias ? (0..<n).map { _ in S(Double.random(in: -1...1, using: &generator)) } : nil
        let got = MatrixProduct(matrix: w, k: k, n: n, bias: b)(a, rows: rows, threads: threads)
        var worst = 0.0
        for r in 0..<rows {
            for j in 0..<n {
                var sum = b.map { Double($0[j]) } ?? 0
                for i in 0..<k { sum += Double(a[r * k + i]) * Double(w[i * n + j]) }
                worst = max(worst, abs(sum - Double(got[r * n + j])))
            }
        }
        XCTAssertLessThan(worst, tolerance, "\(label) \(S.self) rows \(rows) k \(k) n \(n) bias \(bias) threads \(threads)")
    }

    func testProductsMatchAPlainSum() {
        forEachKernelSet { set in
            for (rows, k, n) in [(1, 1, 1), (3, 5, 7), (4, 16, 48), (5, 33, 49), (13, 64, 97), (37, 130, 200), (300, 600, 10)] {
                for threads in [1, 2] {
                    check(Float.self, rows: rows, k: k, n: n, bias: rows % 2 == 1, threads: threads, tolerance: 1e-4, label: set.rawValue)
                    check(Double.self, rows: rows, k: k, n: n, bias: rows % 2 == 0, threads: threads, tolerance: 1e-11, label: set.rawValue)
                }
            }
        }
    }
}

/// The vectorized activations a whole tensor takes (Dense, Conv, Activation layers): relu keeps a NaN, gives 0
/// (not -0) for -0 and negatives, and passes positives, in full registers and in the tail, on every build.
final class VectorActivationTests: XCTestCase {
    private func check<S: GRUScalar>(_ type: S.Type) {
        let pattern: [S] = [.nan, -0.0, -1.5, 2.25, 0, -1e30, 1e30, 3]
        var values = (0..<37).map { pattern[$0 % pattern.count] }
        values.withUnsafeMutableBufferPointer { vectorActivation(.relu, $0.baseAddress!, count: $0.count, hardSigmoid: .keras2) }
        for (i, y) in values.enumerated() {
            let x = pattern[i % pattern.count]
            if x.isNaN {
                XCTAssertTrue(y.isNaN, "\(S.self) \(i)")
            } else {
                XCTAssertEqual(y, x > 0 ? x : 0, "\(S.self) \(i)")
                XCTAssertFalse(y.sign == .minus, "\(S.self) \(i): relu gave -0")
            }
        }
    }

    func testReluKeepsNaNAndGivesPlusZero() {
        forEachKernelSet { _ in
            check(Float.self)
            check(Double.self)
        }
    }
}
