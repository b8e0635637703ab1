#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise activations of `keras.activations` (Keras 3.15) and tf-keras 2.21, spelled as Keras
/// spells them; each with the default parameters the name alone gives. softmax, log_softmax, glu and
/// sparsemax work over an axis and are not here (GRUModel's `LayerActivation` has them); `threshold` has
/// no defaults for its threshold and default_value, so Keras cannot call it by name.
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
    case celu
    case hardTanh = "hard_tanh"
    case hardSilu = "hard_silu"
    case hardShrink = "hard_shrink"
    case softShrink = "soft_shrink"
    case tanhShrink = "tanh_shrink"
    case logSigmoid = "log_sigmoid"
    case sparsePlus = "sparse_plus"
    case sparseSigmoid = "sparse_sigmoid"
    case squareplus

    /// Accepts Keras's own spellings, including the aliases `None` (linear), `silu` (swish) and
    /// `hard_swish` (hard_silu), as `keras.activations.ALL_OBJECTS_DICT` lists them.
    public init?(kerasName: String) {
        switch kerasName {
        case "None", "none", "null": self = .linear
        case "silu": self = .swish
        case "hard_swish": self = .hardSilu
        default:
            guard let value = Activation(rawValue: kerasName) else { return nil }
            self = value
        }
    }

    /// Every name `init(kerasName:)` accepts, for help texts and error messages.
    public static var kerasNames: [String] {
        allCases.map(\.rawValue) + ["silu", "hard_swish", "None"]
    }
}

extension Activation {
    /// The activations Keras 3 added (keras/src/backend/tensorflow/nn.py), with the defaults of
    /// keras.activations: celu alpha 1, soft_shrink and hard_shrink threshold 0.5, squareplus b 4.
    /// A NaN stays a NaN through each, as through the tf.where and tf.clip_by_value Keras uses.
    @inlinable
    package func applyKeras3<S: GRUScalar>(_ values: UnsafeMutablePointer<S>, count: Int) {
        for i in 0..<count {
            let x = values[i]
            guard !x.isNaN else { continue }
            switch self {
            case .celu: values[i] = Swift.max(x, 0) + S.expm1(Swift.min(x, 0))              // alpha 1
            case .hardTanh: values[i] = Swift.min(Swift.max(x, -1), 1)
            case .hardSilu: values[i] = x * (Swift.min(Swift.max(x + 3, 0), 6) / 6)        // x * relu6(x + 3) / 6
            case .hardShrink: values[i] = Swift.abs(x) > 0.5 ? x : 0
            case .softShrink: values[i] = x > 0.5 ? x - 0.5 : (x < -0.5 ? x + 0.5 : 0)
            case .tanhShrink: values[i] = x - S.tanh(x)
            case .logSigmoid: values[i] = -softPlus(-x)                                      // tf.math.log_sigmoid
            case .sparsePlus: values[i] = x <= -1 ? 0 : (x < 1 ? (x + 1) * (x + 1) / 4 : x)
            case .sparseSigmoid: values[i] = x <= -1 ? 0 : (x >= 1 ? 1 : (x + 1) / 2)
            case .squareplus: values[i] = (x + (x * x + 4).squareRoot()) / 2                // b 4
            default: return
            }
        }
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
        case .relu: for i in 0..<count { values[i] = Swift.max(values[i], 0) }  // branch-free; a NaN stays NaN
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
        default: applyKeras3(values, count: count)
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

extension GRUScalar {
    /// `values` in this type, through a concrete loop: a generic `S($0)` (or a `map` in code that runs
    /// unspecialized) converts element by element through the protocol, several times slower on a kernel.
    public static func converting(_ values: [Double]) -> [Self] {
        if Self.self == Double.self { return unsafeBitCast(values, to: [Self].self) }
        precondition(Self.self == Float.self, "GRUScalar is Float or Double")
        let floats = [Float](unsafeUninitializedCapacity: values.count) { buffer, initialized in
            values.withUnsafeBufferPointer { source in
                for i in 0..<source.count { buffer[i] = Float(source[i]) }
            }
            initialized = values.count
        }
        return unsafeBitCast(floats, to: [Self].self)
    }

    public static func converting(_ values: ArraySlice<Double>) -> [Self] { converting(Array(values)) }
}
