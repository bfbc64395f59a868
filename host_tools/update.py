"""`srp-iot update`: push changed app files to a running board, never its credential or data.

The board lists its files with their SHA-256 (one REPL script); we compile
the app for the board's architecture exactly as `image` does, then copy
only what differs and delete app files that no longer exist. Paths holding
identity, credentials or user data are never written or removed, and the
credential fingerprint is checked before and after.
"""
import click

from host_tools import boards, devrepl, image
from host_tools.errors import VerifyError, progress
from host_tools.verify import read_identity

# Never touched by update (device filesystem contract).
PROTECTED = {"/device.json", "/factory_credential.json", "/credential.json", "/settings.json",
             "/device_secret", "/log.txt"}
# Only files under these (or top-level .py/.mpy) belong to the app and may be removed.
APP_DIRS = ("/srptls/", "/admin/", "/lib/microdot/")

LIST_SCRIPT = """
import os, json, hashlib, binascii
def walk(d, out):
    for e in os.ilistdir(d):
        p = (d.rstrip('/') + '/' + e[0])
        if e[1] & 0x4000:
            walk(p, out)
        else:
            h = hashlib.sha256()
            with open(p, 'rb') as f:
                while True:
                    b = f.read(512)
                    if not b:
                        break
                    h.update(b)
            out[p] = binascii.hexlify(h.digest()).decode()
out = {}
walk('/', out)
print('SRPIOT' + json.dumps(out))
"""


def plan(local, remote):
    """(to_copy {path: bytes}, to_remove [path]) from local app files and the board's hashes."""
    import hashlib
    copy = {p: d for p, d in local.items()
            if p not in PROTECTED and remote.get(p) != hashlib.sha256(d).hexdigest()}
    remove = [p for p in remote if p not in local and p not in PROTECTED and
              (p.startswith(APP_DIRS) or (p.count("/") == 1 and p.endswith((".py", ".mpy"))))]
    return copy, remove


def update_device(port, board, dry_run=False):
    before = read_identity(port)
    remote = devrepl.run_script(port, LIST_SCRIPT)
    local = image.app_files(board.arch)
    copy, remove = plan(local, remote)
    dirs = set()
    for p in copy:
        parts = p.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]))
    if not dry_run and (copy or remove):
        devrepl.copy_files(port, copy, mkdirs=dirs, remove=remove)
        after = read_identity(port)
        if after["fingerprint"] != before["fingerprint"]:
            raise VerifyError("credential fingerprint changed during update (%s -> %s)"
                              % (before["fingerprint"], after["fingerprint"]))
    return before, sorted(copy), sorted(remove)


@click.command("update")
@click.option("--port", envvar="ESPTOOL_PORT", required=True, help="serial port of the running board")
@click.option("--board", envvar="SRP_IOT_BOARD", required=True, help="board name (for the mpy-cross arch)")
@click.option("--dry-run", is_flag=True, help="only list what would change")
def update_cmd(port, board, dry_run):
    """Copy changed app files to a running board (credential untouched)."""
    b = boards.load(board)
    progress("comparing the app on %s with firmware/ (%s) ..." % (port, b.arch))
    ident, copied, removed = update_device(port, b, dry_run)
    for p in copied:
        click.echo(("would copy " if dry_run else "copied ") + p)
    for p in removed:
        click.echo(("would remove " if dry_run else "removed ") + p)
    progress("%s: %d file(s) %s, %d removed; credential %s untouched" % (
        ident["device_id"], len(copied), "to copy" if dry_run else "copied", len(removed),
        ident["fingerprint"]))
