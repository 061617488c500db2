/* The avx512 integer kernels with AVX-512 VNNI (vpdpbusd, vpdpwssd): the
 * avx512_q.inc template instantiated for CPUs that have it. avx512.c only
 * puts these in its table when __builtin_cpu_supports("avx512vnni"). */
#define AVX512_VNNI 1
#include "llm/kernels/avx512_q.inc"
