"""Where the bridge and `connect` get the device password from, and how they hold it.

Sources, in order: the label's QR payload (`--qr IMAGE` photo, or
`--qr-payload` read from $SRP_QR_PAYLOAD or stdin), the environment
variable SRP_PASSWORD, or an interactive prompt. Never a command-line
argument: those show in `ps` and in shell history.

A password typed by a person (prompt, bridge login page) or read off a label
must pass the label format's check symbol (host_tools.password.check) before
anything is sent to the device, so a typo costs no login attempt and no
device back-off. SRP_PASSWORD is taken verbatim: it also serves development
credentials (`boards/sim/serve --user`) that are not label passwords.

The password lives in one `Secret` (a bytearray) that `wipe()` overwrites
with zeros. That is best effort: CPython may still hold transient copies
(the str a prompt returned, tlslite's hash inputs) in freed memory until it
is reused. This module must not log or print a password, ever.
"""
import os
import sys
from urllib.parse import parse_qs, unquote, urlsplit

QR_SCHEME = "srp-iot"
ENV_PASSWORD = "SRP_PASSWORD"
ENV_QR_PAYLOAD = "SRP_QR_PAYLOAD"


class PasswordError(ValueError):
    """A password (or payload) that must not be sent: the message says why."""


class Secret:
    """A password held in a bytearray so that it can be overwritten."""

    def __init__(self, text):
        self._buf = bytearray(text.encode("utf-8"))

    @property
    def value(self):
        """The bytearray itself (tlslite wants a bytearray); do not keep it."""
        if not self._buf:
            raise PasswordError("the password has been wiped (logged out)")
        return self._buf

    def wipe(self):
        for i in range(len(self._buf)):
            self._buf[i] = 0
        del self._buf[:]

    def __bool__(self):
        return bool(self._buf)

    def __repr__(self):          # never show the password in a traceback
        return "<Secret %s>" % ("set" if self._buf else "wiped")


def check_label_password(text):
    """Canonical label password, or PasswordError saying what is wrong."""
    from host_tools.password import check
    try:
        return check(text)
    except ValueError as e:
        raise PasswordError(str(e)) from None


class LabelPayload:
    """The parts of `srp-iot://USER:PASSWORD@HOST:PORT/?id=DEVICE_ID`."""

    def __init__(self, user, password, host, port, device_id):
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.device_id = device_id

    @property
    def device(self):
        return "%s:%d" % (self.host, self.port)

    def __repr__(self):
        return "<LabelPayload %s@%s id=%s>" % (self.user, self.device, self.device_id)


def parse_qr_payload(text):
    """Parse the label QR URI; the password must pass its check symbol."""
    text = (text or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise PasswordError("QR payload is not a valid srp-iot:// URI") from None
    if parts.scheme != QR_SCHEME:
        # Nothing of the text is echoed: it may well be the password itself.
        raise PasswordError("QR payload must start with %s://" % QR_SCHEME)
    if not parts.username or parts.password is None or not parts.hostname or not port:
        raise PasswordError("QR payload must be %s://USER:PASSWORD@HOST:PORT/?id=DEVICE_ID"
                            % QR_SCHEME)
    ids = parse_qs(parts.query).get("id", [""])
    password = check_label_password(unquote(parts.password))
    return LabelPayload(unquote(parts.username), password, parts.hostname, port, ids[0] or None)


def read_qr_image(path):
    """Decode the label QR code from a photo or a rendered label (PNG/JPEG).

    zxing-cpp and Pillow are compiled; they are imported here only, so the
    bridge itself stays pure Python (phones) when --qr is not used.
    """
    try:
        import zxingcpp
        from PIL import Image
    except ImportError:
        raise PasswordError("--qr needs the QR decoder: pip install zxing-cpp Pillow "
                            "(or use --qr-payload, SRP_PASSWORD or the prompt)") from None
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError) as e:
        raise PasswordError("cannot read image %s: %s" % (path, e)) from None
    for result in zxingcpp.read_barcodes(image):
        if result.text.startswith(QR_SCHEME + "://"):
            return result.text
    raise PasswordError("no %s:// QR code found in %s (a sharper, straighter photo helps)"
                        % (QR_SCHEME, path))


def read_qr_payload_text(stdin=None):
    """The QR payload from $SRP_QR_PAYLOAD, else the first line of stdin."""
    text = os.environ.get(ENV_QR_PAYLOAD)
    if text:
        return text
    stream = stdin or sys.stdin
    line = stream.readline()
    if not line.strip():
        raise PasswordError("--qr-payload: set %s or pipe the payload on stdin" % ENV_QR_PAYLOAD)
    return line


def prompt_password(user, device, prompt=None, tries=3, echo_err=None):
    """Ask for the label password until it passes the check symbol.

    Nothing is sent to the device before the check passes; after `tries`
    typos PasswordError is raised.
    """
    import getpass
    ask = prompt or getpass.getpass
    say = echo_err or (lambda msg: print(msg, file=sys.stderr))
    for _ in range(tries):
        text = ask("Password for %s on %s (from the label): " % (user, device))
        try:
            return check_label_password(text)
        except PasswordError as e:
            say("%s; nothing was sent to the device, try again." % e)
    raise PasswordError("no valid password after %d tries" % tries)


class Credentials:
    """Who to log in as, where, and the secret; resolved from the options."""

    def __init__(self, host, port, user, secret, device_id=None, source=""):
        self.host = host
        self.port = port
        self.user = user
        self.secret = secret
        self.device_id = device_id
        self.source = source


def parse_device(text):
    """HOST:PORT -> (host, port) with a clear error."""
    host, sep, port = (text or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PasswordError("--device must be HOST:PORT (e.g. 192.168.4.1:443), got %r" % text)
    return host.strip("[]"), int(port)


def resolve(device=None, user=None, qr_image=None, qr_payload=False, interactive=None,
            allow_missing=False, prompt=None, stdin=None):
    """Resolve device, user and password from the options and environment.

    Returns Credentials whose `secret` may be None only when allow_missing
    (the bridge then asks in the browser). The label payload supplies the
    device and user when the options do not, and must agree when they do.
    """
    payload = None
    if qr_image and qr_payload:
        raise PasswordError("use either --qr IMAGE or --qr-payload, not both")
    if qr_image:
        payload = parse_qr_payload(read_qr_image(qr_image))
    elif qr_payload:
        payload = parse_qr_payload(read_qr_payload_text(stdin))
    if payload is not None:
        if device and parse_device(device) != (payload.host, payload.port):
            # An explicit --device wins (the label's address may be the AP
            # default while the device now sits on the office network).
            host, port = parse_device(device)
        else:
            host, port = payload.host, payload.port
        if user and user != payload.user:
            raise PasswordError("--user %r differs from the label's user %r" % (user, payload.user))
        return Credentials(host, port, payload.user, Secret(payload.password),
                           payload.device_id, "label QR code")
    if not device or not user:
        raise PasswordError("give --device HOST:PORT and --user NAME (or the label's QR code)")
    host, port = parse_device(device)
    env = os.environ.get(ENV_PASSWORD)
    if env:
        return Credentials(host, port, user, Secret(env), None, ENV_PASSWORD)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        return Credentials(host, port, user, Secret(prompt_password(user, device, prompt)),
                           None, "prompt")
    if allow_missing:
        return Credentials(host, port, user, None, None, "")
    raise PasswordError("no password: set %s, use --qr/--qr-payload, or run in a terminal "
                        "to be asked" % ENV_PASSWORD)
