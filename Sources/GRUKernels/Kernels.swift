import GRUBase

// This folder is compiled three times (Package.swift): as GRUKernels for any processor, and on x86-64 as
// GRUKernelsAVX2 (-target-cpu haswell, GRU_AVX2) and GRUKernelsAVX512 (-target-cpu skylake-avx512,
// GRU_AVX512). The code is the same; the register width it computes in is chosen here. GRUCore picks the
// build the processor runs (GRUKernelSet).
#if GRU_AVX512
/// 16 floats or 8 doubles a register, 32 registers.
typealias FloatVector = SIMD16<Float>
typealias DoubleVector = SIMD8<Double>
/// Whether the double-precision products take three rows a block instead of four.
let doublesInThreeRowBlocks = false
/// Whether a product's row blocks may be eight rows (24 accumulators need 32 registers).
let eightRowBlocks = true
#elseif GRU_AVX2
/// 8 floats or 4 doubles a register, 16 registers: the four-row double kernel spills an accumulator.
typealias FloatVector = SIMD8<Float>
typealias DoubleVector = SIMD4<Double>
let doublesInThreeRowBlocks = true
let eightRowBlocks = false
#else
/// 128-bit registers (SSE2 on any x86-64, NEON on arm64): 4 floats or 2 doubles.
typealias FloatVector = SIMD4<Float>
typealias DoubleVector = SIMD2<Double>
let doublesInThreeRowBlocks = false
let eightRowBlocks = false
#endif

/// The inference pass of this build of the kernels.
package enum Kernels {
    package static func run<S: GRUScalar>(_ job: GRUJob<S>) -> GRUOutput<S> {
        // GRUScalar's two types; the casts are between identical types.
        if S.self == Float.self {
            let output = GRUEngine(unsafeBitCast(job, to: GRUJob<Float>.self)).runFast(FloatVector.self)
            return unsafeBitCast(output, to: GRUOutput<S>.self)
        }
        precondition(S.self == Double.self, "GRU passes compute in Float or Double")
        let output = GRUEngine(unsafeBitCast(job, to: GRUJob<Double>.self)).runFast(DoubleVector.self)
        return unsafeBitCast(output, to: GRUOutput<S>.self)
    }
}

extension GRUEngine {
    /// The inference pass on vectors of type `V`.
    func runFast<V: GateVector>(_ vector: V.Type) -> GRUOutput<S> where V.Scalar == S {
        let config = job.layer.config
        let batch = job.batch, units = config.units
        // Not zeroed first: the pass writes every (sample, step) row of units, masked steps included (`emit`).
        let destination = config.returnSequences ? job.sequenceDestination : nil
        precondition(destination == nil || !config.timeMajor, "a time-major pass returns its sequence as an array")
        let count = config.returnSequences && destination == nil ? batch * job.timesteps * units : 0
        var sequence = [S](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { adviseLargePages(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<S>.stride) }
            initialized = count
        }
        var state = [S](repeating: 0, count: batch * units)
        var lastOutput = [S](repeating: 0, count: batch * units)
        let maskValues = job.mask ?? [false]
        job.input.withUnsafeBufferPointer { x in
            maskValues.withUnsafeBufferPointer { m in
                sequence.withUnsafeMutableBufferPointer { seq in
                    let engine = FastEngine<V>(job: job, input: x.baseAddress, mask: job.mask == nil ? nil : m.baseAddress,
                                               sequence: config.returnSequences ? destination?.base ?? seq.baseAddress : nil,
                                               sequenceStride: destination?.rowStride ?? units)
                    engine.run()
                    let padded = engine.padded
                    for b in 0..<batch {
                        for j in 0..<units {
                            state[b * units + j] = engine.finalState.scalars[b * padded + j]
                            lastOutput[b * units + j] = job.mask == nil ? state[b * units + j] : engine.last.scalars[b * padded + j]
                        }
                    }
                }
            }
        }
        return makeOutput(sequence: sequence, lastOutput: lastOutput, state: state)
    }
}
