"""The bridge's own HTML: the shell with the security banner, /__bridge/, login.

Why the banner cannot be forged by the device: device pages never share a
document with it. The shell page (bridge port) draws the banner and shows
the device's pages in an iframe served from the bridge's second port, a
different origin; the browser's same-origin policy then keeps every device
script and style out of the banner's document, and the iframe's sandbox
(no allow-top-navigation) keeps the device from replacing the shell. What
the device *can* do is draw a look-alike inside its frame, below the real
banner; the real one therefore also shows a per-launch code that is printed
in the terminal at launch and never sent to the device, so a copy cannot
know it. Every value from the device or the user is HTML-escaped here.

No page here uses JavaScript; the only style sheet carries a per-response
nonce allowed by the Content-Security-Policy.
"""
import html
import secrets
import time

SANDBOX = "allow-forms allow-scripts allow-same-origin allow-popups allow-modals allow-downloads"

_STYLE = """
html,body{margin:0;height:100%;font:15px/1.4 system-ui,sans-serif}
body{display:flex;flex-direction:column}
#srp-bridge-banner{flex:none;display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:center;
 padding:.35em .8em;background:#0b3d2e;color:#fff;border-bottom:3px solid #2fbf71}
#srp-bridge-banner b{font-weight:600}
#srp-bridge-banner .code{font-family:ui-monospace,monospace;background:#fff;color:#0b3d2e;
 padding:0 .4em;border-radius:3px}
#srp-bridge-banner a{color:#bff5d6;margin-left:auto}
#srp-bridge-banner.locked{background:#6b1d1d;border-color:#ff6b6b}
iframe{flex:1;border:0;width:100%}
main{padding:1em 1.2em;max-width:44em}
table{border-collapse:collapse}td,th{text-align:left;padding:.2em .8em .2em 0;vertical-align:top}
.msg{padding:.6em .8em;border-radius:4px;background:#fdecea;color:#611a15}
.ok{background:#e7f6ec;color:#0b3d2e}
button{font:inherit;padding:.4em 1.2em}
input[type=password]{font:inherit;font-family:ui-monospace,monospace;width:16em;padding:.3em}
"""


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


class Page:
    """An HTML page with its CSP (nonce chosen per response)."""

    def __init__(self, title, body, frame_src=None, status=200):
        self.nonce = secrets.token_urlsafe(16)
        self.status = status
        self.frame_src = frame_src
        self.frame_ancestors = "'none'"     # device-port pages allow the shell
        self.html = ("<!doctype html><html lang=en><head><meta charset=utf-8>"
                     "<meta name=viewport content='width=device-width,initial-scale=1'>"
                     "<title>%s</title><style nonce='%s'>%s</style></head><body>%s</body></html>"
                     % (esc(title), self.nonce, _STYLE, body))

    def csp(self):
        frame = "frame-src %s; " % self.frame_src if self.frame_src else ""
        return ("default-src 'none'; style-src 'nonce-%s'; %sform-action 'self'; "
                "frame-ancestors %s; base-uri 'none'" % (self.nonce, frame, self.frame_ancestors))

    def body_bytes(self):
        return self.html.encode("utf-8")


def banner(state):
    """The security state line: "TLS-SRP · device id · user · cipher"."""
    info = state.info
    if state.unlocked and info is not None:
        parts = ["<b>TLS-SRP</b>", esc(state.device_id), esc(info.user), esc(info.cipher_suite)]
        cls = ""
    else:
        parts = ["<b>Not connected</b>", esc(state.device_id), esc(state.user),
                 "no password (logged out)" if not state.unlocked else "no session yet"]
        cls = " class=locked"
    return ("<header id=srp-bridge-banner%s role=banner><span>%s</span>"
            "<span title='This code was printed when the bridge started; a page that "
            "does not show it was not drawn by the bridge.' class=code>%s</span>"
            "<a href='/__bridge/'>bridge session</a></header>"
            % (cls, " · ".join(parts), esc(state.launch_code)))


def shell(state, frame_url):
    body = "%s<iframe name=device title='device pages' src='%s' sandbox='%s' " \
           "referrerpolicy=origin></iframe>" % (banner(state), esc(frame_url), SANDBOX)
    return Page("%s · srp-iot bridge" % state.device_id, body,
                frame_src=state.guard.device_origin)


def _rows(pairs):
    return "".join("<tr><th>%s</th><td>%s</td></tr>" % (esc(k), esc(v)) for k, v in pairs)


def session_page(state, message=None):
    info = state.info
    rows = [("device", "%s (%s)" % (state.device_id, state.link.authority)),
            ("user", state.user),
            ("password", "held in memory (from %s)" % state.source if state.unlocked
             else "none: logged out"),
            ("launch code", state.launch_code),
            ("device connections open (idle)", state.link.idle_connections),
            ("TLS handshakes so far", state.link.handshakes)]
    if info is not None:
        rows += [("protocol", info.version), ("cipher suite", info.cipher_suite),
                 ("SRP group", "%s bits (as the device reports)" % state.srp_group
                  if state.srp_group else "not reported"),
                 ("encrypt-then-MAC", "yes" if info.etm else "no"),
                 ("extended master secret", "yes" if info.ems else "no"),
                 ("last handshake", "%s%s" % (time.strftime("%H:%M:%S", time.localtime(info.when)),
                                              " (resumed session)" if info.resumed else ""))]
    if state.device_warning:
        rows.append(("warning", state.device_warning))
    msg = "<p class='msg ok'>%s</p>" % esc(message) if message else ""
    action = ("<form method=post action='/__bridge/logout'><button type=submit>Logout</button> "
              "wipes the password from the bridge's memory and closes the device connections."
              "</form>" if state.unlocked else
              "<p><a href='/__bridge/login'>Log in again</a></p>")
    body = ("%s<main><h1>Bridge session</h1>%s<table>%s</table><p><a href='/'>Device pages</a></p>"
            "%s</main>" % (banner(state), msg, _rows(rows), action))
    return Page("bridge session · %s" % state.device_id, body)


def login_page(state, message=None, status=200):
    msg = "<p class=msg role=alert>%s</p>" % esc(message) if message else ""
    body = ("%s<main><h1>Password for %s</h1>%s"
            "<p>Type the password printed on the device label (user <b>%s</b>). The bridge checks "
            "its check symbol before anything is sent to the device.</p>"
            "<form method=post action='/__bridge/login'>"
            "<label>Password <input type=password name=password autocomplete=current-password "
            "autofocus required></label> <button type=submit>Log in</button></form></main>"
            % (banner(state), esc(state.device_id), msg, esc(state.user)))
    return Page("log in · %s" % state.device_id, body, status=status)


def refused_page(reason, status):
    body = "<main><h1>Refused by the srp-iot bridge</h1><p class=msg>%s</p></main>" % esc(reason)
    return Page("refused", body, status=status)


def error_page(state, message, status=502):
    body = "%s<main><h1>Device unavailable</h1><p class=msg role=alert>%s</p></main>" % (
        banner(state), esc(message))
    return Page("device unavailable", body, status=status)


def frame_locked_page(shell_origin):
    body = ("<main><h1>Logged out</h1><p class=msg>The bridge holds no password. Use "
            "<b>bridge session</b> in the bar above to log in again.</p></main>")
    page = Page("logged out", body, status=401)
    page.frame_ancestors = shell_origin
    return page
