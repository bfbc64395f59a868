"""verify and update against the sim board's raw REPL on a pty, with the real mpremote and ampy."""
import hashlib
import sqlite3
import subprocess

import pytest
import zxingcpp
from PIL import Image

import simdevice
from factory import ReplBoard, srp_iot
from host_tools import image, label
from srptls import credential


@pytest.fixture
def sim(tmp_path):
    env = {"SRP_IOT_STATION": str(tmp_path / "station.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    r = srp_iot("flash", "--board", "sim", "--group", "2048", env=env)
    assert r.returncode == 0, r.stderr
    device_id = r.stdout.strip()
    ddir = tmp_path / "out" / "devices" / device_id
    board = ReplBoard(tmp_path, ddir / "fs.img")
    yield env, device_id, ddir, board
    board.stop()


def mpremote(port, *args):
    r = subprocess.run([str(image.REPO / ".venv" / "bin" / "mpremote"), "connect", port] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("tool", ["mpremote", "ampy"])
def test_verify_reads_id_and_fingerprint(sim, tool):
    env, device_id, ddir, board = sim
    r = srp_iot("verify", "--port", board.port, "--tool", tool, "--device-id", device_id, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == device_id
    fp = credential.load(str(ddir / "factory_credential.json")).fingerprint()
    assert "credential %s" % fp in r.stderr
    db = sqlite3.connect(env["SRP_IOT_STATION"])
    assert db.execute("SELECT verified_at FROM devices").fetchone()[0] is not None
    db.close()


def test_verify_mismatch_exit_codes(sim):
    env, device_id, ddir, board = sim
    r = srp_iot("verify", "--port", board.port, "--device-id", "esp32-ffffff", env=env)
    assert r.returncode == 5 and "expected esp32-ffffff" in r.stderr
    db = sqlite3.connect(env["SRP_IOT_STATION"])
    with db:
        db.execute("UPDATE devices SET fingerprint = '0000000000000000'")
    db.close()
    r = srp_iot("verify", "--port", board.port, env=env)
    assert r.returncode == 5 and "label will not work" in r.stderr
    r = srp_iot("verify", "--port", board.port, env=dict(env, SRP_IOT_STATION=str(ddir / "other.db")))
    assert r.returncode == 6 and "never provisioned" in r.stderr


def test_update_pushes_changed_files_only_and_keeps_credential(sim, tmp_path):
    env, device_id, ddir, board = sim
    # Make the board's app stale: a damaged module, a missing one, a leftover one,
    # plus the owner's data that update must never touch.
    (tmp_path / "junk").write_bytes(b"not a module")
    (tmp_path / "cred").write_text('{"changed": "by the owner"}')
    mpremote(board.port, "fs", "cp", str(tmp_path / "junk"), ":/srptls/srp.mpy", "+",
             "fs", "rm", ":/admin/pages.mpy", "+",
             "fs", "cp", str(tmp_path / "junk"), ":/srptls/old_module.mpy", "+",
             "fs", "cp", str(tmp_path / "cred"), ":/credential.json", "+",
             "fs", "cp", str(tmp_path / "junk"), ":/settings.json")
    r = srp_iot("update", "--port", board.port, "--board", "sim", "--dry-run", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["would copy /admin/pages.mpy", "would copy /srptls/srp.mpy",
                                        "would remove /srptls/old_module.mpy"]
    r = srp_iot("update", "--port", board.port, "--board", "sim", env=env)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split("\n")) >= {"copied /admin/pages.mpy", "copied /srptls/srp.mpy",
                                         "removed /srptls/old_module.mpy"}
    # the board now matches a freshly built app, and the data files are as they were
    app = image.app_files("x64")
    listing = mpremote(board.port, "exec", "import os\nprint(sorted(os.listdir('/srptls')))")
    assert "old_module.mpy" not in listing
    for path in ("/srptls/srp.mpy", "/admin/pages.mpy"):
        out = mpremote(board.port, "fs", "sha256sum", ":" + path)
        assert hashlib.sha256(app[path]).hexdigest() in out
    assert '"changed": "by the owner"' in mpremote(board.port, "fs", "cat", ":/credential.json")
    assert "not a module" in mpremote(board.port, "fs", "cat", ":/settings.json")
    assert mpremote(board.port, "fs", "cat", ":/factory_credential.json").strip() == \
        (ddir / "factory_credential.json").read_text().strip()
    r = srp_iot("update", "--port", board.port, "--board", "sim", env=env)
    assert r.returncode == 0 and r.stdout.strip() == ""               # nothing left to do


def test_updated_image_still_boots_with_the_label_password(sim, tmp_path):
    env, device_id, ddir, board = sim
    mpremote(board.port, "fs", "rm", ":/admin/pages.mpy")
    r = srp_iot("update", "--port", board.port, "--board", "sim", env=env)
    assert r.returncode == 0 and "copied /admin/pages.mpy" in r.stdout
    board.stop()                                    # the REPL lets go of the image
    pw = label.parse_payload(zxingcpp.read_barcodes(
        Image.open(ddir / "label.png").convert("L"))[0].text)["password"]
    with simdevice.Device(ddir / "fs.img", source_path=False) as dev:
        rc, status, body = dev.curl("/", pw)
        assert (rc, status) == (0, 200), body
