import GRUBase
import GRUKernels
#if canImport(GRUKernelsAVX2)
import GRUKernelsAVX2
#endif
#if canImport(GRUKernelsAVX512)
import GRUKernelsAVX512
#endif

/// `v[i] = exp(v[i])` in place, vectorized on the kernels the processor runs (softmax's exponentials).
public func exponentials<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, count: Int) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: GRUKernelsAVX512.Kernels.exponentials(v, count: count)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: GRUKernelsAVX2.Kernels.exponentials(v, count: count)
    #endif
    default: GRUKernels.Kernels.exponentials(v, count: count)
    }
}

/// Softmax in place over each of `rows` rows of `n` contiguous values, on the kernels the processor runs.
public func softmaxRows<S: GRUScalar>(_ v: UnsafeMutablePointer<S>, rows: Int, n: Int) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: GRUKernelsAVX512.Kernels.softmaxRows(v, rows: rows, n: n)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: GRUKernelsAVX2.Kernels.softmaxRows(v, rows: rows, n: n)
    #endif
    default: GRUKernels.Kernels.softmaxRows(v, rows: rows, n: n)
    }
}

/// `activation` applied in place to `count` values with the GRU's gate arithmetic on the kernels the processor
/// runs: tanh, sigmoid, hard_sigmoid, relu and linear vectorized, the others by their scalar definitions.
public func vectorActivation<S: GRUScalar>(_ activation: Activation, _ v: UnsafeMutablePointer<S>, count: Int,
                                           hardSigmoid: HardSigmoidDefinition) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: GRUKernelsAVX512.Kernels.activate(activation, v, count: count, hardSigmoid: hardSigmoid)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: GRUKernelsAVX2.Kernels.activate(activation, v, count: count, hardSigmoid: hardSigmoid)
    #endif
    default: GRUKernels.Kernels.activate(activation, v, count: count, hardSigmoid: hardSigmoid)
    }
}

/// One sample's step of an LSTM (CellPass): the gates `g` `[i | f | c | o]` of `n` units plus the projection
/// `p`, then c and h updated, on the kernels the processor runs.
func lstmRow<S: GRUScalar>(_ g: UnsafeMutablePointer<S>, _ p: UnsafePointer<S>, cell: UnsafeMutablePointer<S>, h: UnsafeMutablePointer<S>,
                           units n: Int, recurrent: Activation, activation: Activation, hardSigmoid: HardSigmoidDefinition) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: GRUKernelsAVX512.Kernels.lstmRow(g, p, cell: cell, h: h, units: n, recurrent: recurrent, activation: activation, hardSigmoid: hardSigmoid)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: GRUKernelsAVX2.Kernels.lstmRow(g, p, cell: cell, h: h, units: n, recurrent: recurrent, activation: activation, hardSigmoid: hardSigmoid)
    #endif
    default: GRUKernels.Kernels.lstmRow(g, p, cell: cell, h: h, units: n, recurrent: recurrent, activation: activation, hardSigmoid: hardSigmoid)
    }
}

/// One sample's step of a SimpleRNN: `h = act(p + g)` over `n` units.
func simpleRow<S: GRUScalar>(_ g: UnsafeMutablePointer<S>, _ p: UnsafePointer<S>, h: UnsafeMutablePointer<S>, units n: Int,
                             activation: Activation, hardSigmoid: HardSigmoidDefinition) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: GRUKernelsAVX512.Kernels.simpleRow(g, p, h: h, units: n, activation: activation, hardSigmoid: hardSigmoid)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: GRUKernelsAVX2.Kernels.simpleRow(g, p, h: h, units: n, activation: activation, hardSigmoid: hardSigmoid)
    #endif
    default: GRUKernels.Kernels.simpleRow(g, p, h: h, units: n, activation: activation, hardSigmoid: hardSigmoid)
    }
}

/// The additive scores of one query row against `count` key rows (`Kernels.additiveScores`), on the kernels
/// the processor runs: `outer * Σ_c weights[c] * tanh(inner * (query[c] + key_j[c]))`.
public func additiveScores<S: GRUScalar>(query: UnsafePointer<S>, keys: UnsafePointer<S>, keyStride: Int, count: Int, width: Int,
                                         weights: UnsafePointer<S>?, inner: S?, outer: S?,
                                         into scores: UnsafeMutablePointer<S>, scratch: UnsafeMutablePointer<S>) {
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512:
        GRUKernelsAVX512.Kernels.additiveScores(query: query, keys: keys, keyStride: keyStride, count: count, width: width,
                                                weights: weights, inner: inner, outer: outer, into: scores, scratch: scratch)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2:
        GRUKernelsAVX2.Kernels.additiveScores(query: query, keys: keys, keyStride: keyStride, count: count, width: width,
                                              weights: weights, inner: inner, outer: outer, into: scores, scratch: scratch)
    #endif
    default:
        GRUKernels.Kernels.additiveScores(query: query, keys: keys, keyStride: keyStride, count: count, width: width,
                                          weights: weights, inner: inner, outer: outer, into: scores, scratch: scratch)
    }
}
