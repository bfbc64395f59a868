"""The whole sim device through real curl: pages, API, persistence, reset, port 80.

Each test boots boards/sim/device.py on free 127.0.0.1 ports with a device
root made in a temp dir; the label password is generated per run with
`secrets` and only its verifier is written to the device.
"""
import json
import re
import time

import pytest

from simdevice import Device, make_root, new_password


def token_of(page):
    m = re.search(r'name="token" value="([0-9a-f]+)"', page)
    assert m, page[:500]
    return m.group(1)


@pytest.fixture
def device(tmp_path):
    pw = new_password()
    root = make_root(tmp_path / "root", pw)
    dev = Device(root).start()
    dev.password = pw
    yield dev
    dev.kill()


def restart(dev):
    dev.kill()
    new = Device(dev.root)
    new.password = dev.password
    return new.start()


def works(dev, password, interface=None):
    rc, status, body = dev.curl("/api/status", password, interface=interface)
    return rc == 0 and status == 200


def test_status_page_and_api(device):
    rc, status, page = device.curl("/", device.password)
    assert (rc, status) == (0, 200), page
    for text in ("esp32-a1b2c3", "0.1.0", "TLS_SRP_SHA_WITH_AES", "3072 bits",
                 "<th>User</th><td>admin</td>", "Encrypt-then-MAC</th><td>yes",
                 "Extended master secret</th><td>yes", "Free heap", "tls: login admin"):
        assert text in page, text
    rc, status, body = device.curl("/api/status", device.password)
    st = json.loads(body)
    assert st["device_id"] == "esp32-a1b2c3" and st["firmware_version"] == "0.1.0"
    assert st["tls"] == {"user": "admin", "cipher_suite": st["tls"]["cipher_suite"],
                         "srp_group": 3072, "etm": True, "ems": True, "resumed": False}
    assert st["tls"]["cipher_suite"].startswith("TLS_SRP_SHA_WITH_AES_")
    assert st["free_heap"] > 0 and st["uptime_s"] >= 0 and st["credential"] == "factory"
    assert any("boot:" in line for line in st["log"])
    cred = json.loads((device.root / "factory_credential.json").read_text())
    for secret in (device.password, cred["verifier"], cred["salt"]):
        assert secret not in page and secret not in body


def test_wrong_password_and_unknown_user_fail(device):
    rc, status, _ = device.curl("/", new_password())
    assert rc != 0 and status == 0
    rc, status, _ = device.curl("/", device.password, user="root")
    assert rc != 0 and status == 0


def test_settings_form_api_validation_and_restart(device):
    pw = device.password
    rc, status, page = device.curl("/settings", pw)
    assert status == 200 and "Device name" in page
    tok = token_of(page)
    wifi_key = new_password()
    rc, status, page = device.curl("/settings", pw, form={
        "token": tok, "name": "Greenhouse", "ssid": "farm-net", "key": wifi_key})
    assert status == 200 and "Saved" in page, page
    assert wifi_key not in page and "(set, not shown)" in page
    # form without the token (cross-site post): refused, nothing changed
    rc, status, _ = device.curl("/settings", pw, form={"name": "evil"})
    assert status == 403
    # invalid input: 400 with a message, nothing changed
    rc, status, body = device.curl("/api/settings", pw, method="PUT",
                                   json_body={"name": "x" * 40})
    assert status == 400 and "name" in json.loads(body)["error"]
    rc, status, body = device.curl("/api/settings", pw, method="PUT",
                                   json_body={"wifi_key": "short"})
    assert status == 400
    rc, status, body = device.curl("/api/settings", pw, method="PUT", data="name=x",
                                   headers=["Content-Type: application/x-www-form-urlencoded"])
    assert status == 415
    rc, status, body = device.curl("/api/settings", pw, method="PUT",
                                   json_body={"name": "Barn 7"})
    assert status == 200 and json.loads(body) == {
        "name": "Barn 7", "wifi_ssid": "farm-net", "wifi_key_set": True}
    device = restart(device)
    rc, status, body = device.curl("/api/settings", pw)
    assert json.loads(body) == {"name": "Barn 7", "wifi_ssid": "farm-net", "wifi_key_set": True}
    rc, status, page = device.curl("/", pw)
    assert "Barn 7" in page and wifi_key not in page
    device.kill()


