/* Helpers shared by the unit tests: the shared test-data folder (tests that
 * need it skip when it is absent), temporary directories, file fixtures. */
#ifndef CCAI_TESTUTIL_H
#define CCAI_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first. */
#include <cmocka.h>

/* Path of a file under ../shared (e.g. "testdata/tdx/real-v4-uptodate/quote.bin")
 * in a static buffer, or NULL when the shared folder is absent. */
const char *tu_shared_path(const char *rel);

/* Reads a whole file; fails the test when it cannot. The caller frees. */
uint8_t *tu_read(const char *path, size_t *len);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the caller
 * frees the string and removes the tree with tu_rm_rf. */
char *tu_tmpdir(void);
void tu_rm_rf(const char *path);

/* Writes bytes to path, failing the test on error. */
void tu_write(const char *path, const void *data, size_t len);

/* Prints a skip message and makes cmocka skip the current test. */
#define TU_SKIP_IF_NO_SHARED(path)                                                          \
    do {                                                                                     \
        if (!(path)) {                                                                       \
            print_message("shared test data absent (../shared): skipped\n");                \
            skip();                                                                          \
        }                                                                                    \
    } while (0)

#endif
