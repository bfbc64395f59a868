/*
 * Constant-time modular exponentiation in Montgomery form (no MicroPython
 * dependency, so it can be built and measured on its own).
 *
 * Numbers are little-endian arrays of limbs (32-bit limbs with 64-bit
 * products by default -- what ESP32's Xtensa and RISC-V cores multiply
 * well; 64-bit limbs with 128-bit products where the compiler offers
 * unsigned __int128, see SRPMM_LIMB_BITS).
 *
 * Timing depends only on the modulus length and on the exponent length in
 * limbs, never on the values: a fixed window, a multiplication for every
 * window (by the Montgomery 1 when the window is zero), table entries read
 * through masks, and a final subtraction done with masks (the idea of
 * BearSSL's i31_modpow2).
 *
 * The caller owns every buffer; nothing here allocates.
 */
#ifndef SRPMODEXP_MONTGOMERY_H
#define SRPMODEXP_MONTGOMERY_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit limbs halve the limb count and quarter the multiplications; on
 * x86-64 that made a 2048-bit modexp 1.8x faster.  32-bit targets (ESP32)
 * have no 128-bit type and use 32-bit limbs. */
#ifndef SRPMM_LIMB_BITS
#if defined(__SIZEOF_INT128__) && UINTPTR_MAX > 0xffffffffu
#define SRPMM_LIMB_BITS 64
#else
#define SRPMM_LIMB_BITS 32
#endif
#endif

#if SRPMM_LIMB_BITS == 64
typedef uint64_t srpmm_limb_t;
typedef unsigned __int128 srpmm_dlimb_t;
#elif SRPMM_LIMB_BITS == 32
typedef uint32_t srpmm_limb_t;
typedef uint64_t srpmm_dlimb_t;
#else
#error "SRPMM_LIMB_BITS must be 32 or 64"
#endif

/* Largest window; the table then holds 2^5 entries of the modulus' size. */
#define SRPMM_MAX_WINDOW 5

/* -n0^-1 mod 2^SRPMM_LIMB_BITS, for odd n0. */
srpmm_limb_t srpmm_ninv(srpmm_limb_t n0);

/* d = a * b / R mod n  (R = 2^(SRPMM_LIMB_BITS * len)); a, b < n; n odd.
 * d may alias a or b; t is scratch of len + 1 limbs. */
void srpmm_mul(srpmm_limb_t *d, const srpmm_limb_t *a, const srpmm_limb_t *b,
    const srpmm_limb_t *n, srpmm_limb_t ninv, size_t len, srpmm_limb_t *t);

/* d = a * a / R mod n; a < n; d may alias a; t is scratch of 2*len + 1 limbs. */
void srpmm_sqr(srpmm_limb_t *d, const srpmm_limb_t *a, const srpmm_limb_t *n,
    srpmm_limb_t ninv, size_t len, srpmm_limb_t *t);

/* Window width used for an exponent of elen limbs. */
unsigned srpmm_window(size_t elen);

/* Scratch limbs srpmm_modpow needs for a len-limb modulus and window w. */
size_t srpmm_scratch_limbs(size_t len, unsigned w);

/* x = x^e mod n.  x < n on entry (len limbs); e has elen limbs (elen may be
 * 0); rr = R^2 mod n.  scratch: srpmm_scratch_limbs(len, w) limbs. */
void srpmm_modpow(srpmm_limb_t *x, const srpmm_limb_t *e, size_t elen,
    const srpmm_limb_t *n, srpmm_limb_t ninv, const srpmm_limb_t *rr,
    size_t len, unsigned w, srpmm_limb_t *scratch);

#endif
