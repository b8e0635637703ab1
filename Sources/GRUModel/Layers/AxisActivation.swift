#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRUCore

/// The vectors along one axis of a row-major tensor: `outer * inner` lanes of `length` values each,
/// a lane's values `inner` apart.
struct AxisLanes {
    let length: Int, inner: Int, outer: Int

    init(shape: [Int], axis: Int, layer: String) throws {
        let a = axis < 0 ? shape.count + axis : axis
        guard a >= 0 && a < shape.count else {
            throw GRUModelError.config(layer: layer, "its activation works over axis \(axis), which a tensor of rank \(shape.count) lacks")
        }
        length = shape[a]
        inner = shape[(a + 1)...].reduce(1, *)
        outer = shape[..<a].reduce(1, *)
    }

    /// Calls `body` with the offset of each lane's first value.
    func forEach(_ body: (Int) -> Void) {
        for o in 0..<outer {
            for i in 0..<inner { body(o * length * inner + i) }
        }
    }
}

extension LayerActivation {
    /// softmax, log_softmax or sparsemax of the lane at `start`, in place; sums in Double.
    func overAxis<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, lanes: AxisLanes, start: Int) {
        let n = lanes.length
        if case .softmax = self, lanes.inner == 1 { return Self.softmax(v + start, n) }
        let x = (0..<n).map { Double(v[start + $0 * lanes.inner]) }
        let y: [Double]
        switch self {
        case .softmax:
            let largest = x.max() ?? 0
            let exps = x.map { Double.exp($0 - largest) }
            let sum = exps.reduce(0, +)
            y = exps.map { $0 / sum }
        case .logSoftmax:
            // tf.nn.log_softmax: (x - max) - log(sum(exp(x - max))).
            let largest = x.max() ?? 0
            let logSum = log(x.reduce(0) { $0 + Double.exp($1 - largest) })
            y = x.map { ($0 - largest) - logSum }
        default:
            y = Self.sparsemax(x)
        }
        for k in 0..<n { v[start + k * lanes.inner] = S(y[k]) }
    }

    /// Softmax over `n` contiguous values in place, on the kernels the processor runs (`softmaxRows`).
    private static func softmax<S: GRUScalar>(_ p: UnsafeMutablePointer<S>, _ n: Int) {
        softmaxRows(p, rows: 1, n: n)
    }

    /// keras.activations.sparsemax as Keras 3.15 computes it (the same in each backend's nn.py): with s
    /// sorted descending, C its cumulative sums and support_i = s_i - (C_i - 1) / i > 0,
    /// tau = (sum of C_i over the support - 1) / |support| and the output max(x - tau, 0). Martins and
    /// Astudillo (2016) take C at the support's last index instead; Keras sums them all.
    static func sparsemax(_ x: [Double]) -> [Double] {
        let sorted = x.sorted(by: >)
        var cumulative = 0.0, supportSum = 0.0, support = 0.0
        for (i, s) in sorted.enumerated() {
            cumulative += s
            if s - (cumulative - 1) / Double(i + 1) > 0 {
                supportSum += cumulative
                support += 1
            }
        }
        let tau = (supportSum - 1) / support
        return x.map { Swift.max($0 - tau, 0) }
    }

    /// keras.activations.glu: the axis split in halves a | b, `a * sigmoid(b)`; Keras refuses an odd axis.
    func gatedLinear<S: GRUScalar>(_ x: Tensor<S>, axis: Int, layer: String) throws -> Tensor<S> {
        let lanes = try AxisLanes(shape: x.shape, axis: axis, layer: layer)
        guard lanes.length % 2 == 0 else {
            throw GRUModelError.shape(layer: layer, "its activation glu halves an axis of odd size \(lanes.length) (shape \(x.shape)), which Keras refuses")
        }
        let half = lanes.length / 2
        var shape = x.shape
        shape[axis < 0 ? shape.count + axis : axis] = half
        var out = [S](repeating: 0, count: x.values.count / 2)
        for o in 0..<lanes.outer {
            for i in 0..<lanes.inner {
                for k in 0..<half {
                    let a = x.values[(o * lanes.length + k) * lanes.inner + i]
                    let b = x.values[(o * lanes.length + half + k) * lanes.inner + i]
                    out[(o * half + k) * lanes.inner + i] = a * logistic(b)
                }
            }
        }
        return Tensor(values: out, shape: shape)
    }
}
