"""The sim board's REPL: MicroPython's raw REPL protocol on stdin/stdout, over a device image.

Run by boards/sim/repl_pty under the unix MicroPython build, with stdin and
stdout connected to the master side of a pty. It mounts the device's
littlefs image (the very file `srp-iot image` built) at "/" with VfsLfs2,
then speaks the protocol mpremote and ampy speak to a real board:

  friendly REPL  ">>> ", Ctrl-A enters the raw REPL, Ctrl-D soft-reboots
  raw REPL       banner "raw REPL; CTRL-B to exit\r\n", prompt ">", input
                 ends with Ctrl-D, answer "OK", output, \x04, error, \x04;
                 Ctrl-D on an empty input = soft reboot, Ctrl-B = leave
  raw paste      Ctrl-E "A\x01" -> "R\x01" + window size, \x01 per window
                 consumed, Ctrl-D ends the data (answered with \x04)

This is the board as it is after Ctrl-C interrupted main.py: the admin
server is not running (boards/sim/serve boots the same image for that),
so files can be read and written without two processes sharing the image.
"""
import sys
import os
import vfs

BANNER = b"raw REPL; CTRL-B to exit\r\n"
WINDOW = 256
_out = sys.stdout.buffer
_in = sys.stdin.buffer


class FileBlockDev:
    """Block device over the image file (the extended block protocol VfsLfs2 uses)."""

    def __init__(self, path, block_size):
        self.f = open(path, "r+b")
        self.block_size = block_size
        self.f.seek(0, 2)
        self.count = self.f.tell() // block_size

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:          # block count
            return self.count
        if op == 5:          # block size
            return self.block_size
        return 0             # init / deinit / sync / erase: nothing to do on a file


def w(data):
    _out.write(data)


def getc():
    c = _in.read(1)
    if not c:
        raise SystemExit(0)  # the launcher closed the pty
    return c[0]


class Board:
    def __init__(self):
        self.base_modules = set(sys.modules)
        self.soft_reset(quiet=True)

    def soft_reset(self, quiet=False):
        # Forget modules imported from the device image, as a real soft reboot does.
        for name in list(sys.modules):
            if name not in self.base_modules:
                del sys.modules[name]
        self.globals = {"__name__": "__main__"}
        if not quiet:
            w(b"MPY: soft reboot\r\n")

    def execute(self, src):
        """Run source text; output goes straight to stdout (the pty)."""
        try:
            exec(src, self.globals)
        except SystemExit:
            pass
        except BaseException as e:  # noqa: B902 - report everything, like the real REPL
            w(b"\x04")
            sys.print_exception(e, sys.stdout)
            w(b"\x04")
            return
        w(b"\x04\x04")

    def raw(self):
        """Raw REPL; returns when Ctrl-B asks for the friendly REPL."""
        w(BANNER)
        while True:
            w(b">")
            line = bytearray()
            while True:
                c = getc()
                if c == 0x01:                     # Ctrl-A: restart raw REPL
                    w(BANNER)
                    line = bytearray()
                    w(b">")
                elif c == 0x02:                   # Ctrl-B: friendly REPL
                    w(b"\r\n")
                    return
                elif c == 0x03:                   # Ctrl-C: drop the input
                    line = bytearray()
                elif c == 0x04:                   # Ctrl-D: end of input
                    break
                elif c == 0x05 and not line:      # Ctrl-E: raw paste
                    if self.raw_paste():
                        line = None
                        break
                else:
                    line.append(c)
            if line is None:
                continue                          # raw paste already ran it
            w(b"OK")
            if not line:
                w(b"\r\n")
                self.soft_reset()
                w(BANNER)
                continue
            self.execute(line.decode())

    def raw_paste(self):
        if getc() != ord("A") or getc() != 0x01:
            w(b"R\x00")
            return False
        w(b"R\x01" + bytes((WINDOW & 0xFF, WINDOW >> 8)))
        data = bytearray()
        remain = WINDOW
        while True:
            c = getc()
            if c == 0x04:
                break
            data.append(c)
            remain -= 1
            if remain == 0:
                remain = WINDOW
                w(b"\x01")
        w(b"\x04")
        self.execute(data.decode())
        return True

    def friendly(self):
        w(b"MicroPython (srp-iot sim board)\r\n>>> ")
        line = bytearray()
        while True:
            c = getc()
            if c == 0x01:
                w(b"\r\n")
                self.raw()
                w(b">>> ")
            elif c == 0x04:
                self.soft_reset()
                w(b">>> ")
            elif c == 0x03:
                line = bytearray()
                w(b"\r\nKeyboardInterrupt\r\n>>> ")
            elif c in (0x0A, 0x0D):
                w(b"\r\n")
                if line:
                    src = line.decode()
                    try:
                        try:
                            r = eval(src, self.globals)
                            if r is not None:
                                print(repr(r))
                        except SyntaxError:
                            exec(src, self.globals)
                    except BaseException as e:  # noqa: B902
                        sys.print_exception(e, sys.stdout)
                line = bytearray()
                w(b">>> ")
            else:
                line.append(c)
                w(bytes((c,)))


def main():
    image, block_size = sys.argv[1], int(sys.argv[2])
    fs = vfs.VfsLfs2(FileBlockDev(image, block_size))
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    for p in ("/lib", "/", ""):
        if p not in sys.path:
            sys.path.insert(0, p)
    board = Board()
    while True:
        board.friendly()


main()
