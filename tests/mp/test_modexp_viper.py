"""srptls.modexp_viper against the interpreter's built-in pow (MicroPython).

Run by tests/test_modexp_viper.py on the 64- and the 32-bit unix builds.
  micropython test_modexp_viper.py          source module, full set:
        edge cases + 1000 random cases over the RFC 5054 1024/2048/3072/4096
        groups + random odd moduli of every size class
  micropython test_modexp_viper.py mpy      the module compiled by mpy-cross
        (top-level modexp_viper.mpy on the path), a reduced set
The built-in pow (py/mpz.c) shares no code with the viper kernels, so it is
an independent reference.  Its one deviation, pow(0, 0, N) == 0, is not
used: every exponent-0 case expects 1.  A failure prints N, base and exp in
hex so the case can be replayed.
"""
import os
import sys

import mptest

MPY = "mpy" in sys.argv[1:]
if MPY:
    import modexp_viper as mv
else:
    from srptls import modexp_viper as mv
from srptls import srp

GROUPS = (1024, 2048, 3072, 4096)
# (group bits, random cases); 1000 in all in the full run
RANDOM_MIX = ((1024, 500), (2048, 300), (3072, 120), (4096, 80))
if MPY:
    GROUPS = (2048,)
    RANDOM_MIX = ((1024, 60), (2048, 40))
_contexts = {}
GROUP_MODULI = [srp.group(bits).N for bits in (1024, 2048, 3072, 4096)]


def rand_bits(bits):
    """A random integer below 2**bits (os.urandom; MicroPython has no getrandbits
    for big numbers)."""
    if bits <= 0:
        return 0
    nbytes = (bits + 7) // 8
    return int.from_bytes(os.urandom(nbytes), "big") >> (8 * nbytes - bits)


def rand_below(limit):
    return rand_bits(8) % limit if limit < 200 else rand_bits(16) % limit


def ctx_for(n):
    """Contexts are reused (as srptls.modexp does) for the group moduli only:
    each holds a window table, and the random moduli are many."""
    ctx = _contexts.get(n)
    if ctx is None:
        ctx = mv.ViperContext(n)
        if n in GROUP_MODULI:
            _contexts[n] = ctx
    return ctx


def expected(base, exp, n):
    if exp == 0:
        return 1  # n >= 3 here; MicroPython's pow(0, 0, n) would say 0
    return pow(base % n, exp, n)


def check(n, base, exp):
    got = ctx_for(n).pow(base, exp)
    want = expected(base, exp, n)
    if got != want:
        raise AssertionError("mismatch: N=%x base=%x exp=%x got=%x want=%x"
                             % (n, base, exp, got, want))


def test_module_kind():
    # the mpy run must not silently test the source file
    name = getattr(mv, "__file__", "")
    if MPY:
        assert name.endswith(".mpy"), name
    else:
        assert name.endswith(".py"), name


def test_edge_cases_rfc5054_groups():
    count = 0
    for bits in GROUPS:
        n = srp.group(bits).N
        bases = [0, 1, 2, n - 1, n, n + 1, 2 * n + 3, n * n + 5, rand_bits(bits + 40),
                 -1, -n - 2]
        exps = [0, 1, 2, 3,
                1 << 255, (1 << 255) | 1, (1 << 256) - 1,   # top bit of a 32-bit word set
                (1 << 32) - 1, 1 << 32, 1 << 31,            # around the 32-bit length steps
                0xF << 252, (1 << 100) | (1 << 3),          # leading zero bits
                rand_bits(200) << 56,                       # trailing zero bits
                0x0000FFFF, 0x00FF00FF00FF00FF]
        if bits > 2048:  # the same shapes, fewer of them (pow is slow here)
            bases, exps = bases[:6] + bases[-2:], exps[:8] + exps[-3:]
        for b in bases:
            for e in exps:
                check(n, b, e)
                count += 1
        if bits <= 2048:  # full-size exponents (window 5); slow on pow
            for b in (n - 1, rand_bits(bits + 3)):
                for e in (n - 1, n + 12345, rand_bits(bits) | 1):
                    check(n, b, e)
    assert count >= 88 * len(GROUPS), count


def test_fermat_on_group_primes():
    # the RFC 5054 moduli are prime: x**(N-1) == 1 for x not divisible by N
    for bits in GROUPS[:2]:
        n = srp.group(bits).N
        for x in (2, 3, rand_bits(bits - 1) | 1):
            assert ctx_for(n).pow(x, n - 1) == 1


def test_random_cases_groups():
    total = 0
    for bits, count in RANDOM_MIX:
        n = srp.group(bits).N
        for i in range(count):
            base = rand_bits(bits + 4)  # some bases are >= N
            ebits = 1 + rand_below(160)
            if i % 40 == 0:
                ebits = 257 + rand_below(300)  # longer exponents: other window
            check(n, base, rand_bits(ebits))
            total += 1
    assert total == sum(c for _, c in RANDOM_MIX)
    print("random group cases:", total)


def test_random_odd_moduli_every_size():
    # every limb alignment: sizes 2..70 bits, then around multiples of the
    # 14-bit limb and of 8 (byte conversions) up to 1100 bits
    sizes = list(range(2, 71))
    for k in range(6, 80, 7 if MPY else 1):
        sizes += [14 * k - 3, 14 * k - 2, 14 * k - 1, 14 * k, 14 * k + 1]
    for bits in sizes:
        n = rand_bits(bits) | (1 << (bits - 1)) | 1
        if n < 3:
            n = 3
        for base, exp in ((rand_bits(bits + 3), rand_bits(1 + rand_below(300))),
                          (n - 1, 2), (rand_bits(bits), 1)):
            check(n, base, exp)


def test_small_moduli_exhaustive():
    for n in (3, 5, 7, 9, 15, 17, 255, 257, 65535, 65537):
        for base in range(0, 2 * n + 2 if n < 20 else 40):
            for exp in (0, 1, 2, 3, 5, 8, 31, 32, 33, 1000):
                check(n, base, exp)


def test_context_reuse_and_window_switch():
    n = srp.group(1024).N
    ctx = ctx_for(n)
    for exp in (rand_bits(256), rand_bits(1500), 7, rand_bits(600), 0, rand_bits(64)):
        base = rand_bits(1030)
        assert ctx.pow(base, exp) == expected(base, exp, n)
        assert ctx.pow(base, exp) == expected(base, exp, n)  # same again


def test_bad_input():
    for n in (0, 1, 2, 4, -7, 1 << 100):
        try:
            mv.ViperContext(n)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted modulus %d" % n)
    ctx = ctx_for(srp.group(1024).N)
    try:
        ctx.pow(2, -1)
    except ValueError:
        pass
    else:
        raise AssertionError("accepted a negative exponent")


mptest.main(globals())
