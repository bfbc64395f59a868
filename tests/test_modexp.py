"""Every modexp backend against CPython's pow, under both MicroPython builds.

Each backend (c, viper, pow, and the C module's mbedTLS engine) computes the
same >= 1000 random cases spread over the 1024/2048/3072/4096-bit RFC 5054
groups plus random odd moduli, and the edge cases; CPython's pow is the
reference.  Also: the srptls.modexp unit tests under MicroPython, and an
instruction count (callgrind) showing the C code's work does not depend on
the exponent's value.
"""
import random
import re
import secrets
import shutil
import subprocess
import sys

import pytest

import mpy

sys.path.insert(0, str(mpy.FIRMWARE))
from srptls import modexp, srp  # noqa: E402

CASES_SCRIPT = mpy.MP_TESTS / "test_modexp_cases.py"
UNIT_SCRIPT = mpy.MP_TESTS / "test_modexp.py"
GROUP_MIX = (  # (group bits, cases, exponent bits: None = random 1..160)
    (1024, 550, None), (2048, 350, None), (3072, 60, 256), (4096, 40, 256))
RANDOM_MODULI = 100


def edge_cases():
    out = []
    for bits in (1024, 2048, 3072, 4096):
        n = srp.group(bits).N
        bases = [0, 1, 2, n - 1, n, n + 1, 2 * n + 3, n * n + 5, -1, -n - 2]
        exps = [0, 1, 2, 3, 1 << 255, (1 << 255) | 1, (1 << 256) - 1, (1 << 64) - 1, 1 << 64,
                1 << 32, 0xF << 252, 1 << 100 | 1 << 3]
        if bits > 2048:  # the same shapes, fewer of them: these are slow on pow
            bases, exps = bases[:5], exps[:7]
        out += [(n, b, e) for b in bases for e in exps]
    return out


def random_cases(rng):
    out = []
    for bits, count, ebits in GROUP_MIX:
        n = srp.group(bits).N
        for _ in range(count):
            # a base of N's size plus a few bits, so some are >= N
            base = rng.getrandbits(bits + 4)
            exp = rng.getrandbits(ebits or rng.randint(1, 160))
            out.append((n, base, exp))
    for _ in range(RANDOM_MODULI):
        n = rng.getrandbits(rng.randint(2, 1100)) | 1
        if n < 3:
            n = 3
        out.append((n, rng.getrandbits(rng.randint(1, 1200)), rng.getrandbits(rng.randint(0, 300))))
    return out


def reference(n, base, exp):
    return pow(base, exp, n)  # CPython: 0 ** 0 == 1, as our backends


def write_cases(path, cases):
    with open(path, "w") as f:
        for n, b, e in cases:
            f.write("%x %s %x\n" % (n, ("-%x" % -b) if b < 0 else "%x" % b, e))


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    seed = secrets.randbits(32)
    print("modexp random cases seed", seed)
    rng = random.Random(seed)
    all_cases = edge_cases() + random_cases(rng)
    path = tmp_path_factory.mktemp("modexp") / "cases.txt"
    write_cases(path, all_cases)
    return seed, path, all_cases


@pytest.mark.parametrize("build", ["64", "32"])
@pytest.mark.parametrize("backend", ["c", "c-mbedtls", "viper", "pow"])
def test_backend_equals_cpython_pow(build, backend, cases):
    seed, path, all_cases = cases
    assert sum(c for _, c, _ in GROUP_MIX) + RANDOM_MODULI >= 1000
    proc = mpy.run(CASES_SCRIPT, backend, path, build=build, timeout=900)
    lines = proc.stdout.split()
    assert lines[:2] == ["backend", backend]
    results = lines[2:]
    assert len(results) == len(all_cases)
    for (n, b, e), got in zip(all_cases, results):
        want = reference(n, b, e)
        assert int(got, 16) == want, (
            f"{backend} on build {build} (seed {seed}): pow({b:#x}, {e:#x}, {n:#x})")


def test_pow_backend_under_cpython(cases):
    seed, _, all_cases = cases
    modexp.select("pow")
    assert modexp.available() == ["pow"]  # no C module, no viper here
    for n, b, e in all_cases[:400]:
        assert modexp.pow_mod(b, e, n) == reference(n, b, e)


@pytest.mark.parametrize("build", ["64", "32"])
def test_modexp_units_under_micropython(build):
    proc = mpy.run(UNIT_SCRIPT, build=build, timeout=600)
    assert "FAIL" not in proc.stdout and "failed=0" in proc.stdout, proc.stdout


# --- constant time: instruction counts -------------------------------------

COUNT_SCRIPT = """
import srpmodexp
ctx = srpmodexp.Context({n})
ctx.pow({base}, {exp})
"""
COUNT_SCRIPT_POW = "pow({base}, {exp}, {n})"


def instructions_in(build, function, exp, base=0x1234567, script=COUNT_SCRIPT):
    """Instructions executed inside `function` for one modexp (callgrind)."""
    n = srp.group(2048).N
    code = script.format(n=n, base=base, exp=exp)
    # A missing tool is a failure, not a skip (tools/bootstrap installs it).
    assert shutil.which("valgrind"), "valgrind missing (tools/bootstrap installs it)"
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/stdout",
         f"--toggle-collect={function}", mpy.binary(build), "-c", code],
        capture_output=True, text=True, timeout=300, env=mpy.env())
    assert out.returncode == 0, out.stderr
    m = re.search(r"^(?:summary|totals): (\d+)", out.stdout, re.M)
    assert m, out.stdout[-2000:]
    return int(m.group(1))


@pytest.mark.parametrize("build", ["64", "32"])
def test_c_modpow_work_independent_of_exponent_value(build):
    # Same length (256 bits), very different bit patterns: all ones, a single
    # top bit, alternating, random.  Every count must be identical.
    exps = [(1 << 256) - 1, 1 << 255, int("10" * 128, 2), secrets.randbits(256) | 1 << 255]
    counts = {instructions_in(build, "srpmm_modpow", e) for e in exps}
    assert len(counts) == 1, counts
    # a real count (a missing symbol would give 0 for every exponent):
    # a 2048-bit modexp is millions of instructions
    assert min(counts) > 1_000_000, counts
    # ... and independent of the base too
    assert instructions_in(build, "srpmm_modpow", exps[0], base=srp.group(2048).N - 1) in counts


def test_instruction_count_method_sees_the_builtin_pow_leak():
    # Control for the test above: the same measurement on MicroPython's
    # built-in pow (py/mpz.c, mpz_pow3_inpl) separates an all-ones exponent
    # from a single-bit one, so equal counts for srpmm_modpow mean something.
    ones = instructions_in("64", "mpz_pow3_inpl", (1 << 256) - 1, script=COUNT_SCRIPT_POW)
    single = instructions_in("64", "mpz_pow3_inpl", 1 << 255, script=COUNT_SCRIPT_POW)
    assert single > 1_000_000
    assert ones > 1.5 * single, (ones, single)
