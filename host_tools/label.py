"""Device labels: what the user reads (id, host, user, password) and a QR code for clients.

QR payload (read by the bridge and documented in the README):

    srp-iot://USER:PASSWORD@HOST:PORT/?id=DEVICE_ID

Every part is percent-encoded (RFC 3986 userinfo/query rules), so a user
name with ':' or '@' round-trips. PASSWORD is the canonical form from
host_tools.password (groups joined by '-').

Outputs, all rendered locally (a label is never sent to any online
service - it carries the password):
  * PNG at the printer's own resolution: Brother QL 62 mm tape at 300 dpi
    (696 dots wide, the QL series' printable width on 62 mm tape) or a
    Zebra 2 x 1 in label at 203 dpi (406 x 203 dots);
  * a PDF sheet (ReportLab) with many labels, for batches;
  * ZPL II for Zebra printers, using the printer's own QR command ^BQ;
and printing to a CUPS queue (`lp`) or a raw TCP 9100 printer.
Label files contain the password, so they are written mode 0600.
"""
import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, parse_qs

import segno

from host_tools.errors import InputError, PrinterError

SCHEME = "srp-iot"

# name -> (width dots, height dots, dpi)
PRINTERS = {
    "brother-ql62": (696, 567, 300),   # 62 mm x 48 mm at 300 dpi
    "zebra-2x1": (406, 203, 203),      # 2 x 1 inch at 203 dpi
}
DEFAULT_PRINTER = "brother-ql62"

_FONT_DIR = None


class LabelInfo:
    """What goes on one label."""

    def __init__(self, device_id, hostname, user, password, host, port):
        self.device_id = device_id
        self.hostname = hostname
        self.user = user
        self.password = password
        self.host = host
        self.port = int(port)

    def __repr__(self):  # never show the password in logs or tracebacks
        return "LabelInfo(%s, %s:%d)" % (self.device_id, self.host, self.port)


def payload(info):
    """The QR payload URI for `info` (see module doc)."""
    host = info.host
    if ":" in host:                      # IPv6 literal
        host = "[%s]" % host
    return "%s://%s:%s@%s:%d/?id=%s" % (
        SCHEME, quote(info.user, safe=""), quote(info.password, safe=""),
        host, info.port, quote(info.device_id, safe=""))


def parse_payload(uri):
    """Inverse of payload(): dict with user, password, host, port, device_id.

    Raises ValueError naming what is wrong (scheme, missing user or port).
    """
    parts = urlsplit(uri)
    if parts.scheme != SCHEME:
        raise ValueError("label payload: scheme must be %s://" % SCHEME)
    if parts.username is None or parts.password is None:
        raise ValueError("label payload: missing USER:PASSWORD@")
    if parts.port is None or not parts.hostname:
        raise ValueError("label payload: missing HOST:PORT")
    ids = parse_qs(parts.query).get("id", [""])
    return {"user": unquote(parts.username), "password": unquote(parts.password),
            "host": parts.hostname, "port": parts.port, "device_id": ids[0]}


def _font(size, bold=False):
    # Bitstream Vera ships inside ReportLab (a dependency), so labels look the
    # same on every station without an extra font package.
    from PIL import ImageFont
    import reportlab
    name = "VeraBd.ttf" if bold else "Vera.ttf"
    path = Path(reportlab.__file__).parent / "fonts" / name
    return ImageFont.truetype(str(path), size)


def qr_image(data, scale):
    """QR code as a 1-bit PIL image, `scale` dots per module, 4-module quiet zone."""
    from PIL import Image
    qr = segno.make(data, error="m", micro=False)
    rows = list(qr.matrix_iter(scale=scale, border=4))
    img = Image.new("1", (len(rows[0]), len(rows)), 1)
    px = img.load()
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                px[x, y] = 0
    return img


def _fit(draw, text, width, max_size, bold=False):
    """Largest font (<= max_size) in which `text` fits in `width` dots."""
    size = max_size
    while size > 8:
        font = _font(size, bold)
        if draw.textlength(text, font=font) <= width:
            return font
        size -= 1
    return _font(size, bold)


