"""Test server for the sim board: TLS-SRP on 127.0.0.1 answering HTTP with a fixed page.

Run by boards/sim/serve under the MicroPython unix port (see its --help):

    micropython sim_serve.py --port P --credential FILE [--backend c|viper|pow]
    SRP_PASSWORD=... micropython sim_serve.py --port P --user NAME --group BITS

The second form makes a throwaway in-memory credential (fresh random salt)
from the password in the environment, for development and scripted checks;
the password is never taken from the command line and never printed.

Prints `listening port=P` on stdout once it accepts connections, then one
line per connection on stderr (handshake result, never a secret).  Each
connection carries one HTTP request: GET gets a small fixed text, a request
with a body gets the fixed text followed by its body echoed back, so a
client can check that its data made the round trip.  This stands in for the
admin application until that replaces it; it is not the device's app.
"""
import asyncio
import gc
import os
import sys
import time

from srptls import credential, modexp, srp, tls_aio, tls_engine

USAGE = """usage: sim_serve.py --port P (--credential FILE | --user NAME --group BITS)
                    [--backend c|viper|pow] [--handshake-timeout S] [--allow-no-etm]
                    [--no-precompute]
  SRP_PASSWORD (environment) is the password for --user/--group."""

MAX_LINE = 1024           # request line / header line limit
MAX_HEADERS = 32
MAX_BODY = 16384          # ESP32-sized: a request body is buffered whole
GREETING = b"srp-iot sim server: hello %s\n"


