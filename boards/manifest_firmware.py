# Frozen manifest of the device firmware: what a custom MicroPython build for
# the ESP32 boards freezes into flash (the same build carries our C module,
# firmware/cmodules), and what the sim board's frozen unix build
# (boards/sim/manifest_frozen.py) includes.
#
# Why: modules loaded from .mpy files live in the heap (about 61 KB for
# srptls, admin and microdot); frozen ones are executed from flash.  Plain
# ESP32 has 100-150 KB of heap with Wi-Fi up, so the firmware only fits
# there frozen.  See README "Memory".
#
# microdot comes from PyPI (the version pinned in pyproject.toml), installed
# at build time into the directory named by the environment variable
# SRP_IOT_MICRODOT_DIR (boards/sim/build_micropython sets it); it is never
# committed.  boot.py and main.py stay files on the device filesystem.
# Relative paths are relative to this file (boards/).
import os

include("$(MPY_DIR)/extmod/asyncio")
package("srptls", base_path="../firmware")
package("admin", base_path="../firmware")

microdot_dir = os.environ.get("SRP_IOT_MICRODOT_DIR")
if not microdot_dir:
    raise Exception("set SRP_IOT_MICRODOT_DIR to a directory holding microdot/ (pip install --target)")
# Only the modules the admin app runs (asgi/wsgi/jinja/... need CPython).
package("microdot", files=["__init__.py", "microdot.py"], base_path=microdot_dir)
