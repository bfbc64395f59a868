"""Memory: the server does a full handshake plus a 4 KB request/response in an ESP32-sized heap.

The issue's requirement: `micropython -X heapsize=64k`.  Two ways to load
the firmware, measured separately because they differ by the code's size:

- frozen (boards/sim/bin/micropython-frozen-32, -frozen): srptls and the
  server frozen into the binary, as the ESP32 custom firmware freezes them
  (boards/manifest_firmware.py): code runs from flash, only data is in the
  heap.  This is how the device runs, so the 64 KB requirement is asserted
  here.
- .mpy (`boards/sim/serve --mpy`): the modules loaded from .mpy files into
  the heap, as a stock MicroPython firmware would load them.  That costs
  the code's size on top; its smallest heap is measured, printed and held
  to a budget (README "Memory").

A stepped bisection (4 KB steps) finds the smallest heap that works and
prints `smallest_heap load=.. build=.. group=.. kb=..` (pytest -s shows it).
The 32-bit builds are the ESP32 proxy (4-byte pointers, 16-bit mpz digits).
"""
import os
import socket

import pytest
from tlslite import HandshakeSettings, TLSConnection

import mpy
import serverproc

BODY = 4096
TARGET_KB = 64                     # issue 3
# .mpy loading: measured 108-112 KB (32-bit) / 132-136 KB (64-bit); the
# budget catches growth, it is not the requirement.
MPY_BUDGET_KB = {"32": 128, "64": 152}


class FrozenServer(serverproc.SimServer):
    """sim_serve frozen into the binary: `micropython-frozen[-32] -m sim_serve`."""

    def command(self, port):
        cmd = [mpy.binary("frozen-" + self.build)]
        if self.heapsize:
            cmd += ["-X", "heapsize=" + self.heapsize]
        return cmd + ["-m", "sim_serve", "--port", str(port), "--user", self.user,
                      "--group", str(self.group)]

    def start(self):
        # Only frozen modules: nothing from the source tree may be imported.
        os.environ["MICROPYPATH"], saved = ".frozen", os.environ.get("MICROPYPATH")
        try:
            return super().start()
        finally:
            if saved is None:
                del os.environ["MICROPYPATH"]
            else:
                os.environ["MICROPYPATH"] = saved


@pytest.fixture(scope="module", autouse=True)
def frozen_build_is_current():
    """Rebuild the frozen binaries if the firmware changed since they were built.

    Their cache key covers the frozen sources, so this takes a few seconds
    when nothing changed and ~15 s when only the firmware did; without it a
    run with SRP_IOT_SKIP_SETUP=1 would measure yesterday's firmware.
    """
    mpy.ensure_frozen_build()


def serves_4k(kb, build, group, load):
    """Start the server with a heap of `kb` KB; (ok, log) for one 4 KB echo."""
    if load == "frozen":
        srv = FrozenServer(group=group, heapsize="%dk" % kb, build=build)
    else:
        srv = serverproc.SimServer(group=group, backend=None, heapsize="%dk" % kb,
                                   build=build, extra_args=["--mpy"])
    try:
        srv.start()
    except RuntimeError as e:
        return False, str(e)
    try:
        payload = os.urandom(BODY // 2).hex().encode()
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        conn = TLSConnection(sock)
        conn.handshakeClientSRP(srv.user, srv.password, settings=HandshakeSettings())
        conn.write(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        reply = b""
        while True:
            chunk = conn.read()
            if not chunk:
                break
            reply += chunk
        conn.close()
        ok = reply.startswith(b"HTTP/1.1 200") and reply.endswith(payload)
        return ok and srv.alive(), srv.stderr_text()
    except Exception as e:  # any failure means this heap is too small
        return False, "%r\n%s" % (e, srv.stderr_text())
    finally:
        srv.stop()


def smallest_kb(build, group, load, lo, hi):
    """Bisect in 4 KB steps; `hi` must work (asserted), `lo` is taken to fail."""
    ok, log = serves_4k(hi, build, group, load)
    assert ok, "even %d KB is not enough (%s, build %s):\n%s" % (hi, load, build, log[-1500:])
    lo, hi = lo // 4, hi // 4
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if serves_4k(mid * 4, build, group, load)[0]:
            hi = mid
        else:
            lo = mid
    print("smallest_heap load=%s build=%s group=%d kb=%d" % (load, build, group, hi * 4))
    return hi * 4


@pytest.mark.parametrize("build", ["32", "64"])
@pytest.mark.parametrize("group", [2048, 3072])
def test_frozen_full_handshake_and_4k_in_64k_heap(build, group):
    ok, log = serves_4k(TARGET_KB, build, group, "frozen")
    assert ok, "%d KB heap is not enough (frozen, build %s, group %d):\n%s" % (
        TARGET_KB, build, group, log[-1500:])


@pytest.mark.parametrize("build", ["32", "64"])
def test_frozen_smallest_heap(build):
    kb = smallest_kb(build, 3072, "frozen", lo=16, hi=96)
    assert kb <= TARGET_KB, kb


@pytest.mark.parametrize("build", ["32", "64"])
def test_mpy_smallest_heap(build):
    """Firmware as .mpy files: the code's size comes on top (not the device's way)."""
    kb = smallest_kb(build, 3072, "mpy", lo=64, hi=192)
    assert kb <= MPY_BUDGET_KB[build], kb
