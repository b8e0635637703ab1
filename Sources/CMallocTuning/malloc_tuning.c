#include "malloc_tuning.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int malloc_keep_freed_memory(void) {
#if defined(__GLIBC__)
    // 32 MB is the largest mapping threshold glibc accepts (half its 64 MB heap size).
    int mapped = mallopt(M_MMAP_THRESHOLD, 32 << 20);
    int trimmed = mallopt(M_TRIM_THRESHOLD, 1 << 30);
    int padded = mallopt(M_TOP_PAD, 16 << 20);
    return mapped && trimmed && padded;
#else
    return 0;
#endif
}
