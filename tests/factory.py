"""Helpers for the manufacturing tests: mock ESP32 boards, sim REPL boards, the CLI.

Every process started here is stopped by its own handle (by pid), and every
wait is bounded.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def wait_file(path, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(path).exists() and Path(path).read_text().strip():
            return Path(path).read_text().strip()
        if proc.poll() is not None:
            raise AssertionError("process exited %s before writing %s" % (proc.returncode, path))
        time.sleep(0.05)
    raise AssertionError("timeout waiting for %s" % path)


class MockBoard:
    """esp32-mock-bootloader on a pty with its own MAC (tests/mock_board.py)."""

    def __init__(self, tmp, mac, chip="esp32"):
        self.mac = mac
        self.port_file = Path(tmp) / ("mock-%s.port" % mac.replace(":", ""))
        self.log = Path(tmp) / ("mock-%s.log" % mac.replace(":", ""))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [PY, str(REPO / "tests" / "mock_board.py"), "--mac", mac, "--chip", chip,
                 "--port-file", str(self.port_file), "--timeout", "900"],
                stdout=log, stderr=subprocess.STDOUT)
        self.port = wait_file(self.port_file, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class ReplBoard:
    """A sim board image behind a pty speaking the raw REPL (boards/sim/repl_pty)."""

    def __init__(self, tmp, image):
        self.port_file = Path(tmp) / "repl.port"
        self.log = Path(tmp) / "repl.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [PY, str(REPO / "boards" / "sim" / "repl_pty"), "--image", str(image),
                 "--port-file", str(self.port_file)], stdout=log, stderr=subprocess.STDOUT)
        self.port = wait_file(self.port_file, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def srp_iot(*args, env=None, cwd=None, timeout=300, input=None):
    """Run `python -m host_tools ARGS`; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PY, "-m", "host_tools"] + [str(a) for a in args], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=timeout, input=input)


def fake_firmware(path, size=600 * 1024):
    """Random bytes standing in for MicroPython's firmware.bin (the mock runs nothing)."""
    Path(path).write_bytes(os.urandom(size))
    return Path(path)


def esptool_read(port, offset, size, out, chip="esp32"):
    r = subprocess.run([PY, "-m", "esptool", "--chip", chip, "--port", port, "--before", "default-reset",
                        "--after", "no-reset", "read-flash", hex(offset), hex(size), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return Path(out).read_bytes()
