"""Progress output: one line per port, redrawn in place on a terminal.

On a terminal every port keeps its own line (ANSI cursor-up redraw, like
esptool's progress bar but one per board). When stderr is a file or a pipe
(CI, logs) a line is printed only when a port's stage changes or its
progress passes another 25 %, so logs stay short and greppable.
"""
import sys
import threading


class PortLines:
    def __init__(self, ports, stream=None):
        self.ports = list(ports)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.state = {p: ("waiting", 0.0, "") for p in self.ports}
        self.last_logged = {}
        self.lock = threading.Lock()
        self.drawn = False

    def update(self, port, stage, fraction=None, note=""):
        with self.lock:
            old = self.state.get(port, ("", 0.0, ""))
            frac = old[1] if fraction is None else fraction
            self.state[port] = (stage, frac, note)
            if self.tty:
                self._redraw()
            else:
                key = (stage, int(frac * 4))
                if self.last_logged.get(port) != key:
                    self.last_logged[port] = key
                    self.stream.write(self._line(port) + "\n")
                    self.stream.flush()

    def _line(self, port):
        stage, frac, note = self.state[port]
        bar = "#" * int(frac * 20)
        return "%-14s [%-20s] %3d%% %-10s %s" % (port[-14:], bar, int(frac * 100), stage, note)

    def _redraw(self):
        if self.drawn:
            self.stream.write("\x1b[%dA" % len(self.ports))
        for p in self.ports:
            self.stream.write("\x1b[2K" + self._line(p) + "\n")
        self.drawn = True
        self.stream.flush()
