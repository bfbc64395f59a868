"""Compute modexp cases with one backend, for tests/test_modexp.py to check.

Usage: micropython test_modexp_cases.py BACKEND CASEFILE
  BACKEND   c, viper or pow (srptls.modexp.select), or c-mbedtls (the C
            module's mbedTLS engine, srpmodexp.Context(N, MBEDTLS))
  CASEFILE  one case per line: "N BASE EXP" in hex (BASE may start with -)
Prints "backend NAME" and then one line per case: the result in hex.  The
checking happens in CPython against its pow, so the reference is not the
interpreter under test.
"""
import sys

from srptls import modexp

name, path = sys.argv[1], sys.argv[2]
if name == "c-mbedtls":
    import srpmodexp
    _engines = {}

    def compute(n, base, exp):
        ctx = _engines.get(n)
        if ctx is None:
            ctx = _engines[n] = srpmodexp.Context(n, srpmodexp.MBEDTLS)
        return ctx.pow(base, exp)
else:
    modexp.select(name)

    def compute(n, base, exp):
        return modexp.context(n).pow(base, exp)
print("backend", name)

with open(path) as f:
    for line in f:
        n, base, exp = line.split()
        print("%x" % compute(int(n, 16), int(base, 16), int(exp, 16)))
