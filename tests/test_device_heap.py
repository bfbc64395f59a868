"""Heap: the smallest -X heapsize= under which the whole device serves.

"Serves" means: both servers up, three status pages in a row over TLS-SRP
(each a full 3072-bit SRP handshake plus the admin app, the admin session
active) and the port-80 page.  Measured two ways (README "Memory"):

- frozen (boards/sim/bin/micropython-frozen-32, -frozen): the firmware,
  microdot and the sim runner frozen into the binary, as the ESP32 custom
  firmware freezes them (boards/manifest_firmware.py); the device root holds
  only data (device.json, credentials, boot.py/main.py).  This is how the
  device runs: the issue's target (96k) is asserted here on the 32-bit
  build; the stretch target (64k) is not reached and is an expected
  failure (strict: it fails the day it passes, so the README gets updated).
- .mpy: the firmware and microdot as .mpy files in the device root, loaded
  into the heap (32-bit only); measured, printed, held to a budget.

A stepped bisection (8 KB steps) prints
`device_heap load=.. build=.. smallest_kb=..` (pytest -s shows it).
The 32-bit build is the ESP32 proxy.
"""
import shutil

import pytest

import mpy
from simdevice import RUNNER, Device, make_root, new_password

TARGET_KB = 96                      # issue 4
STRETCH_KB = 64
# Reached (README "Memory"): frozen 88-96 KB (32-bit) and 144 KB (64-bit, 8-byte
# pointers: not the device's size, held to a budget); .mpy 192-224 KB
# (32-bit).  The stretch target is not reached: an expected failure below.
FROZEN_BUDGET_KB = {"32": TARGET_KB, "64": 152}
MPY_BUDGET_KB = {"32": 256}


# Rebuild the frozen binaries first if the firmware changed (conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_build_is_current")


def frozen_root(path, pw):
    root = make_root(path, pw)
    shutil.rmtree(root / "lib")      # microdot is frozen too: the root holds only data
    return root


def serves(root, build, kb, pw, load):
    dev = Device(root, build=build, heapsize="%dk" % kb, source_path=False,
                 extra=["--quiet"])
    if load == "frozen":
        # The runner is frozen too (`-m sim_device`); nothing from the tree.
        i = dev.cmd.index(str(RUNNER))
        dev.cmd[:i + 1] = [mpy.binary("frozen-" + build), "-X", "heapsize=%dk" % kb,
                       "-m", "sim_device"]
        dev.env["MICROPYPATH"] = ".frozen"
    try:
        dev.start(timeout=20)
    except AssertionError:
        dev.kill()
        return False
    try:
        for _ in range(3):
            rc, status, page = dev.curl("/", pw, timeout=20)
            if status != 200 or "Free heap" not in page:
                return False
        return dev.http("/")[1] == 200
    finally:
        dev.kill()


def smallest_kb(root, build, pw, load, lo, hi):
    """Bisect in 8 KB steps; `hi` must work (asserted), `lo` is taken to fail."""
    assert serves(root, build, hi, pw, load), "even %d KB is not enough (%s, build %s)" % (
        hi, load, build)
    lo, hi = lo // 8, hi // 8
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if serves(root, build, mid * 8, pw, load):
            hi = mid
        else:
            lo = mid
    print("device_heap load=%s build=%s smallest_kb=%d target_kb=%d stretch_kb=%d"
          % (load, build, hi * 8, TARGET_KB, STRETCH_KB))
    return hi * 8


@pytest.mark.parametrize("build", ["32", "64"])
def test_frozen_smallest_heap_serving_status(tmp_path, build):
    pw = new_password()
    root = frozen_root(tmp_path / "root", pw)
    kb = smallest_kb(root, build, pw, "frozen", lo=32, hi=160)
    assert kb <= FROZEN_BUDGET_KB[build], kb


@pytest.mark.xfail(strict=True, reason="stretch target 64 KB not reached: needs 88-96 KB (README Memory)")
def test_frozen_stretch_target(tmp_path):
    pw = new_password()
    assert serves(frozen_root(tmp_path / "root", pw), "32", STRETCH_KB, pw, "frozen")


def test_mpy_smallest_heap_serving_status(tmp_path):
    """Firmware as .mpy in the root (32-bit): the code's size comes on top."""
    pw = new_password()
    root = make_root(tmp_path / "root", pw, compiled=True, build="32")
    kb = smallest_kb(root, "32", pw, "mpy", lo=96, hi=320)
    assert kb <= MPY_BUDGET_KB["32"], kb
