"""Labels: PNG at printer resolution (QR decoded back with zxing-cpp), ZPL, PDF, printing."""
import os
import re
import socket
import stat
import threading
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from factory import srp_iot
from host_tools import label, password as pwmod


def info(user="admin", host="esp32-a1b2c3.local", port=443):
    return label.LabelInfo("esp32-a1b2c3", "esp32-a1b2c3", user, pwmod.generate(), host, port)


def decode(path):
    with Image.open(path) as img:
        return [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]


def test_payload_round_trip_with_awkward_user():
    i = info(user="ad:m@n/é ?&")
    uri = label.payload(i)
    assert uri.startswith("srp-iot://")
    back = label.parse_payload(uri)
    assert back == {"user": i.user, "password": i.password, "host": i.host, "port": 443,
                    "device_id": "esp32-a1b2c3"}


def test_payload_rejects_other_schemes():
    with pytest.raises(ValueError, match="scheme"):
        label.parse_payload("https://admin:x@h:1/?id=a")
    with pytest.raises(ValueError, match="USER:PASSWORD"):
        label.parse_payload("srp-iot://h:1/?id=a")


@pytest.mark.parametrize("printer", sorted(label.PRINTERS))
def test_png_resolution_and_qr_decodes(tmp_path, printer):
    i = info()
    path = label.write_png(i, tmp_path / "l.png", printer)
    w, h, dpi = label.PRINTERS[printer]
    with Image.open(path) as img:
        assert img.size == (w, h)
        assert round(img.info["dpi"][0]) == dpi
    texts = decode(path)
    assert texts == [label.payload(i)]
    fields = label.parse_payload(texts[0])
    assert pwmod.check(fields["password"]) == i.password
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600      # it carries the password


def test_label_sizes_match_the_media():
    # Brother QL 62 mm tape: 696 printable dots at 300 dpi; Zebra 2x1 in at 203 dpi.
    assert label.PRINTERS["brother-ql62"][0] == 696 and label.PRINTERS["brother-ql62"][2] == 300
    assert label.PRINTERS["zebra-2x1"] == (406, 203, 203)


def test_zpl_uses_the_printers_qr_command(tmp_path):
    i = info(user="a^b~c")
    z = label.render_zpl(i).decode()
    assert z.startswith("^XA") and z.rstrip().endswith("^XZ")
    assert "^BQN,2," in z
    qr_field = [l for l in z.splitlines() if "^BQN" in l][0]
    assert "^FDMA," + label.payload(i).replace("~", "\\7E") in qr_field.replace("^FH\\", "")
    # ZPL command characters in data are hex-escaped under ^FH
    user_line = [l for l in z.splitlines() if "user:" in l][0]
    assert "a\\5Eb\\7Ec" in user_line and "^FH\\" in user_line
    assert i.password.split("-")[0] in z


def test_pdf_sheet(tmp_path):
    infos = [info() for _ in range(25)]
    path = label.write_pdf_sheet(infos, tmp_path / "sheet.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    # 3 x 6 labels of 62 x 40 mm fit on A4, so 25 labels take two pages.
    assert len(re.findall(rb"/Type /Page\b(?!s)", data)) == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


class FakePrinter:
    """A raw TCP 9100 printer on 127.0.0.1 that records each job (one per connection)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.jobs = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(20)
                buf = b""
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    buf += b
                self.jobs.append(buf)

    def close(self):
        self.stopping.set()
        self.thread.join(20)
        self.sock.close()


def test_print_tcp_sends_exact_zpl():
    p = FakePrinter()
    z = label.render_zpl(info())
    label.print_tcp(z, "127.0.0.1", p.port)
    p.close()
    assert p.jobs == [z]


def test_print_tcp_failure_is_a_printer_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                 # nothing listens there now
    with pytest.raises(label.PrinterError):
        label.print_tcp(b"^XA^XZ", "127.0.0.1", port, timeout=2)


@pytest.fixture
def provisioned(tmp_path):
    env = {"SRP_IOT_STATION": str(tmp_path / "st.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    r = srp_iot("provision", "--board", "ESP32_GENERIC", "--mac", "24:0a:c4:aa:bb:cc",
                "--group", "2048", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "esp32-aabbcc"
    return env, tmp_path / "out" / "devices" / "esp32-aabbcc"


def test_cli_print_to_fake_tcp_printer(provisioned):
    env, ddir = provisioned
    p = FakePrinter()
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--tcp", "127.0.0.1:%d" % p.port, env=env)
    p.close()
    assert r.returncode == 0, r.stderr
    assert p.jobs == [(ddir / "label.zpl").read_bytes()]
    from host_tools.station import Station
    st = Station(env["SRP_IOT_STATION"])
    assert st.get("esp32-aabbcc")["label_printed_at"] is not None
    st.close()


def test_cli_print_to_cups_queue(provisioned, tmp_path):
    env, ddir = provisioned
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "lp.record"
    # A stand-in `lp`: records its arguments and the file it was given.
    (bindir / "lp").write_text('#!/bin/sh\necho "$@" >> %s\nfor a; do f="$a"; done\ncat "$f" >> %s.data\n'
                               % (record, record))
    (bindir / "lp").chmod(0o755)
    env = dict(env, PATH="%s:%s" % (bindir, os.environ["PATH"]))
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--cups", "zebra_line1", env=env)
    assert r.returncode == 0, r.stderr
    assert "-d zebra_line1 -o raw" in record.read_text()
    assert Path(str(record) + ".data").read_bytes() == (ddir / "label.zpl").read_bytes()
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--cups", "brother_ql", env=env)
    assert r.returncode == 0, r.stderr
    assert record.read_text().splitlines()[-1].startswith("-d brother_ql ")


def test_cli_printer_down_exit_code(provisioned):
    env, _ = provisioned
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--tcp", "127.0.0.1:%d" % port, env=env)
    assert r.returncode == 8
    assert "error: printer 127.0.0.1" in r.stderr


def test_cli_rerender_checks_the_password(provisioned):
    env, ddir = provisioned
    original = label.parse_payload(decode(ddir / "label.png")[0])["password"]
    wrong = pwmod.generate()
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--render", env=env, input=wrong + "\n")
    assert r.returncode == 3 and "does not match" in r.stderr
    assert label.parse_payload(decode(ddir / "label.png")[0])["password"] == original
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--render", "--printer", "zebra-2x1",
                env=env, input=original.lower() + "\n")
    assert r.returncode == 0, r.stderr
    with Image.open(ddir / "label.png") as img:
        assert img.size == (406, 203)
    assert label.parse_payload(decode(ddir / "label.png")[0])["password"] == original


def test_cli_curl_config_reads_the_label(provisioned):
    env, ddir = provisioned
    original = label.parse_payload(decode(ddir / "label.png")[0])["password"]
    r = srp_iot("label", "--device-id", "esp32-aabbcc", "--curl-config", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == 'tlspassword = "%s"' % original
    assert original not in r.stderr
