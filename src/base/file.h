/* Files: bounded whole-file reads, atomic writes, directories and locks. */
#ifndef CCAI_BASE_FILE_H
#define CCAI_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads all of path (at most max bytes, else an error naming the limit) into a
 * fresh buffer with a NUL after the data; the caller frees *data. */
ccai_code ccai_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
                         ccai_err *err);

/* Writes data to path through a temporary file in the same directory, fsync
 * and rename, so readers see the old or the new content, never a mix. */
ccai_code ccai_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                 ccai_err *err);

/* mkdir -p with the given mode for the directories it creates. */
ccai_code ccai_mkdir_p(const char *path, mode_t mode, ccai_err *err);

/* Takes an exclusive advisory lock (flock) on path, creating it; blocks until
 * granted. Returns the descriptor in *fd; release with ccai_unlock. */
ccai_code ccai_lock(const char *path, int *fd, ccai_err *err);
void ccai_unlock(int fd);

/* True when path exists (any type). */
int ccai_exists(const char *path);

/* Writes the file's data back and drops its pages from the page cache
 * (fdatasync, then POSIX_FADV_DONTNEED; pages someone has mapped stay).
 * For model files just written: the write path caches them in small
 * folios, and a mapping of those streams through 4 KiB TLB entries; once
 * dropped, the first reader's readahead brings the file back in 2 MiB
 * folios where the mapping asks for them (gguf_open). A hint: errors are
 * ignored. */
void ccai_drop_cached(const char *path);

#endif
