/*
 * Constant-time Montgomery exponentiation; see montgomery.h for the contract.
 *
 * IMPLEMENTATION NOTES
 *
 * Multiplication is CIOS (coarsely integrated operand scanning) with the
 * multiply and the reduction fused in one inner loop: for each limb b[i],
 * t = (t + a*b[i] + m*n) / 2^W with m chosen so the low limb vanishes.  Two
 * carries (c1 for a*b[i], c2 for m*n) keep every partial sum inside one
 * double limb: (2^W-1) + (2^W-1)^2 + (2^W-1) = 2^2W - 1.  With a, b < n the
 * sum stays below 2n, so one masked subtraction at the end reduces it.
 *
 * Exponentiation scans the exponent from the top in fixed windows of w
 * bits.  The window positions depend only on the exponent's length; each
 * window costs w squarings, one table read that touches every entry (a
 * mask selects the wanted one) and one multiplication -- by R mod n, the
 * Montgomery form of 1, when the window is zero.  So the sequence of
 * operations and memory addresses is the same for every exponent of a given
 * length.
 */
#include <string.h>

#include "montgomery.h"

/* The ports build with -Os.  This file is the whole cost of the
 * exponentiations, and at -O2 its 32-bit-limb path (the ESP32 one) ran
 * ~1.5x faster on i386 and x86-64; with 64-bit limbs it made no measurable
 * difference. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif

#define W SRPMM_LIMB_BITS

srpmm_limb_t srpmm_ninv(srpmm_limb_t n0) {
    /* Newton's iteration y <- y*(2 - n0*y) doubles the number of correct
     * low bits; y = n0 is right to 3 bits for odd n0 (n0*n0 = 1 mod 8). */
    srpmm_limb_t y = n0;
    for (int i = 0; i < 5; i++) {
        y *= 2 - n0 * y;
    }
    return (srpmm_limb_t)0 - y;
}

void srpmm_mul(srpmm_limb_t *d, const srpmm_limb_t *a, const srpmm_limb_t *b,
    const srpmm_limb_t *n, srpmm_limb_t ninv, size_t len, srpmm_limb_t *t) {
    memset(t, 0, (len + 1) * sizeof(srpmm_limb_t));
    for (size_t i = 0; i < len; i++) {
        srpmm_limb_t bi = b[i];
        srpmm_dlimb_t u = (srpmm_dlimb_t)a[0] * bi + t[0];
        srpmm_limb_t m = (srpmm_limb_t)u * ninv;
        srpmm_dlimb_t v = (srpmm_dlimb_t)m * n[0] + (srpmm_limb_t)u;
        srpmm_limb_t c1 = (srpmm_limb_t)(u >> W);
        srpmm_limb_t c2 = (srpmm_limb_t)(v >> W);
        for (size_t j = 1; j < len; j++) {
            u = (srpmm_dlimb_t)a[j] * bi + t[j] + c1;
            c1 = (srpmm_limb_t)(u >> W);
            v = (srpmm_dlimb_t)m * n[j] + (srpmm_limb_t)u + c2;
            c2 = (srpmm_limb_t)(v >> W);
            t[j - 1] = (srpmm_limb_t)v;
        }
        u = (srpmm_dlimb_t)t[len] + c1 + c2;
        t[len - 1] = (srpmm_limb_t)u;
        t[len] = (srpmm_limb_t)(u >> W);
    }
    /* t < 2n: compute t - n, keep it when t >= n (top limb set, or no
     * borrow), chosen by a mask rather than a branch. */
    srpmm_limb_t borrow = 0;
    for (size_t j = 0; j < len; j++) {
        srpmm_dlimb_t s = (srpmm_dlimb_t)t[j] - n[j] - borrow;
        d[j] = (srpmm_limb_t)s;
        borrow = (srpmm_limb_t)(s >> W) & 1;
    }
    srpmm_limb_t take = (srpmm_limb_t)0 - (t[len] | (borrow ^ 1));
    for (size_t j = 0; j < len; j++) {
        d[j] = (d[j] & take) | (t[j] & ~take);
    }
}

/* Squaring: the product a*a has each cross term a[i]*a[j] twice, so compute
 * the cross terms once, double them with a shift, add the squares a[i]^2,
 * then reduce (separated operand scanning).  That is 1.5 len^2 instead of
 * 2 len^2 multiplications; squarings are ~80% of a modexp's work.  Every
 * loop bound depends on len only.  t is scratch of 2*len + 1 limbs. */
