"""`srp-iot bridge`: an ordinary browser administers a TLS-SRP device.

No browser speaks TLS-SRP, so the bridge runs on the admin's own machine
(PC or phone): the browser talks plain HTTP to 127.0.0.1 and the bridge
talks TLS-SRP to the device; the hop that leaves the machine is always
TLS-SRP. Two listening sockets on 127.0.0.1, two origins:

  shell port   the page the user opens: the security banner ("TLS-SRP ·
               device id · user · cipher" + launch code), the device pages in
               an iframe, and /__bridge/ (session details, Logout, login)
  device port  the device's own pages, forwarded request by request over a
               small pool of TLS-SRP connections (bridge_device)

Why two origins: see bridge_pages (the banner lives in a document the
device's pages cannot script or style). Who may use the bridge: see
bridge_guard (Host, launch secret cookie, fetch metadata, Origin); refused
requests never reach the device. Where the password comes from and how it
is wiped: see bridge_password. Everything here is pure Python (stdlib,
tlslite-ng, ecdsa) so it runs in Python apps on Android and iOS.
"""
import ipaddress
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import click

from host_tools import bridge_pages as pages
from host_tools.bridge_device import (AuthFailed, BackingOff, DeviceError, DeviceLink)
from host_tools.bridge_guard import (COOKIE_PREFIX, Guard, Refused, origin_of,
                                     strip_bridge_cookies)
from host_tools.bridge_password import (PasswordError, Secret, check_label_password,
                                        resolve)

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}   # Ctrl-C, or a service manager
DEVICE_LOGOUT = "/logout"     # the admin app's logout form (firmware/admin/webapp.py)
MAX_FORM = 4096
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "proxy-authorization",
              "proxy-authenticate"}
# Device response headers the bridge drops: framing is governed by our
# frame-ancestors CSP, and HSTS/Alt-Svc/Clear-Site-Data make no sense (or do
# harm) on the bridge's plain-HTTP loopback origin.
# Referrer-Policy is replaced by same-origin: under the device's no-referrer
# a browser sends "Origin: null" with the device's own forms, and the
# Origin check could no longer tell them from a sandboxed foreign page.
DROP_FROM_DEVICE = HOP_BY_HOP | {"x-frame-options", "strict-transport-security", "alt-svc",
                                 "clear-site-data", "cache-control", "server",
                                 "referrer-policy"}
DROP_FROM_BROWSER = HOP_BY_HOP | {"host", "cookie", "origin", "referer"}


def launch_code():
    """A short code shown in the banner and printed at launch, never sent to the device."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    code = "".join(secrets.choice(alphabet) for _ in range(6))
    return code[:3] + "-" + code[3:]


class BridgeState:
    """One launch: the device link, the checks, and what the banner shows."""

    def __init__(self, link, guard, device_id=None, source=""):
        self.link = link
        self.guard = guard
        self.label_device_id = device_id
        self.reported_device_id = None
        self.device_warning = None
        self.source = source
        self.launch_code = launch_code()
        self.login_lock = threading.Lock()
        self.notice = None            # message for the next login page (e.g. a rejection)
        self.srp_group = None         # as the device reports it (tlslite does not expose N)

    @property
    def user(self):
        return self.link.user

    @property
    def device_id(self):
        return self.label_device_id or self.reported_device_id or self.link.authority

    @property
    def unlocked(self):
        return self.link.unlocked

    @property
    def info(self):
        return self.link.info

    def login(self, secret, source):
        """Try a password against the device; return None or a message saying why not.

        The secret is wiped when the device rejects it or we may not try yet.
        """
        with self.login_lock:
            wait = self.link.backoff.remaining()
            if wait > 0:
                secret.wipe()
                return ("Too many failed attempts: wait %d s before trying again "
                        "(nothing was sent to the device)." % (wait + 0.999))
            self.link.set_secret(secret)
            try:
                self.probe()
            except AuthFailed:
                self.link.logout()
                return ("The device rejected this password for user %r. Check the label and "
                        "try again in %d s." % (self.user, self.link.backoff.remaining() + 0.999))
            except BackingOff as e:
                self.link.logout()
                return "%s. Try again in %d s." % (e, e.retry_after + 0.999)
            except DeviceError as e:
                # Unreachable is not a wrong password: keep it, retry on demand.
                return str(e)
            self.source = source
            self.notice = None
            return None

    def probe(self):
        """One request that proves the password and learns the device id."""
        import json
        with self.link.request("GET", "/api/status", [("Accept", "application/json")]) as resp:
            body = b""
            while len(body) < 65536:
                chunk = resp.read()
                if not chunk:
                    break
                body += chunk
        if resp.status != 200:
            return
        try:
            status = json.loads(body.decode("utf-8"))
        except ValueError:
            return
        tls = status.get("tls") if isinstance(status, dict) else None
        if isinstance(tls, dict) and isinstance(tls.get("srp_group"), int):
            self.srp_group = tls["srp_group"]
        found = _find_device_id(status)
        if found:
            self.reported_device_id = str(found)
            if self.label_device_id and self.label_device_id != self.reported_device_id:
                self.device_warning = ("the device reports id %r but the label says %r"
                                       % (self.reported_device_id, self.label_device_id))

    def logout(self):
        self.link.logout()


def _find_device_id(obj, depth=0):
    if isinstance(obj, dict) and depth < 3:
        for key in ("device_id", "id"):
            if isinstance(obj.get(key), str) and obj[key]:
                return obj[key]
        for value in obj.values():
            found = _find_device_id(value, depth + 1)
            if found:
                return found
    return None


class _BodyReader:
    """Exactly `n` bytes of a request body from the browser's stream."""

    def __init__(self, stream, n):
        self.stream = stream
        self.left = n

    def read(self, amt):
        if self.left <= 0:
            return b""
        data = self.stream.read(min(amt, self.left))
        self.left -= len(data)
        return data


