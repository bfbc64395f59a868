"""The bridge as a process, against a counting TLS-SRP device (tlslite-ng server).

The counting device records every handshake and request, which is how these
tests prove that refused requests never reach a device. The browser flow
against the real sim device is in test_bridge_browser.py.
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import pytest

from browser.bridgeproc import REPO, BridgeProc
from browser.fake_device import FakeDevice
from host_tools.password import generate


def request(port, method, path, headers=(), body=None, host=None):
    """One raw HTTP request: every header (Host too) exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or "127.0.0.1:%d" % port)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class Session:
    """A launched bridge as a browser would hold it: ports and the cookie."""

    def __init__(self, bridge):
        self.bridge = bridge
        self.shell_port = int(bridge.shell.rsplit(":", 1)[1])
        status, hdrs, _ = request(self.shell_port, "GET", "/__bridge/launch?token=" + bridge.token)
        assert status == 303, status
        set_cookie = header(hdrs, "Set-Cookie")[0]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        self.cookie = set_cookie.split(";")[0]
        status, _, body = request(self.shell_port, "GET", "/", [("Cookie", self.cookie)])
        m = re.search(rb"src='http://127\.0\.0\.1:(\d+)/'", body)
        if m:
            self.device_port = int(m.group(1))
        else:
            self.device_port = None
        self.shell_status = status

    def dev(self, method, path, extra=(), body=None, origin=True):
        hdrs = [("Cookie", self.cookie), ("Sec-Fetch-Site", "same-origin"),
                ("Sec-Fetch-Dest", "iframe")]
        if origin and method not in ("GET", "HEAD"):
            hdrs.append(("Origin", "http://127.0.0.1:%d" % self.device_port))
        return request(self.device_port, method, path, hdrs + list(extra), body)

    def shell(self, method, path, extra=(), body=None):
        hdrs = [("Cookie", self.cookie)]
        if method == "POST":
            hdrs.append(("Origin", "http://127.0.0.1:%d" % self.shell_port))
            hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
        return request(self.shell_port, method, path, hdrs + list(extra), body)


def start(dev, password, *extra, **kw):
    return BridgeProc(["--device", dev.address, "--user", "admin"] + list(extra),
                      password=password, **kw).start()


@pytest.fixture
def live(request):
    pw = generate()
    dev = FakeDevice("admin", pw)
    bridge = start(dev, pw)
    try:
        yield dev, bridge, Session(bridge), pw
    finally:
        bridge.stop()
        dev.close()


def test_url_line_launch_and_forwarding(live):
    dev, bridge, s, _ = live
    assert len(bridge.stdout_lines) == 1 and bridge.url.startswith("http://127.0.0.1:")
    assert s.shell_status == 200 and s.device_port
    # a wrong token sets no cookie
    status, hdrs, _ = request(s.shell_port, "GET", "/__bridge/launch?token=nope")
    assert status == 403 and not header(hdrs, "Set-Cookie")
    status, hdrs, body = s.dev("GET", "/")
    assert status == 200 and b"<h1>Status</h1>" in body
    assert not header(hdrs, "X-Frame-Options")            # replaced by our frame-ancestors
    assert "frame-ancestors http://127.0.0.1:%d" % s.shell_port in header(
        hdrs, "Content-Security-Policy")
    method, path, seen, _ = dev.requests[-1]
    assert (method, path) == ("GET", "/")
    assert seen["host"] == dev.address and "srpiot_bridge" not in seen.get("cookie", "")
    # a form post: Origin rewritten to the device's, Location back to a local path
    status, hdrs, _ = s.dev("POST", "/settings", [("Content-Type",
                                                  "application/x-www-form-urlencoded")],
                            urlencode({"name": "pump 3"}).encode())
    assert status == 303 and header(hdrs, "Location") == ["/"]
    assert dev.name == "pump 3" and dev.requests[-1][2]["origin"] == "https://" + dev.address
    # a top-level visit of a device page is sent to the shell (it must carry the banner)
    status, hdrs, _ = request(s.device_port, "GET", "/settings",
                              [("Cookie", s.cookie), ("Sec-Fetch-Site", "none"),
                               ("Sec-Fetch-Dest", "document")])
    assert status == 303 and header(hdrs, "Location") == [
        "http://127.0.0.1:%d/settings" % s.shell_port]


