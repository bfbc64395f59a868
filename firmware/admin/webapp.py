"""The admin application served over TLS-SRP: pages and a JSON API (microdot).

Every request here arrives on a TLS-SRP connection whose handshake proved the
password, so there is no login page and no cookie: the TLS session is the
login.  Two things still need care:
  - cross-site requests (a browser talking through the host bridge on
    127.0.0.1 could be tricked by another site into posting a form): every
    state-changing form carries a per-boot random token, and the JSON API
    accepts only `Content-Type: application/json`, which a cross-site form
    cannot send without a CORS preflight this app never answers;
  - nothing secret in any response: the Wi-Fi key is reported as set/unset,
    a credential by its public fingerprint only.

Routes:
  GET  /                 status page          GET  /api/status
  GET  /settings, POST   settings form        GET|PUT /api/settings
  GET  /password, POST   change password      POST /api/password
  POST /logout  POST /reboot  GET|POST /factory-reset
"""
import gc
import time

from microdot import Microdot, Request, Response

from admin import pages

# Small caps: a request is a few hundred bytes; nothing legitimate is larger.
Request.max_content_length = 1024
Request.max_body_length = 1024
Request.max_readline = 512

MIN_PASSWORD = 10
MAX_PASSWORD = 128

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}


def same_text(a, b):
    """Constant-time comparison of two strings (the form token)."""
    if not isinstance(a, str) or len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= ord(x) ^ ord(y)
    return diff == 0


def session_info(req):
    s = req.sock[0].session
    return {"user": s.user, "cipher_suite": s.cipher_name, "srp_group": s.group_bits,
            "etm": bool(s.etm), "ems": bool(s.ems), "resumed": bool(s.resumed)}


def status_dict(dev, req):
    gc.collect()
    cred = dev.store.credential
    return {
        "device_id": dev.info.get("device_id", ""),
        "firmware_version": dev.info.get("firmware_version", ""),
        "name": dev.settings.values["name"],
        "uptime_s": int(time.time() - dev.started_s),
        "free_heap": gc.mem_free(),
        "credential": dev.store.source,
        "credential_id": cred.fingerprint() if cred else "",
        "tls": session_info(req),
        "log": dev.log.recent(),
    }


def make_verifier_credential(old, password):
    """A new credential for `password`, same user and group, fresh salt."""
    import os
    from srptls import credential, srp
    salt = os.urandom(16)
    grp = srp.group(old.group)
    v = srp.make_verifier(grp, old.user.encode(), password.encode(), salt)
    return credential.Credential(old.user, old.group, salt, v)


def check_new_password(new, repeat=None):
    if not isinstance(new, str):
        raise ValueError("password must be text")
    if repeat is not None and new != repeat:
        raise ValueError("the two passwords differ")
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        raise ValueError("password: %d to %d characters" % (MIN_PASSWORD, MAX_PASSWORD))


# How long a client told "503 low memory" should wait before retrying.
RETRY_AFTER_S = 1


class AdminApp(Microdot):
    """Microdot, except that a request the device failed to read is not
    always the client's fault.

    Microdot answers any exception raised while reading a request with
    "400 Bad request" and only prints it to the console.  Running out of
    heap (MemoryError) is the device's condition, not a malformed request:
    it is logged with the free heap and answered "503 Service Unavailable"
    with Retry-After, so a client knows to try again.  Any other reading
    error is still a 400, and its exception class (never the request's
    content) is logged.  Both go to the RAM log only (`note`): a flood can
    cause either, and must not wear out the flash.
    """

    def __init__(self, log):
        super().__init__()
        self.log = log
        # A route that runs out of heap: microdot's default would be a 500.
        self.errorhandler(MemoryError)(self._route_out_of_memory)

    def _route_out_of_memory(self, req, exc):
        return self.low_memory("answering a request")

    def low_memory(self, where):
        gc.collect()
        self.log.note("http: out of memory while %s (%d bytes free after gc), answered 503"
                      % (where, gc.mem_free()))
        return Response("device low on memory: retry in a moment\n", 503,
                        {"Retry-After": str(RETRY_AFTER_S), "Connection": "close"})

    async def handle_request(self, reader, writer):
        req = res = None
        try:
            req = await Request.create(self, reader, writer,
                                       writer.get_extra_info("peername"))
        except MemoryError:
            res = self.low_memory("reading a request")
        except OSError:
            raise           # the peer went away: the connection owner logs it
        except Exception as e:
            self.log.note("http: unreadable request (%s)" % type(e).__name__)
        if res is None:
            res = await self.dispatch_request(req)   # req None -> 400
        if res != Response.already_handled:
            await res.write(writer)
        await writer.aclose()


