#ifndef CHDF5_SHIM_H
#define CHDF5_SHIM_H

#include <hdf5/serial/hdf5.h>  // Debian's libhdf5-dev; linked as hdf5_serial (module.modulemap)
#include <zlib.h>               // zlib1g-dev, which libhdf5-dev depends on; linked as z

// HDF5's type and property-list "constants" are macros that expand to calls or globals Swift cannot
// import; these getters re-export them, one `chdf5_` symbol each.

static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_c_s1(void) { return H5T_C_S1; }
static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline unsigned chdf5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline size_t chdf5_variable(void) { return H5T_VARIABLE; }

/// Turns off HDF5's own error printing; callers report errors in their own words.
static inline void chdf5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/// zlib's CRC-32 (the zip checksum) of `n` bytes, continuing `crc`.
static inline uint32_t chdf5_crc32(uint32_t crc, const unsigned char *bytes, size_t n) {
    return (uint32_t)crc32((uLong)crc, bytes, (uInt)n);
}

#endif
