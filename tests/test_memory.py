"""Memory: the server does a full handshake plus a 4 KB request/response in an ESP32-sized heap.

The issue's requirement: `micropython -X heapsize=64k`.  Two ways to load
the firmware, measured separately because they differ by the code's size:

- frozen (boards/sim/bin/micropython-frozen-32, -frozen): srptls and the
  server frozen into the binary, as the ESP32 custom firmware freezes them
  (boards/manifest_firmware.py): code runs from flash, only data is in the
  heap.  This is how the device runs, so the requirement is checked here.
- .mpy (`boards/sim/serve --mpy`): the modules loaded from .mpy files into
  the heap, as a stock MicroPython firmware would load them.  That costs
  the code's size on top; measured, printed and held to a budget.

A stepped bisection (4 KB steps) finds the smallest heap that works and
prints `smallest_heap load=.. build=.. group=.. kb=..` (pytest -s shows it).
The 32-bit builds are the ESP32 proxy (4-byte pointers, 16-bit mpz digits).

The 64 KB target is reached with both groups on the 32-bit build
(measured 64 KB with the 3072-bit group, 60 KB with 2048; README
"Memory"), and test_frozen_64k_target asserts it.  The other budgets are
what is reached, to catch growth.
"""
import os
import socket

import pytest
from tlslite import HandshakeSettings, TLSConnection

import mpy
import serverproc

BODY = 4096
TARGET_KB = 64                     # issue 3
# Reached (README "Memory"): frozen 64 KB (32-bit, 3072-bit group) and
# 88 KB (64-bit); .mpy 100-108 KB (32-bit) and 136-140 KB (64-bit).  The
# budgets catch growth; the 32-bit frozen one is the requirement itself.
FROZEN_BUDGET_KB = {"32": TARGET_KB, "64": 100}
MPY_BUDGET_KB = {"32": 128, "64": 160}


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


# Rebuild the frozen binaries first if the firmware changed (conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_build_is_current")


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
        reply = serverproc.exchange(
            conn, b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
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


@pytest.mark.parametrize("group", [2048, 3072])
def test_frozen_64k_target(group):
    """Issue 3: a full handshake plus a 4 KB request/response in a 64 KB heap."""
    ok, log = serves_4k(TARGET_KB, "32", group, "frozen")
    assert ok, "%d KB heap is not enough (frozen, 32-bit, group %d):\n%s" % (
        TARGET_KB, group, log[-1500:])


@pytest.mark.parametrize("build", ["32", "64"])
def test_frozen_smallest_heap(build):
    kb = smallest_kb(build, 3072, "frozen", lo=32, hi=128)
    assert kb <= FROZEN_BUDGET_KB[build], kb


@pytest.mark.parametrize("build", ["32", "64"])
def test_mpy_smallest_heap(build):
    """Firmware as .mpy files: the code's size comes on top (not the device's way)."""
    kb = smallest_kb(build, 3072, "mpy", lo=64, hi=192)
    assert kb <= MPY_BUDGET_KB[build], kb


FRAGMENTED = """
import gc
from srptls import modexp, srp
grp = srp.group(3072)
ctx = modexp.context(grp.N)          # made early, as at boot
b = srp.random_private(grp)
want = ctx.pow(grp.g, b)
gc.collect()
# Fill the heap with 3000-byte blocks, then free every other one: plenty
# of free memory, but no free block near 8 KB.
blocks = []
try:
    while True:
        blocks.append(bytearray(3000))
except MemoryError:
    pass
for i in range(0, len(blocks), 2):
    blocks[i] = None
gc.collect()
print("free=%d backend=%s" % (gc.mem_free(), modexp.backend()))
print("ok=%d" % sum(ctx.pow(grp.g, b) == want for _ in range(10)))
"""


@pytest.mark.parametrize("build", ["32", "frozen-32"])
def test_c_modexp_in_fragmented_heap(build):
    """The C backend's work area comes with the context, not from each pow call.

    A per-call 8 KB scratch block fails here with MemoryError although
    ~25 KB are free (what happened on a long-running device).
    """
    out = mpy.run_code(FRAGMENTED, build=build, heapsize="96k").stdout
    assert "backend=c" in out and "ok=10" in out, out
