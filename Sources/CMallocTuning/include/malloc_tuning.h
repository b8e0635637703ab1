#ifndef MALLOC_TUNING_H
#define MALLOC_TUNING_H

/// Makes malloc serve blocks below 32 MB from its heap and keep memory freed there (up to 1 GB) for the
/// next blocks instead of returning it to the system, growing the heap 16 MB at a time. A process that
/// drops one tensor and makes the next then reuses pages it already has, where a new mapping would be
/// faulted in and zeroed page by page. Larger blocks are still mapped and unmapped on their own.
/// Returns 1 when the C library took the settings, 0 otherwise (another C library: nothing changes).
int malloc_keep_freed_memory(void);

#endif
