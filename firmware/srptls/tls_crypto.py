"""Symmetric crypto for the TLS engine: SHA, HMAC, the TLS 1.2 PRF, AES-CBC.

Runs under MicroPython (hashlib + cryptolib.aes, mode 2 = CBC) and under
CPython (hashlib + the `cryptography` package for AES), so the very same
engine is tested on the host and runs on the device.  HMAC is written here
because MicroPython has no hmac module; it is the plain RFC 2104
construction.

Must not: keep keys beyond the objects the engine owns, or compare secrets
with `==` (use ct_equal).
"""
import hashlib

try:
    import cryptolib as _cryptolib   # MicroPython
    _Cipher = None
except ImportError:                  # CPython: tests, fuzzing, host tools
    _cryptolib = None
    from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
    from cryptography.hazmat.primitives.ciphers import algorithms as _alg
    from cryptography.hazmat.primitives.ciphers import modes as _modes

sha1 = hashlib.sha1
sha256 = hashlib.sha256
BLOCK = 16            # AES block size
_HASH_BLOCK = 64      # SHA-1 and SHA-256 block size (HMAC key padding)
_IPAD = int.from_bytes(b"\x36" * _HASH_BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _HASH_BLOCK, "big")


class HMAC:
    """HMAC with a fixed key; mac(*parts) returns the tag of the concatenation.

    The padded keys are computed once per key, since the record layer MACs
    every record with the same key.  (MicroPython hash objects cannot be
    copied, so the inner/outer states cannot be cached, only the pads.)
    """

    def __init__(self, key, hashfn):
        if len(key) > _HASH_BLOCK:
            key = hashfn(key).digest()
        # XOR as one integer operation (a byte loop costs ~10 us per key in
        # MicroPython, and the PRF makes a key per call).  The leading 0x01
        # fixes the integer's length whatever the key's first bytes are, so
        # the time does not depend on the key.
        k = int.from_bytes(b"\x01" + bytes(key) + bytes(_HASH_BLOCK - len(key)), "big")
        self._ipad = (k ^ _IPAD).to_bytes(_HASH_BLOCK + 1, "big")[1:]
        self._opad = (k ^ _OPAD).to_bytes(_HASH_BLOCK + 1, "big")[1:]
        self._hash = hashfn

    def mac(self, *parts):
        h = self._hash(self._ipad)
        for p in parts:
            h.update(p)
        inner = h.digest()
        h = self._hash(self._opad)
        h.update(inner)
        return h.digest()


def hmac_sha256(key, *parts):
    return HMAC(key, sha256).mac(*parts)


def prf(secret, label, seed, length):
    """TLS 1.2 PRF (RFC 5246 section 5): P_SHA256(secret, label + seed)."""
    h = HMAC(secret, sha256)
    seed = label + seed
    out = bytearray()
    a = seed
    while len(out) < length:
        a = h.mac(a)
        out.extend(h.mac(a, seed))
    return bytes(out[:length])


def ct_equal(a, b):
    """Compare two byte strings in time that depends only on their lengths."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


if _cryptolib is not None:
    def cbc_encrypt_inplace(key, iv, buf):
        """Encrypt buf (writable buffer, multiple of 16 bytes) in place."""
        _cryptolib.aes(key, 2, iv).encrypt(buf, buf)

    def cbc_decrypt_inplace(key, iv, buf):
        """Decrypt buf (writable buffer, multiple of 16 bytes) in place."""
        _cryptolib.aes(key, 2, iv).decrypt(buf, buf)
else:
    def cbc_encrypt_inplace(key, iv, buf):
        enc = _Cipher(_alg.AES(bytes(key)), _modes.CBC(bytes(iv))).encryptor()
        buf[:] = enc.update(bytes(buf)) + enc.finalize()

    def cbc_decrypt_inplace(key, iv, buf):
        dec = _Cipher(_alg.AES(bytes(key)), _modes.CBC(bytes(iv))).decryptor()
        buf[:] = dec.update(bytes(buf)) + dec.finalize()
