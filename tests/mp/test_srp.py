"""SRP-6a tests run by MicroPython (64- and 32-bit builds) and by CPython.

RFC 5054 Appendix B test vectors, a full client/server exchange with a fresh
random password, the premaster encoding and the input checks.  The script
uses only what both interpreters have, so the very same assertions run on
the device's interpreter and on the host's.

Usage: micropython test_srp.py [BACKEND]   (BACKEND: c, viper or pow; the
automatic choice when absent)
"""
import os
import sys

import mptest
from srptls import modexp, srp


def h(text):
    return int("".join(text.split()), 16)


# RFC 5054 Appendix B (SHA-1, 1024-bit group).  I and P are the RFC's
# published test inputs, not a credential of any device; the round-trip
# tests below generate their passwords at run time.
I = b"alice"
P = b"password123"
SALT = bytes.fromhex("BEB25379D1A8581EB5A727673A2441EE")
K = h("7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F")
X = h("94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124")
V = h("""
    7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812
    9BADA1F1 822223CA 1A605B53 0E379BA4 729FDC59 F105B478 7E5186F5
    C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5
    EA53D15C 1AFF87B2 B9DA6E04 E058AD51 CC72BFC9 033B564E 26480D78
    E955A5E2 9E7AB245 DB2BE315 E2099AFB""")
A_PRIV = h("60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393")
B_PRIV = h("E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20")
A_PUB = h("""
    61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4
    4352E890 3211C046 92272D8B 2D1A5358 A2CF1B6E 0BFCF99F 921530EC
    8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03 E1327F44
    BE087EF0 6530E69F 66615261 EEF54073 CA11CF58 58F0EDFD FE15EFEA
    B349EF5D 76988A36 72FAC47B 0769447B""")
B_PUB = h("""
    BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011
    BAF38964 DC46A067 0DD125B9 5A981652 236F99D9 B681CBF8 7837EC99
    6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE 7BD4FBAA
    37089E6F 9C6059F3 88838E7A 00030B33 1EB76840 910440B1 B27AAEAE
    EB4012B7 D7665238 A8E3FB00 4B117B58""")
U = h("CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019")
PREMASTER = h("""
    B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D
    233861E3 59B48220 F7C4693C 9AE12B0A 6F67809F 0876E2D0 13800D6C
    41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB 2AFAFA8F
    3499B200 210DCC1F 10EB3394 3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D
    C346D7E4 74B29EDE 8A469FFE CA686E5A""")