def test_refused_requests_never_reach_the_device(live):
    dev, bridge, s, _ = live
    before = (len(dev.requests), dev.connections)
    dp, sp = s.device_port, s.shell_port
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    bad = [
        # no launch secret
        (dp, "GET", "/", [], None, None),
        (dp, "GET", "/", [("Cookie", "srpiot_bridge_%d=guessed" % sp)], None, None),
        (sp, "GET", "/", [], None, None),
        # foreign Host (DNS rebinding), even with the right cookie
        (dp, "GET", "/", [("Cookie", s.cookie)], None, "evil.example:%d" % dp),
        (sp, "GET", "/__bridge/", [("Cookie", s.cookie)], None, "evil.example:%d" % sp),
        # cross-origin / origin-less state changes
        (dp, "POST", "/settings", [("Cookie", s.cookie), ("Origin", "http://evil.example")]
         + form, b"name=x", None),
        (dp, "POST", "/settings", [("Cookie", s.cookie), ("Origin", "http://127.0.0.1:8000"),
                                   ("Sec-Fetch-Site", "same-site")] + form, b"name=x", None),
        (dp, "POST", "/settings", [("Cookie", s.cookie)] + form, b"name=x", None),
        (dp, "PUT", "/api/settings", [("Cookie", s.cookie), ("Origin", "null")], b"{}", None),
        (sp, "POST", "/__bridge/logout", [("Cookie", s.cookie), ("Origin", "http://evil.example")],
         b"", None),
        # another local page (same site, other port) framing or fetching device pages
        (dp, "GET", "/", [("Cookie", s.cookie), ("Sec-Fetch-Site", "same-site"),
                          ("Sec-Fetch-Dest", "iframe"), ("Referer", "http://127.0.0.1:8000/")],
         None, None),
        (dp, "GET", "/api/status", [("Cookie", s.cookie), ("Sec-Fetch-Site", "same-site"),
                                    ("Sec-Fetch-Dest", "empty")], None, None),
        (dp, "GET", "/", [("Cookie", s.cookie), ("Sec-Fetch-Site", "cross-site")], None, None),
        (dp, "OPTIONS", "/api/settings", [("Cookie", s.cookie), ("Origin", "http://evil.example")],
         None, None),
    ]
    for port, method, path, hdrs, body, host in bad:
        status, _, text = request(port, method, path, hdrs, body, host)
        assert status in (401, 403, 405), (method, path, hdrs, host, status)
        assert b"Refused by the srp-iot bridge" in text
    assert (len(dev.requests), dev.connections) == before
    assert dev.name == "bench unit"
    # the bridge is still logged in: the cross-origin logout did nothing
    assert s.dev("GET", "/api/status")[0] == 200


def test_streaming_bodies_and_connection_reuse(live):
    dev, bridge, s, _ = live
    status, hdrs, body = s.dev("GET", "/big")
    assert status == 200 and header(hdrs, "Transfer-Encoding") == ["chunked"]
    assert body == b"".join(bytes([i % 256]) * 4096 for i in range(64))
    big = bytes(range(256)) * 1024          # 256 KiB: streamed, not buffered
    status, hdrs, echoed = s.dev("POST", "/echo", [("Content-Type", "application/octet-stream")],
                                 big)
    assert status == 200 and echoed == big and header(hdrs, "Content-Length") == [str(len(big))]
    status, hdrs, body = s.dev("HEAD", "/")
    assert status == 200 and body == b"" and header(hdrs, "Content-Length") == [
        str(len(s.dev("GET", "/")[2]))]
    for _ in range(5):
        assert s.dev("GET", "/api/status")[0] == 200
    # keep-alive to the device: a few connections for all of it, not one per request
    assert dev.handshakes <= 2, dev.handshakes
    status, hdrs, _ = s.dev("GET", "/cookie")
    cookies = header(hdrs, "Set-Cookie")
    assert cookies == ["device_session=abc; Path=/"]    # the bridge's own cookie is not forgeable


def test_session_page_and_logout_wipes_the_password(live):
    dev, bridge, s, pw = live
    status, _, body = s.shell("GET", "/__bridge/")
    assert status == 200
    text = body.decode()
    for part in ("esp32-fake01", "admin", "TLS_SRP_SHA_WITH_AES_256_CBC_SHA", "encrypt-then-MAC",
                 bridge.launch_code(), "Logout"):
        assert part in text
    status, hdrs, _ = s.shell("POST", "/__bridge/logout", body=b"")
    assert status == 303 and header(hdrs, "Location") == ["/__bridge/login"]
    before = (len(dev.requests), dev.connections)
    status, _, body = s.dev("GET", "/")
    assert status == 401 and b"Logged out" in body
    status, hdrs, _ = s.shell("GET", "/")
    assert status == 303 and header(hdrs, "Location") == ["/__bridge/login"]
    status, _, body = s.shell("GET", "/__bridge/login")
    assert b"type=password" in body and b"Logged out" in body
    assert (len(dev.requests), dev.connections) == before
    # log in again from the (local) login page
    status, hdrs, _ = s.shell("POST", "/__bridge/login", body=urlencode({"password": pw}).encode())
    assert status == 303 and header(hdrs, "Location") == ["/"]
    assert s.dev("GET", "/")[0] == 200


