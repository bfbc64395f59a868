"""SRP-6a mathematics as RFC 5054 uses it (TLS-SRP), for the device and the host tools.

One source of truth for the groups and formulas: the device's TLS server and
the host tools (verifier generation, test clients) import this same module,
so it runs unchanged under MicroPython and CPython.  That rules out
int.bit_length() and length-less int.to_bytes(); lengths come from
shifts and a trial to_bytes instead (see i2b).

What it does: the seven RFC 5054 Appendix A groups, k, x, v, u, the server's
B and S, the client's A and S (for tests and host tools), PAD() and the
premaster secret encoding.  The hash is SHA-1, as RFC 5054 specifies.
Exponentiations go through srptls.modexp, so the server's secret exponent b
is handled by a constant-time backend when one is available.

The group constants live in srptls/srp_groups.py (RFC 5054 Appendix A,
verbatim); group() loads the one it needs and unloads the table.

What it must not do: any I/O, logging, or keeping a password.  Callers pass
the password as bytes and drop it; nothing here stores it.
"""
import hashlib
import os
import sys

from srptls import modexp

GROUP_BITS = (1024, 1536, 2048, 3072, 4096, 6144, 8192)

# Private exponents: RFC 5054 section 2.5.3 asks for at least 256 bits.
PRIVATE_BYTES = 32

_cache = {}


class Group:
    """One RFC 5054 group with its derived constants, built once per process.

    N, g: the group; bits: size of N; nbytes: length of PAD() output;
    n_bytes: N big-endian (what TLS sends); k = H(N | PAD(g)) (SRP-6a).
    """

    def __init__(self, bits, g, n):
        self.bits = bits
        self.g = g
        self.N = n
        self.nbytes = (bits + 7) // 8   # each RFC 5054 N has exactly `bits` bits
        self.n_bytes = n.to_bytes(self.nbytes, "big")
        self.g_bytes = i2b(g)
        self.k = b2i(_sha1(self.n_bytes, pad(self, g)))

    def __repr__(self):
        return "<srp.Group %d>" % self.bits


def group(bits):
    """The RFC 5054 group of `bits` bits (1024 ... 8192); ValueError otherwise."""
    grp = _cache.get(bits)
    if grp is None:
        entry = _load(bits)
        if entry is None:
            raise ValueError("no RFC 5054 group of %r bits (have %s)" % (
                bits, ", ".join(str(b) for b in GROUP_BITS)))
        g, text = entry
        grp = _cache[bits] = Group(bits, g, int("".join(text.split()), 16))
    return grp


def _load(bits):
    """(g, hex text of N) from srptls.srp_groups, which is then unloaded.

    Unloaded on MicroPython only, where the heap is small and there are no
    threads.  On the host, threads (a factory batch flashes several boards
    at once) may be importing it at this very moment: unloading it under
    them made their import fail (tests/test_srp.py checks this).
    """
    from srptls import srp_groups
    if sys.implementation.name != "micropython":
        return srp_groups.GROUPS.get(bits)
    try:
        return srp_groups.GROUPS.get(bits)
    finally:
        # the table is ~8 KB of text: let the GC reclaim it (device heap)
        sys.modules.pop("srptls.srp_groups", None)
        package = sys.modules.get("srptls")
        try:
            del package.srp_groups
        except AttributeError:
            pass


def group_for(n, g):
    """The known group with modulus n and generator g, or ValueError.

    A client must only accept the RFC 5054 groups (section 3.2.4); this is
    the check, without trusting any primality test.
    """
    for bits in GROUP_BITS:
        grp = group(bits)
        if grp.g == g and grp.N == n:
            return grp
    raise ValueError("unknown SRP group")


# --- integers <-> bytes (big-endian, as TLS and RFC 5054 use them) ---------

def i2b(x):
    """x >= 0 as big-endian bytes without leading zero bytes (0 -> b"\\x00").

    Not via a length from len("%x" % x): MicroPython formats big integers
    in quadratic time (about 0.3 ms for 2048 bits, several times per
    handshake).  Instead: a length n that fits, at most twice too long,
    found with shifts that mostly give 0 (which allocates nothing), one
    to_bytes, and the leading zero bytes cut.
    """
    if x < 0:
        raise ValueError("negative integer")
    n = 512
    while x >> (8 * n):
        n *= 2
    while n > 32 and not x >> (4 * n):   # fits in n // 2 bytes
        n //= 2
    return x.to_bytes(n, "big").lstrip(b"\x00") or b"\x00"


def b2i(data):
    """Big-endian bytes to a non-negative integer."""
    return int.from_bytes(data, "big")


def pad(grp, x):
    """PAD(x): x big-endian, left-padded with zeros to the length of N.

    ValueError when x does not fit (negative, or longer than N), so an
    oversized value from the peer is rejected instead of being truncated
    (MicroPython's to_bytes would silently drop the high bytes).
    """
    if x < 0 or x >> (8 * grp.nbytes):
        raise ValueError("value does not fit the group's length")
    return x.to_bytes(grp.nbytes, "big")


def _sha1(*parts):
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.digest()


# --- SRP-6a (RFC 5054 section 2.5, 2.6) -------------------------------------

def compute_x(salt, user_bytes, password_bytes):
    """x = SHA1(s | SHA1(I | ":" | P))."""
    return b2i(_sha1(salt, _sha1(user_bytes, b":", password_bytes)))


def make_verifier(grp, user_bytes, password_bytes, salt):
    """v = g^x % N: what the device stores instead of the password."""
    return modexp.pow_mod(grp.g, compute_x(salt, user_bytes, password_bytes), grp.N)


def compute_u(grp, A, B):
    """u = SHA1(PAD(A) | PAD(B))."""
    return b2i(_sha1(pad(grp, A), pad(grp, B)))


def random_private(grp):
    """A fresh secret exponent (a or b) of PRIVATE_BYTES random bytes, never 0."""
    while True:
        x = b2i(os.urandom(PRIVATE_BYTES))
        if x:
            return x


def server_public(grp, v, b):
    """B = (k*v + g^b) % N."""
    return (grp.k * v + modexp.pow_mod(grp.g, b, grp.N)) % grp.N


def check_public(grp, value):
    """ValueError if a peer's public value (A or B) is 0 mod N (RFC 5054 2.5.4, 2.5.3)."""
    if value % grp.N == 0:
        raise ValueError("SRP public value is 0 mod N")


def server_secret(grp, A, v, u, b):
    """S = (A * v^u) ^ b % N; ValueError if A % N == 0 (a forged A fixes S)."""
    check_public(grp, A)
    n = grp.N
    ctx = modexp.context(n)
    return ctx.pow(A * ctx.pow(v, u) % n, b)


def client_public(grp, a):
    """A = g^a % N (client side: host tools and tests)."""
    return modexp.pow_mod(grp.g, a, grp.N)


def client_secret(grp, B, x, u, a):
    """S = (B - k * g^x) ^ (a + u * x) % N; ValueError if B % N == 0."""
    check_public(grp, B)
    n = grp.N
    ctx = modexp.context(n)
    return ctx.pow((B - grp.k * ctx.pow(grp.g, x)) % n, a + u * x)


def premaster(S):
    """The TLS premaster secret: S big-endian with leading zero bytes removed (RFC 5054 2.6)."""
    return i2b(S)
