"""Headless Chromium administers a sim device through the bridge.

Debian's chromium, driven by Playwright's Python package with
executable_path (no browser download). The device is the real firmware
under the MicroPython unix port (tests/simdevice.py); the change made in
the browser is confirmed with curl over TLS-SRP, an independent client.

Screenshots go to a temporary directory; with SRP_IOT_UPDATE_SCREENSHOTS=1
they are written to docs/ for the README instead.
"""
import contextlib
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import simdevice
from browser.bridgeproc import REPO, BridgeProc
from browser.fake_device import FakeDevice
from host_tools.password import generate

CHROMIUM = "/usr/bin/chromium"


@contextlib.contextmanager
def foreign_page(html):
    """Another web server on 127.0.0.1 (another port): a hostile local page."""
    body = html.encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield "http://127.0.0.1:%d/" % srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run tools/bootstrap (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def shots(tmp_path):
    if os.environ.get("SRP_IOT_UPDATE_SCREENSHOTS") == "1":
        d = REPO / "docs"
        d.mkdir(exist_ok=True)
        return d
    return tmp_path


@pytest.fixture
def sim(tmp_path):
    password = generate()
    root = simdevice.make_root(tmp_path / "root", password, device_id="esp32-a1b2c3")
    with simdevice.Device(root) as dev:
        yield dev, password


def test_browser_administers_sim_device(browser, sim, shots):
    dev, password = sim
    bridge = BridgeProc(["--device", "127.0.0.1:%d" % dev.port, "--user", "admin"],
                        password=password).start()
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    try:
        page = ctx.new_page()
        page.goto(bridge.url)
        assert page.url == bridge.shell + "/"           # the token URL became a cookie
        cookies = ctx.cookies()
        assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"

        banner = page.locator("#srp-bridge-banner")
        text = banner.inner_text()
        for part in ("TLS-SRP", "esp32-a1b2c3", "admin", "TLS_SRP_SHA_WITH_AES_256_CBC_SHA",
                     bridge.launch_code()):
            assert part in text, (part, text)
        device = page.frame_locator("iframe[name=device]")
        device.locator("text=esp32-a1b2c3").first.wait_for()
        assert "TLS_SRP_SHA_WITH_AES" in device.locator("body").inner_text()
        page.screenshot(path=str(shots / "bridge-status.png"))
        banner.screenshot(path=str(shots / "bridge-banner.png"))
        page.set_viewport_size({"width": 390, "height": 760})      # a phone
        assert banner.bounding_box()["width"] <= 390 and banner.is_visible()
        page.screenshot(path=str(shots / "bridge-phone.png"))
        page.set_viewport_size({"width": 1000, "height": 700})

        # settings form inside the device frame
        new_name = "pump-" + secrets.token_hex(3)
        device.locator("a[href='/settings']").first.click()
        device.locator("input[name=name]").fill(new_name)
        device.locator("form[action='/settings'] button").click()
        device.locator("text=Saved.").wait_for()
        # confirmed by an independent TLS-SRP client: curl
        rc, status, body = dev.curl("/api/status", password)
        assert rc == 0 and status == 200 and '"name": "%s"' % new_name in body

        # the bridge's own page, then Logout
        page.goto(bridge.shell + "/__bridge/")
        assert "TLS_SRP_SHA_WITH_AES_256_CBC_SHA" in page.content()
        assert "3072 bits" in page.content()
        page.screenshot(path=str(shots / "bridge-session.png"))
        page.locator("button", has_text="Logout").click()
        page.wait_for_url("**/__bridge/login")
        # the next page asks for the password again
        page.goto(bridge.shell + "/")
        assert page.url.endswith("/__bridge/login")
        assert page.locator("input[type=password]").is_visible()
        assert "Not connected" in page.locator("#srp-bridge-banner").inner_text()
        page.screenshot(path=str(shots / "bridge-login.png"))

        # a wrong (well-formed) password: a clear message, then the back-off
        page.fill("input[type=password]", generate())
        page.click("button[type=submit]")
        assert "rejected this password" in page.locator("p[role=alert]").inner_text()
        page.fill("input[type=password]", password)
        page.click("button[type=submit]")
        assert "Too many failed attempts" in page.locator("p[role=alert]").inner_text()
        page.wait_for_timeout(2200)
        page.fill("input[type=password]", password.lower())   # typed casually: still accepted
        page.click("button[type=submit]")
        page.wait_for_url(bridge.shell + "/")
        frame = page.frame_locator("iframe[name=device]")
        frame.locator("text=%s" % new_name).first.wait_for()
        # the device's own "Log out" (in the frame): the bridge forgets the password too
        frame.locator("form[action='/logout'] button").click()
        frame.locator("h1", has_text="Logged out").wait_for()
        page.goto(bridge.shell + "/")
        assert page.url.endswith("/__bridge/login")
        assert "Logged out on the device" in page.content()
    finally:
        ctx.close()
        bridge.stop()
    log = dev.log()
    assert password not in log and password not in bridge.stderr()


def test_device_page_cannot_forge_or_replace_the_banner(browser):
    pw = generate()
    dev = FakeDevice("admin", pw)
    bridge = BridgeProc(["--device", dev.address, "--user", "admin"], password=pw).start()
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(bridge.url)
        page.goto(bridge.shell + "/forge")
        frame = page.frame_locator("iframe[name=device]")
        frame.locator("#result").wait_for()
        page.wait_for_timeout(300)
        assert frame.locator("#result").inner_text() == "banner-blocked top-blocked"
        assert page.url == bridge.shell + "/forge"
        real = page.locator("#srp-bridge-banner").inner_text()
        assert "esp32-fake01" in real and "FORGED" not in real and bridge.launch_code() in real
        # the look-alike drawn inside the frame lacks the launch code
        assert bridge.launch_code() not in frame.locator("body").inner_text()
        # opening a device page top-level lands in the shell, banner included
        device_origin = page.locator("iframe[name=device]").get_attribute("src").rsplit("/", 1)[0]
        page.goto(device_origin + "/")
        assert page.url == bridge.shell + "/"
        assert page.locator("#srp-bridge-banner").is_visible()
        # a foreign local page (another server on 127.0.0.1, so same-site and the
        # browser even sends it our cookie) cannot drive the device through the bridge
        before = len(dev.requests)
        attack = ("<!doctype html><form id=f method=post action='%s/settings'>"
                  "<input name=name value=pwned></form><p id=r>sent</p><script>"
                  "fetch('%s/api/status',{credentials:'include'}).then("
                  "function(x){document.getElementById('r').textContent='fetched '+x.status})"
                  ".catch(function(e){document.getElementById('r').textContent='fetch-failed'})"
                  "</script>" % (device_origin, device_origin))
        with foreign_page(attack) as foreign_url:
            other = ctx.new_page()
            other.goto(foreign_url)
            other.wait_for_function("document.getElementById('r').textContent != 'sent'")
            assert other.locator("#r").inner_text() == "fetch-failed"   # no CORS, and refused
            with other.expect_navigation():
                other.evaluate("document.getElementById('f').submit()")
            assert "Refused by the srp-iot bridge" in other.content()
        assert len(dev.requests) == before and dev.name == "bench unit"
    finally:
        ctx.close()
        bridge.stop()
        dev.close()