def render_png(info, printer=DEFAULT_PRINTER):
    """Render one label as a 1-bit PIL image at the printer's resolution.

    Brother 62 mm: QR code top left, id / host / URL / user beside it, the
    password across the full width underneath. Zebra 2 x 1 in: QR code left,
    id, user and the password (three lines) right.
    """
    from PIL import Image, ImageDraw
    if printer not in PRINTERS:
        raise InputError("unknown label printer %r" % printer,
                         hint="choose one of: %s" % ", ".join(PRINTERS))
    width, height, dpi = PRINTERS[printer]
    img = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(img)
    data = payload(info)
    modules = segno.make(data, error="m", micro=False).symbol_size(border=4)[0]
    groups = info.password.split("-")
    gap = dpi // 30
    if printer == "zebra-2x1":
        qr = qr_image(data, max(1, height // modules))
        img.paste(qr, (0, (height - qr.size[1]) // 2))
        x, avail = qr.size[0], width - qr.size[0] - gap
        lines = [(info.device_id, False, dpi // 10), ("user: %s" % info.user, False, dpi // 10),
                 (" ".join(groups[0:2]), True, dpi // 6), (" ".join(groups[2:4]), True, dpi // 6),
                 (groups[4], True, dpi // 6)]
        y = gap * 2
    else:
        pw_height = height // 6
        qr = qr_image(data, max(1, (height - pw_height - gap) // modules))
        img.paste(qr, (0, 0))
        font = _fit(draw, info.password, width - 2 * gap, pw_height)
        draw.text((gap, height - pw_height - gap), info.password, font=font, fill=0)
        x, avail = qr.size[0], width - qr.size[0] - gap
        lines = [(info.device_id, True, dpi // 8), (info.hostname, False, dpi // 10),
                 ("%s:%d" % (info.host, info.port), False, dpi // 10),
                 ("user: %s" % info.user, False, dpi // 10)]
        y = dpi // 8
    for text, bold, size in lines:
        font = _fit(draw, text, avail, size, bold)
        draw.text((x, y), text, font=font, fill=0)
        y += font.size * 14 // 10
    img.info["dpi"] = (dpi, dpi)
    return img


def _write_private(path, data):
    """Write bytes to `path` readable by the owner only (labels carry the password)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def write_png(info, path, printer=DEFAULT_PRINTER):
    import io
    img = render_png(info, printer)
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=img.info["dpi"])
    return _write_private(path, buf.getvalue())


def _zpl_field(text):
    # ^FH\ lets us hex-escape the characters ZPL treats as commands.
    return "".join("\\%02X" % ord(c) if c in "^~\\" or ord(c) < 32 or ord(c) > 126 else c
                   for c in text)


def render_zpl(info, dpi=203):
    """ZPL II for a 2 x 1 in label; the QR code is the printer's own ^BQ barcode."""
    dots = lambda inches: int(inches * dpi)
    mag = 4 if dpi < 300 else 6
    groups = info.password.split("-")
    out = ["^XA", "^CI28", "^PW%d" % dots(2), "^LL%d" % dots(1),
           # ^BQN,2,mag: normal orientation, model 2, magnification; "MA," = error
           # level M, automatic input mode (ZPL II programming guide, ^BQ).
           "^FO%d,%d^BQN,2,%d^FH\\^FDMA,%s^FS" % (dots(0.02), 0, mag, _zpl_field(payload(info))),
           "^FO%d,%d^A0N,22,22^FH\\^FD%s^FS" % (dots(1.0), dots(0.08), _zpl_field(info.device_id)),
           "^FO%d,%d^A0N,22,22^FH\\^FDuser: %s^FS" % (dots(1.0), dots(0.22), _zpl_field(info.user)),
           "^FO%d,%d^A0N,28,28^FD%s^FS" % (dots(1.0), dots(0.42), " ".join(groups[:3])),
           "^FO%d,%d^A0N,28,28^FD%s^FS" % (dots(1.0), dots(0.62), " ".join(groups[3:])),
           "^XZ"]
    return ("\n".join(out) + "\n").encode()


def write_zpl(info, path, dpi=203):
    return _write_private(path, render_zpl(info, dpi))


def write_pdf_sheet(infos, path):
    """A4 sheet(s) of 62 x 40 mm labels for a batch (ReportLab, QR drawn as vectors)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    c = canvas.Canvas(str(tmp), pagesize=A4, pageCompression=1)
    c.setTitle("srp-iot device labels")
    lw, lh, margin = 62 * mm, 40 * mm, 10 * mm
    cols = int((A4[0] - 2 * margin) // lw)
    rows = int((A4[1] - 2 * margin) // lh)
    for n, info in enumerate(infos):
        if n and n % (cols * rows) == 0:
            c.showPage()
        col, row = n % cols, (n // cols) % rows
        x0 = margin + col * lw
        y0 = A4[1] - margin - (row + 1) * lh
        c.setLineWidth(0.2)
        c.rect(x0, y0, lw, lh)
        matrix = list(segno.make(payload(info), error="m", micro=False).matrix_iter(border=2))
        module = (lh - 4 * mm) / len(matrix)
        for y, line in enumerate(matrix):
            for x, dark in enumerate(line):
                if dark:
                    c.rect(x0 + 2 * mm + x * module, y0 + lh - 2 * mm - (y + 1) * module,
                           module, module, stroke=0, fill=1)
        tx = x0 + lh
        groups = info.password.split("-")
        c.setFont("Helvetica", 7)
        c.drawString(tx, y0 + lh - 7 * mm, info.device_id)
        c.drawString(tx, y0 + lh - 11 * mm, "user: %s" % info.user)
        c.setFont("Courier-Bold", 9)
        c.drawString(tx, y0 + lh - 18 * mm, " ".join(groups[:3]))
        c.drawString(tx, y0 + lh - 23 * mm, " ".join(groups[3:]))
    c.save()
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def decode_png(path):
    """The QR payload decoded back from a rendered label (zxing-cpp), or InputError."""
    try:
        import zxingcpp
    except ImportError:
        from host_tools.errors import MissingError
        raise MissingError("zxing-cpp is not installed", hint="pip install zxing-cpp")
    from PIL import Image
    with Image.open(path) as img:
        found = [r.text for r in zxingcpp.read_barcodes(img.convert("L"))
                 if r.text.startswith(SCHEME + "://")]
    if len(found) != 1:
        raise InputError("%s: expected one srp-iot QR code, found %d" % (path, len(found)))
    return found[0]


def print_tcp(data, host, port=9100, timeout=10):
    """Send raw bytes (ZPL) to a network printer's raw port; PrinterError on failure."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
    except OSError as e:
        raise PrinterError("printer %s:%d: %s" % (host, port, e),
                           hint="check the printer is on and reachable on its raw port")


def print_cups(path, queue, raw=False):
    """Print a file on a CUPS queue with `lp`; raw=True for ZPL."""
    cmd = ["lp", "-d", queue]
    if raw:
        cmd += ["-o", "raw"]
    try:
        r = subprocess.run(cmd + [str(path)], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise PrinterError("lp (CUPS client) is not installed", hint="apt-get install cups-client")
    if r.returncode != 0:
        raise PrinterError("lp -d %s failed: %s" % (queue, r.stderr.strip() or r.stdout.strip()))
