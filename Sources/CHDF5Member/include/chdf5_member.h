#ifndef CHDF5_MEMBER_H
#define CHDF5_MEMBER_H

#include <stdint.h>
#include <hdf5/serial/hdf5.h>

/// A file-access property list whose files are read, in place, from `size` bytes at `offset` of the open
/// descriptor `fd` (an HDF5 file stored uncompressed inside another file, such as a zip member). Read-only;
/// the descriptor is duplicated when a file is opened, so the caller may close its own afterwards.
/// Returns a negative id where libhdf5 refuses the driver or the list.
hid_t chdf5_member_fapl(int fd, int64_t offset, int64_t size);

#endif
