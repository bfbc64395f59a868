"""Runs tests/mp/test_tls_engine_mp.py under the MicroPython unix builds.

A smoke test of the engine on the device's interpreter (cryptolib AES,
hashlib, the modexp backends, ticks_ms); the peer is the scripted client,
so interoperability is proven elsewhere (test_tls_engine.py with tlslite-ng,
the interop tests with curl, openssl and gnutls-cli).
"""
import re

import pytest

import mpy

SCRIPT = mpy.MP_TESTS / "test_tls_engine_mp.py"


@pytest.mark.parametrize("build,bits,backend", [
    ("64", 2048, None),
    ("32", 3072, "c"),
])
def test_engine_under_micropython(build, bits, backend):
    args = [bits] + ([backend] if backend else [])
    proc = mpy.run(SCRIPT, *args, build=build)
    out = proc.stdout
    assert "FAIL" not in out and re.search(r"ran=\d+ failed=0", out), out
    stats = dict(re.findall(r"(\w+_ms|engine_bytes)=(\d+)", out))
    # the engine's idle footprint stays small (receive buffer grows on demand)
    assert int(stats["engine_bytes"]) < 8192, out