def expect_error(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%s did not raise %s" % (fn.__name__, exc.__name__))


def test_appendix_b_k_x_v():
    grp = srp.group(1024)
    assert grp.g == 2 and grp.nbytes == 128
    assert grp.k == K
    assert srp.compute_x(SALT, I, P) == X
    assert srp.make_verifier(grp, I, P, SALT) == V


def test_appendix_b_public_values_and_u():
    grp = srp.group(1024)
    assert srp.client_public(grp, A_PRIV) == A_PUB
    assert srp.server_public(grp, V, B_PRIV) == B_PUB
    assert srp.compute_u(grp, A_PUB, B_PUB) == U


def test_appendix_b_premaster_both_sides():
    grp = srp.group(1024)
    s_server = srp.server_secret(grp, A_PUB, V, U, B_PRIV)
    s_client = srp.client_secret(grp, B_PUB, X, U, A_PRIV)
    assert s_server == PREMASTER
    assert s_client == PREMASTER
    assert srp.premaster(s_server) == srp.i2b(PREMASTER)
    assert len(srp.premaster(s_server)) == 128


def test_every_group_loads():
    for bits in srp.GROUP_BITS:
        grp = srp.group(bits)
        assert grp.bits == bits
        assert grp.nbytes == bits // 8
        assert len(grp.n_bytes) == grp.nbytes and grp.n_bytes[0] >= 0x80
        assert grp.N % 2 == 1
        assert 0 < grp.k < grp.N
        assert srp.group(bits) is grp  # cached, constants computed once
        assert srp.group_for(grp.N, grp.g) is grp
    assert srp.group(3072).g == 5 and srp.group(8192).g == 19
    # the constants table is unloaded once parsed (device heap); CPython
    # keeps it, since host threads may be importing it (srp._load)
    if sys.implementation.name == "micropython":
        assert "srptls.srp_groups" not in sys.modules
    expect_error(ValueError, srp.group, 1000)
    expect_error(ValueError, srp.group_for, srp.group(2048).N, 5)


def test_random_password_round_trip():
    # A fresh password each run (never a fixture), full SRP-6a on both sides.
    for bits in (1024, 2048, 3072):
        grp = srp.group(bits)
        password = os.urandom(12)
        salt = os.urandom(16)
        v = srp.make_verifier(grp, b"admin", password, salt)
        a = srp.random_private(grp)
        b = srp.random_private(grp)
        A = srp.client_public(grp, a)
        B = srp.server_public(grp, v, b)
        u = srp.compute_u(grp, A, B)
        x = srp.compute_x(salt, b"admin", password)
        s_server = srp.server_secret(grp, A, v, u, b)
        assert s_server == srp.client_secret(grp, B, x, u, a)
        # A wrong password gives a different secret.
        wrong = srp.compute_x(salt, b"admin", password + b"x")
        assert srp.client_secret(grp, B, wrong, u, a) != s_server


def test_reject_A_zero_mod_N():
    grp = srp.group(2048)
    v = srp.make_verifier(grp, b"admin", os.urandom(8), os.urandom(16))
    b = srp.random_private(grp)
    for bad in (0, grp.N, 2 * grp.N):
        expect_error(ValueError, srp.server_secret, grp, bad, v, 1, b)
    expect_error(ValueError, srp.client_secret, grp, 0, 1, 1, 1)


def test_premaster_strips_leading_zero_bytes():
    grp = srp.group(1024)
    for S, want in ((0x01FF, b"\x01\xff"), (0x80, b"\x80"), (0x0100, b"\x01\x00")):
        assert srp.premaster(S) == want
    # S below 2^(8*(nbytes-3)): PAD would give three leading zero bytes,
    # the premaster must not.
    S = grp.N >> 24
    pm = srp.premaster(S)
    assert len(pm) == grp.nbytes - 3 and pm[0] != 0
    assert srp.b2i(pm) == S
    assert srp.pad(grp, S)[:3] == b"\x00\x00\x00"
    # A real exchange whose S happens to have a leading zero byte (about 1 in
    # 256 tries): search a bounded number of server exponents for one.
    a = 0x1234567
    A = srp.client_public(grp, a)
    v = V
    found = 0
    for i in range(1, 2000):
        b = i * 0x9E3779B97F4A7C15
        B = srp.server_public(grp, v, b)
        u = srp.compute_u(grp, A, B)
        S = srp.server_secret(grp, A, v, u, b)
        if S < (1 << (8 * (grp.nbytes - 1))):
            pm = srp.premaster(S)
            assert pm[0] != 0 and len(pm) < grp.nbytes
            assert srp.b2i(pm) == S
            assert S == srp.client_secret(grp, B, X, u, a)
            found += 1
            break
    assert found


def test_pad_and_conversions():
    grp = srp.group(1024)
    assert srp.pad(grp, 2) == b"\x00" * 127 + b"\x02"
    assert srp.pad(grp, grp.N - 1) == srp.i2b(grp.N - 1)
    expect_error(ValueError, srp.pad, grp, 1 << 1024)
    expect_error(ValueError, srp.pad, grp, -1)
    assert srp.i2b(0) == b"\x00"
    assert srp.i2b(255) == b"\xff" and srp.i2b(256) == b"\x01\x00"
    assert srp.b2i(b"\x00\x00\x01\x00") == 256
    # u from an oversized A is refused, not truncated
    expect_error(ValueError, srp.compute_u, grp, 1 << 1030, 5)


def test_random_private_size():
    grp = srp.group(2048)
    seen = set()
    for _ in range(8):
        b = srp.random_private(grp)
        assert 0 < b < (1 << 256)
        seen.add(b)
    assert len(seen) == 8
    # at least one of 8 draws has a top byte set (fails with prob. 2^-64)
    assert any(b >= (1 << 248) for b in seen)


if len(sys.argv) > 1:
    modexp.select(sys.argv[1])
print("backend", modexp.backend())
mptest.main(globals())
