"""`srp-iot flash`: one device from blank to provisioned, in the order that keeps labels valid.

  1. esptool reads the MAC -> device id (esp32-XXXXXX)
  2. provision: a new password/salt/verifier and label, or - if the station
     already knows this device (say its last flash failed) - its stored
     salt and verifier, so the label already printed stays valid
  3. build its littlefs image (compiled app + device.json + credential)
  4. esptool writes firmware and image at the board's offsets in one pass,
     verifies both, resets
  5. the station records `flashed_at` (with firmware and image hashes) only
     after step 4 succeeded; a failure records `last_error` and clears it

The `sim` board has no serial port: its "flash" is the image file itself,
which boards/sim/serve boots.
"""
import hashlib
import time
from pathlib import Path

import click

from host_tools import boards, esp, image, label
from host_tools.errors import InputError, ToolError, progress
from host_tools.provision import (DEFAULT_GROUP, DEFAULT_USER, device_dir, device_id_from_mac,
                                  normalize_mac, out_option, provision,
                                  random_mac, station_option)
from host_tools.station import Station


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Outcome:
    """What happened to one device: status is flashed, skipped or failed."""

    def __init__(self, port, status, device_id=None, provisioned=None, error=None, label_path=None):
        self.port, self.status, self.device_id = port, status, device_id
        self.provisioned, self.error, self.label_path = provisioned, error, label_path


def flash_device(station, board, port, firmware=None, out=None, user=DEFAULT_USER,
                 group=DEFAULT_GROUP, printer=label.DEFAULT_PRINTER, force=False, app=None,
                 seen=None, tool=None, report=None, mac=None):
    """Steps 1-5 of the module doc for one port; returns an Outcome, raises ToolError."""
    report = report or (lambda stage, frac=None, note="": None)
    if not board.is_sim and (firmware is None or not Path(firmware).is_file()):
        raise InputError("firmware file %s not found" % firmware,
                         hint="download %s from the MicroPython site or build it "
                              "(./flash.sh build --board %s)" % (board.firmware_image, board.name))
    fw_hash = file_hash(firmware) if firmware else "sim"
    if board.is_sim:
        mac = normalize_mac(mac) if mac else random_mac()
    else:
        tool = tool or esp.Esptool(board.chip, port)
        report("connecting", 0.0)
        mac = tool.read_mac()
    device_id = device_id_from_mac(mac)
    report("provision", 0.0, device_id)
    row = station.get(device_id)
    if row and row["flashed_at"] and row["firmware_hash"] == fw_hash and not force:
        report("skipped", 1.0, device_id + " already flashed")
        return Outcome(port, "skipped", device_id, label_path=row["label_path"])
    prov = provision(station, board, device_id, mac=mac, user=user, group=group, out=out,
                     printer=printer, seen=seen)
    ddir = device_dir(device_id, out)
    report("image", 0.0, device_id)
    img, app_h = image.build_image(board, ddir, app=app)
    station.mark(device_id, "flash started", mac=mac, flash_started_at=time.time(),
                 flashed_at=None, verified_at=None, last_error=None)
    try:
        if not board.is_sim:
            esp.check_layout(board, firmware, img)
            tool.write_verify_reset([(board.firmware_offset, firmware), (board.fs_offset, img)],
                                    progress=lambda f, stage: report(stage, f, device_id))
    except (ToolError, OSError) as e:
        station.mark(device_id, "flash failed", last_error=str(e))
        raise
    station.mark(device_id, "flashed", flashed_at=time.time(), firmware_hash=fw_hash,
                 image_hash=app_h)
    report("done", 1.0, device_id)
    return Outcome(port, "flashed", device_id, provisioned=prov, label_path=prov.label_path)


def esptool_options(f):
    f = click.option("--baud", type=int, envvar="ESPTOOL_BAUD", help="serial speed (env ESPTOOL_BAUD)")(f)
    f = click.option("--before", default="default-reset", show_default=True,
                     type=click.Choice(["default-reset", "usb-reset", "no-reset", "no-reset-no-sync"]),
                     help="how esptool enters the bootloader")(f)
    f = click.option("--after", default="hard-reset", show_default=True,
                     type=click.Choice(["hard-reset", "soft-reset", "no-reset", "no-reset-stub"]),
                     help="what esptool does after verifying")(f)
    return f


def provisioning_options(f):
    f = click.option("--user", default=DEFAULT_USER, show_default=True, help="SRP user name")(f)
    f = click.option("--group", type=click.Choice(["2048", "3072", "4096"]), default=str(DEFAULT_GROUP),
                     show_default=True, help="RFC 5054 group (bits); see README")(f)
    f = click.option("--printer", type=click.Choice(sorted(label.PRINTERS)),
                     default=label.DEFAULT_PRINTER, show_default=True, help="label format")(f)
    f = click.option("--force", is_flag=True, help="flash again even if the station says done")(f)
    return f


@click.command("flash")
@click.option("--board", envvar="SRP_IOT_BOARD", required=True, help="board name (boards/NAME.json)")
@click.option("--port", envvar="ESPTOOL_PORT", help="serial port (env ESPTOOL_PORT); not for --board sim")
@click.option("--firmware", type=click.Path(dir_okay=False), help="MicroPython firmware .bin for the board")
@click.option("--mac", help="sim board only: use this MAC instead of a random one")
@provisioning_options
@esptool_options
@station_option
@out_option
def flash_cmd(board, port, firmware, mac, user, group, printer, force, baud, before, after,
              station_path, out):
    """Provision, label, image and flash one device (esptool), then record it.

    Prints the device id on stdout; the label path and progress go to stderr.
    """
    b = boards.load(board)
    if not b.is_sim and not port:
        raise InputError("--port is required for board %s" % b.name)
    st = Station(station_path)
    try:
        tool = None if b.is_sim else esp.Esptool(b.chip, port, baud=baud, before=before, after=after)
        last = {}

        def report(stage, frac=None, note=""):
            if stage != last.get("stage") or (frac is not None and int(frac * 10) != last.get("tenth")):
                last["stage"], last["tenth"] = stage, int((frac or 0) * 10)
                progress("%-10s %3d%% %s" % (stage, int((frac or 0) * 100), note))

        r = flash_device(st, b, port, firmware, out=out, user=user, group=int(group), printer=printer,
                         force=force, tool=tool, report=report, mac=mac)
        if r.status == "skipped":
            progress("%s: already flashed with this firmware (use --force to flash again)" % r.device_id)
        else:
            progress("label: %s" % r.label_path)
        click.echo(r.device_id)
    finally:
        st.close()
