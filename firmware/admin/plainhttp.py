"""The plain-HTTP port: one transition page, nothing else.

It tells a visitor that the device is administered over TLS-SRP only, why,
and exactly how to connect (curl, the host bridge); an unprovisioned device
says so.  Every other path is 404: no admin route, no form, no settings.
The same bounded reader and body caps as the TLS port apply, and a request
must be complete within `idle_timeout` seconds.
"""
import asyncio

from microdot import Microdot

from admin import pages
from admin.httpio import BoundedStream


def host_of(req):
    """The host name the visitor used (Host header, port removed), if plausible.

    Pointing the curl command at the address the visitor already reached
    works in every network setup (AP mode's 192.168.4.1, a DHCP address, an
    mDNS name).  Anything but a plain name or address is ignored.
    """
    host = (req.headers.get("Host") or "").strip()
    if host.startswith("["):                 # [IPv6]:port
        host = host[:host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if not host or len(host) > 253:
        return None
    for c in host:
        if not (c.isalpha() or c.isdigit() or c in ".-[]:"):
            return None
    return host


def create_app(dev):
    app = Microdot()

    @app.get("/")
    def index(req):
        cred = dev.store.credential
        return (pages.transition(dev.info, cred is not None, cred.user if cred else "admin",
                                 host_of(req)), 200,
                {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})

    @app.errorhandler(404)
    def not_found(req):
        return "Not here: this port only explains how to connect over TLS-SRP (see /).\n", 404

    @app.errorhandler(405)
    def not_allowed(req):
        return "This port takes no input.\n", 405

    return app


class PlainServer:
    def __init__(self, dev, app, limits):
        self.dev = dev
        self.app = app
        self.idle_timeout = limits["idle_timeout"]
        self.max_line = limits["max_header_line"]
        self.max_lines = limits["max_header_lines"]
        self.busy = 0
        self.max_busy = limits["max_plain_connections"]

    async def handle(self, reader, writer):
        if self.busy >= self.max_busy:
            writer.close()
            await writer.wait_closed()
            return
        self.busy += 1
        try:
            bounded = BoundedStream(writer, self.max_line, self.max_lines)
            await asyncio.wait_for(self.app.handle_request(bounded, bounded),
                                   self.idle_timeout)
        except Exception:
            pass  # timeouts and resets: nothing to report on this port
        finally:
            self.busy -= 1
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:
                pass
