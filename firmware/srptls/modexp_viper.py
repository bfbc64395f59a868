"""Constant-time modular exponentiation in MicroPython viper (stock firmware).

The `viper` backend of srptls.modexp: Montgomery multiplication with a
fixed-window exponentiation, written for 32-bit viper integers (ESP32 and
ESP32-C3), so it also runs, unchanged, on 64-bit builds.  Under CPython the
import fails with ImportError (no `micropython` module); srptls.modexp relies
on that to skip this backend.

    ctx = ViperContext(n)       # per-modulus constants, computed once
    ctx.pow(base, exp)          # == pow(base, exp, n): any int base, exp >= 0

Number representation (why it looks like this):
  * Limbs of 14 bits in 32-bit words.  Viper has no 32x32->64 multiply, so
    a product of two limbs must fit in 32 bits, and sums of them must too.
    The Montgomery product is computed column by column (product scanning):
    the inner loop is just load, load, multiply, add, unrolled 16 times,
    after which the high part of the accumulator moves to a second word.
    No store and no carry handling per product: viper keeps only the first
    2-3 locals in registers, so every extra variable or store in the inner
    loop costs spills.  (15-bit limbs need a carry fold every 4 products;
    12-bit ones need more products; both measured slower.)
  * R = 2**(14*n) > 4N, so Montgomery products of inputs < 2N stay < 2N
    without the data-dependent final subtraction (Walter's bound); only the
    very last conversion out of Montgomery form subtracts, with a mask.
  * Squarings sum the products x_i*x_j (i < j) once and double them, so a
    squaring costs 3/4 of a multiplication.

Side channels (BearSSL's i31_modpow2 is the model): the exponent is
processed in fixed windows of `win` bits; every window does `win` squarings
and one multiplication (also by the table entry for 0); the table entry is
read by scanning every entry through a mask, so memory accesses and control
flow depend only on the modulus size and on the exponent's length rounded
up to 32 bits, never on exponent bits.  Bits are extracted inside viper, so
no secret value becomes a Python object.  The base is reduced with Python's
`%` (variable time; the base is public in SRP).

Memory: a workspace of 4 numbers plus padding, and a window table of 2**win
entries of n words (2048-bit modulus: n = 147; win = 4 for exponents up to
512 bits: 16 * 147 * 4 bytes = 9.4 KB), allocated once per context; about
15 KB per 2048-bit context in all.  Compiling this file needs ~80 KB of
free heap (the unrolled kernels); a device should load the .mpy.

Measurements and what was tried: README, "Viper Montgomery backend".
"""
import micropython
from micropython import const

# Layout of the per-context workspace: one array of 32-bit words, a header
# followed by the numbers.  Kernels get the workspace's address and find
# every buffer at a fixed word offset from it (addresses do not fit in 32-bit
# words on 64-bit builds; offsets do).
_N_LIMBS = const(0)    # n
_W = const(1)          # limb width in bits
_MASK = const(2)       # 2**w - 1
_N0 = const(3)         # -N**-1 mod 2**w
_X = const(4)          # offset: accumulator (n words), product written in place
_Y = const(5)          # offset: second operand (n words)
_M = const(6)          # offset: Montgomery quotient digits m_i (n words)
_NL = const(7)         # offset: modulus limbs (n words)
_EBITS = const(8)      # exponent length in bits (multiple of 32)
_WIN = const(9)        # window width in bits
_HDR_WORDS = const(10)
_LIMB_BITS = const(14)  # the kernels hard-code it (shifts by 14, masks 0x3FFF)
_PAD = const(8)         # zero words around each number (>= 7, see _mont_mul)
# _LONG_LOOPS: loops with long bodies are written `while True: if ...: break`
# because the xtensa emitter's conditional branch reaches only 2 KB back
# ("ERROR: xtensa bccz out of range"); an unconditional jump reaches further.


@micropython.viper
def _addr(buf: ptr8) -> uint:
    return uint(buf)


@micropython.viper
def _unpack(dst: ptr32, src: ptr8, nbytes: int, nlimbs: int, w: int):
    """Big-endian bytes -> little-endian w-bit limbs (zero-filled)."""
    mask = (1 << w) - 1
    acc = 0
    bits = 0
    k = 0
    i = nbytes - 1
    while i >= 0:
        acc = acc | (src[i] << bits)
        bits += 8
        i -= 1
        if bits >= w:  # depends on counters only, never on data
            dst[k] = acc & mask
            k += 1
            acc = int(uint(acc) >> w)
            bits -= w
    while k < nlimbs:
        dst[k] = acc & mask
        acc = 0
        k += 1