def create_app(dev):
    app = AdminApp(dev.log)
    token = dev.token

    def html(text, status=200):
        return text, status, {"Content-Type": "text/html; charset=utf-8"}

    def form_ok(req):
        f = req.form
        return f is not None and same_text(f.get("token"), token), f

    def json_body(req):
        ctype = (req.content_type or "").split(";")[0].strip()
        if ctype != "application/json":
            return None, ({"error": "send Content-Type: application/json"}, 415)
        try:
            obj = req.json
        except (ValueError, UnicodeError):
            obj = None
        if not isinstance(obj, dict):
            return None, ({"error": "body must be a JSON object"}, 400)
        return obj, None

    @app.after_request
    def _headers(req, res):
        for k, v in SECURITY_HEADERS.items():
            res.headers[k] = v
        return res

    @app.errorhandler(404)
    def _not_found(req):
        return {"error": "not found"}, 404

    # -- pages -----------------------------------------------------------
    @app.get("/")
    def index(req):
        return html(pages.status(status_dict(dev, req), token))

    @app.get("/settings")
    def settings_get(req):
        return html(pages.settings(dev.settings.public(), token))

    @app.post("/settings")
    def settings_post(req):
        ok, f = form_ok(req)
        if not ok:
            return html(pages.settings(dev.settings.public(), token,
                                       error="form expired: reload the page"), 403)
        key = f.get("key") or None
        if f.get("clear_key"):
            key = ""
        try:
            dev.settings.update(f.get("name", ""), f.get("ssid", ""), key)
        except ValueError as e:
            return html(pages.settings(dev.settings.public(), token, error=str(e)), 400)
        except OSError:
            return html(pages.settings(dev.settings.public(), token,
                                       error="could not save (flash error)"), 500)
        return html(pages.settings(dev.settings.public(), token,
                                   ok="Saved. Wi-Fi changes apply at the next reboot."))

    @app.get("/password")
    def password_get(req):
        return html(pages.password(token))

    @app.post("/password")
    def password_post(req):
        ok, f = form_ok(req)
        if not ok:
            return html(pages.password(token, error="form expired: reload the page"), 403)
        try:
            new = f.get("new", "")
            check_new_password(new, f.get("repeat", ""))
            change_password(dev, new)
        except ValueError as e:
            return html(pages.password(token, error=str(e)), 400)
        except OSError:
            return html(pages.password(token, error="could not store the new password; "
                                                    "the old one is still in force"), 500)
        return html(pages.password(token, ok="Password changed. New connections need "
                                             "the new password."))

    @app.post("/logout")
    def logout(req):
        ok, _ = form_ok(req)
        if not ok:
            return html(pages.layout("Log out", "<p>form expired</p>", token=token), 403)
        dev.logout(req.sock[0])
        return html(pages.logged_out())

    @app.post("/reboot")
    def reboot(req):
        ok, _ = form_ok(req)
        if not ok:
            return html(pages.layout("Reboot", "<p>form expired</p>", token=token), 403)
        dev.request_reboot("reboot requested by %s" % session_info(req)["user"])
        return html(pages.rebooting())

    @app.get("/factory-reset")
    def reset_get(req):
        return html(pages.factory_reset(token))

    @app.post("/factory-reset")
    def reset_post(req):
        ok, f = form_ok(req)
        if not ok or f.get("confirm", "").strip() != "RESET":
            return html(pages.factory_reset(token, error="not confirmed: type RESET"), 400)
        dev.factory_reset()
        return html(pages.rebooting("Factory reset done"))

    # -- JSON API --------------------------------------------------------
    @app.get("/api/status")
    def api_status(req):
        return status_dict(dev, req)

    @app.get("/api/settings")
    def api_settings(req):
        return dev.settings.public()

    @app.put("/api/settings")
    def api_settings_put(req):
        obj, err = json_body(req)
        if err:
            return err
        unknown = [k for k in obj if k not in ("name", "wifi_ssid", "wifi_key")]
        if unknown:
            return {"error": "unknown field(s): %s" % ", ".join(unknown)}, 400
        try:
            dev.settings.update(obj.get("name"), obj.get("wifi_ssid"), obj.get("wifi_key"))
        except ValueError as e:
            return {"error": str(e)}, 400
        except OSError:
            return {"error": "could not save (flash error)"}, 500
        return dev.settings.public()

    @app.post("/api/password")
    def api_password(req):
        obj, err = json_body(req)
        if err:
            return err
        try:
            if "password" in obj:
                check_new_password(obj["password"])
                change_password(dev, obj["password"])
            elif "salt" in obj and "verifier" in obj:
                change_verifier(dev, obj["salt"], obj["verifier"])
            else:
                return {"error": "send {\"password\": ...} or {\"salt\": hex, "
                                 "\"verifier\": hex}"}, 400
        except ValueError as e:
            return {"error": str(e)}, 400
        except OSError:
            return {"error": "could not store the credential; the old one is "
                             "still in force"}, 500
        return {"changed": True, "credential_id": dev.store.credential.fingerprint()}

    return app


def change_password(dev, new):
    cred = make_verifier_credential(dev.store.credential, new)
    dev.store.replace(cred)
    dev.password_changed()


def change_verifier(dev, salt_hex, verifier_hex):
    """Install a salt + verifier computed by a trusted client (same user/group)."""
    from srptls import credential
    old = dev.store.credential
    cred = credential.loads(
        '{"format":"%s","user":%s,"group":%d,"salt":%s,"verifier":%s}'
        % (credential.FORMAT, _json_str(old.user), old.group,
           _json_str(salt_hex), _json_str(verifier_hex)))
    if len(cred.salt) < 16:
        raise ValueError("salt: at least 16 bytes")
    from srptls import srp
    n = srp.group(old.group).N
    if not 1 < cred.verifier < n:
        raise ValueError("verifier: must be in 2..N-1 for the group")
    dev.store.replace(cred)
    dev.password_changed()


def _json_str(value):
    import json
    if not isinstance(value, str):
        raise ValueError("salt and verifier must be hex strings")
    return json.dumps(value)
