// swift-tools-version:5.10
import PackageDescription

let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]
// The layers around the GRU index arrays with sizes and axes read from a model's config: their bounds and
// overflow checks stay on, so a value that escaped validation stops the run instead of corrupting memory.
// The hot loops there work through unsafe buffer pointers and measure the same either way.
let checked: [SwiftSetting] = [.unsafeFlags(["-O", "-wmo"], .when(configuration: .release))]

// The inference kernels (Sources/GRUKernels) are compiled once for any processor and, on x86-64, again for
// AVX2 + FMA and for AVX-512 (the other two folders link to the first); GRUCore runs the widest build the
// processor has. Only these two builds are compiled for particular processors.
#if arch(x86_64)
let kernelBuilds: [Target] = [
    .target(name: "GRUKernelsAVX2", dependencies: ["GRUBase"],
            swiftSettings: optimize + [.define("GRU_AVX2"), .unsafeFlags(["-target-cpu", "haswell"])]),
    .target(name: "GRUKernelsAVX512", dependencies: ["GRUBase"],
            swiftSettings: optimize + [.define("GRU_AVX512"), .unsafeFlags(["-target-cpu", "skylake-avx512"])]),
]
#else
let kernelBuilds: [Target] = []
#endif

let package = Package(
    name: "gru-run",
    products: [
        .executable(name: "gru-run", targets: ["gru-run"]),
        .library(name: "GRUCore", targets: ["GRUCore"]),
        .library(name: "GRUModel", targets: ["GRUModel"]),
        .library(name: "GRUIO", targets: ["GRUIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5",
            path: "Sources/CHDF5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // A libhdf5 file driver that reads an HDF5 file in place inside another (a .keras archive's stored member).
        .target(name: "CHDF5Member", path: "Sources/CHDF5Member"),
        .target(name: "CPUFeatures"),
        // malloc settings for a short run that makes and drops many large tensors (the gru-run process only).
        .target(name: "CMallocTuning"),
        .target(name: "GRUBase", swiftSettings: optimize),
        .target(name: "GRUKernels", dependencies: ["GRUBase"], swiftSettings: optimize),
        .target(name: "GRUCore", dependencies: ["GRUBase", "GRUKernels", "CPUFeatures"] + kernelBuilds.map { .target(name: $0.name) },
                swiftSettings: optimize),
        .target(name: "GRUModel", dependencies: ["GRUCore"], swiftSettings: checked),
        .target(name: "GRUIO", dependencies: ["GRUCore", "GRUModel", "CHDF5", "CHDF5Member", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-lhdf5_serial", "-Xlinker", "-lz"])]),
        .executableTarget(
            name: "gru-run",
            dependencies: [
                "GRUCore", "GRUModel", "GRUIO", "CMallocTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // A release binary carries the Swift runtime, Foundation, libhdf5 and its SZIP filter (libsz, libaec)
            // inside it: it needs only libc, libm, libstdc++, libgcc_s and libz, which every Linux has (the
            // manylinux wheel and the Debian package ship it as it is), starts faster and maps less memory.
            swiftSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))],
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "--as-needed", "-Xlinker", "-l:libhdf5_serial.a",
                                                         "-Xlinker", "-l:libsz.a", "-Xlinker", "-l:libaec.a",
                                                         "-Xlinker", "-lz", "-Xlinker", "-lm"],
                                          .when(configuration: .release))]
        ),
        .target(name: "TestSupport", dependencies: ["GRUCore", "GRUIO", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                path: "Sources/TestSupport"),
    ] + kernelBuilds + [
        .testTarget(name: "GRUCoreTests", dependencies: ["GRUCore", "TestSupport"]),
        .testTarget(name: "GRUModelTests", dependencies: ["GRUModel"]),
        .testTarget(name: "GRUIOTests", dependencies: ["GRUIO", "TestSupport"]),
        .testTarget(name: "GRURunTests", dependencies: ["TestSupport"]),
        // Fuzzing harnesses (make fuzz)
        // A plain build makes each harness replay the files named on its command line; `make fuzz`
        // builds them with -DFUZZING and libFuzzer plus AddressSanitizer instead (Fuzz/README.md).
        .target(name: "FuzzSupport", dependencies: ["GRUIO"], path: "Sources/Fuzz/Support"),
        .executableTarget(name: "fuzz-npy", dependencies: ["GRUIO", "FuzzSupport"], path: "Sources/Fuzz/NPY"),
        .executableTarget(name: "fuzz-csv", dependencies: ["GRUIO", "FuzzSupport"], path: "Sources/Fuzz/CSV"),
        .executableTarget(name: "fuzz-config", dependencies: ["GRUIO", "FuzzSupport"], path: "Sources/Fuzz/Config"),
    ]
)
