"""Modular exponentiation behind one function, with the fastest safe backend.

Interface every layer above uses:
    ctx = context(N)        # per-modulus constants, computed once and cached
    ctx.pow(base, exp)      # base**exp mod N (base any int, exp >= 0)
    pow_mod(base, exp, N)   # same, through the cached context
    backend()               # name of the active backend: "c", "viper" or "pow"
    select(name)            # force a backend by name (tests, benchmarks)
    available()             # backends this interpreter can run

Backends, in the order the automatic choice tries them (decided by
measurement on the unix builds, see README "Benchmark: modexp"; 2048-bit N,
256-bit exponent):
    "c"      the srpmodexp C module (firmware/cmodules): constant-time
             Montgomery, ~28x fewer instructions than built-in pow on the
             64-bit build and ~10x on the 32-bit one.  Only in firmware
             built with our module.
    "viper"  Montgomery in @micropython.viper (srptls.modexp_viper), for
             stock firmware: ~2x fewer instructions than pow on the 32-bit
             build (the ESP32 proxy) and still ~1.6x on the 64-bit one, so
             it precedes pow on every word size.
    "pow"    the built-in three-argument pow: always there, but py/mpz.c
             branches on the exponent's bits, so its time leaks them.
The "c" and "viper" backends run in time independent of the exponent's
value (fixed window, always multiply, masked table reads).

All backends agree on every input, including 0 ** 0 == 1 (MicroPython's own
pow(0, 0, N) returns 0; CPython's returns 1).
"""
# A device uses one group, host tools a few; the cache is bounded because a
# context can hold kilobytes of tables (viper) and moduli may come from tests.
MAX_CONTEXTS = 4
_contexts = {}


class _PowContext:
    """The built-in pow, with the edge cases every backend shares."""

    def __init__(self, n):
        self.n = n

    def pow(self, base, exp):
        if exp < 0:
            raise ValueError("negative exponent")
        if exp == 0:
            return 1 % self.n
        return pow(base, exp, self.n)


class _ViperContext:
    """srptls.modexp_viper, fed the reduced base it expects."""

    def __init__(self, n):
        self.n = n
        self._ctx = _viper_type(n)

    def pow(self, base, exp):
        if exp < 0:
            raise ValueError("negative exponent")
        return self._ctx.pow(base % self.n, exp)


def _c_factory():
    import srpmodexp
    return srpmodexp.Context


def _viper_factory():
    global _viper_type
    from srptls.modexp_viper import ViperContext
    _viper_type = ViperContext
    return _ViperContext


_viper_type = None
_FACTORIES = {"c": _c_factory, "viper": _viper_factory, "pow": lambda: _PowContext}


def _try(name):
    try:
        return _FACTORIES[name]()
    except (ImportError, SyntaxError, NotImplementedError, MemoryError):
        # ImportError: module absent (no C module, no viper under CPython);
        # SyntaxError/NotImplementedError: an emitter the port lacks;
        # MemoryError: no room to load it -- pow still works, and backend()
        # shows the choice.
        return None


def available():
    """Names of the backends this interpreter can run, fastest first."""
    return [n for n in ("c", "viper", "pow") if _try(n) is not None]


# Fastest first, by measurement; the same on 32- and 64-bit word machines.
AUTOMATIC_ORDER = ("c", "viper", "pow")


def automatic_order():
    """The order select() tries when no backend is named (documented in README)."""
    return AUTOMATIC_ORDER


def backend():
    """Name of the active backend: "c", "viper" or "pow"."""
    return _backend


def select(name=None):
    """Force backend `name`, or pick automatically when name is None.

    ValueError if the name is unknown or the backend cannot run here.  The
    context cache is cleared, so later context() calls use the new backend.
    """
    global _backend, _factory
    if name is None:
        for candidate in automatic_order():
            factory = _try(candidate)
            if factory is not None:
                name = candidate
                break
    elif name not in _FACTORIES:
        raise ValueError("unknown modexp backend: %r" % (name,))
    else:
        factory = _try(name)
        if factory is None:
            raise ValueError("modexp backend %r is not available here" % (name,))
    _backend = name
    _factory = factory
    _contexts.clear()
    return name


def context(n):
    """The cached context for modulus n (odd, > 1) of the active backend."""
    ctx = _contexts.get(n)
    if ctx is None:
        if n < 3 or n % 2 == 0:
            raise ValueError("modulus must be odd and > 1")
        if len(_contexts) >= MAX_CONTEXTS:
            _contexts.clear()
        ctx = _contexts[n] = _factory(n)
    return ctx


def pow_mod(base, exp, n):
    return context(n).pow(base, exp)


_backend = None
_factory = None
select()
