"""The sim board: boot the device firmware under the MicroPython unix port.

    micropython boards/sim/device.py (--root DIR | --image FILE) [options]

The device root is mounted at "/" exactly as littlefs is on an ESP32, so the
firmware's absolute paths (/device.json, /credential.json, /lib ...) mean
the same thing here:
  --root DIR     a directory (through DirFS below)
  --image FILE   a littlefs image file (os.VfsLfs2 over FileBlockDevice)
Then it runs /boot.py and admin.device.run(board) as /main.py would, with
the board's overrides: listen on 127.0.0.1, ports, limits.

Options:
  --port P            https port (default: device.json, else 8443)
  --http-port H       plain-HTTP port (default: device.json, else 8080; 0 = off)
  --path DIR          extra import directory (repeatable), e.g. the source
                      tree's firmware/ and a microdot install, for a root
                      that holds only data
  --block-size N      littlefs block size of --image (default 4096)
  --limit NAME=VALUE  override a limit (admin/device.py DEFAULT_LIMITS)
  --user NAME --group BITS   development credential from SRP_PASSWORD
                      (in memory, instead of /factory_credential.json)
  --power-cut STEP    test hook: when a password change reaches STEP
                      (tmp-open, tmp-half, tmp-written, verified, renamed)
                      print `powercut STEP` and freeze until killed
  --backend NAME      modular exponentiation backend (c, viper, pow)
  --quiet             do not echo the device log on stderr

Prints `listening port=P` on stdout once both servers accept connections.
A reboot (from the admin pages) boots again in the same process.
"""
import os
import sys
import time

USAGE = "usage: device.py (--root DIR | --image FILE) [options]; see the docstring"


def die(msg):
    print("sim device: " + msg, file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


class DirFS:
    """A host directory as a mountable filesystem.

    MicroPython 1.25's os.VfsPosix(root) breaks rename() (both paths share
    one buffer), so this proxy prefixes paths itself over a root-less
    VfsPosix; the firmware relies on rename for atomic replacement.
    """

    def __init__(self, root):
        self.root = root.rstrip("/")
        self.fs = os.VfsPosix()

    def _p(self, path):
        if not path.startswith("/"):
            path = "/" + path
        return self.root + path.rstrip("/") if path != "/" else self.root

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        return self.fs.open(self._p(path), mode)

    def ilistdir(self, path):
        return self.fs.ilistdir(self._p(path))

    def stat(self, path):
        return self.fs.stat(self._p(path))

    def statvfs(self, path):
        return self.fs.statvfs(self._p(path))

    def mkdir(self, path):
        return self.fs.mkdir(self._p(path))

    def rmdir(self, path):
        return self.fs.rmdir(self._p(path))

    def remove(self, path):
        return self.fs.remove(self._p(path))

    def rename(self, old, new):
        return self.fs.rename(self._p(old), self._p(new))

    def chdir(self, path):
        self._cwd = path

    def getcwd(self):
        return getattr(self, "_cwd", "/")


class FileBlockDevice:
    """Block device over an image file, for os.VfsLfs2 (extended interface)."""

    def __init__(self, path, block_size):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        size = self.f.tell()
        if size % block_size or size == 0:
            die("%s: size %d is not a multiple of the block size %d" % (path, size, block_size))
        self.block_size = block_size
        self.count = size // block_size

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.count
        if op == 5:
            return self.block_size
        if op == 3:
            self.f.flush()
        return 0   # init, deinit, sync, erase: nothing else to do for a file


def parse(argv):
    o = {"root": None, "image": None, "port": None, "http_port": None, "paths": [],
         "block_size": 4096, "limits": {}, "user": None, "group": None,
         "power_cut": None, "quiet": False, "backend": None}
    valued = {"--root": "root", "--image": "image", "--port": "port",
              "--http-port": "http_port", "--block-size": "block_size",
              "--user": "user", "--group": "group", "--power-cut": "power_cut",
              "--backend": "backend"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--quiet":
            o["quiet"] = True
        elif a in valued or a in ("--path", "--limit"):
            if i + 1 >= len(argv):
                die("%s needs a value" % a)
            v = argv[i + 1]
            i += 1
            if a == "--path":
                o["paths"].append(v)
            elif a == "--limit":
                name, sep, value = v.partition("=")
                if not sep:
                    die("--limit takes NAME=VALUE")
                try:
                    o["limits"][name] = float(value) if "." in value else int(value)
                except ValueError:
                    die("--limit %s: not a number" % name)
            else:
                o[valued[a]] = v
        else:
            die("unknown argument %r" % a)
        i += 1
    if (o["root"] is None) == (o["image"] is None):
        die("give exactly one of --root DIR or --image FILE")
    try:
        for k in ("port", "http_port", "group"):
            if o[k] is not None:
                o[k] = int(o[k])
        o["block_size"] = int(o["block_size"])
    except ValueError:
        die("--port, --http-port, --group and --block-size take numbers")
    if o["user"] is not None and o["group"] is None:
        die("--user needs --group BITS")
    return o


def dev_credential(user, group):
    from srptls import credential, srp
    password = os.getenv("SRP_PASSWORD")
    if not password:
        die("--user needs the password in the environment variable SRP_PASSWORD")
    salt = os.urandom(16)
    v = srp.make_verifier(srp.group(group), user.encode(), password.encode(), salt)
    return credential.Credential(user, group, salt, v)


def mount(o):
    paths = [p if p.startswith("/") else os.getcwd() + "/" + p for p in o["paths"]]
    if o["image"] is not None:
        root = os.VfsLfs2(FileBlockDevice(o["image"], o["block_size"]))
    else:
        r = o["root"] if o["root"].startswith("/") else os.getcwd() + "/" + o["root"]
        try:
            os.stat(r + "/")
        except OSError:
            die("--root %s: no such directory" % r)
        root = DirFS(r)
    extra = [DirFS(p) for p in paths]
    os.umount("/")
    os.mount(root, "/")
    sys.path[:] = ["", ".frozen", "/lib"]
    for n, fs in enumerate(extra):
        point = "/_path%d" % n
        os.mount(fs, point)
        sys.path.append(point)
    os.chdir("/")


def main(argv):
    o = parse(argv)
    factory = None
    board = {"host": "127.0.0.1", "hostname": "127.0.0.1", "limits": o["limits"]}
    if not o["quiet"]:
        board["echo"] = lambda line: print(line, file=sys.stderr)
    if o["power_cut"]:
        def steps(name, at=o["power_cut"]):
            if name == at:
                print("powercut " + name)
                while True:           # freeze: the test kills us here
                    time.sleep(1)
        board["store_steps"] = steps
    mount(o)
    if o["backend"]:
        from srptls import modexp
        try:
            modexp.select(o["backend"])
        except ValueError as e:
            die(str(e))
    if o["user"] is not None:
        factory = dev_credential(o["user"], o["group"])
        board["factory_credential"] = factory
    try:
        exec(open("/boot.py").read(), {"__name__": "boot"})
    except OSError:
        die("the device root has no /boot.py")
    from admin import device
    info = device.read_json("/device.json", {})
    board["https_port"] = o["port"] or info.get("https_port", 8443)
    http = o["http_port"] if o["http_port"] is not None else info.get("http_port", 8080)
    board["http_port"] = http
    announced = []

    def ready(dev):
        if not announced:
            print("listening port=%d" % dev.https_port)
            announced.append(1)
        else:
            print("sim device: booted again", file=sys.stderr)

    board["on_ready"] = ready
    while device.run(board):
        print("sim device: reboot", file=sys.stderr)


main(sys.argv[1:])
