"""Run MicroPython scripts under our unix builds from pytest.

The binaries come from boards/sim/build_micropython (tests/run builds them);
`firmware/` is on MICROPYPATH, so scripts import the firmware exactly as the
device does.  A missing binary is an error, never a skip: a test that cannot
run the real interpreter has not passed.
"""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
BIN = REPO / "boards" / "sim" / "bin"
BUILDS = {"64": BIN / "micropython", "32": BIN / "micropython-32",
          # the firmware frozen into the binary, as on the device (README "Memory")
          "frozen-64": BIN / "micropython-frozen", "frozen-32": BIN / "micropython-frozen-32"}
MP_TESTS = REPO / "tests" / "mp"


def binary(build="64"):
    path = BUILDS[build]
    if not path.exists():
        raise RuntimeError(
            f"{path} is missing: run boards/sim/build_micropython (tests/run does)")
    return str(path)


def ensure_frozen_build():
    """Run boards/sim/build_micropython so the frozen builds hold today's firmware.

    Cached by a hash of the frozen sources: seconds when nothing changed.
    """
    proc = subprocess.run([str(REPO / "boards" / "sim" / "build_micropython"), "--quiet"],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise AssertionError("boards/sim/build_micropython failed:\n" + proc.stderr[-3000:])


def env(path_prefix=(), extra=None):
    """Environment for a MicroPython child: firmware (and extras) on its path."""
    e = dict(os.environ)
    paths = [str(p) for p in path_prefix] + [str(FIRMWARE), str(MP_TESTS), ".frozen"]
    e["MICROPYPATH"] = ":".join(paths)
    if extra:
        e.update(extra)
    return e


def run(script, *args, build="64", heapsize=None, path_prefix=(), timeout=600,
        extra_env=None, check=True):
    """Run `script` (a path) under MicroPython; return CompletedProcess.

    With check=True a non-zero exit raises AssertionError carrying the output.
    """
    cmd = [binary(build)]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += [str(script), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env(path_prefix, extra_env))
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
            f"\n--- stderr\n{proc.stderr}")
    return proc


def run_code(code, **kw):
    """Run a snippet of MicroPython code (via -c)."""
    cmd_build = kw.pop("build", "64")
    heapsize = kw.pop("heapsize", None)
    cmd = [binary(cmd_build)]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += ["-c", code]
    check = kw.pop("check", True)
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 600),
                          env=env(kw.pop("path_prefix", ()), kw.pop("extra_env", None)))
    if check and proc.returncode != 0:
        raise AssertionError(f"micropython -c exited {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc
