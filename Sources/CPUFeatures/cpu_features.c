#include "cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>

// XCR0 bits: SSE and AVX state (1, 2); AVX-512 opmask, upper ZMM0-15 and ZMM16-31 (5, 6, 7).
static uint64_t enabled_state(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}

static int leaf7_ebx(unsigned *ebx) {
    unsigned a, c, d;
    return __get_cpuid_count(7, 0, &a, ebx, &c, &d);
}

int cpufeatures_avx2_fma(void) {
    unsigned a, b, c, d, ebx7;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (!fma || !avx || !leaf7_ebx(&ebx7)) return 0;
    int avx2 = (ebx7 >> 5) & 1;
    return avx2 && (enabled_state() & 0x6) == 0x6;
}

int cpufeatures_avx512(void) {
    unsigned ebx7;
    if (!cpufeatures_avx2_fma() || !leaf7_ebx(&ebx7)) return 0;
    // F (16), DQ (17), CD (28), BW (30), VL (31)
    unsigned needed = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    return (ebx7 & needed) == needed && (enabled_state() & 0xE6) == 0xE6;
}
#else
int cpufeatures_avx2_fma(void) { return 0; }
int cpufeatures_avx512(void) { return 0; }
#endif
