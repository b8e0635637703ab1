import GRUCore

/// A layer whose output for one sample depends on the other samples computed with it, so the samples
/// must reach it in the batches `model.predict` would have made.
public protocol BatchDependentLayer {
    /// `model.predict`'s batch size: the samples that share statistics, counted from the first.
    var predictBatch: Int { get }
}

/// Keras 1 `BatchNormalization` with `mode` 1 or 2, computed at test time as Keras 1.2.2
/// (`keras/layers/normalization.py`, `backend/tensorflow_backend.py`) computes it; mode 0 is
/// `BatchNormalization` with the moving statistics. `gamma` and `beta` have the size of the input's `axis`.
///
/// - Mode 1, sample-wise: over the last axis of each sample, `m = mean(x)`, `std = sqrt(var(x) + epsilon)`
///   (biased variance), `y = gamma * (x - m) / (std + epsilon) + beta`, gamma and beta broadcast along the
///   last axis (numpy rules: their length is the last axis's, or 1). Epsilon is added twice, as Keras 1 does.
/// - Mode 2, feature-wise with the batch's own statistics at test time too (`normalize_batch_in_training`):
///   per position on `axis`, mean and biased variance over every other axis of the batch, then
///   `y = (x - mean) / sqrt(var + epsilon) * gamma + beta` (`tf.nn.batch_normalization`). The batch is the
///   one `model.predict` feeds: Keras 1's `predict(x, batch_size=32)` cuts x into runs of 32 samples, so
///   samples 0-31 share statistics, 32-63 share theirs, and so on.
/// The running statistics the file holds take no part in either mode. The mask passes. Both formulas are the
/// same from Keras 1.0.7, the first to save whole models (`model_config`), to 1.2.2.
public struct BatchNormalizationKeras1<Scalar: GRUScalar>: UnaryLayer, BatchDependentLayer {
    public enum Mode: Int, Sendable {
        case sampleWise = 1
        case batchStatistics = 2
    }

    public let name: String
    public let mode: Mode
    /// The config's axis (an integer in Keras 1).
    public let axis: Int
    public let predictBatch: Int
    let gamma: [Double], beta: [Double], epsilon: Double

    public init(name: String, mode: Mode, axis: Int, gamma: [Scalar], beta: [Scalar], epsilon: Double, predictBatch: Int = 32) throws {
        guard gamma.count == beta.count, !gamma.isEmpty else {
            throw GRUModelError.config(layer: name, "its gamma and beta hold \(gamma.count) and \(beta.count) values; Keras 1 makes them one length")
        }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw GRUModelError.config(layer: name, "its epsilon \(epsilon) is not a non-negative number")
        }
        guard predictBatch >= 1 else { throw GRUModelError.config(layer: name, "its predict batch \(predictBatch) is not positive") }
        self.name = name
        self.mode = mode
        self.axis = axis
        self.predictBatch = predictBatch
        self.gamma = gamma.map { Double($0) }
        self.beta = beta.map { Double($0) }
        self.epsilon = epsilon
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Tensor<Scalar>, threads: Int) throws -> Tensor<Scalar> {
        switch mode {
        case .sampleWise: return try sampleWise(x)
        case .batchStatistics: return try batchStatistics(x)
        }
    }

    private func sampleWise(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let width = x.width
        guard x.shape.count >= 2, gamma.count == width || gamma.count == 1 else {
            throw GRUModelError.shape(layer: name, "its input has shape \(describe(x.shape)); mode 1 scales the last axis, so it needs \(gamma.count) values there")
        }
        var values = x.values
        for row in stride(from: 0, to: values.count, by: width) {
            var mean = 0.0
            for i in row..<(row + width) { mean += Double(values[i]) }
            mean /= Double(width)
            var variance = 0.0
            for i in row..<(row + width) { let d = Double(values[i]) - mean; variance += d * d }
            variance /= Double(width)
            let denominator = (variance + epsilon).squareRoot() + epsilon
            for j in 0..<width {
                let k = gamma.count == 1 ? 0 : j
                values[row + j] = Scalar(gamma[k] * ((Double(values[row + j]) - mean) / denominator) + beta[k])
            }
        }
        return Tensor(values: values, shape: x.shape)
    }

    private func batchStatistics(_ x: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let position = try resolvedAxis(axis, shape: x.shape, layer: name)
        let size = x.shape[position]
        guard size == gamma.count else {
            throw GRUModelError.shape(layer: name, "it holds \(gamma.count) values per parameter, but axis \(axis) of an input of shape \(describe(x.shape)) has \(size)")
        }
        // Element i of a sample sits at feature (i / inner) % size, `inner` the values per step of the axis.
        let inner = x.shape[(position + 1)...].reduce(1, *), sample = x.sampleSize
        var values = x.values
        for first in stride(from: 0, to: x.batch, by: predictBatch) {
            let range = (first * sample)..<(min(first + predictBatch, x.batch) * sample)
            var sum = [Double](repeating: 0, count: size), count = [Double](repeating: 0, count: size)
            for i in range { let f = (i / inner) % size; sum[f] += Double(values[i]); count[f] += 1 }
            let mean = (0..<size).map { sum[$0] / count[$0] }
            var squares = [Double](repeating: 0, count: size)
            for i in range { let f = (i / inner) % size, d = Double(values[i]) - mean[f]; squares[f] += d * d }
            let scale = (0..<size).map { gamma[$0] / (squares[$0] / count[$0] + epsilon).squareRoot() }
            for i in range { let f = (i / inner) % size; values[i] = Scalar((Double(values[i]) - mean[f]) * scale[f] + beta[f]) }
        }
        return Tensor(values: values, shape: x.shape)
    }
}
