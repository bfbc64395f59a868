"""Constant-time modular exponentiation in MicroPython viper (stock firmware).

The `viper` backend of srptls.modexp: Montgomery multiplication with a
fixed-window exponentiation, written for 32-bit viper integers (ESP32 and
ESP32-C3), so it also runs, unchanged, on 64-bit builds.  Under CPython the
import fails with ImportError (no `micropython` module); srptls.modexp relies
on that to skip this backend.

    ctx = ViperContext(n)       # per-modulus constants, computed once
    ctx.pow(base, exp)          # == pow(base, exp, n), for any base >= 0

Number representation (why it looks like this):
  * Limbs of w = 12 bits (11 for moduli above ~2050 bits, 10 above ~11000)
    in 32-bit words.  Viper has no 32x32->64 multiply, so a product of two
    limbs must fit in 32 bits; with w <= 12 a whole column of up to n
    products also fits, so the Montgomery product is computed column by
    column (product scanning) with NO carry handling inside the inner loop:
    just load, load, multiply, add.  That inner loop is what viper compiles
    well (its locals live in at most 2-3 registers; every extra variable or
    store in a loop costs spills).
  * R = 2**(w*n) > 4N, so Montgomery products of inputs < 2N stay < 2N
    without the data-dependent final subtraction (Walter's bound); only the
    very last conversion out of Montgomery form subtracts, with a mask.
  * Squarings use the symmetry a_i*a_j == a_j*a_i: half the products.

Side channels (BearSSL's i31_modpow2 is the model): the exponent is
processed in fixed windows of `win` bits; every window does `win` squarings
and one multiplication (also by the table entry for 0); the table entry is
read by scanning every entry through a mask, so memory access and control
flow depend only on the modulus size and on the exponent's length rounded
up to 32 bits, never on exponent bits.  Bits are extracted inside viper, so
no secret value becomes a Python object.  The base is reduced with Python's
`%` (variable time; the base is public in SRP).

Memory: the window table holds 2**win entries of n words (2048-bit modulus,
win=4: 16 * 171 * 4 bytes = 11 KB), allocated once per context.
"""
import micropython

