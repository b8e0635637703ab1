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

    /// Conv2D and Conv1D over patches gathered by both threads (inputs large enough that each thread takes its
    /// own blocks), MaxPooling2D, AveragePooling2D and Permute: equal, bit for bit, on one thread and two, and
    /// equal to direct sums and index maps.
    func testConvolutionsPoolingAndPermuteOnBothThreadsAgreeWithDirectSums() throws {
        func wave(_ i: Int) -> Float { Float(sin(Double(i) * 0.37) + 0.25 * cos(Double(i) * 1.3)) }
        // Conv2D, same padding, 1 channel in (an image), 4 filters: 8 x 64 x 128 = 65,536 patch rows.
        let (batch, rows, cols, filters) = (8, 64, 128, 4)
        let image = Tensor(values: (0..<(batch * rows * cols)).map(wave), shape: [batch, rows, cols, 1])
        let kernel2 = (0..<(9 * filters)).map { wave($0 * 7 + 3) }, bias2 = (0..<filters).map { Float($0) * 0.1 }
        let conv2 = try Conv2D<Float>(name: "c2", kernelSize: (3, 3), strides: (1, 1), dilation: (1, 1), inChannels: 1, filters: filters,
                                      padding: .same, kernel: kernel2, bias: bias2, activation: .linear)
        let y2 = try conv2.apply(image, threads: 2)
        XCTAssertTrue(y2.values == (try conv2.apply(image, threads: 1).values), "Conv2D on two threads differs from one")
        for (b, r, c, f) in [(0, 0, 0, 0), (3, 17, 127, 2), (7, 63, 64, 3), (5, 31, 0, 1)] {
            var sum = Double(bias2[f])
            for i in 0..<3 { for j in 0..<3 {
                let (sr, sc) = (r + i - 1, c + j - 1)
                guard sr >= 0 && sr < rows && sc >= 0 && sc < cols else { continue }
                sum += Double(image.values[(b * rows + sr) * cols + sc]) * Double(kernel2[(i * 3 + j) * filters + f])
            } }
            XCTAssertEqual(Double(y2.values[((b * rows + r) * cols + c) * filters + f]), sum, accuracy: 1e-5)
        }
        // Conv2D over 3 channels, kernel (3, 2), strides (2, 1), dilation (2, 1), valid padding: windows gathered
        // a kernel row at a time.
        let colour = Tensor(values: (0..<(8 * 40 * 50 * 3)).map { wave($0 * 3 + 1) }, shape: [8, 40, 50, 3])
        let kernel3 = (0..<(3 * 2 * 3 * 5)).map { wave($0 * 11 + 2) }
        let conv3 = try Conv2D<Float>(name: "c3", kernelSize: (3, 2), strides: (2, 1), dilation: (2, 1), inChannels: 3, filters: 5,
                                      padding: .valid, kernel: kernel3, bias: nil, activation: .linear)
        let y3 = try conv3.apply(colour, threads: 2)
        XCTAssertEqual(y3.shape, [8, 18, 49, 5])
        XCTAssertTrue(y3.values == (try conv3.apply(colour, threads: 1).values), "Conv2D on two threads differs from one")
        for (b, r, c, f) in [(0, 0, 0, 0), (7, 17, 48, 4), (3, 9, 20, 2)] {
            var sum = 0.0
            for i in 0..<3 { for j in 0..<2 { for e in 0..<3 {
                let (sr, sc) = (r * 2 + i * 2, c + j)
                sum += Double(colour.values[((b * 40 + sr) * 50 + sc) * 3 + e]) * Double(kernel3[((i * 2 + j) * 3 + e) * 5 + f])
            } } }
            XCTAssertEqual(Double(y3.values[((b * 18 + r) * 49 + c) * 5 + f]), sum, accuracy: 1e-5)
        }
        // Conv1D, same padding and dilation 2 (gathered patches): 64 x 1,000 rows.
        let (samples, steps, channels) = (64, 1000, 4)
        let sequence = Tensor(values: (0..<(samples * steps * channels)).map(wave), shape: [samples, steps, channels])
        let kernel1 = (0..<(3 * channels * 2)).map { wave($0 * 5 + 1) }
        let conv1 = try Conv1D<Float>(name: "c1", kernelSize: 3, inChannels: channels, filters: 2, stride: 1, dilation: 2, padding: .same,
                                      kernel: kernel1, bias: nil, activation: .linear)
        let y1 = try conv1.apply(sequence, threads: 2)
        XCTAssertTrue(y1.values == (try conv1.apply(sequence, threads: 1).values), "Conv1D on two threads differs from one")
        for (b, t, f) in [(0, 0, 0), (9, 999, 1), (63, 500, 0), (31, 1, 1)] {
            var sum = 0.0
            for k in 0..<3 {
                let s = t + 2 * k - 2
                guard s >= 0 && s < steps else { continue }
                for e in 0..<channels { sum += Double(sequence.values[(b * steps + s) * channels + e]) * Double(kernel1[(k * channels + e) * 2 + f]) }
            }
            XCTAssertEqual(Double(y1.values[(b * steps + t) * 2 + f]), sum, accuracy: 1e-5)
        }
        // Pooling 2 x 3 windows every (2, 2) with same padding over the convolution's output.
        for average in [false, true] {
            let pool = try Pooling2D<Float>(name: "p", poolSize: (2, 3), strides: (2, 2), padding: .same, average: average)
            let pooled = try pool.apply(y2, threads: 2)
            XCTAssertEqual(pooled.shape, [batch, 32, 64, filters])
            XCTAssertTrue(pooled.values == (try pool.apply(y2, threads: 1).values), "pooling on two threads differs from one")
            for (b, r, c, f) in [(0, 0, 0, 0), (7, 31, 63, 3), (2, 10, 20, 1)] {
                var cells: [Float] = []
                for i in (2 * r)..<min(rows, 2 * r + 2) { for j in max(0, 2 * c)..<min(cols, 2 * c + 3) {
                    cells.append(y2.values[((b * rows + i) * cols + j) * filters + f])
                } }
                let expected = average ? Float(cells.reduce(0.0) { $0 + Double($1) } / Double(cells.count)) : cells.max()!
                XCTAssertEqual(pooled.values[((b * 32 + r) * 64 + c) * filters + f], expected)
            }
        }
        // Permute (2, 3, 1) and (3, 1, 2): output (b, i, j, k) is the input at the axes the dims name.
        for dims in [[2, 3, 1], [3, 1, 2]] {
            let permute = try Permute<Float>(name: "perm", dims: dims)
            let moved = try permute.apply(y2, threads: 2)
            XCTAssertTrue(moved.values == (try permute.apply(y2, threads: 1).values), "Permute on two threads differs from one")
            let sample = [rows, cols, filters], out = dims.map { sample[$0 - 1] }
            XCTAssertEqual(moved.shape, [batch] + out)
            for (b, o) in [(0, 0), (5, 12_345), (7, rows * cols * filters - 1)] {
                let index = [o / (out[1] * out[2]), o / out[2] % out[1], o % out[2]]
                var source = [0, 0, 0]
                for axis in 0..<3 { source[dims[axis] - 1] = index[axis] }
                XCTAssertEqual(moved.values[b * rows * cols * filters + o],
                               y2.values[b * rows * cols * filters + (source[0] * cols + source[1]) * filters + source[2]])
            }
        }
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
