import GRUBase

/// The gate arithmetic of one sample's step of an LSTM or SimpleRNN (CellPass in GRUCore), in one call of this
/// build of the kernels: the projection added to the recurrent product, the activations as the GRU's
/// vectorized loops, the state updates.
extension Kernels {
    /// LSTM: `g = p + g` over the blocks `[i | f | c | o]` of `n` units, then `c = f*c + i*act(g_c)` and
    /// `h = o*act(c)` with `i, f, o` through the recurrent activation. `g` is overwritten.
    package static func lstmRow<S: GRUScalar>(_ g: UnsafeMutablePointer<S>, _ p: UnsafePointer<S>, cell: UnsafeMutablePointer<S>,
                                              h: UnsafeMutablePointer<S>, units n: Int, recurrent: Activation,
                                              activation: Activation, hardSigmoid: HardSigmoidDefinition) {
        if S.self == Float.self {
            lstm(floats(g), UnsafePointer(floats(UnsafeMutablePointer(mutating: p))), floats(cell), floats(h), n, recurrent, activation, hardSigmoid)
        } else {
            lstm(doubles(g), UnsafePointer(doubles(UnsafeMutablePointer(mutating: p))), doubles(cell), doubles(h), n, recurrent, activation, hardSigmoid)
        }
    }

    /// SimpleRNN: `h = act(p + g)` over `n` units. `g` is overwritten.
    package static func simpleRow<S: GRUScalar>(_ g: UnsafeMutablePointer<S>, _ p: UnsafePointer<S>, h: UnsafeMutablePointer<S>,
                                                units n: Int, activation: Activation, hardSigmoid: HardSigmoidDefinition) {
        if S.self == Float.self {
            simple(floats(g), UnsafePointer(floats(UnsafeMutablePointer(mutating: p))), floats(h), n, activation, hardSigmoid)
        } else {
            simple(doubles(g), UnsafePointer(doubles(UnsafeMutablePointer(mutating: p))), doubles(h), n, activation, hardSigmoid)
        }
    }

    @inline(__always)
    private static func floats<S>(_ p: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    private static func doubles<S>(_ p: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Double> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Double.self)
    }

    @inline(__always)
    private static func lstm<T: GateScalar>(_ g: UnsafeMutablePointer<T>, _ p: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
                                            _ h: UnsafeMutablePointer<T>, _ n: Int, _ recurrent: Activation,
                                            _ activation: Activation, _ hardSigmoid: HardSigmoidDefinition) {
        for j in 0..<(4 * n) { g[j] = p[j] + g[j] }
        recurrent.applyFast(g, count: 2 * n, hardSigmoid: hardSigmoid)
        activation.applyFast(g + 2 * n, count: n, hardSigmoid: hardSigmoid)
        recurrent.applyFast(g + 3 * n, count: n, hardSigmoid: hardSigmoid)
        let gi = g, gf = g + n, gc = g + 2 * n, go = g + 3 * n
        for j in 0..<n {
            let next = gf[j] * c[j] + gi[j] * gc[j]
            c[j] = next
            gc[j] = next
        }
        activation.applyFast(gc, count: n, hardSigmoid: hardSigmoid)
        for j in 0..<n { h[j] = go[j] * gc[j] }
    }

    @inline(__always)
    private static func simple<T: GateScalar>(_ g: UnsafeMutablePointer<T>, _ p: UnsafePointer<T>, _ h: UnsafeMutablePointer<T>,
                                              _ n: Int, _ activation: Activation, _ hardSigmoid: HardSigmoidDefinition) {
        for j in 0..<n { g[j] = p[j] + g[j] }
        activation.applyFast(g, count: n, hardSigmoid: hardSigmoid)
        h.update(from: g, count: n)
    }
}
