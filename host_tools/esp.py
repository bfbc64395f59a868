"""esptool, driven as a subprocess: read the MAC, write + verify + reset, with retries.

Why a subprocess and not esptool's Python API: a batch flashes several
ports at once, and a board that hangs or a process that is killed must not
take the others (or the station database) down with it. Each run's output
is parsed for progress ("Writing at 0x... NN.N%") and for the cause of a
failure; runs that fail for a transient serial reason (no sync, timeouts,
noise, a re-enumerating USB port) are retried with a back-off, the others
fail at once with esptool's own message.
"""
import os
import re
import subprocess
import sys
import time

from host_tools.errors import DeviceError, InputError

RETRIES = int(os.environ.get("SRP_IOT_RETRIES", "3"))
BACKOFF = float(os.environ.get("SRP_IOT_RETRY_BACKOFF", "1.0"))

# esptool messages that mean "try again" rather than "this will never work".
TRANSIENT = (
    "Failed to connect", "Timed out waiting for packet", "Invalid head of packet",
    "No serial data received", "Serial data stream stopped", "Possible serial noise",
    "device reports readiness to read but returned no data", "Packet content transfer stopped",
    "Input/output error", "Could not open port", "could not open port", "Write timeout",
    "The chip stopped responding", "A serial exception error occurred",
)

_MAC_RE = re.compile(r"^MAC:\s*([0-9a-fA-F:]{17})", re.M)
_WRITING_RE = re.compile(r"Writing at 0x([0-9a-fA-F]+)\D.*?(\d+(?:\.\d+)?)\s?%")
_FATAL_RE = re.compile(r"(?:A fatal error occurred|error):\s*(.*)", re.I)


class Esptool:
    """One serial port: every call runs `python -m esptool` with retries."""

    def __init__(self, chip, port, baud=None, before="default-reset", after="hard-reset",
                 retries=RETRIES, backoff=BACKOFF, stub=True):
        self.chip, self.port, self.baud = chip, port, baud
        self.before, self.after = before, after
        self.retries, self.backoff, self.stub = retries, backoff, stub

    def _argv(self, args, after=None):
        argv = [sys.executable, "-m", "esptool", "--chip", self.chip, "--port", self.port,
                "--before", self.before, "--after", after or self.after]
        if self.baud:
            argv += ["--baud", str(self.baud)]
        if not self.stub:
            argv.append("--no-stub")
        return argv + list(args)

    def run(self, args, on_line=None, after=None, what="esptool"):
        """Run esptool; returns its output. DeviceError after the last failed try."""
        attempt = 0
        while True:
            attempt += 1
            rc, out = self._run_once(self._argv(args, after), on_line)
            if rc == 0:
                return out
            reason = _reason(rc, out)
            transient = rc > 0 and any(t in out for t in TRANSIENT)
            if not transient or attempt > self.retries:
                tries = " after %d tries" % attempt if attempt > 1 else ""
                raise DeviceError("%s on %s failed%s: %s" % (what, self.port, tries, reason),
                                  hint=_hint(out))
            if on_line:
                on_line("retry %d/%d: %s" % (attempt, self.retries, reason))
            time.sleep(self.backoff * attempt)

    def _run_once(self, argv, on_line):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        chunks, line = [], bytearray()
        try:
            while True:
                b = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
                if not b:
                    break
                chunks.append(b)
                for ch in b:
                    if ch in (10, 13):       # esptool redraws progress with \r
                        if line and on_line:
                            on_line(line.decode(errors="replace"))
                        line.clear()
                    else:
                        line.append(ch)
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return rc, b"".join(chunks).decode(errors="replace")

    def read_mac(self):
        out = self.run(["read-mac"], after="no-reset", what="reading the MAC")
        m = _MAC_RE.search(out)
        if not m:
            raise DeviceError("esptool on %s printed no MAC" % self.port)
        return m.group(1).lower()

    def write_verify_reset(self, regions, progress=None):
        """Write [(offset, path)] in one pass, verify every region, reset.

        progress(fraction 0..1, stage) is called while writing.
        """
        sizes = [(off, os.path.getsize(p)) for off, p in regions]
        total = sum(s for _o, s in sizes) or 1

        def on_line(text):
            if progress is None:
                return
            m = _WRITING_RE.search(text)
            if m:
                addr, pct = int(m.group(1), 16), float(m.group(2))
                done = 0
                for off, size in sizes:
                    if off <= addr <= off + size:
                        progress(min(1.0, (done + size * pct / 100.0) / total), "writing")
                        return
                    done += size
            elif text.startswith("retry"):
                progress(0.0, text)

        args = ["write-flash"]
        for off, p in regions:
            args += ["0x%x" % off, str(p)]
        self.run(args, on_line=on_line, after="no-reset", what="writing flash")
        if progress:
            progress(1.0, "verifying")
        vargs = ["verify-flash"]
        for off, p in regions:
            vargs += ["0x%x" % off, str(p)]
        out = self.run(vargs, after=self.after, what="verifying flash")
        if "verify FAILED" in out or "MISMATCH" in out.upper():
            from host_tools.errors import VerifyError
            raise VerifyError("flash on %s does not match what was written" % self.port)

    def read_flash(self, offset, size, path):
        self.run(["read-flash", "0x%x" % offset, "0x%x" % size, str(path)],
                 after="no-reset", what="reading flash")


def check_layout(board, firmware_path, fs_path):
    """Refuse to write a firmware that would overlap the filesystem partition."""
    fw = os.path.getsize(firmware_path)
    if board.firmware_offset + fw > board.fs_offset:
        raise InputError("firmware %s (%d bytes at 0x%x) overlaps the filesystem at 0x%x"
                         % (firmware_path, fw, board.firmware_offset, board.fs_offset),
                         hint="is it the %s image (%s)?" % (board.name, board.firmware_image))
    if os.path.getsize(fs_path) != board.fs_size:
        raise InputError("filesystem image %s is not %d bytes" % (fs_path, board.fs_size))


def _reason(rc, out):
    if rc < 0:
        return "esptool was killed by signal %d" % -rc
    for line in reversed(out.splitlines()):
        m = _FATAL_RE.search(line)
        if m:
            return m.group(1).strip()
    tail = [l for l in out.splitlines() if l.strip()]
    return tail[-1].strip() if tail else "exit code %d" % rc


def _hint(out):
    if "Failed to connect" in out or "No serial data received" in out:
        return "hold BOOT (GPIO0) while pressing RESET, check the cable, or lower --baud"
    if "Could not open port" in out or "could not open port" in out:
        return "is the board plugged in and the port right? (ls /dev/ttyUSB* /dev/ttyACM*)"
    if "Permission denied" in out:
        return "add yourself to the dialout group (sudo usermod -aG dialout $USER) and log in again"
    return None