def test_change_password_form_then_restart(device):
    old, new = device.password, new_password()
    rc, status, page = device.curl("/password", old)
    tok = token_of(page)
    rc, status, page = device.curl("/password", old, form={
        "token": tok, "new": new, "repeat": new + "x"})
    assert status == 400 and "differ" in page
    rc, status, page = device.curl("/password", old, form={"token": tok, "new": "short",
                                                           "repeat": "short"})
    assert status == 400
    assert works(device, old)
    rc, status, page = device.curl("/password", old, form={"token": tok, "new": new,
                                                           "repeat": new})
    assert status == 200 and "Password changed" in page
    assert not works(device, old) and works(device, new)
    device = restart(device)
    assert not works(device, old) and works(device, new)
    st = json.loads(device.curl("/api/status", new)[2])
    assert st["credential"] == "current"
    # nothing about the password in the log file or the console
    text = (device.root / "log.txt").read_text() + device.log()
    cur = json.loads((device.root / "credential.json").read_text())
    for secret in (old, new, cur["verifier"], cur["salt"]):
        assert secret not in text
    device.kill()


def test_api_password_and_verifier_upload(device):
    import os
    from srptls import srp
    old, new, third = device.password, new_password(), new_password()
    rc, status, body = device.curl("/api/password", old, method="POST", json_body={"password": new})
    assert status == 200 and json.loads(body)["changed"] is True
    assert works(device, new) and not works(device, old)
    salt = os.urandom(16)
    v = srp.make_verifier(srp.group(3072), b"admin", third.encode(), salt)
    rc, status, body = device.curl("/api/password", new, method="POST",
                                   json_body={"salt": salt.hex(), "verifier": "%x" % v})
    assert status == 200, body
    assert works(device, third) and not works(device, new)
    rc, status, body = device.curl("/api/password", third, method="POST",
                                   json_body={"salt": "00", "verifier": "02"})
    assert status == 400
    rc, status, body = device.curl("/api/password", third, method="POST",
                                   json_body={"salt": salt.hex(), "verifier": "zz"})
    assert status == 400
    assert works(device, third)


def test_factory_reset_restores_label_password(device):
    label, new = device.password, new_password()
    device.curl("/api/password", label, method="POST", json_body={"password": new})
    device.curl("/api/settings", new, method="PUT", json_body={"name": "Barn", "wifi_ssid": "n"})
    rc, status, page = device.curl("/factory-reset", new)
    assert status == 200 and "Type <code>RESET</code>" in page
    tok = token_of(page)
    rc, status, page = device.curl("/factory-reset", new, form={"token": tok, "confirm": "no"})
    assert status == 400 and works(device, new)
    rc, status, page = device.curl("/factory-reset", new, form={"token": tok, "confirm": "RESET"})
    assert status == 200 and "Factory reset done" in page
    device.wait_for("sim device: booted again", 20, where="err")
    assert works(device, label) and not works(device, new)
    assert json.loads(device.curl("/api/settings", label)[2]) == {
        "name": "", "wifi_ssid": "", "wifi_key_set": False}
    assert not (device.root / "credential.json").exists()
    assert (device.root / "factory_credential.json").exists()


def test_logout_and_reboot(device):
    pw = device.password
    tok = token_of(device.curl("/", pw)[2])
    rc, status, page = device.curl("/logout", pw, form={"token": tok})
    assert status == 200 and "stop the host" in page and "bridge" in page
    rc, status, page = device.curl("/reboot", pw, form={"token": "0" * 32})
    assert status == 403
    rc, status, page = device.curl("/reboot", pw, form={"token": tok})
    assert status == 200 and "restarts" in page
    device.wait_for("sim device: booted again", 20, where="err")
    assert works(device, pw)
    # a new boot has a new form token: the old one no longer works
    rc, status, _ = device.curl("/reboot", pw, form={"token": tok})
    assert status == 403


def test_unknown_route_and_method(device):
    assert device.curl("/nope", device.password)[1] == 404
    assert device.curl("/api/status", device.password, method="DELETE")[1] == 405


# -- plain HTTP port -----------------------------------------------------------

