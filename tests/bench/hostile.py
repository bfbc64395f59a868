"""Good and hostile client connections for the soak test (tests/test_soak.py).

Each function is one client connection against 127.0.0.1:port and returns
an `Outcome`.  Good clients are the real ones (curl, gnutls-cli, openssl
s_client, tlslite-ng); hostile ones are real clients with a wrong password
or an unknown user, plus raw sockets for what no real client does: a
slowloris that trickles a ClientHello, random bytes, and a disconnect in
the middle of a handshake.

Hostile connections come from other loopback source addresses (127.0.0.2
and up) than the good clients (127.0.0.1): the device backs off per
address after failed logins, and the soak checks that attackers do not
lock out a good client elsewhere -- which is the back-off's promise.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402

CLIENT_TIMEOUT = 60
# A real ClientHello (curl's, from the fuzz corpus) for the raw-socket attackers.
_CORPUS = HERE.parent / "fuzz" / "corpus"


def real_client_hello():
    data = (_CORPUS / "curl-ok.bin").read_bytes()[1:]
    n = 5 + int.from_bytes(data[3:5], "big")
    return data[:n]


class Outcome:
    def __init__(self, kind, ok, detail="", seconds=0.0):
        self.kind, self.ok, self.detail, self.seconds = kind, ok, detail, seconds
        self.failures = []   # details of earlier failed attempts (see retried)

    def __repr__(self):
        return "Outcome(%s ok=%s %.2fs %s failures=%r)" % (
            self.kind, self.ok, self.seconds, self.detail[:200], self.failures)


def retried(fn, attempts=3, pause=0.5):
    """Run a good client again after a failure, as a person would reload.

    A device with two connection slots refuses a third connection while
    attackers hold the other two (its limit doing its job); the caller
    checks that each failed attempt matches a refusal in the device log.
    """
    failures = []
    for _ in range(attempts):
        out = fn()
        if out.ok or out.ok is None:
            break
        failures.append(out.detail)
        time.sleep(pause)
    out.failures = failures
    return out


def _run(argv, stdin=None, timeout=CLIENT_TIMEOUT):
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        if stdin:
            proc.stdin.write(stdin)
            proc.stdin.flush()
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def _timed(kind, fn):
    t0 = time.monotonic()
    try:
        ok, detail = fn()
    except Exception as e:  # a client helper failing is an outcome, not a crash
        ok, detail = False, "%s: %s" % (type(e).__name__, e)
    return Outcome(kind, ok, detail, time.monotonic() - t0)


def good_curl(port, user, password, path, marker):
    def go():
        rc, out, err = _run(peers.curl_cmd(port, user, password, path))
        return rc == 0 and marker in out, "rc=%s %r" % (rc, (err or out)[-200:])
    return _timed("good-curl", go)


def good_gnutls(port, user, password, path, marker):
    def go():
        # stdin stays open until the answer came (gnutls-cli would otherwise
        # send close_notify first); the server closes after one response.
        rc, out, err = _run(peers.gnutls_cli_cmd(port, user, password),
                            b"GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
        return marker in out, "rc=%s %r" % (rc, (err or out)[-200:])
    return _timed("good-gnutls", go)


def good_tlslite(port, user, password, path, marker):
    def go():
        out = peers.tlslite_get(port, user, password, timeout=CLIENT_TIMEOUT,
                                request=b"GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
                                % path.encode())
        return marker in out, repr(out[:120])
    return _timed("good-tlslite", go)


def good_openssl(port, user, password, path, marker):
    """openssl s_client; Debian's OpenSSL 3.0 client crashes in its own SRP
    callback (SIGSEGV, before it sends its key exchange), so that outcome
    is reported as `client-crash`, never as a success."""
    def go():
        rc, out, err = _run(peers.openssl_cmd(port, user, password),
                            b"GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
        if rc == -signal.SIGSEGV:
            return None, "client-crash"
        return marker in out, "rc=%s %r" % (rc, (err or out)[-200:])
    return _timed("good-openssl", go)


def wrong_password(port, user, password, src="127.0.0.2"):
    def go():
        rc, out, err = _run(peers.curl_cmd(port, user, password + "x",
                                           extra=["--interface", src]))
        return rc != 0, "rc=%s %r" % (rc, err[-200:])
    return _timed("wrong-password", go)


def unknown_user(port, user, password, src="127.0.0.3"):
    def go():
        from tlslite.api import TLSConnection, HandshakeSettings
        from tlslite.errors import TLSAbruptCloseError, TLSRemoteAlert
        settings = HandshakeSettings()
        settings.maxVersion = (3, 3)
        sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT,
                                        source_address=(src, 0))
        with sock:
            try:
                TLSConnection(sock).handshakeClientSRP("nobody-" + user, password,
                                                       settings=settings)
            except TLSRemoteAlert as e:
                return True, str(e)
            except (OSError, EOFError, TLSAbruptCloseError) as e:
                return True, "refused: %r" % e   # closed at once by the back-off
        return False, "handshake succeeded for an unknown user"
    return _timed("unknown-user", go)


def _raw(src, port, timeout=30):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def _read_until_closed(s, limit_s):
    """Read until the server closes (True) or limit_s passes (False)."""
    deadline = time.monotonic() + limit_s
    got = 0
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = s.recv(4096)
        except socket.timeout:
            return False, got
        except OSError:
            return True, got  # reset counts as closed
        if not data:
            return True, got
        got += len(data)
    return False, got


def slowloris(port, close_within, src="127.0.0.4", interval=0.5):
    """Trickle a real ClientHello one byte per `interval`; the server must
    close the connection by its handshake timeout (within close_within s)."""
    def go():
        hello = real_client_hello()
        with _raw(src, port) as s:
            t0 = time.monotonic()
            for b in hello:
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    break
                closed, _ = _read_until_closed(s, interval)
                if closed:
                    break
                if time.monotonic() - t0 > close_within:
                    return False, "still open after %.1fs" % (time.monotonic() - t0)
            else:
                closed, _ = _read_until_closed(s, close_within - (time.monotonic() - t0))
                if not closed:
                    return False, "still open after the whole hello"
            return True, "closed after %.1fs" % (time.monotonic() - t0)
    return _timed("slowloris", go)


def random_bytes(port, seed, src="127.0.0.5"):
    """Send 1..4000 random bytes; the server must close the connection."""
    def go():
        n = 1 + int.from_bytes(seed, "big") % 4000
        with _raw(src, port) as s:
            try:
                s.sendall(os.urandom(n))
            except OSError:
                return True, "reset while sending %d bytes" % n
            closed, got = _read_until_closed(s, 20)
            return closed, "n=%d reply=%d bytes" % (n, got)
    return _timed("random-bytes", go)


def real_client_flight():
    """curl's whole flight (hello, key exchange, Finished, request)."""
    return (_CORPUS / "curl-ok.bin").read_bytes()[1:]


def midway_disconnect(port, variant, src="127.0.0.6"):
    """A real ClientHello, then vanish: after part of the server's flight
    (variant 0, with a TCP reset), right after sending (variant 1), or after
    sending a whole recorded flight, while the server computes the key
    exchange (variant 2; its Finished cannot verify against this server)."""
    def go():
        with _raw(src, port) as s:
            try:
                s.sendall(real_client_flight() if variant == 2 else real_client_hello())
                if variant == 0:
                    s.recv(100)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError as e:  # refused (slots busy) before we could vanish
                return True, "variant=%d refused: %s" % (variant, e)
        return True, "variant=%d" % variant
    return _timed("midway-disconnect", go)
