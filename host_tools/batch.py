"""`srp-iot batch`: flash several boards in parallel, one progress line per port.

Each port runs flash.flash_device in its own thread (esptool itself runs
as a subprocess per port, so a hung or killed flash touches no other port)
with its own station-database connection. The app is compiled once for the
whole batch. Resumable: re-running the same command skips devices the
station records as flashed with this firmware, and re-flashes the others
with the credential they already have - their labels stay valid. Labels of
devices provisioned in this run are also collected into one PDF sheet.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from host_tools import boards, esp, image, label
from host_tools.errors import DeviceError, InputError, ToolError, progress
from host_tools.flash import esptool_options, flash_device, provisioning_options
from host_tools.progress import PortLines
from host_tools.label_print import print_label
from host_tools.provision import device_dir, label_info, out_option, station_option
from host_tools.station import Station


def run_batch(board, ports, firmware, station_path, out, user, group, printer, force=False,
              esptool_kw=None, lines=None, sheet=None, cups=None, tcp=None):
    """Flash every port in parallel; returns the list of Outcomes (one per port)."""
    from host_tools.flash import Outcome
    app = image.app_files(board.arch)            # compile once, share between threads
    seen, seen_lock = set(), threading.Lock()
    lines = lines or PortLines(ports)

    class LockedSet:
        # new_password() checks and adds; the lock makes that atomic across ports.
        def __contains__(self, pw):
            with seen_lock:
                return pw in seen

        def add(self, pw):
            with seen_lock:
                seen.add(pw)

    def one(port):
        st = Station(station_path)
        try:
            tool = esp.Esptool(board.chip, port, **(esptool_kw or {}))
            r = flash_device(st, board, port, firmware, out=out, user=user, group=group,
                             printer=printer, force=force, app=app, seen=LockedSet(), tool=tool,
                             report=lambda stage, frac=None, note="": lines.update(port, stage, frac, note))
            if (cups or tcp) and not st.get(r.device_id)["label_printed_at"]:
                # Printed once the board is flashed: a label never goes on a board
                # whose flash has not been verified.
                print_label(device_dir(r.device_id, out), cups, tcp)
                st.mark(r.device_id, "label printed", label_printed_at=time.time())
                lines.update(port, "printed", 1.0, r.device_id)
            return r
        except ToolError as e:
            lines.update(port, "FAILED", None, str(e)[:60])
            return Outcome(port, "failed", error=e)
        finally:
            st.close()

    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        outcomes = list(pool.map(one, ports))
    new = [o for o in outcomes if o.provisioned is not None and o.provisioned.password]
    if sheet and new:
        infos = [label_info(board, o.device_id, o.provisioned.credential.user, o.provisioned.password)
                 for o in new]
        label.write_pdf_sheet(infos, sheet)
    for o in new:
        o.provisioned.password = None            # done with it: the labels hold it now
    return outcomes


@click.command("batch")
@click.option("--board", envvar="SRP_IOT_BOARD", required=True, help="board name (boards/NAME.json)")
@click.option("--port", "ports", multiple=True, required=True, help="serial port (repeat for each board)")
@click.option("--firmware", required=True, type=click.Path(dir_okay=False, exists=True),
              help="MicroPython firmware .bin for the board")
@click.option("--sheet", type=click.Path(dir_okay=False), help="PDF sheet for the new labels "
              "(default OUT/labels-<first device>.pdf)")
@click.option("--cups", metavar="QUEUE", help="print each label on this CUPS queue once its board is flashed")
@click.option("--tcp", metavar="HOST[:PORT]", help="send each label (ZPL) to a raw TCP printer once flashed")
@provisioning_options
@esptool_options
@station_option
@out_option
def batch_cmd(board, ports, firmware, sheet, cups, tcp, user, group, printer, force, baud, before, after,
              station_path, out):
    """Flash several boards at once (one line per port); re-run to resume after a failure."""
    b = boards.load(board)
    if b.is_sim:
        raise InputError("batch needs serial boards; for sim run `srp-iot flash --board sim` repeatedly")
    if len(set(ports)) != len(ports):
        raise InputError("a port is listed twice")
    kw = dict(baud=baud, before=before, after=after)
    sheet = sheet or str(Path(out) / "labels-batch.pdf")
    outcomes = run_batch(b, list(ports), firmware, station_path, out, user, int(group), printer,
                         force=force, esptool_kw=kw, sheet=sheet, cups=cups, tcp=tcp)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in outcomes:
        click.echo("%s\t%s\t%s\t%s" % (o.port, o.status, o.device_id or "-",
                                       o.error if o.error else (o.label_path or "")))
    progress("batch: %d flashed, %d skipped, %d failed" % (
        sum(o.status == "flashed" for o in outcomes), sum(o.status == "skipped" for o in outcomes),
        len(failed)))
    if failed:
        raise DeviceError("%d of %d boards failed" % (len(failed), len(outcomes)),
                          hint="fix the cause and run the same command again: finished boards are "
                               "skipped, failed ones keep their credential and label")
