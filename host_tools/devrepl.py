"""Talk to a running MicroPython board over its REPL: mpremote, or adafruit-ampy as fallback.

Scripts run on the device print one marker line `SRPIOT{json}`, which is
all we parse, so banners and warnings around it do not matter. Files are
copied with `mpremote fs cp` (chained with `+` in one connection).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from host_tools.errors import DeviceError, MissingError

MARK = "SRPIOT"
TIMEOUT = float(os.environ.get("SRP_IOT_REPL_TIMEOUT", "60"))


def _tool(name):
    exe = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(exe):
        return exe
    return shutil.which(name)


def available(tool):
    return _tool(tool) is not None


def _run(argv, what, port):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DeviceError("%s on %s timed out after %d s" % (what, port, TIMEOUT),
                          hint="is the board running MicroPython and the port free (close serial monitors)?")
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise DeviceError("%s on %s failed: %s" % (what, port, msg[-1] if msg else "exit %d" % r.returncode),
                          hint="is the board running MicroPython and the port free (close serial monitors)?")
    return r.stdout


def run_script(port, code, tool="auto"):
    """Run `code` on the board; return the JSON object of its SRPIOT line."""
    tools = ["mpremote", "ampy"] if tool == "auto" else [tool]
    usable = [t for t in tools if available(t)]
    if not usable:
        raise MissingError("neither mpremote nor ampy is installed",
                           hint="pip install mpremote adafruit-ampy (tools/bootstrap does)")
    for n, t in enumerate(usable):
        try:
            return _run_with(t, port, code)
        except DeviceError:
            # The fallback exists for boards/ports mpremote cannot handle; the last
            # tool's error is the one reported.
            if n == len(usable) - 1:
                raise


def _run_with(t, port, code):
    if t == "mpremote":
        out = _run([_tool("mpremote"), "connect", port, "exec", code], "mpremote exec", port)
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(code)
        try:
            out = _run([_tool("ampy"), "--port", port, "run", f.name], "ampy run", port)
        finally:
            os.unlink(f.name)
    for line in out.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise DeviceError("the board on %s gave no answer (%s printed: %r)" % (port, t, out[-200:]))


def copy_files(port, files, mkdirs=(), remove=()):
    """Create dirs, copy {remote path: bytes}, delete paths - one mpremote session."""
    if not available("mpremote"):
        raise MissingError("mpremote is not installed", hint="pip install mpremote")
    with tempfile.TemporaryDirectory() as tmp:
        argv = [_tool("mpremote"), "connect", port]
        cmds = []
        if mkdirs:
            # `fs mkdir` fails on an existing dir; one exec makes all of them idempotently.
            code = "import os\nfor d in %r:\n    try:\n        os.mkdir(d)\n    except OSError:\n        pass\n" % (sorted(mkdirs),)
            cmds.append(["exec", code])
        for i, (remote, data) in enumerate(sorted(files.items())):
            local = os.path.join(tmp, "%d" % i)
            with open(local, "wb") as f:
                f.write(data)
            cmds.append(["fs", "cp", local, ":" + remote])
        for remote in sorted(remove):
            cmds.append(["fs", "rm", ":" + remote])
        for c in cmds:
            argv += c + ["+"]
        if cmds:
            _run(argv[:-1], "mpremote fs cp", port)
