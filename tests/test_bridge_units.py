"""Unit tests of the bridge's parts that need no device: guard, password sources, pages."""
import io
import secrets
from email.message import Message
from urllib.parse import quote

import pytest

from host_tools import bridge_pages
from host_tools.bridge import check_bind
from host_tools.bridge_device import Backoff
from host_tools.bridge_guard import Guard, Refused, strip_bridge_cookies
from host_tools.bridge_password import (PasswordError, Secret, parse_qr_payload,
                                        prompt_password, resolve)
from host_tools.password import generate

SHELL, DEV = 40001, 40002


def headers(**kv):
    m = Message()
    for k, v in kv.items():
        m[k.replace("_", "-")] = v
    return m


@pytest.fixture
def guard():
    return Guard("127.0.0.1", SHELL, DEV, secrets.token_urlsafe(32), secrets.token_urlsafe(24))


def cookie(guard):
    return "other=1; %s=%s" % (guard.cookie, guard.cookie_secret)


def test_guard_accepts_the_frame_and_its_own_requests(guard):
    # initial iframe load from the shell (same-site, Referer = shell origin)
    h = headers(Host="127.0.0.1:%d" % DEV, Cookie=cookie(guard), Sec_Fetch_Site="same-site",
                Sec_Fetch_Dest="iframe", Referer="http://127.0.0.1:%d/" % SHELL)
    assert guard.check_device("GET", h) == "forward"
    # a form posted inside the frame
    h = headers(Host="127.0.0.1:%d" % DEV, Cookie=cookie(guard), Sec_Fetch_Site="same-origin",
                Sec_Fetch_Dest="iframe", Origin="http://127.0.0.1:%d" % DEV)
    assert guard.check_device("POST", h) == "forward"
    # a top-level visit of a device page goes to the shell (banner)
    h = headers(Host="127.0.0.1:%d" % DEV, Cookie=cookie(guard), Sec_Fetch_Site="none",
                Sec_Fetch_Dest="document")
    assert guard.check_device("GET", h) == "to-shell"


@pytest.mark.parametrize("case", [
    dict(Host="evil.example:%d" % DEV),                                     # DNS rebinding
    dict(Host="localhost:%d" % DEV),
    dict(cookie=None),                                                      # no launch secret
    dict(cookie="srpiot_bridge_%d=guess" % SHELL),
    dict(Sec_Fetch_Site="cross-site"),
    dict(Sec_Fetch_Site="same-site", Sec_Fetch_Dest="iframe", Referer="http://127.0.0.1:9/"),
    dict(Sec_Fetch_Site="same-site", Sec_Fetch_Dest="iframe"),               # Referer suppressed
    dict(Sec_Fetch_Site="same-site", Sec_Fetch_Dest="document",
         Referer="http://127.0.0.1:%d/" % SHELL),
    dict(method="POST", Origin="http://evil.example"),                      # cross-origin POST
    dict(method="POST", Origin="null"),
    dict(method="POST"),                                                    # Origin missing
    dict(method="POST", Origin="http://127.0.0.1:%d" % SHELL),              # other bridge port
    dict(method="PUT", Origin="http://localhost:%d" % DEV),
    dict(method="OPTIONS", Origin="http://evil.example"),
])
def test_guard_refuses_on_the_device_port(guard, case):
    case = dict(case)
    method = case.pop("method", "GET")
    ck = case.pop("cookie", cookie(guard))
    h = {"Host": "127.0.0.1:%d" % DEV}
    if ck:
        h["Cookie"] = ck
    h.update(case)
    with pytest.raises(Refused):
        guard.check_device(method, headers(**h))


def test_guard_shell_port(guard):
    ok = headers(Host="127.0.0.1:%d" % SHELL, Cookie=cookie(guard), Sec_Fetch_Site="same-origin",
                 Origin="http://127.0.0.1:%d" % SHELL)
    guard.check_shell("POST", "/__bridge/logout", ok)
    # the launch URL needs no cookie (it sets it) but still the right Host
    guard.check_shell("GET", "/__bridge/launch?token=x", headers(Host="127.0.0.1:%d" % SHELL))
    with pytest.raises(Refused):
        guard.check_shell("GET", "/__bridge/launch?token=x", headers(Host="evil:%d" % SHELL))
    for bad in (dict(Sec_Fetch_Site="same-site"), dict(Origin="http://127.0.0.1:%d" % DEV)):
        h = dict(Host="127.0.0.1:%d" % SHELL, Cookie=cookie(guard))
        h.update(bad)
        with pytest.raises(Refused):
            guard.check_shell("POST", "/__bridge/logout", headers(**h))
    assert guard.token_ok(guard.launch_token)
    assert not guard.token_ok(guard.launch_token[:-1] + "A" if guard.launch_token[-1] != "A"
                              else guard.launch_token[:-1] + "B")
    assert not guard.token_ok("")


def test_bridge_cookie_never_forwarded():
    assert strip_bridge_cookies(["a=1; srpiot_bridge_4000=s3cret; b=2",
                                 "srpiot_bridge_5=x"]) == "a=1; b=2"
    assert strip_bridge_cookies(["srpiot_bridge_4000=s"]) is None