@micropython.viper
def _pack(dst: ptr8, src: ptr32, nbytes: int, nlimbs: int, w: int):
    """Little-endian w-bit limbs -> big-endian bytes (value must fit)."""
    acc = 0
    bits = 0
    k = 0
    i = nbytes - 1
    while i >= 0:
        if bits < 8:
            if k < nlimbs:
                acc = acc | (src[k] << bits)
                k += 1
            bits += w
        dst[i] = acc & 255
        acc = int(uint(acc) >> 8)
        bits -= 8
        i -= 1


@micropython.viper
def _mont_mul(pa: uint, acc: int):
    """X = X * Y / R mod N (result < 2N), written over X.

    pa: address of the workspace; acc: unused.  Product scanning: column k
    sums x_i*y_(k-i) + m_i*N_(k-i).  pa, acc and pb are the inner loop's
    variables and the first three locals, because viper keeps only the
    first locals in registers (2 in .mpy files, 3 when compiled on the
    device).  Each inner iteration adds 16 products of 14-bit limbs to acc
    (< 2**19 on entry): at most 16*(2**14-1)**2 + 2**19-17 < 2**32 as an
    unsigned word; then it moves acc's high part to hi.  Column sums are
    rounded up to whole blocks of 8 terms (one 8-term block, then 16-term
    ones); the surplus terms multiply by the zero padding around the
    numbers.
    """
    pb = uint(0)
    ctl = ptr32(pa)
    n = ctl[_N_LIMBS]
    n0 = ctl[_N0]
    xa = pa + uint(ctl[_X] << 2)
    ya = pa + uint(ctl[_Y] << 2)
    ma = pa + uint(ctl[_M] << 2)
    na = pa + uint(ctl[_NL] << 2)
    x = ptr32(xa)
    m = ptr32(ma)
    n_0 = ptr32(na)[0]
    n2 = 2 * n
    xend = xa + uint(n << 2)
    mend = ma + uint(n << 2)
    carry = 0
    # columns 0..n-1: i runs over 0..k (x*y) and 0..k-1 (m*N); the surplus
    # low terms read the zero padding below X and M
    k = 0
    while True:  # long body: see _LONG_LOOPS
        if k >= n:
            break
        acc = 0
        hi = 0
        nb = ((k + 8) >> 3) << 5  # bytes in whole 8-term blocks
        pe = xa + uint((k + 1) << 2)
        pa = pe - uint(nb)
        pb = ya + uint(nb - 64)
        if nb & 32:  # an odd number of 8-term blocks: one here
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 32
            pb -= 32
        while pa < pe:
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
            acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
            acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
            acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
            acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
            acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
            acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
            acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 64
            pb -= 64
        nb = ((k + 7) >> 3) << 5  # m_i * N_(k-i), i < k (m_k is not known yet)
        pe = ma + uint(k << 2)
        pa = pe - uint(nb)
        pb = na + uint(nb - 60)
        if nb & 32:  # an odd number of 8-term blocks: one here
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 32
            pb -= 32
        while pa < pe:
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
            acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
            acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
            acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
            acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
            acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
            acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
            acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 64
            pb -= 64
        # m_k makes the column divisible by 2**14
        acc = acc + carry
        mk = ((acc & 0x3FFF) * n0) & 0x3FFF
        m[k] = mk
        acc = mk * n_0 + acc
        carry = int(uint(acc) >> 14) + hi
        k += 1
    # columns n..2n-2: i runs over k-n+1..n-1; the extra low terms meet the
    # zero padding above Y and N (X's low digits are already output there)
    while True:  # long body: see _LONG_LOOPS
        if k >= n2 - 1:
            break
        acc = 0
        hi = 0
        nb = ((n2 + 6 - k) >> 3) << 5
        off = uint(((k - n) << 2) + nb - 60)
        pe = xend
        pa = pe - uint(nb)
        pb = ya + off
        if nb & 32:  # an odd number of 8-term blocks: one here
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 32
            pb -= 32
        while pa < pe:
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
            acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
            acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
            acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
            acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
            acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
            acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
            acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 64
            pb -= 64
        pe = mend
        pa = pe - uint(nb)
        pb = na + off
        if nb & 32:  # an odd number of 8-term blocks: one here
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 32
            pb -= 32
        while pa < pe:
            acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
            acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
            acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
            acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
            acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
            acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
            acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
            acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
            acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
            acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
            acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
            acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
            acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
            acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
            acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
            acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            pa += 64
            pb -= 64
        acc = acc + carry
        x[k - n] = acc & 0x3FFF  # x_(k-n) is not read by later columns
        carry = int(uint(acc) >> 14) + hi
        k += 1
    x[n - 1] = carry


