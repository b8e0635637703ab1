import GRUCore

/// A convolution as a product over patches: `gather(rows, target)` writes the patches of output rows `rows`
/// (each the `product.k` input values its row reads, zeros in the padding) one after another from `target`; the patches are made a block of
/// rows at a time and multiplied by the packed kernel, so memory beyond the output stays about 1 MB a thread.
/// With enough rows each thread gathers and multiplies its own blocks; otherwise one thread gathers and the
/// product runs on all. Returns the `(rows, product.n)` output.
///
/// An element-wise `activation` is applied to each block of output rows right after its product, while the
/// block is still in cache, instead of in a second pass over the whole output.
func productOverPatches<S: GRUScalar>(_ product: MatrixProduct<S>, rows: Int, threads: Int, layer: String,
                                      activation: LayerActivation = .linear,
                                      gather: @escaping @Sendable (Range<Int>, UnsafeMutablePointer<S>) -> Void) throws -> [S] {
    let count = try reserveOutput(rows, product.n, of: S.self, layer: layer)
    let width = product.k
    let blockRows = max(1, min(rows, (1 << 18) / width))
    let team = max(1, min(threads, rows / blockRows))
    try reserve(team * blockRows * width, of: S.self, layer: layer)
    // Every output row is written by its block's product.
    return unfilledOutput(count) { output in
        let target = Int(bitPattern: output)
        let (n, teamThreads) = (product.n, team > 1 ? 1 : threads)
        parallelRows(rows, threads: team, minimumPerThread: blockRows) { range in
            let output = UnsafeMutablePointer<S>(bitPattern: target)!
            let patch = UnsafeMutablePointer<S>.allocate(capacity: blockRows * width)
            patch.initialize(repeating: 0, count: blockRows * width)
            defer { patch.deallocate() }
            for first in stride(from: range.lowerBound, to: range.upperBound, by: blockRows) {
                let block = min(blockRows, range.upperBound - first)
                gather(first..<(first + block), patch)
                product.multiply(patch, rows: block, into: output + first * n, threads: teamThreads)
                activation.applyElementwise(output + first * n, count: block * n)
            }
        }
    }
}

extension LayerActivation {
    /// Whether `productOverPatches` applies it block by block (element-wise activations).
    var isElementwise: Bool {
        if case .elementwise = self { return true }
        return false
    }

    /// An element-wise activation applied in place to `count` values while they are in cache (nothing for
    /// linear, nor for the activations over an axis, which the layer applies to its whole output).
    func applyElementwise<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, count: Int) {
        if case .elementwise(let kind, let hardSigmoid) = self, kind != .linear {
            vectorActivation(kind, v, count: count, hardSigmoid: hardSigmoid)
        }
    }
}
