"""`srp-iot connect`: one HTTP request to a device over TLS-SRP, curl-like, for scripts.

    SRP_PASSWORD=... srp-iot connect --device 192.168.4.1:443 --user admin GET /api/status
    srp-iot connect --qr label.png PUT /api/settings --data '{"name": "pump 3"}'

The response body goes to stdout (byte for byte, streamed); the status line
goes to stderr with -v or -i (-i also prints the headers to stdout, as curl
does). Exit codes follow host_tools.errors: 0 done (any HTTP status, unless
--fail), 4 device unreachable / password rejected / HTTP error with --fail,
3 bad input. Same password sources as the bridge, never the command line.
"""
import sys

import click

from host_tools.bridge_device import AuthFailed, BackingOff, DeviceError, DeviceLink
from host_tools.bridge_password import PasswordError, resolve

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH")


def request(creds, method, path, data=None, headers=(), out=None, head_out=None):
    """Perform one request; stream the body to `out`; return the status code."""
    link = DeviceLink(creds.host, creds.port, creds.user, creds.secret, max_connections=1)
    hdrs = list(headers)
    names = {h[0].lower() for h in hdrs}
    if data is not None and "content-type" not in names:
        guess = "application/json" if data.lstrip()[:1] in (b"{", b"[") else \
            "application/x-www-form-urlencoded"
        hdrs.append(("Content-Type", guess))
    hdrs.append(("Connection", "close"))
    try:
        with link.request(method, path, hdrs, data) as resp:
            if head_out is not None:
                head_out.write(("HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason)).encode())
                for name, value in resp.headers:
                    head_out.write(("%s: %s\r\n" % (name, value)).encode("latin-1"))
                head_out.write(b"\r\n")
                head_out.flush()
            while out is not None and method != "HEAD":
                chunk = resp.read()
                if not chunk:
                    break
                out.write(chunk)
            if out is not None:
                out.flush()
            return resp.status, resp.reason, link.info
    finally:
        link.close()
        creds.secret.wipe()


def _data_bytes(data):
    if data is None:
        return None
    if data == "-" or data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as f:
                return f.read()
        except OSError as e:
            raise PasswordError("--data %s: %s" % (data, e)) from None
    return data.encode("utf-8")


@click.command("connect")
@click.option("--device", metavar="HOST:PORT", help="the device's TLS-SRP address")
@click.option("--user", metavar="NAME", help="SRP user (from the label)")
@click.option("--qr", "qr_image", type=click.Path(exists=True, dir_okay=False),
              help="photo of the label (needs zxing-cpp and Pillow)")
@click.option("--qr-payload", is_flag=True,
              help="read the label's srp-iot:// payload from $SRP_QR_PAYLOAD or stdin")
@click.option("-d", "--data", metavar="TEXT|@FILE|-", help="request body (PUT/POST)")
@click.option("-H", "--header", "headers", multiple=True, metavar="'Name: value'",
              help="extra request header (repeatable)")
@click.option("-i", "--include", is_flag=True, help="print the response headers too")
@click.option("-v", "--verbose", is_flag=True, help="status and TLS session on stderr")
@click.option("-f", "--fail", is_flag=True, help="exit 4 on an HTTP status >= 400")
@click.argument("method", type=click.Choice(METHODS, case_sensitive=False))
@click.argument("path")
def connect_cmd(device, user, qr_image, qr_payload, data, headers, include, verbose, fail,
                method, path):
    """Send METHOD PATH to a device over TLS-SRP and print the response body."""
    from host_tools.errors import DeviceError as ToolDeviceError, InputError
    method = method.upper()
    if not path.startswith("/"):
        raise InputError("PATH must start with / (e.g. /api/status), got %r" % path)
    try:
        parsed = []
        for h in headers:
            name, sep, value = h.partition(":")
            if not sep or not name.strip():
                raise PasswordError("-H wants 'Name: value', got %r" % h)
            parsed.append((name.strip(), value.strip()))
        if qr_payload and data in ("-", "@-") and not __import__("os").environ.get(
                "SRP_QR_PAYLOAD"):
            raise PasswordError("stdin cannot carry both the QR payload and the body: "
                                "set SRP_QR_PAYLOAD or use --data @FILE")
        body = _data_bytes(data)
        creds = resolve(device, user, qr_image, qr_payload)
    except PasswordError as e:
        raise InputError(str(e)) from None
    out = sys.stdout.buffer
    try:
        status, reason, info = request(creds, method, path, body, parsed, out,
                                       out if include else None)
    except AuthFailed as e:
        raise ToolDeviceError(str(e), hint="check the password on the label; the device "
                                           "slows down after repeated failures") from None
    except BackingOff as e:
        raise ToolDeviceError(str(e), hint="wait %d s and try again" % (e.retry_after + 1)) \
            from None
    except DeviceError as e:
        raise ToolDeviceError(str(e)) from None
    if verbose:
        click.echo("connect: HTTP %d %s (%s, %s%s)" % (
            status, reason, info.cipher_suite, info.version,
            ", resumed" if info.resumed else ""), err=True)
    if fail and status >= 400:
        raise ToolDeviceError("HTTP %d %s" % (status, reason))


if __name__ == "__main__":  # `python -m host_tools.connect`: needs nothing but this command's deps
    connect_cmd(prog_name="srp-iot connect")
