"""Device filesystem images: contract layout, mpy-cross arch per board, littlefs geometry,
and the sim board mounting and booting the very image."""
import json
import struct
import subprocess

import pytest
import zxingcpp
from PIL import Image

import mpy
import simdevice
from factory import srp_iot
from host_tools import boards, image, label
from srptls import credential, srp

# .mpy header byte 2 = (arch << 2) | sub-version, set only in files with native code.
ARCH_CODE = {"x64": 2, "xtensawin": 10, "rv32imc": 11}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One provisioned + imaged device per board (2048-bit group to keep it quick)."""
    tmp = tmp_path_factory.mktemp("img")
    out = {}
    for n, b in enumerate(("ESP32_GENERIC", "ESP32_GENERIC_S3", "ESP32_GENERIC_C3", "sim")):
        env = {"SRP_IOT_STATION": str(tmp / b / "st.db"), "SRP_IOT_OUT": str(tmp / b)}
        mac = "24:0a:c4:00:10:%02x" % n
        r = srp_iot("provision", "--board", b, "--mac", mac, "--group", "2048", env=env)
        assert r.returncode == 0, r.stderr
        ddir = tmp / b / "devices" / r.stdout.strip()
        r = srp_iot("image", "--board", b, "--device-dir", ddir, env=env)
        assert r.returncode == 0, r.stderr
        out[b] = ddir
    return out


@pytest.mark.parametrize("name", ["ESP32_GENERIC", "ESP32_GENERIC_S3", "ESP32_GENERIC_C3", "sim"])
def test_image_layout(built, name):
    board = boards.load(name)
    ddir = built[name]
    data = (ddir / "fs.img").read_bytes()
    assert len(data) == board.fs_size
    # littlefs superblock: magic at offset 8, on-disk version 2.0 right after its tag
    assert data[8:16] == b"littlefs"
    assert struct.unpack("<I", data[20:24])[0] == 0x00020000
    assert struct.unpack("<I", data[24:28])[0] == board.fs_block_size
    assert struct.unpack("<I", data[28:32])[0] == board.fs_block_count
    files = image.read_lfs(data, board)
    for name_ in ("boot.py", "main.py"):
        assert files["/" + name_] == (image.FIRMWARE / name_).read_bytes()
    assert not [p for p in files if p.endswith(".py") and p not in ("/boot.py", "/main.py")]
    for src in (image.FIRMWARE / "srptls").glob("*.py"):
        assert "/srptls/%s.mpy" % src.stem in files
    assert "/admin/__init__.mpy" in files
    assert "/lib/microdot/microdot.mpy" in files and "/lib/microdot/__init__.mpy" in files
    dj = json.loads(files["/device.json"])
    assert dj == {"device_id": ddir.name, "hostname": ddir.name, "board": name,
                  "firmware_version": "0.1.0", "https_port": board.https_port,
                  "http_port": board.http_port}
    cred = credential.loads(files["/factory_credential.json"].decode())
    assert len(cred.salt) >= 16 and cred.group == 2048
    assert cred == credential.load(str(ddir / "factory_credential.json"))
    # nothing on the device may hold the password (it is only in the label)
    pw = label.parse_payload(zxingcpp.read_barcodes(Image.open(ddir / "label.png").convert("L"))[0].text)["password"]
    assert not any(pw.encode() in v for v in files.values())
    assert pw.encode() not in data
    assert srp.make_verifier(srp.group(2048), b"admin", pw.encode(), cred.salt) == cred.verifier
    # every module with native code is compiled for this board's arch
    natives = {p: v[2] >> 2 for p, v in files.items() if p.endswith(".mpy") and v[2] >> 2}
    assert natives, "expected viper code (srptls.modexp_viper)"
    assert set(natives.values()) == {ARCH_CODE[board.arch]}


def test_esp32_image_is_not_x64_code(built, tmp_path):
    """The xtensawin viper module must not load on the x64 unix port (proves the arch)."""
    script = tmp_path / "t.py"
    script.write_text(MOUNT + "try:\n    import srptls.modexp_viper\n    print('LOADED')\n"
                      "except ValueError as e:\n    print('REFUSED', e)\n")
    r = subprocess.run([mpy.binary("64"), str(script), str(built["ESP32_GENERIC"] / "fs.img")],
                       capture_output=True, text=True, timeout=60)
    assert "REFUSED incompatible .mpy arch" in r.stdout, r.stdout + r.stderr


MOUNT = """
import sys, vfs, os
class Dev:
    def __init__(self, p):
        self.f = open(p, 'rb')
        self.f.seek(0, 2)
        self.n = self.f.tell() // 4096
    def readblocks(self, n, buf, off=0):
        self.f.seek(n * 4096 + off)
        self.f.readinto(buf)
    def writeblocks(self, n, buf, off=0):
        raise OSError(30)
    def ioctl(self, op, arg):
        return {4: self.n, 5: 4096}.get(op, 0)
vfs.mount(vfs.VfsLfs2(Dev(sys.argv[1])), '/dev0', readonly=True)
sys.path[:0] = ['/dev0', '/dev0/lib']
"""


def test_sim_image_mounts_and_imports_under_micropython(built, tmp_path):
    ddir = built["sim"]
    script = tmp_path / "t.py"
    script.write_text(MOUNT + "from srptls import credential\nimport microdot, json\n"
                      "print('FP', credential.load('/dev0/factory_credential.json').fingerprint())\n"
                      "print('ID', json.load(open('/dev0/device.json'))['device_id'])\n"
                      "print('MD', microdot.Microdot.__name__)\n")
    r = subprocess.run([mpy.binary("64"), str(script), str(ddir / "fs.img")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    fp = credential.load(str(ddir / "factory_credential.json")).fingerprint()
    assert r.stdout.split() == ["FP", fp, "ID", ddir.name, "MD", "Microdot"]


def test_sim_boots_its_image_and_the_label_logs_in(built, tmp_path):
    """Provision -> image -> boot under the unix port (compiled code from the image only,
    no source path) -> decode the label QR -> curl with TLS-SRP."""
    ddir = built["sim"]
    img = tmp_path / "device.img"
    img.write_bytes((ddir / "fs.img").read_bytes())
    payload = label.parse_payload(
        zxingcpp.read_barcodes(Image.open(ddir / "label.png").convert("L"))[0].text)
    assert payload["host"] == "127.0.0.1" and payload["port"] == 8443
    with simdevice.Device(img, source_path=False) as dev:
        rc, status, body = dev.curl("/", payload["password"], user=payload["user"])
        assert (rc, status) == (0, 200), body
        wrong = payload["password"][:-1] + ("0" if payload["password"][-1] != "0" else "1")
        rc, status, _ = dev.curl("/", wrong, user=payload["user"])
        assert rc != 0 and status != 200


def test_image_cli_errors(tmp_path):
    r = srp_iot("image", "--board", "NOPE", "--device-dir", tmp_path)
    assert r.returncode == 3 and "unknown board" in r.stderr and "ESP32_GENERIC" in r.stderr
    r = srp_iot("image", "--board", "sim", "--device-dir", tmp_path)
    assert r.returncode == 3 and "device.json is missing" in r.stderr
