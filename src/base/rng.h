/* A seeded, reproducible pseudo-random stream: splitmix64 (Steele, Lea and
 * Flood, "Fast splittable pseudorandom number generators", 2014) and the few
 * draws built on it that tests, benchmarks and the sampler's seeding use.
 * The whole state is one uint64_t the caller owns: the same seed gives the
 * same sequence on every machine, which is what test data and `seed`
 * reproducibility need.
 *
 * NOT for anything secret: the stream is predictable from one output. Keys,
 * nonces and tokens come from libsodium (randombytes_buf).
 *
 * Every function here is part of the contract bit for bit: changing one
 * changes generated test data and sampled tokens. */
#ifndef CCAI_BASE_RNG_H
#define CCAI_BASE_RNG_H

#include <stdint.h>

/* The next 64 bits; advances *state by the golden-ratio increment. */
static inline uint64_t ccai_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 53 bits of one draw, so every value is an exact
 * multiple of 2^-53 (the scaling by a power of two rounds nothing). */
static inline double ccai_rng_uniform(uint64_t *state)
{
    return (double)(ccai_rng_next(state) >> 11) * 0x1.0p-53;
}

/* An integer in [lo, hi], lo <= hi, hi - lo + 1 representable as an int.
 * One draw reduced modulo the range: slightly biased toward small values
 * for ranges that do not divide 2^64 (at most range / 2^64), which seeded
 * test data does not mind and which keeps existing sequences unchanged. */
static inline int ccai_rng_int(uint64_t *state, int lo, int hi)
{
    return lo + (int)(ccai_rng_next(state) % (uint64_t)(hi - lo + 1));
}

/* Approximately normal by Irwin-Hall: the sum of 12 uniforms less 6 has mean
 * 0 and variance 1, with tails cut at 6 sd. Twelve draws per value; no libm,
 * so code that links without it can use this. */
static inline double ccai_rng_normal(uint64_t *state, double mean, double sd)
{
    double z = -6.0;
    for (int k = 0; k < 12; k++)
        z += ccai_rng_uniform(state);
    return mean + sd * z;
}

#endif
