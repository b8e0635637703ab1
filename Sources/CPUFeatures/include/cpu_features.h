#ifndef CPU_FEATURES_H
#define CPU_FEATURES_H

// What the processor and the operating system let the kernels use, from CPUID and XGETBV (x86-64);
// 0 on other processors. Each kernel build needs its instructions and the register state saved by the OS.

/// AVX2 and FMA (x86-64-v3), with the YMM state enabled.
int cpufeatures_avx2_fma(void);

/// AVX-512 F, CD, BW, DQ and VL (x86-64-v4, Skylake-SP and later, Zen 4), with the ZMM state enabled.
int cpufeatures_avx512(void);

#endif
