"""SRP-6a (firmware/srptls/srp.py): RFC 5054 vectors and round trips under
MicroPython (64- and 32-bit builds, every modexp backend) and CPython, plus
host-side checks of the group constants and a cross-check with tlslite-ng.
"""
import os
import secrets
import subprocess
import sys
import threading

import gmpy2
import pytest

import mpy

SCRIPT = mpy.MP_TESTS / "test_srp.py"
sys.path.insert(0, str(mpy.FIRMWARE))
from srptls import srp  # noqa: E402


def assert_all_passed(out):
    assert "FAIL" not in out, out
    assert "failed=0" in out, out


@pytest.mark.parametrize("build,backend", [
    ("64", "c"), ("64", "pow"), ("64", "viper"), ("32", "c"), ("32", "pow"), ("32", "viper"),
])
def test_srp_under_micropython(build, backend):
    proc = mpy.run(SCRIPT, backend, build=build)
    assert ("backend %s" % backend) in proc.stdout
    assert_all_passed(proc.stdout)


def test_srp_automatic_backend_under_micropython_32_small_heap():
    # The device's heap is small: the whole suite (all seven groups, up to
    # 8192 bits) must fit in an ESP32-like heap.  Here the firmware is
    # compiled from source onto that heap, which the device never does (its
    # firmware is frozen: tests/test_memory.py, engine in 64 KB); at 96k
    # the run passed or failed with the length of the checkout's path
    # (heap layout), so 128k leaves room for that.
    proc = mpy.run(SCRIPT, build="32", heapsize="128k")
    assert_all_passed(proc.stdout)


def test_srp_under_cpython():
    env = dict(os.environ, PYTHONPATH=f"{mpy.FIRMWARE}{os.pathsep}{mpy.MP_TESTS}")
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "backend pow" in proc.stdout
    assert_all_passed(proc.stdout)


def test_groups_load_from_many_threads_at_once():
    """The factory batch provisions boards in parallel threads: concurrent
    first uses of srp.group() must all get their group (the lazy table
    used to be unloaded under a thread still importing it: ImportError)."""
    errors = []

    def one_round(n_threads=8):
        srp._cache.clear()
        barrier = threading.Barrier(n_threads)

        def work(bits):
            barrier.wait()
            try:
                assert srp.group(bits).bits == bits
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(srp.GROUP_BITS[i % len(srp.GROUP_BITS)],))
                   for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    for _ in range(100):
        one_round()
    assert not errors, (len(errors), errors[:3])


# --- host-side checks of the constants (CPython only: they need gmpy2) -----

RFC3526_OFFSETS = {3072: 1690314, 4096: 240904, 6144: 929484, 8192: 4743158}


@pytest.mark.parametrize("bits", srp.GROUP_BITS)
def test_group_is_a_safe_prime_with_a_generator(bits):
    grp = srp.group(bits)
    n = grp.N
    assert n.bit_length() == bits
    assert gmpy2.is_prime(n, 12) and gmpy2.is_prime((n - 1) // 2, 12)
    # g generates the whole group or the prime-order subgroup: g^2 != 1 and
    # g^q is +-1 -- never a small subgroup.
    q = (n - 1) // 2
    assert pow(grp.g, 2, n) != 1
    assert pow(grp.g, q, n) in (1, n - 1)


@pytest.mark.parametrize("bits", sorted(RFC3526_OFFSETS))
def test_large_groups_are_the_rfc3526_primes(bits):
    # RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + offset)
    ctx = gmpy2.get_context()
    saved = ctx.precision
    ctx.precision = bits + 64
    try:
        pi_part = int(gmpy2.floor(gmpy2.const_pi() * gmpy2.mpz(2) ** (bits - 130)))
    finally:
        ctx.precision = saved
    p = 2 ** bits - 2 ** (bits - 64) - 1 + 2 ** 64 * (pi_part + RFC3526_OFFSETS[bits])
    assert srp.group(bits).N == p


def test_groups_match_tlslite():
    from tlslite import mathtls
    theirs = {n.bit_length(): (g, n) for g, n in mathtls.goodGroupParameters[:7]}
    for bits in srp.GROUP_BITS:
        grp = srp.group(bits)
        assert theirs[bits] == (grp.g, grp.N)


@pytest.mark.parametrize("bits", [1024, 2048, 3072])
def test_cross_check_with_tlslite(bits):
    """Our verifier and server secret agree with tlslite-ng's client math."""
    from tlslite import mathtls
    from tlslite.utils.cryptomath import numberToByteArray
    grp = srp.group(bits)
    user = b"admin"
    password = secrets.token_bytes(12)  # generated here, never a fixture
    salt = secrets.token_bytes(16)
    v = srp.make_verifier(grp, user, password, salt)
    x = mathtls.makeX(salt, user, password)
    assert x == srp.compute_x(salt, user, password)
    assert v == pow(grp.g, x, grp.N)
    assert grp.k == mathtls.makeK(grp.N, grp.g)
    a, b = srp.random_private(grp), srp.random_private(grp)
    A = pow(grp.g, a, grp.N)
    B = srp.server_public(grp, v, b)
    u = srp.compute_u(grp, A, B)
    assert u == mathtls.makeU(grp.N, A, B)
    # the client's S as tlslite computes it in its SRP key exchange
    client_s = pow((B - grp.k * pow(grp.g, x, grp.N)) % grp.N, a + u * x, grp.N)
    assert srp.server_secret(grp, A, v, u, b) == client_s
    assert srp.premaster(client_s) == numberToByteArray(client_s)
