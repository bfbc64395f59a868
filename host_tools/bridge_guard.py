"""Who may talk to the bridge: the browser-side checks, as pure functions.

The bridge is an HTTP server on 127.0.0.1, which every web page the browser
shows can send requests to, and which every local process can connect to.
Before anything is forwarded to the device, a request must pass, in order:

1. Host header = exactly the address the bridge listens on. Defeats DNS
   rebinding (evil.example resolving to 127.0.0.1 sends Host: evil.example).
2. The per-launch secret: the launch URL's token (compared in constant
   time) sets an HttpOnly, SameSite=Strict cookie; every other request must
   carry that cookie. A page that never saw the printed URL cannot guess it.
3. Fetch metadata (Sec-Fetch-Site, sent by current browsers): cross-site
   requests are refused outright; same-site ones (another port on
   127.0.0.1, which shares our cookie because cookies ignore ports) only for
   the one case the bridge itself causes: the shell page loading the device
   frame (GET, Sec-Fetch-Dest iframe, Referer = the shell's origin, which a
   foreign page can suppress but not forge).
4. Origin on every state-changing request (anything but GET/HEAD) must be
   the bridge's own origin for that port; a missing Origin is refused too.

A failed check answers 403 from the bridge and never reaches the device.
This module knows nothing about sockets or the device.
"""
import hmac
from urllib.parse import urlsplit

SAFE_METHODS = ("GET", "HEAD")
COOKIE_PREFIX = "srpiot_bridge"


class Refused(Exception):
    """A request that must not go further; `reason` is safe to show."""

    def __init__(self, reason, status=403):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def cookie_name(shell_port):
    # Cookies ignore ports: two bridges on one machine need distinct names.
    return "%s_%d" % (COOKIE_PREFIX, shell_port)


def parse_cookies(header_values):
    """Cookie headers -> list of (name, value), order kept, duplicates kept."""
    out = []
    for header in header_values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                out.append((name.strip(), value.strip()))
    return out


def strip_bridge_cookies(header_values):
    """The Cookie header to send to the device: never any bridge cookie."""
    kept = ["%s=%s" % (n, v) for n, v in parse_cookies(header_values)
            if not n.startswith(COOKIE_PREFIX)]
    return "; ".join(kept) or None


def origin_of(url):
    try:
        p = urlsplit(url)
        if p.scheme and p.netloc:
            return "%s://%s" % (p.scheme, p.netloc)
    except ValueError:
        pass
    return None


class Guard:
    """The checks for one bridge launch (its two listening origins and secret)."""

    def __init__(self, bind, shell_port, device_port, cookie_secret, launch_token):
        self.bind = bind
        self.shell_port = shell_port
        self.device_port = device_port
        self.cookie_secret = cookie_secret
        self.launch_token = launch_token
        self.cookie = cookie_name(shell_port)

    def host_for(self, port):
        host = "[%s]" % self.bind if ":" in self.bind else self.bind
        return "%s:%d" % (host, port)

    def origin_for(self, port):
        return "http://" + self.host_for(port)

    @property
    def shell_origin(self):
        return self.origin_for(self.shell_port)

    @property
    def device_origin(self):
        return self.origin_for(self.device_port)

    def token_ok(self, token):
        return bool(token) and hmac.compare_digest(token.encode(), self.launch_token.encode())

    def check_host(self, port, headers):
        if headers.get("Host", "") != self.host_for(port):
            raise Refused("wrong Host header (this bridge answers only to %s)"
                          % self.host_for(port))

    def check_cookie(self, headers):
        values = [v for n, v in parse_cookies(headers.get_all("Cookie") or [])
                  if n == self.cookie]
        if not any(hmac.compare_digest(v.encode(), self.cookie_secret.encode()) for v in values):
            raise Refused("missing launch secret: open the URL that `srp-iot bridge` printed",
                          status=401)

    def check_origin(self, port, method, headers):
        if method in SAFE_METHODS:
            return
        if headers.get("Origin") != self.origin_for(port):
            raise Refused("cross-origin %s refused" % method)

    def check_shell(self, method, path, headers):
        """Checks for the shell port (banner, /__bridge/ pages, login, logout)."""
        self.check_host(self.shell_port, headers)
        site = headers.get("Sec-Fetch-Site")
        if site in ("cross-site", "same-site"):
            raise Refused("request from another site refused")
        if path.split("?")[0] != "/__bridge/launch":
            self.check_cookie(headers)
        self.check_origin(self.shell_port, method, headers)

    def check_device(self, method, headers):
        """Checks for the device port (the framed device pages).

        Returns "forward" or "to-shell" (a top-level visit of a device page,
        which must be shown inside the shell so that it carries the banner).
        """
        self.check_host(self.device_port, headers)
        self.check_cookie(headers)
        site = headers.get("Sec-Fetch-Site")
        dest = headers.get("Sec-Fetch-Dest")
        if site == "cross-site":
            raise Refused("request from another site refused")
        if site == "same-site":
            if not (method in SAFE_METHODS and dest == "iframe"
                    and origin_of(headers.get("Referer", "")) == self.shell_origin):
                raise Refused("request from another site refused")
        self.check_origin(self.device_port, method, headers)
        if dest == "document" and method in SAFE_METHODS:
            return "to-shell"
        if method == "OPTIONS":
            raise Refused("CORS preflight refused: the bridge serves no other origin")
        return "forward"