def _die(msg):
    print("sim_serve: " + msg, file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opts = {"port": None, "credential": None, "user": None, "group": None,
            "backend": None, "handshake_timeout": 10, "allow_no_etm": False,
            "no_precompute": False}
    flags = {"--allow-no-etm": "allow_no_etm", "--no-precompute": "no_precompute"}
    valued = {"--port": "port", "--credential": "credential", "--user": "user",
              "--group": "group", "--backend": "backend",
              "--handshake-timeout": "handshake_timeout"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in flags:
            opts[flags[a]] = True
        elif a in valued:
            if i + 1 >= len(argv):
                _die("%s needs a value" % a)
            opts[valued[a]] = argv[i + 1]
            i += 1
        else:
            _die("unknown argument %r" % a)
        i += 1
    try:
        opts["port"] = int(opts["port"])
        opts["handshake_timeout"] = float(opts["handshake_timeout"])
        if opts["group"] is not None:
            opts["group"] = int(opts["group"])
    except (TypeError, ValueError):
        _die("--port, --group and --handshake-timeout take numbers")
    if not 0 < opts["port"] < 65536:
        _die("--port must be 1..65535")
    if (opts["credential"] is None) == (opts["user"] is None):
        _die("give exactly one of --credential FILE or --user NAME")
    if opts["user"] is not None and opts["group"] is None:
        _die("--user needs --group BITS")
    return opts


def load_credential(opts):
    if opts["credential"] is not None:
        try:
            return credential.load(opts["credential"])
        except OSError as e:
            _die("cannot read %s: %s" % (opts["credential"], e))
        except ValueError as e:
            _die("%s: %s" % (opts["credential"], e))
    password = os.getenv("SRP_PASSWORD")
    if not password:
        _die("--user needs the password in the environment variable SRP_PASSWORD")
    try:
        grp = srp.group(opts["group"])
    except (KeyError, ValueError):
        _die("unknown SRP group %d" % opts["group"])
    salt = os.urandom(16)
    user = opts["user"]
    v = srp.make_verifier(grp, user.encode(), password.encode(), salt)
    return credential.Credential(user, opts["group"], salt, v)


def _ms_since(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


async def read_request(stream):
    """Read one HTTP request and return its body (b"" for none).

    None when the peer closed without sending a request; ValueError (or
    EOFError mid-body) for a request we will not take.
    """
    line = await stream.readline(MAX_LINE)
    if not line:
        return None
    length = 0
    for _ in range(MAX_HEADERS):
        h = await stream.readline(MAX_LINE)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    else:
        raise ValueError("too many headers")
    if not 0 <= length <= MAX_BODY:
        raise ValueError("body too large")
    return await stream.readexactly(length) if length else b""


async def respond(stream, user):
    try:
        body = await read_request(stream)
    except (ValueError, EOFError):
        stream.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        return
    if body is None:
        return  # the client left without asking anything (e.g. after a cert check)
    greeting = GREETING % user.encode()
    stream.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                 % (len(greeting) + len(body)))
    stream.write(greeting)
    if body:
        stream.write(body)


async def handle(reader, writer, cfg, timeout):
    t0 = time.ticks_ms()
    try:
        stream = await tls_aio.accept(reader, writer, cfg, handshake_timeout=timeout)
    except Exception as e:
        print("conn handshake=failed ms=%d reason=%r" % (_ms_since(t0), str(e)),
              file=sys.stderr)
        gc.collect()
        return
    s = stream.session
    st = stream.stats
    # ms: accept to handshake done (includes the client's turns);
    # online_ms: the engine's own work for this client (prepared: whether
    # b and g^b came from idle-time work).
    print("conn handshake=ok user=%s cipher=%s group=%d etm=%d ems=%d resumed=%d ms=%d "
          "online_ms=%d prepared=%d"
          % (s.user, s.cipher_name, s.group_bits, s.etm, s.ems, s.resumed,
             _ms_since(t0), st.get("hello_ms", 0) + st.get("key_exchange_ms", 0),
             st.get("prepared", 0)), file=sys.stderr)
    try:
        await respond(stream, s.user)
        await stream.drain()
    except Exception as e:  # one broken connection must not stop the server
        print("conn error=%r" % (str(e),), file=sys.stderr)
    stream.close()
    try:
        # Send close_notify before the bookkeeping below: a client that
        # reads to the end waits for it (wait_closed() then only lingers).
        await stream.drain()
    except Exception:
        pass   # the peer is gone: wait_closed() still closes the socket
    used = gc.mem_alloc()
    gc.collect()
    print("conn done heap_used=%d after_gc=%d" % (used, gc.mem_alloc()), file=sys.stderr)
    await stream.wait_closed()


async def serve(opts, cred):
    def lookup(user):
        return cred if user == cred.user else None

    # simulate_like: unknown users get this credential's group and salt
    # length, and idle-time work prepares ephemerals for that group.
    cfg = tls_engine.ServerConfig(lookup, os.urandom(32),
                                  require_etm=not opts["allow_no_etm"],
                                  simulate_like=cred,
                                  precompute=not opts["no_precompute"])
    tls_aio.start_idle_work(cfg)
    tls_aio.reserve(1)     # as the device does: its read buffer comes from a whole heap
    timeout = opts["handshake_timeout"]

    async def on_connect(reader, writer):
        await handle(reader, writer, cfg, timeout)

    await asyncio.start_server(on_connect, "127.0.0.1", opts["port"])
    print("listening port=%d" % opts["port"])
    while True:
        await asyncio.sleep(3600)


def main(argv):
    opts = parse_args(argv)
    if opts["backend"]:
        try:
            modexp.select(opts["backend"])
        except ValueError as e:
            _die(str(e))
    cred = load_credential(opts)
    gc.collect()
    print("sim_serve: user=%s group=%d backend=%s heap_used=%d heap_free=%d"
          % (cred.user, cred.group, modexp.backend(), gc.mem_alloc(), gc.mem_free()),
          file=sys.stderr)
    try:
        asyncio.run(serve(opts, cred))
    except OSError as e:
        print("sim_serve: cannot serve on 127.0.0.1:%d: %s" % (opts["port"], e),
              file=sys.stderr)
        sys.exit(1)


main(sys.argv[1:])
