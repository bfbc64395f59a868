"""Modular exponentiation behind one function (placeholder: built-in pow).

Interface every layer above uses:
    ctx = context(N)        # per-modulus constants, computed once and cached
    ctx.pow(base, exp)      # base**exp mod N
    pow_mod(base, exp, N)   # same, through the cached context
    backend()               # name of the active backend: "c", "viper" or "pow"
    select(name)            # force a backend by name (tests, benchmarks)
"""
_contexts = {}
_backend = "pow"


class _PowContext:
    def __init__(self, n):
        self.n = n

    def pow(self, base, exp):
        return pow(base, exp, self.n)


def backend():
    return _backend


def select(name):
    global _backend
    if name != "pow":
        raise ValueError("unknown modexp backend: %s" % name)
    _backend = name
    _contexts.clear()


def context(n):
    ctx = _contexts.get(n)
    if ctx is None:
        ctx = _contexts[n] = _PowContext(n)
    return ctx


def pow_mod(base, exp, n):
    return context(n).pow(base, exp)
