"""Device log: a small RAM ring buffer plus a size-capped file.

The status page shows the ring buffer; the file survives a reboot.  When the
file grows past `file_cap` bytes it is renamed to `<path>.1` (replacing the
older one), so the log never takes more than about twice `file_cap` of flash.
Events a flood can trigger at will (refused connections) go to RAM only
(`note`), so an attacker cannot wear out the flash through the log.
Timestamps are seconds since boot from time.time(): ticks_ms wraps after
about six days on an ESP32.

The RAM ring is one bytearray allocated at start-up, LINE_MAX bytes per
line (longer lines are cut there; the file keeps them whole).  A ring of
string objects would allocate every new line wherever the heap had a hole
at that moment, and each line lives on for the next `lines` events: small
long-lived objects scattered through the heap, a likely part of the
fragmentation that tests/test_soak.py meets on an ESP32-sized heap.

What it must not do: record a password, a verifier, a salt or a key.
Callers log events ("password changed", "login failed from 1.2.3.4"), never
values; `write` also withholds a line that looks like it carries key
material (a run of 32 or more hex digits: a salt, verifier or key, but not a
16-digit credential fingerprint), as a last line of defence.
"""
import time

_HEX = "0123456789abcdefABCDEF"
_MAX_HEX_RUN = 31
LINE_MAX = 120          # bytes of a line kept in the RAM ring


def _looks_secret(msg):
    run = 0
    for c in msg:
        if c in _HEX:
            run += 1
            if run > _MAX_HEX_RUN:
                return True
        else:
            run = 0
    return False


class Log:
    def __init__(self, path=None, lines=16, file_cap=8192, echo=None):
        self.path = path
        self.lines = lines
        self.file_cap = file_cap
        self.echo = echo          # callable(line) for a console, or None
        self._ring = bytearray(lines * LINE_MAX)
        self._lens = [0] * lines  # bytes used in each slot
        self._next = 0            # slot the next line goes to
        self._count = 0           # lines kept (at most `lines`)
        self._t0 = time.time()

    def write(self, level, msg, persist=True):
        if _looks_secret(msg):
            msg = "(log line withheld: it looked like key material)"
        secs = int(time.time() - self._t0)
        line = "%6d %s %s" % (secs, level, msg)
        self._keep(line)
        if self.echo:
            self.echo(line)
        if self.path and persist:
            self._append(line)

    def info(self, msg):
        self.write("I", msg)

    def warn(self, msg):
        self.write("W", msg)

    def note(self, msg):
        """A warning kept in RAM only (see module docstring)."""
        self.write("W", msg, persist=False)

    def _keep(self, line):
        data = line.encode()
        if len(data) > LINE_MAX:
            cut = line[:LINE_MAX]
            while len(cut.encode()) > LINE_MAX:   # multi-byte characters
                cut = cut[:-1]
            data = cut.encode()
        slot = self._next
        off = slot * LINE_MAX
        self._ring[off:off + len(data)] = data
        self._lens[slot] = len(data)
        self._next = (slot + 1) % self.lines
        self._count = min(self._count + 1, self.lines)

    def recent(self, n=None):
        """The last n lines (all kept lines by default), oldest first."""
        count = self._count if n is None else min(n, self._count)
        out = []
        for i in range(count):
            slot = (self._next - count + i) % self.lines
            off = slot * LINE_MAX
            out.append(str(self._ring[off:off + self._lens[slot]], "utf-8"))
        return out

    def _append(self, line):
        import os
        try:
            try:
                size = os.stat(self.path)[6]
            except OSError:
                size = 0
            if size + len(line) + 1 > self.file_cap:
                os.rename(self.path, self.path + ".1")
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass  # a full or failing flash must not stop the device; RAM log remains
