import GRUCore

/// An array with its shape, batch first, row-major: what flows between the layers of a model.
public struct Tensor<Scalar: GRUScalar>: Sendable {
    public var values: [Scalar]
    public var shape: [Int]

    public init(values: [Scalar], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.values = values
        self.shape = shape
    }

    public var batch: Int { shape[0] }
    /// Values per sample.
    public var sampleSize: Int { shape.dropFirst().reduce(1, *) }
    /// The last axis: features, units or channels.
    public var width: Int { shape.last ?? 1 }
}

/// Asked before a layer allocates an output of `values` scalars of `bytes` each: the command line refuses a
/// run that cannot fit in memory with a sentence, since a failed allocation ends a Swift process.
nonisolated(unsafe) public var modelAllocationCheck: ((_ bytes: Int, _ what: String) throws -> Void)?

func reserve<S>(_ values: Int, of type: S.Type, layer: String) throws {
    let (bytes, overflow) = values.multipliedReportingOverflow(by: MemoryLayout<S>.size)
    try modelAllocationCheck?(overflow ? .max : bytes, "layer '\(layer)'")
}

/// A Keras mask: one flag per (sample, timestep), true where the step counts; nil when nothing is masked.
public typealias Mask = [Bool]?

/// Errors of running a model's layers; each is one sentence naming the layer.
public enum GRUModelError: Error, CustomStringConvertible, Equatable {
    case shape(layer: String, String)
    case value(layer: String, String)
    case config(layer: String, String)

    public var description: String {
        switch self {
        case .shape(let layer, let what), .value(let layer, let what), .config(let layer, let what):
            let text = "layer '\(layer)': \(what)"
            return text.hasSuffix(".") ? text : text + "."
        }
    }
}
