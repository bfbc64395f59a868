"""Peer TLS-SRP servers and real clients shared by the benchmarks and tests.

A benchmark only means something next to a peer measured in the same run on
the same machine, so every bench script starts its peers from here:

  * `gnutls_serv()`  -- GnuTLS's own server with SRP set up by `srptool`.
    gnutls-serv cannot bind to 127.0.0.1 alone, so it runs inside a network
    namespace of its own that has only a loopback interface (`Netns`); the
    clients that talk to it run in the same namespace.
  * client command lines for curl, openssl s_client and gnutls-cli, and a
    tlslite-ng client call (`tlslite_get`).
The tlslite-ng SRP *server* peer is tests/bench/tlslite_srp_server.py
(shared with tests/bench/handshake).

Passwords are made by the caller at run time (`secrets`) and reach the
servers through files in a private temporary directory or the environment,
never through a fixed fixture.  Nothing here listens on anything but
127.0.0.1 (or loopback inside a namespace this module created).
"""
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from ports import free_port  # noqa: E402,F401  (benchmarks take it from here)
SRP_PRIORITY = "NORMAL:-KX-ALL:+SRP"
# srptool's tpasswd.conf numbers the RFC 5054 groups: 3 is 2048, 4 is 3072.
GNUTLS_GROUP_INDEX = {1536: 2, 2048: 3, 3072: 4, 4096: 5}


def new_password():
    """A throwaway password for one run (never stored anywhere)."""
    return secrets.token_urlsafe(12)


def wait_port(port, timeout=30.0, prefix=()):
    """Wait until 127.0.0.1:port accepts (inside a namespace when prefix is given)."""
    deadline = time.monotonic() + timeout
    probe = ("import socket,sys\ns=socket.socket();s.settimeout(0.5)\n"
             "sys.exit(s.connect_ex(('127.0.0.1',%d)))" % port)
    while time.monotonic() < deadline:
        if prefix:
            if subprocess.run([*prefix, sys.executable, "-c", probe]).returncode == 0:
                return
        else:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Netns:
    """A network namespace with only loopback up; deleted on exit.

    `prefix` is the argv prefix that runs a command inside it.
    """

    def __init__(self, name=None):
        self.name = name or f"srpperf{os.getpid()}"
        self.prefix = ["ip", "netns", "exec", self.name]

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run([*self.prefix, "ip", "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *exc):
        # Anything still running in the namespace was started by us.
        pids = subprocess.run(["ip", "netns", "pids", self.name],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 15)
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def gnutls_serv(netns, user, password, bits, port=5556, httpdata=None):
    """Run gnutls-serv (HTTP mode, SRP only) inside `netns`; yield its port.

    httpdata: a file whose bytes are the body of every response.
    """
    with tempfile.TemporaryDirectory(prefix="srp-gnutls-") as tmp:
        tmp = Path(tmp)
        conf, tpasswd = tmp / "tpasswd.conf", tmp / "tpasswd"
        subprocess.run(["srptool", "--create-conf", str(conf)], check=True,
                       capture_output=True)
        subprocess.run(["srptool", "--passwd", str(tpasswd), "--passwd-conf", str(conf),
                        "-u", user, "-i", str(GNUTLS_GROUP_INDEX[bits])],
                       input=password + "\n", text=True, check=True, capture_output=True)
        cmd = [*netns.prefix, "gnutls-serv", "--http", "-p", str(port),
               "--srppasswd", str(tpasswd), "--srppasswdconf", str(conf),
               "--priority", SRP_PRIORITY]
        if httpdata:
            cmd += ["--httpdata", str(httpdata)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, prefix=netns.prefix)
            yield port
        finally:
            _stop(proc)


def curl_cmd(port, user, password, path="/", extra=()):
    # -k: SRP suites carry no certificate to verify.
    return ["curl", "-sSk", "--tlsauthtype", "SRP", "--tlsuser", user,
            "--tlspassword", password, *extra, f"https://127.0.0.1:{port}{path}"]


def openssl_cmd(port, user, password):
    return ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2",
            "-cipher", "SRP", "-srpuser", user, "-srppass", f"pass:{password}",
            "-quiet", "-no_ign_eof"]


def gnutls_cli_cmd(port, user, password):
    return ["gnutls-cli", "--srpusername", user, "--srppasswd", password,
            "--priority", SRP_PRIORITY, "-p", str(port), "127.0.0.1"]


HTTP_GET = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"


def tlslite_get(port, user, password, timeout=30.0, request=HTTP_GET):
    """One SRP handshake + HTTP request with tlslite-ng; return the response bytes."""
    from tlslite.api import TLSConnection, HandshakeSettings
    settings = HandshakeSettings()
    settings.maxVersion = (3, 3)  # TLS-SRP exists in TLS 1.2 only
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        conn = TLSConnection(sock)
        conn.handshakeClientSRP(user, password, settings=settings)
        conn.write(request)
        chunks = []
        while True:
            try:
                data = conn.read()
            except Exception:  # an abrupt close after the body is still a body
                break
            if not data:
                break
            chunks.append(bytes(data))
        with contextlib.suppress(Exception):
            conn.close()
        return b"".join(chunks)
