"""Flashing end to end without hardware: esp32-mock-bootloader on a pty, real esptool.

flash -> read the flash back with esptool -> extract the filesystem
partition -> boot it under the unix port -> decode the label's QR code ->
log in with curl using the decoded password.
"""
import shutil

import pytest
import zxingcpp
from PIL import Image

import simdevice
from factory import MockBoard, esptool_read, fake_firmware, srp_iot
from host_tools import boards, image, label
from host_tools.station import Station
from srptls import credential, srp


@pytest.fixture
def board(tmp_path):
    b = MockBoard(tmp_path, "24:0a:c4:5e:00:01")
    yield b
    b.stop()


def qr_password(png):
    with Image.open(png) as img:
        texts = [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]
    assert len(texts) == 1
    return label.parse_payload(texts[0])


def test_flash_read_back_boot_and_log_in(board, tmp_path):
    b = boards.load("ESP32_GENERIC")
    env = {"SRP_IOT_STATION": str(tmp_path / "station.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    fw = fake_firmware(tmp_path / "micropython.bin")
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--port", board.port, "--firmware", fw,
                "--group", "2048", env=env)
    assert r.returncode == 0, r.stderr
    device_id = r.stdout.strip()
    assert device_id == "esp32-5e0001"                       # from the board's MAC
    assert "writing" in r.stderr and "verifying" in r.stderr  # progress was shown
    ddir = tmp_path / "out" / "devices" / device_id

    # read the flash back with esptool: firmware and filesystem where the board file says
    assert esptool_read(board.port, b.firmware_offset, fw.stat().st_size, tmp_path / "fw.rb") == fw.read_bytes()
    part = esptool_read(board.port, b.fs_offset, b.fs_size, tmp_path / "fs.rb")
    assert part == (ddir / "fs.img").read_bytes()
    files = image.read_lfs(part, b)
    cred = credential.loads(files["/factory_credential.json"].decode())

    # the label's QR code carries the password that matches the flashed verifier
    payload = qr_password(ddir / "label.png")
    assert payload["device_id"] == device_id and payload["user"] == "admin"
    assert srp.make_verifier(srp.group(cred.group), b"admin", payload["password"].encode(),
                             cred.salt) == cred.verifier

    st = Station(tmp_path / "station.db")
    row = st.get(device_id)
    st.close()
    assert row["mac"] == "24:0a:c4:5e:00:01" and row["board"] == "ESP32_GENERIC"
    assert row["fingerprint"] == cred.fingerprint() and row["flashed_at"] is not None
    assert row["firmware_hash"] and row["image_hash"] and row["last_error"] is None

    # boot the partition read back from the board under the unix port, log in with curl
    img = tmp_path / "readback.img"
    shutil.copy(tmp_path / "fs.rb", img)
    with simdevice.Device(img, source_path=False) as dev:       # ports overridden to free ones
        rc, status, body = dev.curl("/", payload["password"], user=payload["user"])
        assert (rc, status) == (0, 200), (body, dev.log())

    # flashing again with the same firmware is skipped; --force keeps the credential
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--port", board.port, "--firmware", fw, env=env)
    assert r.returncode == 0 and "already flashed" in r.stderr
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--port", board.port, "--firmware", fw,
                "--force", env=env)
    assert r.returncode == 0, r.stderr
    again = image.read_lfs(esptool_read(board.port, b.fs_offset, b.fs_size, tmp_path / "fs2.rb"), b)
    assert credential.loads(again["/factory_credential.json"].decode()) == cred


def test_flash_errors_have_exit_codes(board, tmp_path):
    env = {"SRP_IOT_STATION": str(tmp_path / "station.db"), "SRP_IOT_OUT": str(tmp_path / "out"),
           "SRP_IOT_RETRIES": "1", "SRP_IOT_RETRY_BACKOFF": "0.1"}
    fw = fake_firmware(tmp_path / "micropython.bin", 4096)
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--firmware", fw, env=env)
    assert r.returncode == 3 and "--port is required" in r.stderr
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--port", board.port, "--firmware",
                tmp_path / "missing.bin", env=env)
    assert r.returncode == 3 and "not found" in r.stderr and "hint:" in r.stderr
    r = srp_iot("flash", "--board", "ESP32_GENERIC", "--port", str(tmp_path / "ttyNONE"),
                "--firmware", fw, env=env)
    assert r.returncode == 4, r.stderr
    assert "after 2 tries" in r.stderr and "hint:" in r.stderr


def test_transient_serial_error_is_retried(board, tmp_path):
    """A port that appears only after the first try (a USB adapter re-enumerating)."""
    import os
    import threading
    from host_tools import esp
    link = tmp_path / "ttyUSB-late"
    notes = []
    timer = threading.Timer(0.5, lambda: os.symlink(board.port, link))
    timer.start()
    try:
        tool = esp.Esptool("esp32", str(link), retries=4, backoff=0.4)
        orig = tool.run

        def run(args, on_line=None, **kw):
            return orig(args, on_line=lambda t: notes.append(t), **kw)
        tool.run = run
        assert tool.read_mac() == "24:0a:c4:5e:00:01"
    finally:
        timer.cancel()
    assert any(n.startswith("retry 1/4") for n in notes), notes


def test_port_lines_one_line_per_port():
    import io
    from host_tools.progress import PortLines

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    lines = PortLines(["/dev/ttyUSB0", "/dev/ttyUSB1"], tty)
    lines.update("/dev/ttyUSB0", "writing", 0.5, "esp32-000001")
    lines.update("/dev/ttyUSB1", "writing", 0.25, "esp32-000002")
    screen = tty.getvalue()
    assert screen.count("\x1b[2A") == 1                   # redrawn in place
    last = screen.rsplit("\x1b[2A", 1)[1].replace("\x1b[2K", "").split("\n")
    assert last[0].startswith("/dev/ttyUSB0") and "[##########          ]  50% writing" in last[0] \
        and last[0].rstrip().endswith("esp32-000001")
    assert last[1].startswith("/dev/ttyUSB1") and "25% writing" in last[1]
    log = io.StringIO()                                   # not a tty: quarter steps only
    lines = PortLines(["/dev/ttyUSB0"], log)
    for f in range(101):
        lines.update("/dev/ttyUSB0", "writing", f / 100)
    assert len(log.getvalue().splitlines()) == 5
