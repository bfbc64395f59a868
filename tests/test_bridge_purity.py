"""The bridge and `connect` need no compiled code (so they run on phones).

Equivalent of `pip install --no-binary :all:` into a fresh venv, without the
download: (1) every distribution in the dependency closure of the bridge
(click, tlslite-ng and what they require) is a pure wheel whose installed
files contain no extension module; (2) a child interpreter that can import
*only* those packages, our host_tools/srptls and the standard library
(`python -S`, no site-packages, so gmpy2/Pillow/zxing-cpp are out of reach)
runs `srp-iot connect` and `srp-iot bridge` against a TLS-SRP device, and
loads no extension module outside the standard library.
"""
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker

from browser.bridgeproc import REPO
from browser.fake_device import FakeDevice
from host_tools.password import generate

ROOTS = ["click", "tlslite-ng"]           # pyproject's base dependencies: all the bridge needs
COMPILED = (".so", ".pyd", ".dylib", ".dll")


def closure(names):
    seen, todo = {}, list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        dist = metadata.distribution(name)
        seen[key] = dist
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            if marker.strip() and not Marker(marker.strip()).evaluate({"extra": ""}):
                continue
            todo.append(re.match(r"[A-Za-z0-9._-]+", spec.strip()).group(0))
    return seen


def test_dependency_closure_is_pure_python():
    dists = closure(ROOTS)
    assert {"click", "tlslite-ng", "ecdsa"} <= set(dists)
    for name, dist in dists.items():
        wheel = dist.read_text("WHEEL") or ""
        assert "Root-Is-Purelib: true" in wheel, name
        compiled = [str(f) for f in dist.files or [] if str(f).endswith(COMPILED)]
        assert not compiled, (name, compiled)


def _isolated_path(tmp_path):
    """A directory holding only the closure's top-level packages + ours."""
    d = tmp_path / "pure"
    d.mkdir()
    for dist in closure(ROOTS).values():
        tops = {Path(str(f)).parts[0] for f in dist.files or []
                if not str(f).startswith("..") and ".dist-info" not in str(f)
                and not str(f).startswith("__pycache__")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (d / top).exists():
                (d / top).symlink_to(src)
    (d / "host_tools").symlink_to(REPO / "host_tools")
    (d / "srptls").symlink_to(REPO / "firmware" / "srptls")
    return d


PROBE = r"""
import json, runpy, sys, sysconfig
std = [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")]
sys.argv = ["srp-iot"] + sys.argv[1:]
code = 0
try:
    runpy.run_module("host_tools", run_name="__main__")
except SystemExit as e:
    code = e.code or 0
bad = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
             - {""})
bad = [f for f in bad if not f.endswith(".py") and not any(f.startswith(s) for s in std)]
optional = [n for n in ("gmpy2", "PIL", "zxingcpp", "M2Crypto", "Crypto") if n in sys.modules]
sys.stderr.write("\nPROBE " + json.dumps({"code": code, "compiled": bad, "optional": optional}) + "\n")
"""


def _probe(path, args, env_extra, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("SRP_PASSWORD", None)
    env["PYTHONPATH"] = str(path)
    env["PYTHONNOUSERSITE"] = "1"
    env.update(env_extra)
    return subprocess.Popen([sys.executable, "-S", "-c", PROBE] + args, env=env,
                            cwd=str(path.parent), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(proc_stderr):
    line = [x for x in proc_stderr.decode().splitlines() if x.startswith("PROBE ")][-1]
    return json.loads(line[6:])


def test_bridge_and_connect_run_without_compiled_modules(tmp_path):
    path = _isolated_path(tmp_path)
    pw = generate()
    dev = FakeDevice("admin", pw)
    try:
        p = _probe(path, ["connect", "--device", dev.address, "--user", "admin", "GET",
                          "/api/status"], {"SRP_PASSWORD": pw})
        out, err = p.communicate(timeout=120)
        res = _result(err)
        assert res["code"] == 0, err.decode()
        assert json.loads(out)["device_id"] == "esp32-fake01"
        assert res["compiled"] == [] and res["optional"] == [], res
        # the bridge too: it starts, logs in, prints its URL; SIGTERM ends it cleanly
        p = _probe(path, ["bridge", "--device", dev.address, "--user", "admin"],
                   {"SRP_PASSWORD": pw})
        line = p.stdout.readline().decode()
        assert line.startswith("bridge url=http://127.0.0.1:"), line
        p.terminate()
        _, err = p.communicate(timeout=30)
        res = _result(err)
        assert res["compiled"] == [] and res["optional"] == [], res
        assert dev.handshakes == 2
    finally:
        dev.close()