class Handler(BaseHTTPRequestHandler):
    """One browser connection on either port; the server says which role."""

    protocol_version = "HTTP/1.1"
    server_version = "srp-iot-bridge"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        # Never logs the query string: the launch URL carries the secret.
        # (A malformed request has no path yet.)
        if self.server.verbose:
            path = getattr(self, "path", "")
            sys.stderr.write("bridge: %s %s %s\n" % (self.command, path.split("?")[0],
                                                     args[1] if len(args) > 1 else ""))

    def log_error(self, fmt, *args):
        # The status only: send_error's message may quote the whole request
        # line, launch secret and all.
        if self.server.verbose and args and isinstance(args[0], int):
            sys.stderr.write("bridge: refused a malformed request (%d)\n" % args[0])

    def _any(self):
        state = self.server.state
        try:
            if self.server.role == "shell":
                self._shell(state)
            else:
                self._device(state)
        except Refused as e:
            self.close_connection = True
            page = pages.refused_page(e.reason, e.status)
            if self.server.role == "device":
                page.frame_ancestors = state.guard.shell_origin   # visible in the frame
            self._page(page)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except DeviceError:
            # The device broke off a response already being relayed: the
            # status line is out, so all we can do is end this connection.
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _any

    # -- responses -------------------------------------------------------
    def _page(self, page, extra=()):
        body = page.body_bytes()
        self.send_response(page.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", page.csp())
        self._common_headers()
        for name, value in extra:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _common_headers(self):
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")

    def _redirect(self, location, extra=()):
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self._common_headers()
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def _form(self):
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_FORM:
            self.close_connection = True
            raise Refused("form too large or without Content-Length", status=413)
        return parse_qs(self.rfile.read(int(length)).decode("utf-8", "replace"))

    # -- shell port ------------------------------------------------------
    def _shell(self, state):
        guard = state.guard
        guard.check_shell(self.command, self.path, self.headers)
        url = urlsplit(self.path)
        path = url.path
        if path == "/__bridge/launch":
            token = parse_qs(url.query).get("token", [""])[0]
            if self.command != "GET" or not guard.token_ok(token):
                raise Refused("wrong or missing launch token", status=403)
            cookie = "%s=%s; HttpOnly; SameSite=Strict; Path=/" % (guard.cookie,
                                                                    guard.cookie_secret)
            self._redirect("/", [("Set-Cookie", cookie)])
        elif path in ("/__bridge", "/__bridge/"):
            self._page(pages.session_page(state))
        elif path == "/__bridge/login":
            if self.command == "POST":
                self._login(state)
            else:
                self._page(pages.login_page(state, state.notice))
        elif path == "/__bridge/logout":
            if self.command != "POST":
                raise Refused("logout is a POST (use the button on /__bridge/)", status=405)
            self._form()
            state.logout()
            state.notice = "Logged out: the bridge no longer holds the password."
            self._redirect("/__bridge/login")
        elif path.startswith("/__bridge/"):
            self._page(pages.refused_page("no such bridge page", 404))
        elif self.command not in ("GET", "HEAD"):
            raise Refused("device pages are served from the device port", status=405)
        elif not state.unlocked:
            self._redirect("/__bridge/login")
        else:
            frame = guard.device_origin + self.path
            self._page(pages.shell(state, frame))

    def _login(self, state):
        text = self._form().get("password", [""])[0]
        try:
            secret = Secret(check_label_password(text))
        except PasswordError as e:
            self._page(pages.login_page(state, "%s. Nothing was sent to the device." % e, 400))
            return
        problem = state.login(secret, "the login page")
        if problem:
            self._page(pages.login_page(state, problem, 401))
        else:
            self._redirect("/")

    # -- device port -----------------------------------------------------
    def _device(self, state):
        guard = state.guard
        if guard.check_device(self.command, self.headers) == "to-shell":
            self._redirect(guard.shell_origin + self.path)
            return
        if not state.unlocked:
            self.close_connection = True
            self._page(pages.frame_locked_page(guard.shell_origin))
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise Refused("chunked request bodies are not supported", status=411)
        length = self.headers.get("Content-Length")
        body = None
        n = None
        if length is not None:
            if not length.isdigit():
                self.close_connection = True
                raise Refused("bad Content-Length", status=400)
            n = int(length)
            body = _BodyReader(self.rfile, n) if n else b""
        try:
            resp = state.link.request(self.command, self.path, self._forward_headers(state),
                                      body, n)
        except AuthFailed:
            state.logout()
            state.notice = "The device no longer accepts the password (was it changed?)."
            self.close_connection = True
            self._page(pages.frame_locked_page(guard.shell_origin))
            return
        except BackingOff as e:
            self.close_connection = True
            page = pages.error_page(state, "%s. Try again in %d s." % (e, e.retry_after + 1), 503)
            page.frame_ancestors = guard.shell_origin
            self._page(page, [("Retry-After", str(int(e.retry_after + 1)))])
            return
        except DeviceError as e:
            self.close_connection = True
            page = pages.error_page(state, str(e))
            page.frame_ancestors = guard.shell_origin
            self._page(page)
            return
        self._relay(state, resp)

    def _forward_headers(self, state):
        out = []
        for name, value in self.headers.items():
            if name.lower() not in DROP_FROM_BROWSER:
                out.append((name, value))
        cookie = strip_bridge_cookies(self.headers.get_all("Cookie") or [])
        if cookie:
            out.append(("Cookie", cookie))
        device = state.link.origin
        if self.headers.get("Origin"):
            out.append(("Origin", device))
        referer = self.headers.get("Referer", "")
        if origin_of(referer) == state.guard.device_origin:
            out.append(("Referer", device + referer[len(state.guard.device_origin):]))
        return out

    def _relay(self, state, resp):
        with resp:
            self.send_response(resp.status, resp.reason)
            has_body = self.command != "HEAD" and resp.status not in (204, 304) \
                and resp.status >= 200
            for name, value in resp.headers:
                low = name.lower()
                if low in DROP_FROM_DEVICE:
                    continue
                if low == "set-cookie" and value.strip().startswith(COOKIE_PREFIX):
                    continue          # the device may not overwrite the bridge's cookie
                if low == "location" and value.startswith(state.link.origin):
                    value = value[len(state.link.origin):] or "/"
                self.send_header(name, value)
            # Only the bridge's shell may frame device pages (clickjacking).
            self.send_header("Content-Security-Policy",
                             "frame-ancestors %s" % state.guard.shell_origin)
            self._common_headers()
            chunked = has_body and resp.length is None
            if self.command == "HEAD":
                # http.client reports length 0 for HEAD: pass the device's own value on.
                for name, value in resp.headers:
                    if name.lower() == "content-length":
                        self.send_header(name, value)
                        break
            elif resp.length is not None:
                self.send_header("Content-Length", str(resp.length))
            elif chunked:
                self.send_header("Transfer-Encoding", "chunked")
            # The device connection goes back to the pool as soon as its
            # response is complete and before the browser sees the end of it:
            # the browser's next request must find it idle, not open another
            # connection (a new SRP handshake costs the device seconds).
            if not has_body:
                resp.read()               # marks the empty body complete (HEAD, 204, 304)
                resp.close()
                self.end_headers()
                return
            self.end_headers()
            while True:
                data = resp.read()
                if resp.complete:
                    resp.close()
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        if self.command == "POST" and self.path == DEVICE_LOGOUT and resp.status == 200:
            # The device dropped its TLS sessions; the bridge forgets the
            # password too, so nothing left on this machine can log in again.
            state.logout()
            state.notice = "Logged out on the device: the bridge wiped the password too."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address, role, verbose):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.role = role
        self.verbose = verbose
        self.state = None


