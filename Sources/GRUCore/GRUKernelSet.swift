import CPUFeatures
import GRUBase
import GRUKernels
#if canImport(GRUKernelsAVX2)
import GRUKernelsAVX2
#endif
#if canImport(GRUKernelsAVX512)
import GRUKernelsAVX512
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The builds of the inference kernels (the same code compiled for different processors). A pass runs the
/// widest one this processor can, unless told otherwise (`GRU_RUN_KERNELS`, or `GRUKernelSet.active`).
/// Their results agree within the fixture tolerances; sums over wider registers round differently.
public enum GRUKernelSet: String, CaseIterable, Sendable {
    /// x86-64-v4: AVX-512 F, CD, BW, DQ and VL; 16 floats or 8 doubles a register.
    case avx512
    /// x86-64-v3: AVX2 and FMA; 8 floats or 4 doubles a register.
    case avx2
    /// Plain Swift SIMD for any processor (SSE2 on x86-64, NEON on arm64): 4 floats or 2 doubles.
    case portable

    /// Whether this binary holds the build and this processor (and its operating system) can run it.
    public var isSupported: Bool {
        switch self {
        case .avx512:
            #if canImport(GRUKernelsAVX512)
            return GRUKernelSet.processorHasAVX512
            #else
            return false
            #endif
        case .avx2:
            #if canImport(GRUKernelsAVX2)
            return GRUKernelSet.processorHasAVX2
            #else
            return false
            #endif
        case .portable:
            return true
        }
    }

    // Asked once: CPUID is slow under a hypervisor, which answers it.
    private static let processorHasAVX512 = cpufeatures_avx512() != 0
    private static let processorHasAVX2 = cpufeatures_avx2_fma() != 0

    /// The builds this processor runs, widest first.
    public static var supported: [GRUKernelSet] { allCases.filter(\.isSupported) }

    /// The build passes use: the widest supported, or the one `GRU_RUN_KERNELS` names when this processor
    /// runs it. Setting it (to a supported build) changes what later passes use.
    public static var active: GRUKernelSet {
        get {
            let index = choice.load(ordering: .relaxed)
            return index < 0 ? initial : allCases[index]
        }
        set {
            precondition(newValue.isSupported, "the \(newValue.rawValue) kernels do not run on this processor")
            choice.store(allCases.firstIndex(of: newValue)!, ordering: .relaxed)
        }
    }

    /// Why `GRU_RUN_KERNELS` cannot be followed (a name that is no build, or a build this processor cannot
    /// run), or nil when it is unset or fine. Passes then run the widest supported build.
    public static var environmentProblem: String? {
        guard let value = requested, !value.isEmpty else { return nil }
        let runs = "this processor runs " + supported.map(\.rawValue).joined(separator: ", ")
        guard let set = GRUKernelSet(rawValue: value) else {
            return "GRU_RUN_KERNELS is '\(value)', which names no kernels (\(allCases.map(\.rawValue).joined(separator: ", ")) do); \(runs)"
        }
        return set.isSupported ? nil : "GRU_RUN_KERNELS asks for the \(value) kernels, which this processor cannot run; \(runs)"
    }

    private static var requested: String? { getenv("GRU_RUN_KERNELS").map { String(cString: $0) } }

    private static let initial: GRUKernelSet = {
        if let value = requested, let set = GRUKernelSet(rawValue: value), set.isSupported { return set }
        return supported[0]
    }()

    /// The position in `allCases` of a build set through `active`; -1 before any is.
    private static let choice = Atomic<Int>(-1)
}

/// One inference or training pass of `job` on the active kernels.
func runPass<S: GRUScalar>(_ job: GRUJob<S>) -> GRUOutput<S> {
    if job.dropout != nil {
        precondition(job.sequenceDestination == nil, "a training pass returns its sequence as an array")
        return GRUEngine(job).runTraining()
    }
    switch GRUKernelSet.active {
    #if canImport(GRUKernelsAVX512)
    case .avx512: return GRUKernelsAVX512.Kernels.run(job)
    #endif
    #if canImport(GRUKernelsAVX2)
    case .avx2: return GRUKernelsAVX2.Kernels.run(job)
    #endif
    default: return GRUKernels.Kernels.run(job)
    }
}