def test_port80_transition_page_only(device):
    pw = device.password
    device.curl("/api/settings", pw, method="PUT",
                json_body={"name": "SecretBarn", "wifi_ssid": "hidden-net", "wifi_key": "wifikey123"})
    rc, status, page = device.http("/")
    assert status == 200
    # the suggested curl command takes the password from stdin, never argv (ps)
    assert "--tlspassword" not in page
    for text in ("TLS-SRP", "never takes a", "curl -k -K - --tlsauthtype SRP --tlsuser admin",
                 "tlspassword = \"PASSWORD-FROM-LABEL\"",
                 "https://127.0.0.1:%d/" % device.port, "esp32-a1b2c3",
                 "srp-iot bridge --device 127.0.0.1:%d --user admin" % device.port):
        assert text in page, text
    assert "<form" not in page and "<input" not in page and "not provisioned" not in page
    # the curl command names the address the visitor used; junk is not echoed
    page = device.http("/", headers=["Host: esp32-a1b2c3.local:8080"])[2]
    assert "https://esp32-a1b2c3.local:%d/" % device.port in page
    page = device.http("/", headers=["Host: x<script>y"])[2]
    assert "<script>" not in page and "https://127.0.0.1:%d/" % device.port in page
    cred = json.loads((device.root / "factory_credential.json").read_text())
    tok = token_of(device.curl("/", pw)[2])
    for secret in (pw, cred["salt"], cred["verifier"], "SecretBarn", "hidden-net",
                   "wifikey123", tok):
        assert secret not in page
    for path in ("/settings", "/password", "/api/status", "/api/settings", "/factory-reset",
                 "/logout", "/reboot", "/index.html"):
        rc, status, body = device.http(path)
        assert status == 404, path
        for secret in ("SecretBarn", "hidden-net", "admin</td>"):
            assert secret not in body
    for path, method in (("/", "POST"), ("/api/password", "POST"), ("/settings", "POST"),
                         ("/api/settings", "PUT"), ("/reboot", "POST")):
        rc, status, _ = device.http(path, method, data='{"password": "x"}',
                                    headers=["Content-Type: application/json"])
        assert status in (404, 405), (path, method, status)
    assert works(device, pw)   # nothing changed through port 80
    assert json.loads(device.curl("/api/settings", pw)[2])["name"] == "SecretBarn"


def test_unprovisioned_device(tmp_path):
    root = make_root(tmp_path / "root", None)
    with Device(root) as dev:
        rc, status, page = dev.http("/")
        assert status == 200 and "not provisioned" in page
        rc, status, _ = dev.curl("/", new_password())
        assert rc != 0 and status == 0
        dev.wait_for("no valid credential", 10, where="err")


def test_corrupt_current_credential_falls_back(tmp_path):
    pw = new_password()
    root = make_root(tmp_path / "root", pw)
    (root / "credential.json").write_text('{"format": "srp-iot-credential/1", "us')
    with Device(root) as dev:
        assert works(dev, pw)
        assert "current credential unusable" in dev.log()
        assert "current credential unusable" in (root / "log.txt").read_text()


def test_32bit_build_serves(tmp_path):
    """The ESP32 proxy build (32-bit ints and pointers) runs the same device."""
    pw = new_password()
    root = make_root(tmp_path / "root", pw)
    with Device(root, build="32") as dev:
        rc, status, page = dev.curl("/", pw)
        assert status == 200 and "3072 bits" in page
        rc, status, body = dev.curl("/api/password", pw, method="POST",
                                    json_body={"password": new_password()})
        assert status == 200 and not works(dev, pw)


def test_unknown_user_looks_like_the_device_from_first_boot(tmp_path):
    # RFC 5054 2.5.1.3: an unknown user gets a simulated salt and verifier.
    # Its group and salt length must be the device's own from the first
    # connection on, or a fresh device would tell real from unknown names.
    # The device here uses the 2048-bit group and a 24-byte salt (the
    # engine's defaults are 3072 and 16) for a user other than "admin", and
    # the first connection after boot is a recorded curl ClientHello for
    # "admin", an unknown user.
    import os
    import socket
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
    import hostile
    from srptls import credential, srp
    pw = new_password()
    root = make_root(tmp_path / "root", pw)
    salt = os.urandom(24)
    v = srp.make_verifier(srp.group(2048), b"owner", pw.encode(), salt)
    (root / "factory_credential.json").write_text(
        credential.Credential("owner", 2048, salt, v).dumps())
    dev = Device(root).start()
    try:
        with socket.create_connection(("127.0.0.1", dev.port), timeout=30) as s:
            s.sendall(hostile.real_client_hello())
            data = b""
            ske = None
            while ske is None:
                chunk = s.recv(65536)
                assert chunk, "closed before ServerKeyExchange: %r" % data[:64]
                data += chunk
                hs, pos = b"", 0          # handshake bytes of complete records
                while pos + 5 <= len(data):
                    n = int.from_bytes(data[pos + 3:pos + 5], "big")
                    if pos + 5 + n > len(data):
                        break
                    if data[pos] == 22:
                        hs += data[pos + 5:pos + 5 + n]
                    pos += 5 + n
                i = 0
                while i + 4 <= len(hs):
                    n = int.from_bytes(hs[i + 1:i + 4], "big")
                    if hs[i] == 12 and i + 4 + n <= len(hs):
                        ske = hs[i + 4:i + 4 + n]
                    i += 4 + n
        n_len = int.from_bytes(ske[0:2], "big")
        g_len = int.from_bytes(ske[2 + n_len:4 + n_len], "big")
        s_len = ske[4 + n_len + g_len]
        assert (n_len, s_len) == (256, 24), (n_len, s_len)
    finally:
        dev.kill()