def test_qr_payload_parsing():
    pw = generate()
    uri = "srp-iot://%s:%s@192.168.4.1:443/?id=esp32-a1b2c3" % (quote("ad min"), quote(pw))
    p = parse_qr_payload(uri + "\n")
    assert (p.user, p.password, p.host, p.port, p.device_id) == (
        "ad min", pw, "192.168.4.1", 443, "esp32-a1b2c3")
    typo = pw[:-1] + ("0" if pw[-1] != "0" else "1")
    for bad in ("", "http://a:b@h:1/", "srp-iot://h:1/", "srp-iot://u:%s@h/" % pw,
                "srp-iot://u:%s@h:1/" % typo, "srp-iot://u:p@h:99999/"):
        with pytest.raises(PasswordError):
            parse_qr_payload(bad)


def test_qr_payload_errors_never_echo_the_password():
    pw = generate()
    for bad in (pw, "%s@192.168.4.1:443" % pw, "admin %s" % pw, "http://admin:%s@h:1/" % pw):
        with pytest.raises(PasswordError) as e:
            parse_qr_payload(bad)
        for group in pw.split("-"):
            assert group not in str(e.value), (bad, str(e.value))


def test_password_sources(monkeypatch):
    pw = generate()
    monkeypatch.delenv("SRP_QR_PAYLOAD", raising=False)
    monkeypatch.setenv("SRP_PASSWORD", "dev-password-not-a-label-one")
    c = resolve("127.0.0.1:8443", "admin")
    assert c.secret.value == bytearray(b"dev-password-not-a-label-one") and c.source == "SRP_PASSWORD"
    monkeypatch.delenv("SRP_PASSWORD")
    # non-interactive and nothing given: a clear error (bridge: ask in the browser)
    with pytest.raises(PasswordError, match="no password"):
        resolve("127.0.0.1:8443", "admin", interactive=False)
    assert resolve("127.0.0.1:8443", "admin", interactive=False, allow_missing=True).secret is None
    # QR payload on stdin supplies device and user
    uri = "srp-iot://admin:%s@10.0.0.7:443/?id=esp32-0a0b0c" % pw
    c = resolve(qr_payload=True, stdin=io.StringIO(uri + "\n"))
    assert (c.host, c.port, c.user, c.device_id) == ("10.0.0.7", 443, "admin", "esp32-0a0b0c")
    assert c.secret.value.decode() == pw
    with pytest.raises(PasswordError, match="differs"):
        resolve(user="root", qr_payload=True, stdin=io.StringIO(uri))
    for bad in ("nocolon", "host:", "host:0", "host:70000", ":443"):
        with pytest.raises(PasswordError):
            resolve(bad, "admin")


def test_prompt_rejects_typos_before_any_attempt():
    pw = generate()
    typo = pw.replace("-", "")[:-1] + ("0" if pw[-1] != "0" else "1")
    answers = iter([typo, "short", pw.lower().replace("-", " ")])
    said = []
    got = prompt_password("admin", "h:1", prompt=lambda _: next(answers), echo_err=said.append)
    assert got == pw and len(said) == 2 and "check symbol" in said[0]
    with pytest.raises(PasswordError):
        prompt_password("admin", "h:1", prompt=lambda _: typo, echo_err=said.append)


def test_secret_wipe_overwrites_the_buffer():
    s = Secret("K7Q2-M9XD")
    buf = s.value
    s.wipe()
    assert buf == bytearray() and not s
    with pytest.raises(PasswordError):
        s.value
    assert "K7Q2" not in repr(s)


def test_backoff_doubles_and_caps():
    now = [100.0]
    b = Backoff(base=2, cap=10, clock=lambda: now[0])
    assert b.remaining() == 0
    delays = []
    for _ in range(5):
        b.failed()
        delays.append(b.remaining())
    assert delays == [2, 4, 8, 10, 10]
    b.succeeded()
    assert b.remaining() == 0
    b.defer(30)
    assert b.remaining() == 30


def test_bind_policy():
    assert check_bind("127.0.0.1", False) is None
    assert check_bind("::1", False) is None
    for bad, force in (("192.168.1.5", False), ("0.0.0.0", True), ("::", True), ("host", True)):
        with pytest.raises(PasswordError):
            check_bind(bad, force)
    assert "WARNING" in check_bind("192.168.1.5", True)


def test_pages_escape_device_values():
    class Link:
        authority = "h:1"
        unlocked = True
        info = None
        user = "<b>admin</b>"
        idle_connections = 0
        handshakes = 0

    class State:
        device_id = "<script>alert(1)</script>"
        user = "<b>admin</b>"
        unlocked = False
        info = None
        launch_code = "ABC-DEF"
        link = Link()
        guard = Guard("127.0.0.1", SHELL, DEV, "c", "t")
        source = ""
        device_warning = None
        srp_group = None

    for page in (bridge_pages.login_page(State(), "<i>x</i>"), bridge_pages.session_page(State()),
                 bridge_pages.shell(State(), "http://127.0.0.1:%d/'onload='x" % DEV)):
        text = page.html
        assert "<script>" not in text and "<b>admin" not in text and "<i>x" not in text
        assert "'onload='x" not in text
        assert "frame-ancestors 'none'" in page.csp() and "script-src" not in page.csp()
