/* bench_prefetch: what a core streams while it computes, by access order
 * and prefetch scheme (docs/bench.md, "The fast state: prefetch
 * instructions"). A measurement, not a test.
 *
 *   bench_prefetch [ROUNDS [DOTS [ROW_BYTES]]]      (defaults 10, 6, 896)
 *
 * Two threads each stream half of a 512 MiB buffer (anonymous, 2 MiB
 * pages asked for), doing DOTS vpdpbusd per 64 bytes read (6: about what
 * the gemv kernels compute per byte, ~35 GB/s a core from L2), in one of
 * these orders:
 *   linear         64-byte loads in address order, no prefetch instruction
 *   linear+pf      the same and one prefetcht1 a line, 64 KiB ahead
 *   rows4          four rows of ROW_BYTES side by side, a line of each in
 *                  turn (the gemv kernels' order), no prefetch
 *   rows4+l1       that, the next group of four rows prefetched into L1
 *   rows4+l1+l2    that, and the group 64 KiB ahead into L2 (the K-quant
 *                  kernels' scheme at n = 1536)
 * Each is timed between two passes of the plain read loop (no arithmetic);
 * its rate over the faster of them is printed, and the round skipped when
 * the two passes differ by more than 8% (this VM's memory changes speed
 * by the minute). Then the mean per state (loop above 45 GB/s: "fast"). */
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { MODES = 5, MAX_DOTS = 16 };
static const char *const MODE_NAME[MODES] = {"linear", "linear+pf", "rows4", "rows4+l1",
                                             "rows4+l1+l2"};
static const size_t TOTAL = 512u << 20, FAR = 64u << 10;

typedef struct job {
    const unsigned char *p;
    size_t n, row;
    int mode, dots; /* mode -1: the plain read loop */
    long long sink;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* j->dots vpdpbusd of the line v, spread over eight independent chains
 * (the loop unrolled, so the chains stay in registers). */
#define DOTS(v)                                                                   \
    do {                                                                          \
        x = _mm512_xor_si512(x, v);                                               \
        _Pragma("GCC unroll 16") for (int d = 0; d < MAX_DOTS; d++)               \
            if (d < j->dots)                                                      \
                acc[d & 7] = _mm512_dpbusd_epi32(acc[d & 7], v, ones);            \
    } while (0)

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void *stream(void *arg)
{
    job *j = arg;
    __m512i acc[8], x = _mm512_setzero_si512(), ones = _mm512_set1_epi8(1);
    for (int i = 0; i < 8; i++)
        acc[i] = _mm512_setzero_si512();
    const unsigned char *p = j->p;
    if (j->mode <= 1) {
        for (size_t i = 0; i < j->n; i += 64) {
            if (j->mode == 1)
                _mm_prefetch((const char *)p + i + FAR, _MM_HINT_T1);
            __m512i v = _mm512_load_si512(p + i);
            DOTS(v);
        }
    } else {
        size_t g = 4 * j->row, steps = j->row / 64;
        for (size_t o = 0; o + g <= j->n; o += g)
            for (size_t t = 0; t < steps; t++) {
                const char *next = (const char *)p + o + g + 4 * 64 * t;
                if (j->mode >= 3)
                    for (int q = 0; q < 4; q++)
                        _mm_prefetch(next + 64 * q, _MM_HINT_T0);
                if (j->mode == 4)
                    for (int q = 0; q < 4; q++)
                        _mm_prefetch(next + FAR + 64 * q, _MM_HINT_T1);
                for (int r = 0; r < 4; r++) {
                    __m512i v = _mm512_loadu_si512(p + o + r * j->row + 64 * t);
                    DOTS(v);
                }
            }
    }
    for (int i = 0; i < 8; i++)
        x = _mm512_add_epi32(x, acc[i]);
    j->sink = _mm512_reduce_add_epi32(x);
    return NULL;
}

/* GB/s of one pass over the buffer, two threads. */
static double pass(const unsigned char *buf, int mode, int dots, size_t row)
{
    job a = {buf, TOTAL / 2, row, mode, mode < 0 ? 0 : dots, 0};
    job b = {buf + TOTAL / 2, TOTAL / 2, row, mode, mode < 0 ? 0 : dots, 0};
    double t0 = now_s();
    pthread_t t;
    bool two = pthread_create(&t, NULL, stream, &b) == 0;
    stream(&a);
    if (two)
        pthread_join(t, NULL);
    else
        stream(&b);
    return (double)TOTAL / (now_s() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10, dots = argc > 2 ? atoi(argv[2]) : 6;
    size_t row = argc > 3 ? (size_t)atol(argv[3]) : 896;
    if (rounds < 1 || dots < 0 || dots > MAX_DOTS || row < 64 || row % 64) {
        fprintf(stderr, "usage: bench_prefetch [ROUNDS [DOTS (0-16) [ROW_BYTES (multiple of 64)]]]\n");
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vnni")) {
        fprintf(stderr, "bench_prefetch: needs AVX-512 F, BW and VNNI\n");
        return 1;
    }
    size_t len = TOTAL + FAR + 4096;
    unsigned char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("bench_prefetch: mmap");
        return 1;
    }
    madvise(buf, len, MADV_HUGEPAGE);
    memset(buf, 1, len);
    printf("two threads, 512 MiB, %d vpdpbusd per 64 bytes, rows of %zu bytes\n", dots, row);
    printf("round  loop GB/s  rate / loop:");
    for (int m = 0; m < MODES; m++)
        printf("  %s", MODE_NAME[m]);
    printf("\n");
    double sum[2][MODES] = {{0}};
    int cnt[2][MODES] = {{0}};
    for (int r = 0; r < rounds; r++) {
        printf("%5d", r + 1);
        for (int m = 0; m < MODES; m++) {
            double la = pass(buf, -1, 0, row), v = pass(buf, m, dots, row), lb = pass(buf, -1, 0, row);
            double loop = la > lb ? la : lb;
            if ((la > lb ? la / lb : lb / la) > 1.08) {
                printf("  %s: moved", MODE_NAME[m]);
                continue;
            }
            int fast = loop > 45;
            sum[fast][m] += v / loop, cnt[fast][m]++;
            printf("  %s: %.1f %.3f", MODE_NAME[m], loop, v / loop);
        }
        printf("\n");
        fflush(stdout);
    }
    for (int fast = 0; fast < 2; fast++) {
        printf("%s state (loop %s 45 GB/s), mean rate / loop:", fast ? "fast" : "slow",
               fast ? ">" : "<=");
        for (int m = 0; m < MODES; m++)
            printf("  %s %.3f (%d)", MODE_NAME[m], cnt[fast][m] ? sum[fast][m] / cnt[fast][m] : 0,
                   cnt[fast][m]);
        printf("\n");
    }
    munmap(buf, len);
    return 0;
}
