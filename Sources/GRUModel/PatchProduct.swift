import GRUCore

/// A convolution as a product over patches: `gather(row, target)` writes output row `row`'s patch (the
/// `product.k` input values it reads, zeros in the padding) at `target`; the patches are made a block of
/// rows at a time and multiplied by the packed kernel, so memory beyond the output stays about 1 MB.
/// Returns the `(rows, product.n)` output.
///
/// An element-wise `activation` is applied to each block of output rows right after its product, while the
/// block is still in cache, instead of in a second pass over the whole output.
func productOverPatches<S: GRUScalar>(_ product: MatrixProduct<S>, rows: Int, threads: Int, layer: String,
                                      activation: LayerActivation = .linear,
                                      gather: (Int, UnsafeMutablePointer<S>) -> Void) throws -> [S] {
    let count = try reserveOutput(rows, product.n, of: S.self, layer: layer)
    let width = product.k
    let blockRows = max(1, min(rows, (1 << 18) / width))
    try reserve(blockRows * width, of: S.self, layer: layer)
    var patches = [S](repeating: 0, count: blockRows * width)
    // Every output row is written by its block's product.
    return unfilledOutput(count) { output in
        patches.withUnsafeMutableBufferPointer { patch in
            for first in stride(from: 0, to: rows, by: blockRows) {
                let block = min(blockRows, rows - first)
                for r in 0..<block { gather(first + r, patch.baseAddress! + r * width) }
                product.multiply(patch.baseAddress!, rows: block, into: output + first * product.n, threads: threads)
                activation.applyElementwise(output + first * product.n, count: block * product.n)
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