void srpmm_sqr(srpmm_limb_t *d, const srpmm_limb_t *a, const srpmm_limb_t *n,
    srpmm_limb_t ninv, size_t len, srpmm_limb_t *t) {
    memset(t, 0, (2 * len + 1) * sizeof(srpmm_limb_t));
    for (size_t i = 0; i + 1 < len; i++) {
        srpmm_limb_t ai = a[i];
        srpmm_limb_t c = 0;
        for (size_t j = i + 1; j < len; j++) {
            srpmm_dlimb_t u = (srpmm_dlimb_t)ai * a[j] + t[i + j] + c;
            t[i + j] = (srpmm_limb_t)u;
            c = (srpmm_limb_t)(u >> W);
        }
        t[i + len] = c;
    }
    srpmm_limb_t top = 0;
    for (size_t k = 0; k < 2 * len; k++) {
        srpmm_limb_t v = t[k];
        t[k] = (v << 1) | top;
        top = v >> (W - 1);
    }
    srpmm_limb_t c = 0;
    for (size_t i = 0; i < len; i++) {
        srpmm_dlimb_t u = (srpmm_dlimb_t)a[i] * a[i] + t[2 * i] + c;
        t[2 * i] = (srpmm_limb_t)u;
        u = (srpmm_dlimb_t)t[2 * i + 1] + (srpmm_limb_t)(u >> W);
        t[2 * i + 1] = (srpmm_limb_t)u;
        c = (srpmm_limb_t)(u >> W);
    }
    /* Montgomery reduction of the 2*len-limb square: add m*n*2^(W*i) to
     * clear limb i, for each i; the carry out of the top goes to `hi`. */
    srpmm_limb_t hi = 0;
    for (size_t i = 0; i < len; i++) {
        srpmm_limb_t m = t[i] * ninv;
        srpmm_limb_t cc = 0;
        for (size_t j = 0; j < len; j++) {
            srpmm_dlimb_t u = (srpmm_dlimb_t)m * n[j] + t[i + j] + cc;
            t[i + j] = (srpmm_limb_t)u;
            cc = (srpmm_limb_t)(u >> W);
        }
        srpmm_dlimb_t u = (srpmm_dlimb_t)t[i + len] + cc + hi;
        t[i + len] = (srpmm_limb_t)u;
        hi = (srpmm_limb_t)(u >> W);
    }
    /* the result t[len .. 2len) + hi*R is < 2n: one masked subtraction */
    srpmm_limb_t *r = t + len;
    srpmm_limb_t borrow = 0;
    for (size_t j = 0; j < len; j++) {
        srpmm_dlimb_t s = (srpmm_dlimb_t)r[j] - n[j] - borrow;
        d[j] = (srpmm_limb_t)s;
        borrow = (srpmm_limb_t)(s >> W) & 1;
    }
    srpmm_limb_t take = (srpmm_limb_t)0 - (hi | (borrow ^ 1));
    for (size_t j = 0; j < len; j++) {
        d[j] = (d[j] & take) | (r[j] & ~take);
    }
}

unsigned srpmm_window(size_t elen) {
    /* Cost in multiplications for b exponent bits: b + b/w + 2^w - 2.
     * w = 4 is best up to ~600 bits (SRP's 256-bit secrets), 5 beyond. */
    return elen * W <= 512 ? 4 : SRPMM_MAX_WINDOW;
}

size_t srpmm_scratch_limbs(size_t len, unsigned w) {
    return ((size_t)1 << w) * len /* table */ + 2 * len /* acc, sel */ + 2 * len + 1 /* t */;
}

/* Bits [pos, pos + w) of e; the position is public, the value secret. */
static unsigned window_bits(const srpmm_limb_t *e, size_t elen, size_t pos, unsigned w) {
    size_t li = pos / W;
    unsigned sh = pos % W;
    srpmm_limb_t v = e[li] >> sh;
    if (sh + w > W && li + 1 < elen) {
        v |= e[li + 1] << (W - sh);
    }
    return (unsigned)v & ((1u << w) - 1);
}

/* d = table[idx], reading every entry: all-ones mask for the match. */
static void lookup(srpmm_limb_t *d, const srpmm_limb_t *table, size_t count,
    size_t len, unsigned idx) {
    memset(d, 0, len * sizeof(srpmm_limb_t));
    for (size_t k = 0; k < count; k++) {
        uint32_t x = (uint32_t)k ^ idx;
        /* (x | -x) has its top bit set iff x != 0 */
        srpmm_limb_t mask = (srpmm_limb_t)(((x | (0u - x)) >> 31) ^ 1);
        mask = (srpmm_limb_t)0 - mask;
        const srpmm_limb_t *row = table + k * len;
        for (size_t j = 0; j < len; j++) {
            d[j] |= row[j] & mask;
        }
    }
}

void srpmm_modpow(srpmm_limb_t *x, const srpmm_limb_t *e, size_t elen,
    const srpmm_limb_t *n, srpmm_limb_t ninv, const srpmm_limb_t *rr,
    size_t len, unsigned w, srpmm_limb_t *scratch) {
    size_t count = (size_t)1 << w;
    srpmm_limb_t *table = scratch;
    srpmm_limb_t *acc = table + count * len;
    srpmm_limb_t *sel = acc + len;
    srpmm_limb_t *t = sel + len;

    /* table[k] = x^k * R mod n; table[0] = R mod n = mont(rr, 1). */
    memset(sel, 0, len * sizeof(srpmm_limb_t));
    sel[0] = 1;
    srpmm_mul(table, rr, sel, n, ninv, len, t);
    srpmm_mul(table + len, x, rr, n, ninv, len, t);
    for (size_t k = 2; k < count; k++) {
        srpmm_mul(table + k * len, table + (k - 1) * len, table + len, n, ninv, len, t);
    }

    memcpy(acc, table, len * sizeof(srpmm_limb_t));
    size_t windows = (elen * W + w - 1) / w;
    for (size_t i = windows; i-- > 0;) {
        if (i + 1 < windows) {
            for (unsigned s = 0; s < w; s++) {
                srpmm_sqr(acc, acc, n, ninv, len, t);
            }
        }
        lookup(sel, table, count, len, window_bits(e, elen, i * w, w));
        srpmm_mul(acc, acc, sel, n, ninv, len, t);
    }

    /* Leave Montgomery form: x = acc * 1 / R. */
    memset(sel, 0, len * sizeof(srpmm_limb_t));
    sel[0] = 1;
    srpmm_mul(x, acc, sel, n, ninv, len, t);
}
