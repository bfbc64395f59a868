"""`srp-iot label`: print a device's label, or render it again from its password.

Printing sends the files `provision` wrote (ZPL raw to a Zebra on TCP 9100
or a CUPS queue, PNG to a CUPS queue). Re-rendering (a torn or lost label)
needs the password, read from stdin or SRP_PASSWORD - never from the
command line, where `ps` and shell history would keep it - and it is
checked against the station's verifier first, so a wrong label is never
printed.
"""
import os
import sys
import time

import click

from host_tools import boards, label, password as pwmod
from host_tools.errors import InputError, StationError, progress
from host_tools.provision import (device_dir, label_info, make_credential, out_option,
                                  station_option, write_labels)
from host_tools.station import Station


def rerender(st, device_id, password, out, printer, host=None):
    row = st.get(device_id)
    if row is None:
        raise StationError("device %s is not in the station database" % device_id)
    try:
        pw = pwmod.check(password)
    except ValueError as e:
        raise InputError(str(e))
    cred = st.credential(device_id)
    again = make_credential(cred.user, cred.group, pw, salt=cred.salt)
    if again.verifier != cred.verifier:
        raise InputError("this password does not match device %s's verifier" % device_id)
    b = boards.load(row["board"])
    return write_labels(label_info(b, device_id, cred.user, pw, host), device_dir(device_id, out), printer)


def password_from_label(st, device_id, png):
    """Decode the label's QR code and check the password against the station's verifier."""
    if not png.exists():
        raise InputError("no rendered label %s" % png)
    fields = label.parse_payload(label.decode_png(png))
    if fields["device_id"] != device_id:
        raise InputError("%s is the label of %s, not %s" % (png, fields["device_id"], device_id))
    cred = st.credential(device_id)
    if cred is None:
        raise StationError("device %s is not in the station database" % device_id)
    if make_credential(cred.user, cred.group, fields["password"], salt=cred.salt).verifier != cred.verifier:
        raise InputError("the password on %s does not match the device's verifier" % png)
    return fields["password"]


def print_label(ddir, cups=None, tcp=None):
    """Send a device's rendered label to a printer."""
    if tcp:
        host, _, port = tcp.partition(":")
        label.print_tcp((ddir / "label.zpl").read_bytes(), host, int(port or 9100))
    elif cups:
        zpl = ddir / "label.zpl"
        if cups.lower().startswith("zebra"):
            label.print_cups(zpl, cups, raw=True)
        else:
            label.print_cups(ddir / "label.png", cups)


@click.command("label")
@click.option("--device-id", required=True)
@click.option("--render", is_flag=True,
              help="render the label again; the password is read from stdin or SRP_PASSWORD")
@click.option("--printer", type=click.Choice(sorted(label.PRINTERS)), default=label.DEFAULT_PRINTER,
              show_default=True)
@click.option("--cups", metavar="QUEUE", help="print on this CUPS queue (queues named zebra* get raw ZPL)")
@click.option("--tcp", metavar="HOST[:PORT]", help="send ZPL to a raw TCP printer (port 9100 by default)")
@click.option("--read-password", is_flag=True,
              help="print the password decoded from the label's QR code (stdout)")
@click.option("--curl-config", is_flag=True,
              help="print `tlspassword = \"...\"` from the label's QR code, for `curl -K -`")
@station_option
@out_option
def label_cmd(device_id, render, printer, cups, tcp, read_password, curl_config, station_path, out):
    """Print (or re-render) the label of a provisioned device."""
    st = Station(station_path)
    try:
        ddir = device_dir(device_id, out)
        if read_password or curl_config:
            pw = password_from_label(st, device_id, ddir / "label.png")
            click.echo('tlspassword = "%s"' % pw if curl_config else pw)
            return
        if render:
            pw = os.environ.get("SRP_PASSWORD") or sys.stdin.readline().strip()
            path = rerender(st, device_id, pw, out, printer)
            progress("rendered %s" % path)
        if not (ddir / "label.png").exists():
            raise InputError("no rendered label for %s in %s" % (device_id, ddir),
                             hint="run `srp-iot provision` (or `label --render`) first")
        if cups or tcp:
            print_label(ddir, cups, tcp)
            st.mark(device_id, "label printed", label_printed_at=time.time())
            progress("printed label of %s" % device_id)
        click.echo(str(ddir / "label.png"))
    finally:
        st.close()
