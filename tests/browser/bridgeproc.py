"""Start `python -m host_tools bridge` as a child process for tests.

The password travels only through the environment (SRP_PASSWORD) or stdin
(--qr-payload), never argv. `start()` waits for the one `bridge url=` line;
stop() always terminates the process (then kills it), so no test leaves a
bridge behind. stderr goes to a file (a full pipe would stall the bridge).
"""
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"^bridge url=(http://127\.0\.0\.1:(\d+)/\S*)$")


class BridgeProc:
    def __init__(self, args, password=None, env=None, stdin_text=None):
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.pop("SRP_PASSWORD", None)
        self.env.pop("SRP_QR_PAYLOAD", None)
        if password is not None:
            self.env["SRP_PASSWORD"] = password
        self.env.update(env or {})
        self.stdin_text = stdin_text
        self.proc = None
        self.url = None
        self.stdout_lines = []
        self.stdout_rest = b""
        self.killed = False
        self._err = tempfile.TemporaryFile()

    def start(self, timeout=60):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host_tools", "bridge"] + self.args, cwd=str(REPO),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=self.env)
        if self.stdin_text is not None:
            self.proc.stdin.write(self.stdin_text.encode())
        self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select(
                    [self.proc.stdout], [], [], 0)[0]:
                self.stop()
                raise AssertionError("bridge did not print its URL: rc=%s\n%s"
                                     % (self.proc.returncode, self.stderr()))
            if select.select([self.proc.stdout], [], [], min(left, 0.5))[0]:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        self.stdout_lines.append(line)
        m = URL_LINE.match(line)
        assert m, "unexpected first stdout line: %r" % line
        self.url = m.group(1)
        return self

    @property
    def shell(self):
        p = urlsplit(self.url)
        return "%s://%s" % (p.scheme, p.netloc)

    @property
    def token(self):
        return self.url.split("token=", 1)[1]

    def stderr(self):
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")

    def launch_code(self):
        m = re.search(r"launch code (\S+)", self.stderr())
        return m.group(1) if m else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(10)
        if self.proc and not self.proc.stdout.closed:
            self.stdout_rest = self.proc.stdout.read()    # must stay empty: one line only
            self.proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
