"""`srp-iot connect` against a sim device (the real firmware under MicroPython)."""
import json
import os
import secrets
import subprocess
import sys
from urllib.parse import quote

import pytest
import segno

import simdevice
from browser.bridgeproc import REPO
from host_tools.password import generate


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    password = generate()
    root = simdevice.make_root(tmp_path_factory.mktemp("connect") / "root", password,
                               device_id="esp32-c0ffee")
    with simdevice.Device(root) as dev:
        yield dev, password


def connect(*args, password=None, stdin=None, env_extra=None):
    env = dict(os.environ)
    env.pop("SRP_PASSWORD", None)
    env.pop("SRP_QR_PAYLOAD", None)
    if password is not None:
        env["SRP_PASSWORD"] = password
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "host_tools", "connect"] + list(args),
                          cwd=str(REPO), env=env, capture_output=True, timeout=120,
                          input=stdin.encode() if stdin is not None else None,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def test_get_and_put_confirmed_by_curl(sim):
    dev, pw = sim
    addr = "127.0.0.1:%d" % dev.port
    r = connect("--device", addr, "--user", "admin", "-v", "GET", "/api/status", password=pw)
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert status["device_id"] == "esp32-c0ffee" and status["tls"]["user"] == "admin"
    assert b"HTTP 200" in r.stderr and b"TLS_SRP_SHA_WITH_AES" in r.stderr
    name = "valve-" + secrets.token_hex(3)
    r = connect("--device", addr, "--user", "admin", "-i", "PUT", "/api/settings",
                "--data", json.dumps({"name": name}), password=pw)
    assert r.returncode == 0 and r.stdout.startswith(b"HTTP/1.1 200"), (r.stdout, r.stderr)
    rc, code, body = dev.curl("/api/settings", pw)
    assert rc == 0 and code == 200 and json.loads(body)["name"] == name
    # --fail turns an HTTP error into exit 4
    r = connect("--device", addr, "--user", "admin", "--fail", "GET", "/nope", password=pw)
    assert r.returncode == 4 and b"HTTP 404" in r.stderr


def test_label_payload_on_stdin(sim):
    dev, pw = sim
    uri = "srp-iot://admin:%s@127.0.0.1:%d/?id=esp32-c0ffee" % (quote(pw), dev.port)
    r = connect("--qr-payload", "GET", "/api/status", stdin=uri + "\n")
    assert r.returncode == 0 and json.loads(r.stdout)["device_id"] == "esp32-c0ffee"


def test_wrong_password_is_a_clear_error(sim):
    dev, pw = sim
    r = connect("--device", "127.0.0.1:%d" % dev.port, "--user", "admin", "GET", "/api/status",
                password=generate())
    assert r.returncode == 4
    assert b"rejected the password" in r.stderr and b"hint:" in r.stderr
    assert pw.encode() not in r.stderr + r.stdout


def test_qr_photo(sim, tmp_path):
    """--qr decodes the label's QR code from an image (zxing-cpp, used only here)."""
    dev, pw = sim
    uri = "srp-iot://admin:%s@127.0.0.1:%d/?id=esp32-c0ffee" % (quote(pw), dev.port)
    img = tmp_path / "label.png"
    segno.make(uri, error="m").save(str(img), scale=6, border=4)
    r = connect("--qr", str(img), "GET", "/api/status")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["device_id"] == "esp32-c0ffee"
    blank = tmp_path / "blank.png"
    segno.make("hello", error="m").save(str(blank), scale=6)
    r = connect("--qr", str(blank), "GET", "/api/status")
    assert r.returncode == 3 and b"no srp-iot:// QR code" in r.stderr
