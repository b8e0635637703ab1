// A read-only libhdf5 file driver for an HDF5 file that lies uncompressed at an offset inside a larger file.
// libhdf5 looks for a superblock only at offsets 0, 512, 1024, 2048, ... of what it opens, so a stored zip
// member (a .keras archive's model.weights.h5) cannot be opened in place by the stock drivers; this one adds
// the member's offset to every read, and reads with pread straight into the buffer libhdf5 hands it.

#include "chdf5_member.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int fd;
    int64_t offset;
    int64_t size;
} member_info;

typedef struct {
    H5FD_t pub;  // first, as libhdf5 requires of every driver's file
    member_info info;
    haddr_t eoa;
} member_file;

static void *member_fapl_copy(const void *info) {
    member_info *copy = malloc(sizeof *copy);
    if (copy) *copy = *(const member_info *)info;
    return copy;
}

static void *member_fapl_get(H5FD_t *file) { return member_fapl_copy(&((member_file *)file)->info); }

static herr_t member_fapl_free(void *info) {
    free(info);
    return 0;
}

static H5FD_t *member_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
    (void)name;
    (void)maxaddr;
    if (flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_CREAT)) return NULL;
    const member_info *info = H5Pget_driver_info(fapl);
    if (!info || info->fd < 0 || info->offset < 0 || info->size < 0) return NULL;
    member_file *file = calloc(1, sizeof *file);
    if (!file) return NULL;
    file->info = *info;
    file->info.fd = fcntl(info->fd, F_DUPFD_CLOEXEC, 0);
    if (file->info.fd < 0) {
        free(file);
        return NULL;
    }
    return &file->pub;
}

static herr_t member_close(H5FD_t *pub) {
    member_file *file = (member_file *)pub;
    close(file->info.fd);
    free(file);
    return 0;
}

static herr_t member_query(const H5FD_t *file, unsigned long *flags) {
    (void)file;
    // What the sec2 driver announces for reading: metadata accumulated, raw data sieved.
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

static haddr_t member_get_eoa(const H5FD_t *pub, H5FD_mem_t type) {
    (void)type;
    return ((const member_file *)pub)->eoa;
}

static herr_t member_set_eoa(H5FD_t *pub, H5FD_mem_t type, haddr_t addr) {
    (void)type;
    ((member_file *)pub)->eoa = addr;
    return 0;
}

static haddr_t member_get_eof(const H5FD_t *pub, H5FD_mem_t type) {
    (void)type;
    return (haddr_t)((const member_file *)pub)->info.size;
}

static herr_t member_get_handle(H5FD_t *pub, hid_t fapl, void **handle) {
    (void)fapl;
    *handle = &((member_file *)pub)->info.fd;
    return 0;
}

static herr_t member_read(H5FD_t *pub, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buffer) {
    (void)type;
    (void)dxpl;
    member_file *file = (member_file *)pub;
    if (addr == HADDR_UNDEF || addr > (haddr_t)INT64_MAX || size > (size_t)INT64_MAX) return -1;
    if ((haddr_t)size > file->eoa || addr > file->eoa - (haddr_t)size) return -1;
    unsigned char *out = buffer;
    while (size > 0) {
        // Past the member's end reads as zeros, as past a file's end does for libhdf5's own drivers; never
        // from the bytes that follow the member in the outer file.
        if (addr >= (haddr_t)file->info.size) {
            memset(out, 0, size);
            break;
        }
        uint64_t left = (uint64_t)file->info.size - addr;
        size_t want = size < left ? size : (size_t)left;
        if (want > (1u << 30)) want = 1u << 30;
        ssize_t got = pread(file->info.fd, out, want, (off_t)(file->info.offset + (int64_t)addr));
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) return -1;  // the outer file is shorter than the member claims
        out += got;
        addr += (haddr_t)got;
        size -= (size_t)got;
    }
    return 0;
}

static herr_t member_write(H5FD_t *pub, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buffer) {
    (void)pub, (void)type, (void)dxpl, (void)addr, (void)size, (void)buffer;
    return -1;
}

static const H5FD_class_t member_class = {
    .name = "gru-run-member",
    .maxaddr = (haddr_t)INT64_MAX,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(member_info),
    .fapl_get = member_fapl_get,
    .fapl_copy = member_fapl_copy,
    .fapl_free = member_fapl_free,
    .open = member_open,
    .close = member_close,
    .query = member_query,
    .get_eoa = member_get_eoa,
    .set_eoa = member_set_eoa,
    .get_eof = member_get_eof,
    .get_handle = member_get_handle,
    .read = member_read,
    .write = member_write,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t chdf5_member_fapl(int fd, int64_t offset, int64_t size) {
    // Registered once; callers hold the lock every libhdf5 call is made under.
    static hid_t driver = -1;
    if (driver < 0) driver = H5FDregister(&member_class);
    if (driver < 0) return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    member_info info = {fd, offset, size};
    if (H5Pset_driver(fapl, driver, &info) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}
