"""HTML of the admin pages and of the plain-HTTP transition page.

Plain string building (no template engine: it would cost heap and flash for
a handful of small pages).  Every value that comes from the device's state
or a request goes through `esc`.  Pages carry no script and load nothing
from elsewhere; forms that change state carry the per-boot form token.

What it must not do: put a password, verifier, salt or Wi-Fi key in a page.
"""

CSS = ("body{font:15px/1.45 sans-serif;max-width:44em;margin:1.5em auto;padding:0 1em;color:#222}"
       "h1{font-size:1.4em}nav a,nav button{margin-right:.8em}table{border-collapse:collapse}"
       "td,th{text-align:left;padding:.15em .8em .15em 0;vertical-align:top}"
       "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;word-break:break-all;font-size:13px}"
       ".err{color:#a00}.ok{color:#060}label{display:block;margin:.5em 0}"
       "nav form{display:inline}code{background:#f4f4f4;padding:0 .2em}")


def esc(value):
    s = str(value)
    if "&" in s:
        s = s.replace("&", "&amp;")
    for a, b in (("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        if a in s:
            s = s.replace(a, b)
    return s


def layout(title, body, nav=True, token=""):
    menu = ""
    if nav:
        menu = ('<nav><a href="/">Status</a><a href="/settings">Settings</a>'
                '<a href="/password">Password</a><a href="/factory-reset">Factory reset</a>'
                '<form method="post" action="/reboot"><input type="hidden" name="token" value="%s">'
                '<button>Reboot</button></form>'
                '<form method="post" action="/logout"><input type="hidden" name="token" value="%s">'
                '<button>Log out</button></form></nav>' % (esc(token), esc(token)))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<title>%s</title><style>%s</style></head><body>%s<h1>%s</h1>%s</body></html>'
            % (esc(title), CSS, menu, esc(title), body))


def _rows(pairs):
    return "<table>%s</table>" % "".join(
        "<tr><th>%s</th><td>%s</td></tr>" % (esc(k), esc(v)) for k, v in pairs)


def _msg(error=None, ok=None):
    if error:
        return '<p class="err">%s</p>' % esc(error)
    if ok:
        return '<p class="ok">%s</p>' % esc(ok)
    return ""


def status(st, token):
    tls = st["tls"]
    body = _rows((
        ("Device id", st["device_id"]), ("Name", st["name"] or "(not set)"),
        ("Firmware", st["firmware_version"]), ("Uptime", "%d s" % st["uptime_s"]),
        ("Free heap", "%d bytes" % st["free_heap"]),
        ("Credential", "%s (%s)" % (st["credential"], st["credential_id"])),
    ))
    body += "<h2>This TLS session</h2>" + _rows((
        ("User", tls["user"]), ("Cipher suite", tls["cipher_suite"]),
        ("SRP group", "%d bits" % tls["srp_group"]),
        ("Encrypt-then-MAC", "yes" if tls["etm"] else "no"),
        ("Extended master secret", "yes" if tls["ems"] else "no"),
        ("Resumed", "yes" if tls["resumed"] else "no"),
    ))
    body += "<h2>Recent log</h2><pre>%s</pre>" % esc("\n".join(st["log"]) or "(empty)")
    return layout("Status", body, token=token)


def settings(pub, token, error=None, ok=None):
    body = _msg(error, ok) + (
        '<form method="post" action="/settings">'
        '<input type="hidden" name="token" value="%s">'
        '<label>Device name <input name="name" maxlength="32" value="%s"></label>'
        '<label>Wi-Fi network (SSID) <input name="ssid" maxlength="32" value="%s"></label>'
        '<label>Wi-Fi key <input name="key" type="password" maxlength="64" '
        'placeholder="%s" autocomplete="off"></label>'
        '<p>Leave the key empty to keep the current one; tick to clear it: '
        '<input type="checkbox" name="clear_key" value="1"></p>'
        '<button>Save</button></form>'
        % (esc(token), esc(pub["name"]), esc(pub["wifi_ssid"]),
           "(set, not shown)" if pub["wifi_key_set"] else "(none: open network)"))
    return layout("Settings", body, token=token)


def password(token, error=None, ok=None):
    body = _msg(error, ok) + (
        "<p>The device stores only a verifier computed from the new password; "
        "the current password keeps working until the new one is safely stored. "
        "Write the new password down: it cannot be read back.</p>"
        '<form method="post" action="/password">'
        '<input type="hidden" name="token" value="%s">'
        '<label>New password <input name="new" type="password" autocomplete="new-password"></label>'
        '<label>Repeat it <input name="repeat" type="password" autocomplete="new-password"></label>'
        '<button>Change password</button></form>' % esc(token))
    return layout("Change password", body, token=token)


def logged_out():
    body = ("<p>This connection is closed and the device has dropped its TLS "
            "session for it, so it cannot be resumed.  A TLS-SRP login has no "
            "cookie: the TLS session <em>is</em> the login.</p>"
            "<p>What still knows the password is the client: <b>stop the host "
            "bridge</b> (it holds the password in memory only) or close the "
            "program you used (curl keeps nothing).  Close this browser tab "
            "too, so no page is left that could reconnect through the bridge.</p>")
    return layout("Logged out", body, nav=False)


def rebooting(what="Rebooting"):
    return layout(what, "<p>The device restarts now; reconnect in a few seconds.</p>",
                  nav=False)


def factory_reset(token, error=None):
    body = _msg(error) + (
        "<p>Factory reset removes the current password (the label's password "
        "works again), the device name and the Wi-Fi settings, then reboots. "
        "With no saved Wi-Fi network the device opens its own access point.</p>"
        '<form method="post" action="/factory-reset">'
        '<input type="hidden" name="token" value="%s">'
        '<label>Type <code>RESET</code> to confirm <input name="confirm"></label>'
        '<button>Factory reset</button></form>' % esc(token))
    return layout("Factory reset", body, token=token)


def transition(info, provisioned, user="admin", host=None):
    """The only page the plain-HTTP port serves.

    user: the SRP user name (printed on the label with the password; not a
    secret); host: the name or address the visitor used, else device.json's.
    """
    host = host or info.get("hostname") or info.get("device_id", "device")
    port = info.get("https_port", 443)
    hostport = "%s%s" % (host, "" if port == 443 else ":%d" % port)
    url = "https://%s/" % hostport
    if provisioned:
        state = ("<p>This device is administered over <b>TLS-SRP</b> only. Its "
                 "password is printed on its label.</p>")
    else:
        state = ('<p class="err"><b>This device is not provisioned:</b> it has no '
                 "valid credential, so it refuses every login. Provision it at the "
                 "manufacturing station (or restore its factory image).</p>")
    body = state + (
        "<h2>Why not here?</h2>"
        "<p>Plain HTTP sends everything in clear text, so this device never takes a "
        "password on this port. TLS-SRP (RFC 5054) proves both ends from the password "
        "itself: the device stores only a verifier, no certificate is needed, and a "
        "man in the middle learns nothing it could use to guess the password.</p>"
        "<h2>How to connect</h2>"
        "<p>With curl (built with OpenSSL or GnuTLS SRP support):</p>"
        "<pre>curl -k -K - --tlsauthtype SRP --tlsuser %s %s</pre>"
        "<p>then type <code>tlspassword = \"PASSWORD-FROM-LABEL\"</code>, Enter and "
        "Ctrl-D: <code>-K -</code> reads it from the keyboard, so it never shows in the "
        "process list or the shell history as a password on the command line would.</p>"
        "<p><code>-k</code> only tells curl not to look for a certificate (there is "
        "none); the SRP exchange itself proves that the device holds the verifier "
        "for your password, and fails if it does not.</p>"
        "<p>With a browser: run the host bridge on your computer, which speaks "
        "TLS-SRP to the device and plain HTTP to your browser on 127.0.0.1 only:</p>"
        "<pre>srp-iot bridge --device %s --user %s</pre>"
        "<p>then open the <code>bridge url=</code> address it prints. The bridge asks "
        "for the password (or reads the label's QR code with <code>--qr</code>) and "
        "keeps it in memory only; Ctrl-C wipes it.</p>"
        % (esc(user), esc(url), esc(hostport), esc(user)))
    return layout("%s: use TLS-SRP" % info.get("device_id", "device"), body, nav=False)