@micropython.viper
def _mont_sqr(pa: uint, acc: int):
    """X = X * X / R mod N (result < 2N), written over X; done `acc` times.

    As _mont_mul, but the x_i*x_j products with i < j are summed once and
    doubled: a squaring costs 3/4 of a multiplication.
    """
    pb = uint(0)  # third local: a register too (before `times`)
    times = acc
    ctl = ptr32(pa)
    n = ctl[_N_LIMBS]
    n0 = ctl[_N0]
    xa = pa + uint(ctl[_X] << 2)
    ma = pa + uint(ctl[_M] << 2)
    na = pa + uint(ctl[_NL] << 2)
    x = ptr32(xa)
    m = ptr32(ma)
    n_0 = ptr32(na)[0]
    n2 = 2 * n
    mend = ma + uint(n << 2)
    while True:  # long body: see _LONG_LOOPS
        if times <= 0:
            break
        times -= 1
        carry = 0
        k = 0
        while True:  # long body: see _LONG_LOOPS
            if k >= n:
                break
            acc = 0
            hi = 0
            h = (k + 1) >> 1  # i runs over 0..h-1 (i < k - i)
            nb = ((h + 7) >> 3) << 5
            pe = xa + uint(h << 2)
            pa = pe - uint(nb)
            pb = xa + uint(((k - h) << 2) + nb - 60)
            if nb & 32:  # an odd number of 8-term blocks: one here
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 32
                pb -= 32
            while pa < pe:
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
                acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
                acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
                acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
                acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
                acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
                acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
                acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 64
                pb -= 64
            acc = acc + acc  # the half sum counts twice
            hi = hi + hi
            nb = ((k + 7) >> 3) << 5
            pe = ma + uint(k << 2)
            pa = pe - uint(nb)
            pb = na + uint(nb - 60)
            if nb & 32:  # an odd number of 8-term blocks: one here
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 32
                pb -= 32
            while pa < pe:
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
                acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
                acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
                acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
                acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
                acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
                acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
                acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 64
                pb -= 64
            acc = acc + carry  # carry < 2**25, d*d < 2**28: no overflow
            if (k & 1) == 0:
                d = x[k >> 1]
                acc = d * d + acc
            mk = ((acc & 0x3FFF) * n0) & 0x3FFF
            m[k] = mk
            acc = mk * n_0 + acc
            carry = int(uint(acc) >> 14) + hi
            k += 1
        while True:  # long body: see _LONG_LOOPS
            if k >= n2 - 1:
                break
            acc = 0
            hi = 0
            h = (k + 1) >> 1  # i runs over k-n+1..h-1
            nb = ((h + n + 6 - k) >> 3) << 5
            pe = xa + uint(h << 2)
            pa = pe - uint(nb)
            pb = xa + uint(((k - h) << 2) + nb - 60)
            if nb & 32:  # an odd number of 8-term blocks: one here
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 32
                pb -= 32
            while pa < pe:
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
                acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
                acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
                acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
                acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
                acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
                acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
                acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 64
                pb -= 64
            acc = acc + acc  # the half sum counts twice
            hi = hi + hi
            nb = ((n2 + 6 - k) >> 3) << 5
            pe = mend
            pa = pe - uint(nb)
            pb = na + uint(((k - n) << 2) + nb - 60)
            if nb & 32:  # an odd number of 8-term blocks: one here
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 32
                pb -= 32
            while pa < pe:
                acc = ptr32(pa)[0] * ptr32(pb)[15] + acc
                acc = ptr32(pa)[1] * ptr32(pb)[14] + acc
                acc = ptr32(pa)[2] * ptr32(pb)[13] + acc
                acc = ptr32(pa)[3] * ptr32(pb)[12] + acc
                acc = ptr32(pa)[4] * ptr32(pb)[11] + acc
                acc = ptr32(pa)[5] * ptr32(pb)[10] + acc
                acc = ptr32(pa)[6] * ptr32(pb)[9] + acc
                acc = ptr32(pa)[7] * ptr32(pb)[8] + acc
                acc = ptr32(pa)[8] * ptr32(pb)[7] + acc
                acc = ptr32(pa)[9] * ptr32(pb)[6] + acc
                acc = ptr32(pa)[10] * ptr32(pb)[5] + acc
                acc = ptr32(pa)[11] * ptr32(pb)[4] + acc
                acc = ptr32(pa)[12] * ptr32(pb)[3] + acc
                acc = ptr32(pa)[13] * ptr32(pb)[2] + acc
                acc = ptr32(pa)[14] * ptr32(pb)[1] + acc
                acc = ptr32(pa)[15] * ptr32(pb)[0] + acc
                hi = int(uint(acc) >> 14) + hi
                acc = acc & 0x3FFF
                pa += 64
                pb -= 64
            acc = acc + carry  # carry < 2**25, d*d < 2**28: no overflow
            if (k & 1) == 0:
                d = x[k >> 1]
                acc = d * d + acc
            x[k - n] = acc & 0x3FFF
            carry = int(uint(acc) >> 14) + hi
            k += 1
        x[n - 1] = carry