def test_wrong_password_message_and_backoff():
    pw = generate()
    dev = FakeDevice("admin", pw)
    bridge = start(dev, generate())                     # a valid-looking but wrong password
    try:
        assert "rejected this password" in bridge.stderr()
        dev.wait_for(lambda: dev.failed_handshakes == 1)
        s = Session(bridge)
        assert s.device_port is None                     # no device frame while locked
        status, _, body = s.shell("GET", "/__bridge/login")
        assert b"rejected this password" in body
        # a typo is caught by the check symbol: nothing reaches the device
        typo = pw[:-1] + ("0" if pw[-1] != "0" else "1")
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": typo}).encode())
        assert status == 400 and b"check symbol" in body and b"Nothing was sent" in body
        # right away again: the bridge's back-off answers, the device sees nothing
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert status == 401 and b"Too many failed attempts" in body
        assert dev.connections == 1 and dev.failed_handshakes == 1
        time.sleep(2.2)                                    # the first back-off step is 2 s
        status, hdrs, _ = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert status == 303 and dev.handshakes == 1
    finally:
        bridge.stop()
        dev.close()


def test_device_backoff_is_respected():
    pw = generate()
    # This device drops every connection for 30 s after one failed login.
    dev = FakeDevice("admin", pw, refuse_after_failures=1, refuse_seconds=30)
    bridge = start(dev, generate())
    try:
        s = Session(bridge)
        time.sleep(2.2)
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert status == 401 and b"backing off" in body and dev.refused == 1
        # our back-off grew (4 s): an immediate retry does not touch the device
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert b"Too many failed attempts" in body and dev.connections == 2
    finally:
        bridge.stop()
        dev.close()


def test_qr_payload_from_stdin_supplies_everything():
    pw = generate()
    dev = FakeDevice("admin", pw, device_id="esp32-0c0d0e")
    uri = "srp-iot://admin:%s@%s/?id=esp32-0c0d0e" % (quote(pw), dev.address)
    bridge = BridgeProc(["--qr-payload"], stdin_text=uri + "\n").start()
    try:
        s = Session(bridge)
        assert s.device_port and dev.handshakes == 1
        _, _, body = s.shell("GET", "/")
        assert b"esp32-0c0d0e" in body and b"TLS-SRP" in body
        bridge.stop()
        assert bridge.stdout_rest == b""       # stdout carried exactly the one url line
        assert not bridge.killed and bridge.proc.returncode == 0, bridge.stderr()
        assert "password wiped" in bridge.stderr()
    finally:
        bridge.stop()
        dev.close()


def test_verbose_log_never_shows_the_launch_token():
    pw = generate()
    dev = FakeDevice("admin", pw)
    bridge = BridgeProc(["--device", dev.address, "--user", "admin", "--verbose"],
                        password=pw).start()
    try:
        port = int(bridge.shell.rsplit(":", 1)[1])
        for line in (b"GET /__bridge/launch?token=%s HTTP/1.1 junk",     # bad syntax
                     b"GET /__bridge/launch?token=%s HTTP/1.1",          # a good one
                     b"GET /__bridge/launch?token=%s HTTP/9.9"):         # bad version
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(line % bridge.token.encode() + b"\r\nHost: 127.0.0.1\r\n\r\n")
                s.recv(4096)
        bridge.stop()
        err = bridge.stderr()
        assert bridge.token not in err and "Traceback" not in err, err
        assert "bridge: GET /__bridge/launch 403" in err                 # wrong Host: refused
        assert err.count("refused a malformed request") == 2, err
    finally:
        bridge.stop()
        dev.close()


def test_ctrl_c_stops_the_bridge_and_wipes_the_password():
    # SIGINT (Ctrl-C) and SIGTERM take the same path: sigwait, then stop and wipe.
    pw = generate()
    dev = FakeDevice("admin", pw)
    bridge = BridgeProc(["--device", dev.address, "--user", "admin"], password=pw).start()
    try:
        bridge.proc.send_signal(signal.SIGINT)
        assert bridge.proc.wait(30) == 0, bridge.stderr()
        assert "password wiped" in bridge.stderr()
    finally:
        bridge.stop()
        dev.close()


