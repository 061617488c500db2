/* The avx512 integer kernels without VNNI (vpmaddubsw + vpmaddwd in place of
 * vpdpbusd): the avx512_q.inc template instantiated for AVX-512 CPUs that
 * lack VNNI (Skylake-SP and the like). Same results as avx512_vnni.c. */
#define AVX512_VNNI 0
#include "llm/kernels/avx512_q.inc"