@micropython.viper
def _select(ctl: ptr32, tab: ptr32, e: ptr8, pos: int):
    """Y = table[v], v = the `win` exponent bits starting at bit `pos`
    (counted from the most significant end).  Every table entry is read;
    the wanted one is kept through a mask, so the memory access pattern and
    the time do not depend on v."""
    q = uint(0)  # the copy loop's pointers first: they get the registers
    p = uint(tab)
    n = ctl[_N_LIMBS]
    ebits = ctl[_EBITS]
    win = ctl[_WIN]
    v = 0
    b = 0
    while b < win:
        bp = pos + b
        bit = 0
        if bp >= 0 and bp < ebits:  # bits above the top are zero (public)
            bit = (e[bp >> 3] >> (7 - (bp & 7))) & 1
        v = (v << 1) | bit
        b += 1
    ya = uint(ctl) + uint(ctl[_Y] << 2)
    ye = ya + uint(n << 2)
    q = ya
    while q < ye:
        ptr32(q)[0] = 0
        q += 4
    t = 0
    cnt = 1 << win
    while t < cnt:
        keep = ((t ^ v) - 1) >> 31  # all ones when t == v, else 0
        q = ya
        while q < ye:
            ptr32(q)[0] = ptr32(q)[0] | (ptr32(p)[0] & keep)
            q += 4
            p += 4
        t += 1


@micropython.viper
def _sub_if_ge(x: ptr32, nl: ptr32, n: int, w: int):
    """X = X - N if X >= N, else X; without a data-dependent branch."""
    mask = (1 << w) - 1
    # first pass: borrow of X - N
    borrow = 0
    j = 0
    while j < n:
        d = x[j] - nl[j] - borrow
        borrow = (d >> 31) & 1
        j += 1
    keep = borrow - 1  # all ones when X >= N (no borrow)
    borrow = 0
    j = 0
    while j < n:
        d = x[j] - (nl[j] & keep) - borrow
        borrow = (d >> 31) & 1
        x[j] = d & mask
        j += 1


def _hexlen(x):
    # MicroPython ints have no bit_length(); the hex digit count is enough
    return len("%x" % x)


