"""A deterministic stand-in for `os` in MicroPython test scripts: urandom only.

The bytes are a SHA-256 counter stream from a seed, so a run (a replayed
fuzz input, a benchmarked handshake) sees the same "random" values every
time.  Scripts assign it as the `os` of the engine's modules.
"""
import hashlib


class DetOS:
    def __init__(self, seed):
        self.seed = seed
        self.reset()

    def reset(self):
        self.ctr = 0
        self.buf = b""

    def urandom(self, n):
        while len(self.buf) < n:
            self.buf += hashlib.sha256(self.seed + self.ctr.to_bytes(8, "big")).digest()
            self.ctr += 1
        out = self.buf[:n]
        self.buf = self.buf[n:]
        return out
