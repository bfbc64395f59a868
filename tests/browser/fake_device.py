"""A counting stand-in for a device: tlslite-ng's TLS-SRP server + a tiny HTTP app.

Tests of the bridge use it to prove that refused requests never reach a
device (it records every request and every handshake) and to play a device
that backs off after failed logins. The real device (boards/sim/serve) is
used for the browser flow; this one only has what those proofs need.
"""
import json
import socket
import threading
import time
from urllib.parse import parse_qs

from tlslite import HandshakeSettings, TLSConnection, VerifierDB
from tlslite.errors import TLSError


class FakeDevice:
    def __init__(self, user, password, bits=2048, device_id="esp32-fake01",
                 refuse_after_failures=None, refuse_seconds=5.0):
        self.db = VerifierDB()
        self.db.create()
        self.db[user.encode()] = VerifierDB.makeVerifier(user, password, bits)
        self.device_id = device_id
        self.name = "bench unit"
        self.requests = []            # (method, path, headers dict, body)
        self.handshakes = 0
        self.failed_handshakes = 0
        self.refused = 0
        self.connections = 0
        self.refuse_after_failures = refuse_after_failures
        self.refuse_seconds = refuse_seconds
        self._refuse_until = 0.0
        self._lock = threading.Condition()   # guards the counters; see wait_for()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def wait_for(self, predicate, timeout=30):
        """Wait until predicate() holds. A failed handshake is counted only
        after tlslite has sent the client its alert, so a test that saw the
        alert must wait for the count."""
        with self._lock:
            assert self._lock.wait_for(predicate, timeout), "fake device: condition not met"

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def close(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self._stop:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        s.settimeout(20)
        with self._lock:
            self.connections += 1
            if time.monotonic() < self._refuse_until:
                # The device is backing off: drop the connection at once.
                self.refused += 1
                s.close()
                return
        tls = TLSConnection(s)
        settings = HandshakeSettings()
        settings.maxVersion = (3, 3)
        try:
            tls.handshakeServer(verifierDB=self.db, settings=settings)
        except (TLSError, OSError):
            with self._lock:
                self.failed_handshakes += 1
                if (self.refuse_after_failures is not None
                        and self.failed_handshakes >= self.refuse_after_failures):
                    self._refuse_until = time.monotonic() + self.refuse_seconds
                self._lock.notify_all()
            s.close()
            return
        with self._lock:
            self.handshakes += 1
            self._lock.notify_all()
        f = tls.makefile("rb")
        try:
            while self._one_request(tls, f):
                pass
        except (TLSError, OSError, ValueError):
            pass
        finally:
            try:
                tls.close()
            except Exception:
                pass

    def _one_request(self, tls, f):
        line = f.readline(8192)
        if not line:
            return False
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers = {}
        while True:
            h = f.readline(8192).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(body) < n:
                chunk = f.read(n - len(body))
                if not chunk:
                    break
                body += chunk
        with self._lock:
            self.requests.append((method, path, headers, body))
        status, ctype, out, extra = self._route(method, path, body)
        if isinstance(out, list):          # streamed in chunks
            head = "HTTP/1.1 %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n" % (
                status, ctype)
            tls.sendall((head + "".join("%s: %s\r\n" % kv for kv in extra) + "\r\n").encode())
            for part in out:
                tls.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            tls.sendall(b"0\r\n\r\n")
        else:
            head = "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
                status, ctype, len(out))
            tls.sendall((head + "".join("%s: %s\r\n" % kv for kv in extra) + "\r\n").encode()
                        + (out if method != "HEAD" else b""))
        return headers.get("connection", "").lower() != "close"

    def _route(self, method, path, body):
        html = "text/html; charset=utf-8"
        if path == "/api/status":
            doc = {"device_id": self.device_id, "name": self.name}
            return "200 OK", "application/json", json.dumps(doc).encode(), []
        if path == "/" and method in ("GET", "HEAD"):
            page = ("<!doctype html><title>status</title><h1>Status</h1>"
                    "<p id=name>%s</p><a href=/settings>settings</a>" % self.name)
            return "200 OK", html, page.encode(), [("X-Frame-Options", "DENY")]
        if path == "/settings" and method == "POST":
            self.name = parse_qs(body.decode()).get("name", [""])[0]
            return "303 See Other", html, b"", [("Location", "https://%s/" % self.address)]
        if path == "/big":
            return "200 OK", "application/octet-stream", [bytes([i % 256]) * 4096
                                                          for i in range(64)], []
        if path == "/echo":
            return "200 OK", "application/octet-stream", body, []
        if path == "/forge":
            # A hostile page: draws a look-alike banner and tries to rewrite
            # the real one and to navigate the top window away.
            page = ("<!doctype html><title>forge</title>"
                    "<header id=srp-bridge-banner>TLS-SRP · esp32-other · admin · FAKE</header>"
                    "<p id=result>not run</p><script>"
                    "var r=[];"
                    "try{parent.document.getElementById('srp-bridge-banner').textContent="
                    "'TLS-SRP · esp32-other · admin · FORGED';r.push('banner-rewritten')}"
                    "catch(e){r.push('banner-blocked')}"
                    "try{top.location='http://example.invalid/';r.push('top-navigated')}"
                    "catch(e){r.push('top-blocked')}"
                    "document.getElementById('result').textContent=r.join(' ');</script>")
            return "200 OK", html, page.encode(), []
        if path == "/cookie":
            return "200 OK", html, b"ok", [("Set-Cookie", "srpiot_bridge_1=evil; Path=/"),
                                            ("Set-Cookie", "device_session=abc; Path=/")]
        return "404 Not Found", "text/plain", b"not found", []