class ViperContext:
    """Per-modulus constants and buffers; pow() reuses them."""

    def __init__(self, n):
        if n < 3 or not n & 1:
            raise ValueError("modulus must be odd and >= 3")
        bits = 4 * _hexlen(n)  # upper bound on the bit length
        w = _LIMB_BITS
        nl = (bits + 2 + w - 1) // w  # R = 2**(w*nl) > 4N
        self.n = n
        self.nlimbs = nl
        self.w = w
        self.nbytes = (bits + 7) // 8
        mask = (1 << w) - 1
        # n0' = -N^-1 mod 2^w by Newton iteration (each step doubles the bits)
        inv = 1
        for _ in range(5):
            inv = (inv * (2 - n * inv)) & mask
        r = 1 << (w * nl)
        self.r2 = self._limbs((r * r) % n)
        self.one = self._limbs(r % n)  # Montgomery form of 1
        # workspace: header, then X, Y, M, N with zero padding around each
        # (the unrolled inner loops run over whole blocks of 8 terms; the
        # surplus terms read padding and add zero)
        pad = _PAD
        ws = self.ws = bytearray(4 * (_HDR_WORDS + 5 * pad + 4 * nl))
        xo = _HDR_WORDS + pad
        hdr = ((_N_LIMBS, nl), (_W, w), (_MASK, mask), (_N0, (-inv) & mask),
               (_X, xo), (_Y, xo + nl + pad), (_M, xo + 2 * (nl + pad)),
               (_NL, xo + 3 * (nl + pad)))
        for idx, value in hdr:
            self._set(idx, value)
        mv = memoryview(ws)
        nb = 4 * nl
        self.x = mv[4 * xo:4 * xo + nb]
        self.y = mv[4 * (xo + nl + pad):4 * (xo + nl + pad) + nb]
        no = 4 * (xo + 3 * (nl + pad))
        self.nl = mv[no:no + nb]
        self.nl[:] = self._limbs(n)
        self.tab = None
        self.win = 0

    def _set(self, idx, value):
        self.ws[4 * idx:4 * idx + 4] = value.to_bytes(4, "little")

    def _limbs(self, value):
        buf = bytearray(4 * self.nlimbs)
        _unpack(buf, value.to_bytes(self.nbytes, "big"), self.nbytes, self.nlimbs, self.w)
        return buf

    def _table(self, win):
        if win != self.win:
            self.tab = None  # free the old one before allocating
            self.tab = bytearray((4 * self.nlimbs) << win)
            self.win = win
            self._set(_WIN, win)
        return self.tab

    def pow(self, base, exp):
        """base**exp mod n for any int base and exp >= 0 (exp 0 gives 1).

        Time depends on n's size and exp's length rounded up to 32 bits.
        """
        if exp < 0:
            raise ValueError("negative exponent")
        if base < 0 or base >= self.n:
            base %= self.n
        # the exponent's length is public only up to 32-bit granularity
        ebytes = (_hexlen(exp) + 7) // 8 * 4
        win = 4 if ebytes <= 64 else 5
        eb = exp.to_bytes(ebytes, "big")
        self._set(_EBITS, 8 * ebytes)
        nb = 4 * self.nlimbs
        tabbuf = self._table(win)
        tab = memoryview(tabbuf)
        x, y, ws = self.x, self.y, self.ws
        wsa = _addr(ws)
        mul, sqr, select = _mont_mul, _mont_sqr, _select
        # table[i] = base**i * R mod N (table[0] = R mod N, Montgomery 1)
        tab[0:nb] = self.one
        x[:] = self._limbs(base)
        y[:] = self.r2
        mul(wsa, 0)
        tab[nb:2 * nb] = x
        y[:] = x
        for i in range(2, 1 << win):
            if i & 1:
                x[:] = tab[(i - 1) * nb:i * nb]
                mul(wsa, 0)  # Y is table[1]
            else:
                x[:] = tab[(i >> 1) * nb:((i >> 1) + 1) * nb]
                sqr(wsa, 1)  # cheaper than a multiplication
            tab[i * nb:(i + 1) * nb] = x
        # fixed windows from the most significant end; the top window is
        # padded with zero bits above the exponent's (rounded) length
        ebits = 8 * ebytes
        nwin = (ebits + win - 1) // win
        pos = ebits - nwin * win
        select(ws, tabbuf, eb, pos)
        x[:] = y
        for _ in range(nwin - 1):
            pos += win
            sqr(wsa, win)
            select(ws, tabbuf, eb, pos)
            mul(wsa, 0)
        # out of Montgomery form: X * 1 / R (<= N), then reduce below N
        y[:] = bytes(nb)
        y[0] = 1
        mul(wsa, 0)
        _sub_if_ge(x, self.nl, self.nlimbs, self.w)
        out = bytearray(self.nbytes)
        _pack(out, x, self.nbytes, self.nlimbs, self.w)
        return int.from_bytes(out, "big")