class Bridge:
    """Both servers of one launch; start() binds, serve() runs, stop() wipes."""

    def __init__(self, creds, bind="127.0.0.1", port=0, max_connections=2, verbose=False,
                 backoff=None):
        self.shell = _Server((bind, port), "shell", verbose)
        self.device = _Server((bind, 0), "device", verbose)
        link = DeviceLink(creds.host, creds.port, creds.user, None, max_connections,
                          backoff=backoff)
        guard = Guard(bind, self.shell.server_address[1], self.device.server_address[1],
                      secrets.token_urlsafe(32), secrets.token_urlsafe(24))
        self.state = BridgeState(link, guard, creds.device_id, creds.source)
        self.shell.state = self.device.state = self.state
        self._threads = []

    @property
    def url(self):
        g = self.state.guard
        return "%s/__bridge/launch?token=%s" % (g.shell_origin, g.launch_token)

    def unlock(self, secret, source):
        return self.state.login(secret, source)

    def start(self):
        for server in (self.shell, self.device):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        self.state.logout()               # wipe first: nothing below may keep it alive
        for server in (self.shell, self.device):
            server.shutdown()
            server.server_close()


def check_bind(bind, force):
    """Loopback only, unless forced; a forced bind must be one concrete address."""
    try:
        addr = ipaddress.ip_address(bind)
    except ValueError:
        raise PasswordError("--bind must be an IP address, got %r" % bind) from None
    if addr.is_unspecified:
        raise PasswordError("--bind %s would listen everywhere; give the one address the "
                            "browser will use" % bind)
    if addr.is_loopback:
        return None
    if not force:
        raise PasswordError("refusing to listen on %s: the browser-to-bridge hop is plain HTTP "
                            "and would leave this machine (use --force-bind if you mean it)" % bind)
    return ("WARNING: listening on %s: anyone on that network who learns the launch URL can "
            "administer the device, and the browser-to-bridge hop is NOT encrypted" % bind)


