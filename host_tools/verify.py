"""`srp-iot verify`: ask a flashed board who it is and which credential it holds.

Over the REPL (mpremote, ampy as fallback) the board reports its
/device.json id and the fingerprint of /factory_credential.json computed by
its own srptls.credential; both must match the station's record. Only then
does the station set `verified_at`.
"""
import time

import click

from host_tools import devrepl
from host_tools.errors import StationError, VerifyError, progress
from host_tools.provision import station_option
from host_tools.station import Station

DEVICE_SCRIPT = """
import json, os
from srptls import credential
d = json.load(open('/device.json'))
fp = credential.load('/factory_credential.json').fingerprint()
try:
    os.stat('/credential.json')
    changed = True
except OSError:
    changed = False
print('SRPIOT' + json.dumps({'device_id': d['device_id'], 'board': d.get('board'),
      'firmware_version': d.get('firmware_version'), 'fingerprint': fp, 'changed': changed}))
"""


def read_identity(port, tool="auto"):
    return devrepl.run_script(port, DEVICE_SCRIPT, tool)


def verify_device(station, port, tool="auto", expect=None):
    """Compare the board on `port` with the station; returns its identity dict."""
    ident = read_identity(port, tool)
    device_id = ident.get("device_id")
    if expect and device_id != expect:
        raise VerifyError("board on %s is %s, expected %s" % (port, device_id, expect))
    row = station.get(device_id)
    if row is None:
        raise StationError("board on %s says it is %s, which this station never provisioned"
                           % (port, device_id))
    if ident.get("fingerprint") != row["fingerprint"]:
        station.mark(device_id, "verify failed", last_error="credential fingerprint mismatch")
        raise VerifyError("%s holds credential %s, the station recorded %s: its label will not work"
                          % (device_id, ident.get("fingerprint"), row["fingerprint"]),
                          hint="flash it again (srp-iot flash --force) - it keeps its label's credential")
    station.mark(device_id, "verified", verified_at=time.time())
    return ident


@click.command("verify")
@click.option("--port", envvar="ESPTOOL_PORT", required=True, help="serial port of the running board")
@click.option("--device-id", help="fail unless the board is this device")
@click.option("--tool", type=click.Choice(["auto", "mpremote", "ampy"]), default="auto", show_default=True,
              help="REPL client (auto: mpremote, else ampy)")
@station_option
def verify_cmd(port, device_id, tool, station_path):
    """Read the device id and credential fingerprint back from a running board."""
    st = Station(station_path)
    try:
        ident = verify_device(st, port, tool, expect=device_id)
    finally:
        st.close()
    progress("verified %s: credential %s%s" % (ident["device_id"], ident["fingerprint"],
             " (owner has since changed the password)" if ident.get("changed") else ""))
    click.echo(ident["device_id"])
