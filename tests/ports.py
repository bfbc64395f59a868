"""Free TCP ports on 127.0.0.1 for the servers the tests start.

A port from bind(("127.0.0.1", 0)) lies in the kernel's ephemeral range,
which is also where every client socket (curl, gnutls-cli, ...) takes its
local port.  Between our check and the server's own bind, a client
connection elsewhere in the suite can take it, and the server dies with
EADDRINUSE (seen in CI).  So ports are drawn below that range, where only
other test servers live, and checked by binding.
"""
import random
import socket

_LOWEST = 20000


def _ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768          # Linux's default


def free_port():
    """A port on 127.0.0.1 that nobody listened on a moment ago."""
    top = _ephemeral_start()
    rng = random.SystemRandom()
    if top - _LOWEST >= 1000:
        for _ in range(200):
            port = rng.randrange(_LOWEST, top)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:   # an unusual port range: the OS's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
