"""The sim board boots from a littlefs image file (os.VfsLfs2 over a file block device).

The image is made here with littlefs-python from a device root (the same
layout the image builder writes: block size 4096, littlefs disk version 2.0);
the device then writes its settings and log into the image, and they are
still there after a restart and when read back on the host.
"""
import json
from pathlib import Path

from littlefs import LittleFS

from simdevice import Device, make_root, new_password

BLOCK = 4096
BLOCKS = 128     # 512 KiB is plenty for a test image


def build_image(root, image):
    fs = LittleFS(block_size=BLOCK, block_count=BLOCKS, disk_version=0x00020000)
    for p in sorted(Path(root).rglob("*")):
        rel = "/" + str(p.relative_to(root))
        if p.is_dir():
            fs.makedirs(rel, exist_ok=True)
        else:
            with fs.open(rel, "wb") as f:
                f.write(p.read_bytes())
    Path(image).write_bytes(fs.context.buffer)


def read_from_image(image, path):
    fs = LittleFS(block_size=BLOCK, block_count=BLOCKS, mount=False)
    fs.context.buffer = bytearray(Path(image).read_bytes())
    fs.mount()
    with fs.open(path, "rb") as f:
        return f.read()


def test_boot_from_littlefs_image(tmp_path):
    pw = new_password()
    root = make_root(tmp_path / "root", pw, compiled=True)
    image = tmp_path / "device.img"
    build_image(root, image)
    with Device(image, source_path=False) as dev:
        rc, status, page = dev.curl("/", pw)
        assert status == 200 and "esp32-a1b2c3" in page
        rc, status, body = dev.curl("/api/settings", pw, method="PUT",
                                    json_body={"name": "From image"})
        assert status == 200
    with Device(image, source_path=False) as dev:
        assert json.loads(dev.curl("/api/settings", pw)[2])["name"] == "From image"
        assert dev.http("/")[1] == 200
    assert json.loads(read_from_image(image, "/settings.json"))["name"] == "From image"
    assert b"boot: serving" in read_from_image(image, "/log.txt")
    assert len(read_from_image(image, "/device_secret")) == 32