# Layout of the per-context workspace: one array of 32-bit words, a header
# followed by the numbers.  Kernels get the workspace's address and find
# every buffer at a fixed word offset from it (addresses do not fit in 32-bit
# words on 64-bit builds; offsets do).
_N_LIMBS = 0    # n
_W = 1          # limb width in bits
_MASK = 2       # 2**w - 1
_N0 = 3         # -N**-1 mod 2**w
_X = 4          # offset: accumulator (n words), product written in place
_Y = 5          # offset: second operand (n words)
_M = 6          # offset: Montgomery quotient digits m_i (n words)
_NL = 7         # offset: modulus limbs (n words)
_EBITS = 8      # exponent length in bits (multiple of 32)
_WIN = 9        # window width in bits
_HDR_WORDS = 10
_LIMB_BITS = 14  # the kernels hard-code it (shifts by 14, masks 0x3FFF)
_PAD = 16        # zero words around each number (>= unroll - 1)


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

    pa: address of the workspace (pb is unused).  Product scanning: column
    k sums x_i*y_(k-i) + m_i*N_(k-i).  The first three locals (pa, pb, acc)
    are the inner loop's variables, because viper keeps only the first
    locals in registers.  Each inner iteration adds 16 products of 14-bit
    limbs to acc (< 2**14 on entry): at most 16*(2**14-1)**2 + 2**14 - 1
    < 2**32; then it moves acc's high part to hi, so acc never overflows.
    """
    pb = uint(0)
    ctl = ptr32(pa)
    n = ctl[0]
    n0 = ctl[3]
    xa = pa + uint(ctl[4] << 2)
    ya = pa + uint(ctl[5] << 2)
    ma = pa + uint(ctl[6] << 2)
    na = pa + uint(ctl[7] << 2)
    x = ptr32(xa)
    m = ptr32(ma)
    n_0 = ptr32(na)[0]
    n2 = 2 * n
    xend = xa + uint(n << 2)
    mend = ma + uint(n << 2)
    carry = 0
    # columns 0..n-1: i runs over 0..k; rounded down to whole blocks of 8,
    # the extra low terms read the zero padding below X and M
    k = 0
    while True:  # (a long loop body: xtensa's conditional branches reach only 2 KB)
        if k >= n:
            break
        acc = carry & 0x3FFF
        hi = int(uint(carry) >> 14)
        nb = ((k + 16) >> 4) << 6  # bytes in whole blocks
        pe = xa + uint((k + 1) << 2)
        pa = pe - uint(nb)
        pb = ya + uint(nb - 64)
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
        nb = ((k + 15) >> 4) << 6  # m_i * N_(k-i), i < k (m_k is not known yet)
        pe = ma + uint(k << 2)
        pa = pe - uint(nb)
        pb = na + uint(nb - 60)
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
        mk = ((acc & 0x3FFF) * n0) & 0x3FFF
        m[k] = mk
        acc = mk * n_0 + acc
        carry = int(uint(acc) >> 14) + hi
        k += 1
    # columns n..2n-2: i runs over k-n+1..n-1; the extra low terms meet the
    # zero padding above Y and N (X's low digits are already output there)
    while True:  # (a long loop body: xtensa's conditional branches reach only 2 KB)
        if k >= n2 - 1:
            break
        acc = carry & 0x3FFF
        hi = int(uint(carry) >> 14)
        nb = ((n2 + 14 - k) >> 4) << 6
        off = uint(((k - n) << 2) + nb - 60)
        pe = xend
        pa = pe - uint(nb)
        pb = ya + off
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
        x[k - n] = acc & 0x3FFF  # x_(k-n) is not read by later columns
        carry = int(uint(acc) >> 14) + hi
        k += 1
    x[n - 1] = carry


@micropython.viper
def _mont_sqr(pa: uint, acc: int):
    """X = X * X / R mod N (result < 2N), written over X; done pb times.

    As _mont_mul, but the x_i*x_j products with i < j are summed once and
    doubled: a squaring costs 3/4 of a multiplication.
    """
    times = acc
    pb = uint(0)
    ctl = ptr32(pa)
    n = ctl[0]
    n0 = ctl[3]
    xa = pa + uint(ctl[4] << 2)
    ma = pa + uint(ctl[6] << 2)
    na = pa + uint(ctl[7] << 2)
    x = ptr32(xa)
    m = ptr32(ma)
    n_0 = ptr32(na)[0]
    n2 = 2 * n
    mend = ma + uint(n << 2)
    while True:  # (a long loop body: xtensa's conditional branches reach only 2 KB)
        if times <= 0:
            break
        times -= 1
        carry = 0
        k = 0
        while True:  # (a long loop body: xtensa's conditional branches reach only 2 KB)
            if k >= n:
                break
            acc = 0
            hi = 0
            h = (k + 1) >> 1  # i runs over 0..h-1 (i < k - i)
            nb = ((h + 15) >> 4) << 6
            pe = xa + uint(h << 2)
            pa = pe - uint(nb)
            pb = xa + uint(((k - h) << 2) + nb - 60)
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
            acc = acc + acc + (carry & 0x3FFF)
            hi = hi + hi + int(uint(carry) >> 14)
            if (k & 1) == 0:
                d = x[k >> 1]
                acc = d * d + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            nb = ((k + 15) >> 4) << 6
            pe = ma + uint(k << 2)
            pa = pe - uint(nb)
            pb = na + uint(nb - 60)
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
            mk = ((acc & 0x3FFF) * n0) & 0x3FFF
            m[k] = mk
            acc = mk * n_0 + acc
            carry = int(uint(acc) >> 14) + hi
            k += 1
        while True:  # (a long loop body: xtensa's conditional branches reach only 2 KB)
            if k >= n2 - 1:
                break
            acc = 0
            hi = 0
            h = (k + 1) >> 1  # i runs over k-n+1..h-1
            nb = ((h + n + 14 - k) >> 4) << 6
            pe = xa + uint(h << 2)
            pa = pe - uint(nb)
            pb = xa + uint(((k - h) << 2) + nb - 60)
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
            acc = acc + acc + (carry & 0x3FFF)
            hi = hi + hi + int(uint(carry) >> 14)
            if (k & 1) == 0:
                d = x[k >> 1]
                acc = d * d + acc
            hi = int(uint(acc) >> 14) + hi
            acc = acc & 0x3FFF
            nb = ((n2 + 14 - k) >> 4) << 6
            pe = mend
            pa = pe - uint(nb)
            pb = na + uint(((k - n) << 2) + nb - 60)
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
    n = ctl[0]
    ebits = ctl[8]
    win = ctl[9]
    v = 0
    b = 0
    while b < win:
        p = pos + b
        bit = 0
        if p >= 0 and p < ebits:  # bits above the top are zero (public)
            bit = (e[p >> 3] >> (7 - (p & 7))) & 1
        v = (v << 1) | bit
        b += 1
    y = ptr32(uint(ctl) + uint(ctl[5] << 2))
    cnt = 1 << win
    j = 0
    while j < n:
        y[j] = 0
        j += 1
    t = 0
    base = 0
    while t < cnt:
        keep = ((t ^ v) - 1) >> 31  # all ones when t == v, else 0
        j = 0
        while j < n:
            y[j] = y[j] | (tab[base + j] & keep)
            j += 1
        base += n
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
        self.unit = self._limbs(1)
        self.nl = self._limbs(n)
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
        mv[no:no + nb] = self.nl
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
            mul(wsa, 0)
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
        y[:] = self.unit
        mul(wsa, 0)
        _sub_if_ge(x, self.nl, self.nlimbs, self.w)
        out = bytearray(self.nbytes)
        _pack(out, x, self.nbytes, self.nlimbs, self.w)
        return int.from_bytes(out, "big")