@click.command("bridge")
@click.option("--device", metavar="HOST:PORT", help="the device's TLS-SRP address")
@click.option("--user", metavar="NAME", help="SRP user (from the label)")
@click.option("--qr", "qr_image", type=click.Path(exists=True, dir_okay=False),
              help="photo of the label: read user, password and address from its QR code "
                   "(needs zxing-cpp and Pillow)")
@click.option("--qr-payload", is_flag=True,
              help="read the label's srp-iot:// QR payload from $SRP_QR_PAYLOAD or stdin")
@click.option("--port", default=0, show_default=True, help="local port of the bridge (0: any free one)")
@click.option("--bind", default="127.0.0.1", show_default=True, help="local address to listen on")
@click.option("--force-bind", is_flag=True, help="allow a --bind address that is not loopback")
@click.option("--max-connections", default=2, show_default=True,
              help="TLS-SRP connections to the device at most (the device's own limit)")
@click.option("--verbose", is_flag=True, help="log each request (never the launch secret)")
def bridge_cmd(device, user, qr_image, qr_payload, port, bind, force_bind, max_connections,
               verbose):
    """Let a browser administer a device: http://127.0.0.1 here, TLS-SRP to the device.

    The password comes from the label's QR code (--qr / --qr-payload), from
    $SRP_PASSWORD, or from a prompt; never from the command line. Prints one
    line `bridge url=http://127.0.0.1:PORT/...`: open it in a browser on this
    machine. Stop with Ctrl-C (the password is wiped)."""
    from host_tools.errors import InputError
    try:
        warning = check_bind(bind, force_bind)
        creds = resolve(device, user, qr_image, qr_payload, allow_missing=True)
    except PasswordError as e:
        raise InputError(str(e)) from None
    if warning:
        click.echo(warning, err=True)
    try:
        bridge = Bridge(creds, bind, port, max_connections, verbose)
    except OSError as e:
        raise InputError("cannot listen on %s:%s: %s" % (bind, port, e)) from None
    if creds.secret:
        problem = bridge.unlock(creds.secret, creds.source)
        if problem:
            bridge.state.notice = problem
            click.echo("bridge: %s" % problem, err=True)
            click.echo("bridge: open the URL and type the password from the label", err=True)
    else:
        click.echo("bridge: no password yet; the browser will ask for it", err=True)
    # Blocked before the server threads start, so they inherit the mask and
    # the signal waits for sigwait() below.
    posix = hasattr(signal, "sigwait")
    if posix:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    bridge.start()
    click.echo("bridge: launch code %s (shown in the bridge's banner; a page without it "
               "was not drawn by the bridge)" % bridge.state.launch_code, err=True)
    click.echo("bridge url=%s" % bridge.url)
    sys.stdout.flush()
    # No Python signal handler: one that sets a threading.Event can run while
    # this very thread holds the Event's lock inside Event.wait() and then
    # deadlocks, leaving the password in memory until a SIGKILL.
    if posix:
        signal.sigwait(STOP_SIGNALS)
    else:                          # Windows: Ctrl-C raises KeyboardInterrupt
        try:
            while True:
                time.sleep(1)      # interruptible by Ctrl-C there, unlike a lock wait
        except KeyboardInterrupt:
            pass
    bridge.stop()
    click.echo("bridge: stopped; password wiped", err=True)


if __name__ == "__main__":  # `python -m host_tools.bridge`: needs nothing but this command's deps
    bridge_cmd(prog_name="srp-iot bridge")
