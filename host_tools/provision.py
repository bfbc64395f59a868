"""Provisioning: a device id, a fresh password, salt and verifier, recorded and labelled.

The verifier is computed by srptls.srp.make_verifier - the same module the
firmware runs - from the canonical password text. The password is handed
to the label renderer and then forgotten: the station keeps salt and
verifier (so a failed flash can be redone with the same credential and the
printed label stays valid) and a keyed hash for duplicate checks.
"""
import json
import os
import re
import secrets
from pathlib import Path

import click

from host_tools import boards, label, password as pwmod
from host_tools.errors import InputError, StationError, progress
from host_tools.station import Station

DEFAULT_USER = "admin"
# Default SRP group: 3072-bit (RFC 5054 Appendix A), see README "Choice of SRP group".
DEFAULT_GROUP = 3072
SALT_BYTES = 16
FIRMWARE_VERSION = "0.1.0"
OUT_DIR = Path(os.environ.get("SRP_IOT_OUT", "out"))

_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")


def normalize_mac(mac):
    m = mac.strip().lower()
    if not _MAC_RE.match(m):
        raise InputError("not a MAC address: %r" % mac, hint="expected six hex bytes, e.g. 24:0a:c4:12:34:56")
    digits = m.replace(":", "").replace("-", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def device_id_from_mac(mac):
    """esp32-XXXXXX from the last three bytes of the MAC (as ESP-IDF names its AP)."""
    return "esp32-" + normalize_mac(mac).replace(":", "")[6:]


def random_mac():
    """A locally administered unicast MAC for simulated devices."""
    b = bytearray(secrets.token_bytes(6))
    b[0] = (b[0] & 0xFC) | 0x02
    return ":".join("%02x" % x for x in b)


def make_credential(user, group_bits, password, salt=None):
    """Credential for `password` with a fresh >= 16-byte salt (srptls.srp, as on the device)."""
    from srptls import srp
    from srptls.credential import Credential
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    if len(salt) < SALT_BYTES:
        raise InputError("salt must be at least %d bytes" % SALT_BYTES)
    grp = srp.group(group_bits)
    v = srp.make_verifier(grp, user.encode(), password.encode(), salt)
    return Credential(user, group_bits, salt, v)


def new_password(station, seen=None, generate=pwmod.generate):
    """A password that is not weak and not used in this batch (`seen`) or the station."""
    for _ in range(100):
        pw = generate()
        if pwmod.is_weak(pw):
            continue
        if seen is not None and pw in seen:
            continue
        if station.password_seen(pw):
            continue
        if seen is not None:
            seen.add(pw)
        return pw
    # 100 rejections in a row means the generator is broken, not bad luck.
    raise StationError("password generator keeps producing weak or duplicate passwords")


def device_dir(device_id, out=None):
    return Path(out or OUT_DIR) / "devices" / device_id


def device_json(board, device_id):
    """/device.json per the device filesystem contract."""
    return {"device_id": device_id, "hostname": device_id, "board": board.name,
            "firmware_version": FIRMWARE_VERSION,
            "https_port": board.https_port, "http_port": board.http_port}


def label_info(board, device_id, user, password, host=None):
    if host is None:
        host = "127.0.0.1" if board.is_sim else device_id + ".local"
    return label.LabelInfo(device_id, device_id, user, password, host, board.https_port)


def write_labels(info, ddir, printer=label.DEFAULT_PRINTER):
    """PNG (at the printer's resolution) and ZPL for one device; returns the PNG path."""
    png = label.write_png(info, Path(ddir) / "label.png", printer)
    label.write_zpl(info, Path(ddir) / "label.zpl")
    return png


class Provisioned:
    """Result of provision(): `password` is None when the device already had a credential."""

    def __init__(self, device_id, credential, password, label_path, new):
        self.device_id = device_id
        self.credential = credential
        self.password = password
        self.label_path = label_path
        self.new = new

    def __repr__(self):
        return "Provisioned(%s, new=%s)" % (self.device_id, self.new)


def provision(station, board, device_id, mac=None, user=DEFAULT_USER, group=DEFAULT_GROUP,
              out=None, printer=label.DEFAULT_PRINTER, seen=None, host=None):
    """Give `device_id` a credential and a label, or return the one it already has.

    Writes <out>/devices/<id>/{factory_credential.json, device.json, label.png, label.zpl}.
    """
    ddir = device_dir(device_id, out)
    row = station.get(device_id)
    if row is not None:
        if row["board"] != board.name:
            raise StationError("device %s was provisioned for board %s, not %s"
                               % (device_id, row["board"], board.name))
        cred = station.credential(device_id)
        _write_public(ddir, board, device_id, cred)
        return Provisioned(device_id, cred, None, row["label_path"], False)
    pw = new_password(station, seen)
    cred = make_credential(user, group, pw)
    station.add(device_id, board.name, cred, pw, mac=mac)
    _write_public(ddir, board, device_id, cred)
    png = write_labels(label_info(board, device_id, user, pw, host), ddir, printer)
    _check_label(png, pw)
    station.mark(device_id, "label rendered", label_path=str(png))
    return Provisioned(device_id, cred, pw, str(png), True)


def _check_label(png, pw):
    """Read the QR code back from the rendered PNG: a label that does not scan to
    this password must never reach a printer. Needs zxing-cpp (factory extra)."""
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return
    if label.parse_payload(label.decode_png(png))["password"] != pw:
        raise InputError("label %s does not decode to the password it was made for" % png)


def _write_public(ddir, board, device_id, cred):
    ddir.mkdir(parents=True, exist_ok=True)
    (ddir / "factory_credential.json").write_text(cred.dumps() + "\n")
    (ddir / "device.json").write_text(json.dumps(device_json(board, device_id)) + "\n")


# ---- command line ----------------------------------------------------------

station_option = click.option("--station", "station_path", envvar="SRP_IOT_STATION",
                              default="out/station.db", show_default=True,
                              help="station database (env SRP_IOT_STATION)")
out_option = click.option("--out", envvar="SRP_IOT_OUT", default="out", show_default=True,
                          type=click.Path(file_okay=False), help="output directory (env SRP_IOT_OUT)")
board_option = click.option("--board", envvar="SRP_IOT_BOARD", required=True,
                            help="board name (a file boards/NAME.json)")


@click.command("provision")
@board_option
@click.option("--mac", help="device MAC (the device id is derived from it)")
@click.option("--device-id", help="device id instead of --mac")
@click.option("--user", default=DEFAULT_USER, show_default=True, help="SRP user name")
@click.option("--group", type=click.Choice(["2048", "3072", "4096"]), default=str(DEFAULT_GROUP),
              show_default=True, help="RFC 5054 group (bits)")
@click.option("--printer", type=click.Choice(sorted(label.PRINTERS)), default=label.DEFAULT_PRINTER,
              show_default=True, help="label PNG resolution/size")
@station_option
@out_option
def provision_cmd(board, mac, device_id, user, group, printer, station_path, out):
    """Create a device's password, salt and verifier; write its label and credential.

    Re-running for a provisioned device reuses its credential (its label
    stays valid). The password appears only on the label files.
    """
    b = boards.load(board)
    if bool(mac) == bool(device_id):
        raise InputError("give exactly one of --mac or --device-id")
    if mac:
        mac = normalize_mac(mac)
        device_id = device_id_from_mac(mac)
    st = Station(station_path)
    try:
        r = provision(st, b, device_id, mac=mac, user=user, group=int(group), out=out, printer=printer)
    finally:
        st.close()
    progress("%s %s: credential %s, label %s" % (
        "provisioned" if r.new else "already provisioned", r.device_id,
        r.credential.fingerprint(), r.label_path))
    click.echo(r.device_id)
