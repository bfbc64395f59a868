"""Start and stop TLS-SRP servers (ours under MicroPython, and peers) from tests.

    with serverproc.SimServer(group=2048, backend="c") as srv:
        ... connect to 127.0.0.1:srv.port as srv.user / srv.password ...
        srv.log_lines()          # the server's per-connection stderr lines

The password is generated per server with `secrets` and handed to the
child only through the environment (SRP_PASSWORD), never the command line.
Each server gets a free port on 127.0.0.1; `start()` waits for its
`listening port=P` line and fails with the server's stderr if it exits or
stays silent.  `stop()` always kills the process, so no test leaves one
behind.
"""
import atexit
import os
import secrets
import select
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ports import free_port  # noqa: F401  (tests take it from here too)

REPO = Path(__file__).resolve().parent.parent
SERVE = REPO / "boards" / "sim" / "serve"

# Every server still running when the interpreter exits (a test forgot to
# stop it, or pytest was interrupted) is killed then.
_running = set()


@atexit.register
def _kill_leftovers():
    for srv in list(_running):
        srv.stop()


def new_password():
    return secrets.token_urlsafe(12)


class ServerProcess:
    """A child process that prints `listening port=P` once it accepts."""

    start_timeout = 30.0

    def __init__(self, user="admin", password=None, group=2048):
        self.user = user
        self.password = password or new_password()
        self.group = group
        self.port = None
        self.proc = None
        self._stderr = None

    def command(self, port):
        raise NotImplementedError

    def start(self):
        for _attempt in range(3):  # another process may grab the free port first
            port = free_port()
            self._stderr = tempfile.TemporaryFile()
            env = dict(os.environ, SRP_PASSWORD=self.password)
            self.proc = subprocess.Popen(
                self.command(port), stdout=subprocess.PIPE, stderr=self._stderr,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            _running.add(self)
            line = self._wait_line()
            if line == "listening port=%d" % port:
                self.port = port
                return self
            err = self.stderr_text()
            self.stop()
            if "EADDRINUSE" not in err:
                raise RuntimeError("server did not start (exit %s, first line %r):\n%s"
                                   % (self.proc.returncode, line, err))
        raise RuntimeError("server could not find a free port")

    def _wait_line(self):
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline and b"\n" not in buf:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
            elif self.proc.poll() is not None:
                break
        return buf.split(b"\n", 1)[0].decode(errors="replace").strip()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def log_lines(self, prefix="conn "):
        return [l for l in self.stderr_text().splitlines() if l.startswith(prefix)]

    def wait_log(self, text, count=1, timeout=10.0):
        """Log lines containing `text`, once there are `count` (or the timeout passed).

        The server logs a connection after the client may already have
        moved on, so tests wait for the line instead of racing it.
        """
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.log_lines() if text in l]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def stop(self):
        _running.discard(self)
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            if self.proc.stdout:
                self.proc.stdout.close()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SimServer(ServerProcess):
    """boards/sim/serve in dev mode (--user/--group, password from the env)."""

    def __init__(self, group=2048, backend="c", heapsize=None, build="64",
                 handshake_timeout=None, extra_args=(), **kw):
        super().__init__(group=group, **kw)
        self.backend = backend
        self.heapsize = heapsize
        self.build = build
        self.handshake_timeout = handshake_timeout
        self.extra_args = list(extra_args)

    def command(self, port):
        cmd = [str(SERVE), "--port", str(port), "--user", self.user,
               "--group", str(self.group)]
        if self.backend:
            cmd += ["--backend", self.backend]
        if self.heapsize:
            cmd += ["--heapsize", self.heapsize]
        if self.build == "32":
            cmd += ["--32"]
        if self.handshake_timeout is not None:
            cmd += ["--handshake-timeout", str(self.handshake_timeout)]
        return cmd + self.extra_args


def srp_client(port, user, password, session=None, settings=None, timeout=30):
    """A tlslite-ng TLS-SRP client connection to 127.0.0.1:port, handshake done."""
    from tlslite import HandshakeSettings, TLSConnection
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn = TLSConnection(sock)
    conn.handshakeClientSRP(user, password, settings=settings or HandshakeSettings(),
                            session=session)
    return conn


def exchange(conn, data):
    """Write `data` on a TLS connection, read the reply up to the server's close, close."""
    conn.write(data)
    reply = b""
    while True:
        chunk = conn.read()
        if not chunk:
            break
        reply += chunk
    conn.close()
    return reply


def connect(port, timeout=10):
    """A plain TCP connection to 127.0.0.1:port (for raw-byte clients)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s
