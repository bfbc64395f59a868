"""srptls.modexp behaviour under MicroPython (64- and 32-bit builds): backend
selection, the per-modulus cache, argument checks and the edge cases every
backend must agree on.  Value checks over many random cases live in
tests/test_modexp.py (checked against CPython's pow).

Usage: micropython test_modexp.py
"""
import sys

import mptest
from srptls import modexp, srp

N2048 = srp.group(2048).N


def expect_error(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%r did not raise %s" % (fn, exc.__name__))


def each_backend():
    for name in modexp.available():
        modexp.select(name)
        yield name
    modexp.select()


def test_automatic_choice_follows_documented_order():
    chosen = modexp.select()
    assert chosen == modexp.backend()
    first = [n for n in modexp.automatic_order() if n in modexp.available()][0]
    assert chosen == first
    # our unix builds carry the C module, so it is always the choice here
    assert chosen == "c"
    # measured: viper beats pow on both word sizes (README "Benchmark: modexp")
    assert modexp.automatic_order() == ("c", "viper", "pow")


def test_select_rejects_unknown_names():
    expect_error(ValueError, modexp.select, "gmp")
    assert modexp.backend() == "c"  # unchanged by the failed call


def test_every_backend_selectable():
    names = list(each_backend())
    assert "c" in names and "pow" in names
    for name in names:
        assert modexp.select(name) == name and modexp.backend() == name
    modexp.select()


def test_context_cached_per_modulus_and_cleared_on_select():
    modexp.select("c")
    ctx = modexp.context(N2048)
    assert modexp.context(N2048) is ctx
    assert modexp.context(srp.group(1024).N) is not ctx
    modexp.select("pow")
    assert modexp.context(N2048) is not ctx
    modexp.select()


def test_bad_arguments_every_backend():
    for name in each_backend():
        for bad_n in (0, 1, 2, 4, N2048 + 1, -N2048):
            expect_error(ValueError, modexp.context, bad_n)
        expect_error(ValueError, modexp.pow_mod, 2, -1, N2048)


def test_edge_cases_every_backend():
    n = N2048
    cases = [
        (0, 0, 1), (0, 1, 0), (0, 5, 0), (1, 0, 1), (1, 1 << 255, 1),
        (n - 1, 1, n - 1), (n - 1, 2, 1), (n - 1, 3, n - 1),
        (n, 7, 0), (n + 2, 1, 2), (2 * n + 3, 2, 9), (n * n + 5, 1, 5),
        (5, 0, 1), (5, 1, 5), (2, 10, 1024),
    ]
    for name in each_backend():
        for base, exp, want in cases:
            got = modexp.pow_mod(base, exp, n)
            assert got == want, (name, base, exp, got)
        # exponents with leading/trailing zero bits in a 256-bit frame
        for exp in (1 << 255, (1 << 255) | 1, (1 << 256) - 1, 1 << 64, (1 << 64) - 1,
                    1 << 32, 0x8000000000000000000000000000000000000000000000000000000000000001):
            assert modexp.pow_mod(3, exp, n) == pow(3, exp, n), (name, exp)


def test_small_and_odd_sized_moduli_every_backend():
    # limb boundaries: 1, 2 and 3 limbs of 16, 32 and 64 bits, +-1 bit
    moduli = [3, 5, 65537, (1 << 31) - 1, (1 << 61) - 1, (1 << 64) + 13,
              (1 << 89) - 1, (1 << 127) - 1, (1 << 521) - 1]
    for name in each_backend():
        for n in moduli:
            for base, exp in ((2, 10), (n - 2, (1 << 70) + 3), (7 * n + 4, 65537), (0, 3)):
                want = pow(base, exp, n)
                got = modexp.pow_mod(base, exp, n)
                assert got == want, (name, n, base, exp, got)


def test_results_are_plain_ints():
    for name in each_backend():
        r = modexp.pow_mod(2, 3, N2048)
        assert r == 8 and type(r) is int
        assert {r: 1}.get(8) == 1, name  # small results hash like small ints


def test_c_module_argument_checks():
    import srpmodexp
    ctx = srpmodexp.Context(N2048)
    expect_error(TypeError, srpmodexp.Context, "7")
    expect_error(TypeError, ctx.pow, 2.0, 3)
    expect_error(TypeError, ctx.pow, 2, "3")
    expect_error(ValueError, ctx.pow, 2, -3)
    expect_error(ValueError, srpmodexp.Context, (1 << 8193) + 1)   # > 8192 bits
    expect_error(ValueError, ctx.pow, 2, 1 << 8200)                 # exponent > 8192 bits
    expect_error(ValueError, srpmodexp.Context, N2048, 99)         # no such engine
    for bad in (-7, 0, 1, 2, 4, 1 << 100):
        expect_error(ValueError, srpmodexp.Context, bad)
    assert srpmodexp.Context((1 << 8192) - 1).pow(3, 5) == 243    # 8192 bits is fine
    assert srpmodexp.DEFAULT == srpmodexp.MONTGOMERY
    assert srpmodexp.LIMB_BITS == (64 if sys.maxsize > (1 << 32) else 32)


mptest.main(globals())