def run_cli(*args, env_extra=None):
    import os
    env = dict(os.environ)
    env.pop("SRP_PASSWORD", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "host_tools"] + list(args), cwd=str(REPO),
                          capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)


def test_bind_address_and_password_options():
    r = run_cli("bridge", "--device", "127.0.0.1:9", "--user", "admin", "--bind", "192.0.2.10")
    assert r.returncode == 3 and "--force-bind" in r.stderr and "url=" not in r.stdout
    r = run_cli("bridge", "--device", "127.0.0.1:9", "--user", "admin", "--bind", "0.0.0.0",
                "--force-bind")
    assert r.returncode == 3 and "listen everywhere" in r.stderr
    # there is no way to put the password on the command line
    r = run_cli("bridge", "--device", "127.0.0.1:9", "--user", "admin", "--password", "x")
    assert r.returncode == 2
    r = run_cli("connect", "--device", "127.0.0.1:9", "--user", "admin", "GET", "/")
    assert r.returncode == 3 and "no password" in r.stderr


class TerminalReader:
    """What a terminal shows, consumed up to each expected text."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""
        self.seen = b""                              # everything the terminal showed

    def until(self, text, timeout=60):
        import select as sel
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "timeout waiting for %r in %r" % (text, self.buf)
            if sel.select([self.fd], [], [], min(left, 0.5))[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, "bridge exited; output so far: %r" % self.buf
                self.buf += chunk
                self.seen += chunk
        head, _, self.buf = self.buf.partition(text.encode())
        return (head + text.encode()).decode("utf-8", "replace")


def test_prompt_checks_the_symbol_before_any_attempt():
    """In a terminal the bridge asks; a typo is caught before the device sees anything."""
    import fcntl
    import pty
    import termios
    pw = generate()
    dev = FakeDevice("admin", pw)
    env = {k: v for k, v in os.environ.items() if k not in ("SRP_PASSWORD", "SRP_QR_PAYLOAD")}
    fd, slave = pty.openpty()                        # the bridge's terminal

    def own_terminal():                              # as a login shell would: setsid + ctty
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "host_tools", "bridge", "--device",
                             dev.address, "--user", "admin"], cwd=str(REPO), env=env,
                            stdin=slave, stdout=slave, stderr=slave, preexec_fn=own_terminal)
    os.close(slave)
    term = TerminalReader(fd)
    try:
        term.until("Password for admin")
        typo = pw[:-1] + ("0" if pw[-1] != "0" else "1")
        os.write(fd, typo.encode() + b"\n")
        out = term.until("try again")
        assert "check symbol" in out and dev.connections == 0
        term.until("Password for admin")
        os.write(fd, pw.lower().replace("-", " ").encode() + b"\n")
        out = term.until("bridge url=http://127.0.0.1:")
        assert dev.handshakes == 1
        # getpass switched the echo off: what was typed never shows on the terminal
        typed = pw.lower().replace("-", " ")
        seen = term.seen.decode("utf-8", "replace")
        assert typo not in seen and typed not in seen and "GetPassWarning" not in seen
    finally:
        proc.terminate()
        proc.wait(30)
        os.close(fd)
        dev.close()


def test_sim_device_backoff_is_respected(tmp_path):
    """The real firmware's back-off: after a failed login it drops 127.0.0.1 at once."""
    import simdevice
    pw = generate()
    root = simdevice.make_root(tmp_path / "root", pw,
                               limits={"backoff_free": 0, "backoff_base": 30})
    dev = simdevice.Device(root)
    dev.start()
    bridge = BridgeProc(["--device", "127.0.0.1:%d" % dev.port, "--user", "admin"],
                        password=generate()).start()
    try:
        assert "rejected this password" in bridge.stderr()
        dev.wait_for("failed login from 127.0.0.1", where="log")
        s = Session(bridge)
        time.sleep(2.2)
        # the right password now, but the device is backing off: it is told so
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert status == 401 and b"backing off" in body
        dev.wait_for("login back-off", where="log")
        refusals = dev.log().count("login back-off")
        # and the bridge does not try again before its own, longer wait
        status, _, body = s.shell("POST", "/__bridge/login",
                                  body=urlencode({"password": pw}).encode())
        assert b"Too many failed attempts" in body
        time.sleep(0.5)
        assert dev.log().count("login back-off") == refusals == 1
        assert dev.log().count("failed login") == 1
    finally:
        bridge.stop()
        dev.stop()
