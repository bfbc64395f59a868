"""Label passwords (host_tools.password): entropy, alphabet, check symbol, uniqueness."""
import math
import random
import secrets
from collections import Counter

import pytest

from host_tools import password as pw

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def symbols(p):
    return p.replace("-", "")


def test_format_and_alphabet():
    for _ in range(2000):
        p = pw.generate()
        groups = p.split("-")
        assert [len(g) for g in groups] == [4] * 5
        assert set(symbols(p)) <= set(ALPHABET)
        assert not set(symbols(p)) & set("ILOU")
        assert pw.check(p) == p


def test_entropy_at_least_80_bits():
    # 19 free symbols of 5 bits, keeping only the 32 of 37 check residues
    # that have a symbol; weak rejects measured below remove almost nothing.
    bits = pw.DATA_SYMBOLS * 5 + math.log2(32 / pw.PRIME)
    assert bits > 94.7
    rejected = sum(pw.is_weak("".join(secrets.choice(ALPHABET) for _ in range(20)))
                   for _ in range(20000))
    # Rejecting a fraction f costs -log2(1-f) bits.
    f = rejected / 20000
    assert f < 0.01
    assert bits + math.log2(1 - f) >= 80
    assert pw.ENTROPY_BITS <= bits + math.log2(1 - max(f, 1e-9))


def test_symbols_uniform():
    # Chi-square over 200k symbols (31 degrees of freedom): a biased generator
    # (say, modulo bias) would blow far past 80; a fair one sits near 31.
    counts = Counter()
    for _ in range(10000):
        counts.update(symbols(pw.generate())[:19])
    n = sum(counts.values())
    exp = n / 32
    chi2 = sum((counts[c] - exp) ** 2 / exp for c in ALPHABET)
    assert chi2 < 80, chi2


def test_check_math_exhaustive():
    """The proof in the module docstring, checked over every case it covers:
    every position and every pair of distinct symbol values, for a single
    substitution and for a swap of two adjacent (indeed any two) positions."""
    # The module's own constants, so that changing them (a modulus of 31, a
    # longer password) fails here instead of quietly voiding the proof.
    n, q = pw.LENGTH, pw.PRIME
    assert len(pw.ALPHABET) == 32
    for i in range(1, n + 1):
        for a in range(32):
            for b in range(32):
                if a != b:
                    assert (i * (b - a)) % q != 0
                    for j in range(i + 1, n + 1):
                        assert ((j - i) * (a - b)) % q != 0


def test_every_single_substitution_caught():
    rng = random.Random(secrets.randbits(64))
    for _ in range(300):
        p = pw.generate()
        s = list(symbols(p))
        for pos in range(20):
            for c in ALPHABET:
                if c == s[pos]:
                    continue
                t = s.copy()
                t[pos] = c
                with pytest.raises(ValueError, match="check symbol"):
                    pw.check("".join(t))
        # and a typo'd symbol outside the alphabet is named
        t = s.copy()
        t[rng.randrange(20)] = "U"
        with pytest.raises(ValueError, match="not in the label alphabet"):
            pw.check("".join(t))


def test_every_adjacent_swap_caught():
    for _ in range(2000):
        s = list(symbols(pw.generate()))
        for pos in range(19):
            if s[pos] == s[pos + 1]:
                continue
            t = s.copy()
            t[pos], t[pos + 1] = t[pos + 1], t[pos]
            with pytest.raises(ValueError, match="check symbol"):
                pw.check("".join(t))


def test_normalization():
    p = pw.generate()
    assert pw.check(p.lower()) == p
    assert pw.check(symbols(p)) == p
    assert pw.check(" ".join(p.split("-"))) == p
    # Crockford aliases: O -> 0, I/L -> 1
    aliased = p.replace("0", "O").replace("1", "l")
    assert pw.check(aliased) == p


def test_wrong_length_rejected():
    p = symbols(pw.generate())
    for bad in (p[:-1], p + "0", "", "ABCD"):
        with pytest.raises(ValueError, match="expected 20 symbols"):
            pw.check(bad)


def test_weak_detection():
    good = pw.generate()
    assert not pw.is_weak(good)
    assert pw.is_weak("AAAA-" + good[5:])            # run of four equal
    assert pw.is_weak("0123-" + good[5:])            # ascending run
    assert pw.is_weak("DCBA-" + good[5:])            # descending run
    assert pw.is_weak("ABAB-ABAB-ABAB-ABAB-ABAB")    # few distinct symbols


def test_no_duplicates_in_100000():
    seen = set()
    for _ in range(100000):
        seen.add(pw.generate())
    assert len(seen) == 100000
