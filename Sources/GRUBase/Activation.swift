#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise activations a Keras GRU config can name, spelled as Keras spells them.
public enum Activation: String, CaseIterable, Sendable {
    case tanh
    case sigmoid
    case hardSigmoid = "hard_sigmoid"
    case relu
    case linear
    case elu
    case selu
    case softplus
    case softsign
    case exponential
    case swish
    case gelu
    case relu6
    case leakyRelu = "leaky_relu"
    case mish

    /// Accepts Keras's own spellings, including the aliases `None` (linear) and `silu` (swish).
    public init?(kerasName: String) {
        switch kerasName {
        case "None", "none", "null": self = .linear
        case "silu": self = .swish
        default:
            guard let value = Activation(rawValue: kerasName) else { return nil }
            self = value
        }
    }

    /// Every name `init(kerasName:)` accepts, for help texts and error messages.
    public static var kerasNames: [String] {
        allCases.map(\.rawValue) + ["silu", "None"]
    }
}

/// Keras changed `hard_sigmoid` while keeping its name.
/// Keras 2 lineage (standalone Keras 2, tf.keras <= 2.15, tf-keras): `clip(0.2x + 0.5, 0, 1)`.
/// Keras 3: `clip(x / 6 + 0.5, 0, 1)`.
public enum HardSigmoidDefinition: String, CaseIterable, Sendable {
    case keras2
    case keras3
}

/// Scalar types the GRU computes in. The requirements are the libm functions the activations need,
/// so that generic code inside GRUCore specializes to direct calls.
public protocol GRUScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    static func exp(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
}

extension Float: GRUScalar {
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func expm1(_ x: Float) -> Float { expm1f(x) }
    @inline(__always) public static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }
}

extension Double: GRUScalar {
    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
    @inline(__always) public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
}

extension Activation {
    /// Applies the activation in place to `count` values starting at `values`.
    @inlinable
    package func apply<S: GRUScalar>(_ values: UnsafeMutablePointer<S>, count: Int, hardSigmoid: HardSigmoidDefinition) {
        switch self {
        case .tanh: for i in 0..<count { values[i] = S.tanh(values[i]) }
        case .sigmoid: for i in 0..<count { values[i] = logistic(values[i]) }
        case .hardSigmoid:
            let (slope, offset): (S, S) = hardSigmoid == .keras2 ? (0.2, 0.5) : (1 / 6, 0.5)
            for i in 0..<count where !values[i].isNaN { values[i] = Swift.min(Swift.max(values[i] * slope + offset, 0), 1) }
        case .relu: for i in 0..<count where values[i] < 0 { values[i] = 0 }
        case .linear: break
        case .elu: for i in 0..<count { values[i] = expLinear(values[i]) }
        case .selu:
            // Constants from Klambauer et al. 2017, as Keras writes them.
            let alpha: S = 1.6732632423543772848170429916717
            let scale: S = 1.0507009873554804934193349852946
            for i in 0..<count {
                let x = values[i]
                values[i] = x > 0 ? scale * x : scale * alpha * S.expm1(x)
            }
        case .softplus: for i in 0..<count { values[i] = softPlus(values[i]) }
        case .softsign: for i in 0..<count { values[i] = values[i] / (1 + Swift.abs(values[i])) }
        case .exponential: for i in 0..<count { values[i] = S.exp(values[i]) }
        case .swish: for i in 0..<count { values[i] = values[i] * logistic(values[i]) }
        case .gelu:
            // Exact form 0.5x(1 + erf(x / sqrt 2)): the default of keras.activations.gelu.
            let invSqrt2: S = 0.70710678118654752440084436210485
            for i in 0..<count { values[i] = 0.5 * values[i] * (1 + S.erf(values[i] * invSqrt2)) }
        case .relu6: for i in 0..<count where !values[i].isNaN { values[i] = Swift.min(Swift.max(values[i], 0), 6) }
        case .leakyRelu:
            // keras.activations.leaky_relu's default negative_slope.
            for i in 0..<count { values[i] = values[i] >= 0 ? values[i] : values[i] * 0.2 }
        case .mish: for i in 0..<count { values[i] = values[i] * S.tanh(softPlus(values[i])) }
        }
    }

    /// Scalar form, for tests and single values.
    public func callAsFunction<S: GRUScalar>(_ x: S, hardSigmoid: HardSigmoidDefinition = .keras2) -> S {
        var value = x
        apply(&value, count: 1, hardSigmoid: hardSigmoid)
        return value
    }
}

@inlinable
package func logistic<S: GRUScalar>(_ x: S) -> S {
    // Both branches avoid overflow of exp for large |x|.
    if x >= 0 {
        return 1 / (1 + S.exp(-x))
    }
    let e = S.exp(x)
    return e / (1 + e)
}

@inlinable
package func softPlus<S: GRUScalar>(_ x: S) -> S {
    Swift.max(x, 0) + S.log1p(S.exp(-Swift.abs(x)))
}

@inlinable
package func expLinear<S: GRUScalar>(_ x: S) -> S {
    x > 0 ? x : S.expm1(x)
}
