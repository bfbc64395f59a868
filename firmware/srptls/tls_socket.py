"""TLS-SRP over a blocking socket, shaped like MicroPython's own ssl objects.

    s = tls_socket.wrap_server(client_sock, cfg)   # runs the handshake
    req = s.read(1024)
    s.write(b"HTTP/1.0 200 OK\\r\\n\\r\\nhi")
    s.close()

`wrap_server` returns an object with read(n), readinto(buf[, nbytes]),
write(b), close() and `session` (the engine's HandshakeComplete event).  A
failed handshake closes the socket and raises TLSError (an OSError, as
MicroPython's ssl raises).  Timeouts are the socket's: set
`sock.settimeout(...)` before wrapping to bound a silent client.

Uses only recv/send so the same code runs on MicroPython and CPython
sockets.  Knows nothing about HTTP; all protocol decisions are the engine's.
"""
from . import tls_engine

# Small reads: MicroPython allocates the full size per recv before shrinking
# it, and the engine reassembles records from pieces anyway.
RECV_SIZE = 2048
# After close_notify: wait up to this long per read (and this many reads) for
# the peer to close, so unread input does not turn our close into an RST
# (which would make the peer drop the last response bytes).
CLOSE_WAIT_S = 2
CLOSE_DRAIN_READS = 4


class TLSError(OSError):
    """The TLS connection failed (alert sent or received, peer vanished)."""


def wrap_server(sock, cfg):
    """Run a server handshake on a connected blocking socket; return TLSSocket."""
    try:
        # TCP_NODELAY (same numbers on Linux and lwIP): each flight is already
        # one send, and Nagle would delay a trailing small one by 40 ms.
        sock.setsockopt(6, 1, 1)
    except Exception:
        pass
    s = TLSSocket(sock, tls_engine.ServerEngine(cfg))
    try:
        s._handshake()
    except BaseException:
        s._abort()
        raise
    return s


class TLSSocket:
    def __init__(self, sock, engine):
        self._sock = sock
        self._eng = engine
        self._buf = b""          # received plaintext not yet read
        self._eof = False
        self._fed_eof = False
        self._closed = False

    @property
    def session(self):
        return self._eng.session

    def _flush(self):
        out = self._eng.data_to_send()
        mv = memoryview(out)
        off = 0
        while off < len(mv):
            off += self._sock.send(mv[off:])

    def _next_event(self):
        eng = self._eng
        while True:
            evt = eng.next_event()
            self._flush()
            if evt is not tls_engine.NEED_DATA:
                return evt
            if eng.closed or self._fed_eof:
                return None
            eng.idle()   # the engine's housekeeping, while the peer has the turn
            data = self._sock.recv(RECV_SIZE)
            if not data:
                self._fed_eof = True
            eng.receive_data(data)

    def _handshake(self):
        while True:
            evt = self._next_event()
            if isinstance(evt, tls_engine.HandshakeComplete):
                return evt
            if not isinstance(evt, tls_engine.ApplicationData):
                raise TLSError("tls: handshake failed: %s" % tls_engine.describe_end(evt))

    def _fill(self):
        while not self._eof:
            evt = self._next_event()
            if isinstance(evt, tls_engine.ApplicationData):
                if evt.data:
                    self._buf += evt.data
                    return True
            elif evt is None or isinstance(evt, tls_engine.PeerClosed):
                self._eof = True
            elif isinstance(evt, tls_engine.AlertReceived) and evt.level == 1:
                continue
            elif isinstance(evt, (tls_engine.AlertSent, tls_engine.AlertReceived)):
                self._eof = True
                raise TLSError("tls: %s" % tls_engine.describe_end(evt))
        return False

    def _abort(self):
        try:
            self._flush()
        except OSError:
            pass
        self._closed = True
        self._sock.close()

    def read(self, n=-1):
        """Up to n bytes (n < 0: until the peer closes); b"" at end of stream."""
        if n < 0:
            while self._fill():
                pass
            n = len(self._buf)
        elif not self._buf and n:
            self._fill()
        data = self._buf[:n]
        self._buf = self._buf[n:]
        return data

    def readinto(self, buf, nbytes=None):
        """Fill buf with up to nbytes (default len(buf)); return the count."""
        if nbytes is None:
            nbytes = len(buf)
        data = self.read(nbytes)
        buf[:len(data)] = data
        return len(data)

    def write(self, data):
        if self._closed or self._eng.closed:
            raise TLSError("tls: write on a closed connection")
        self._eng.send(bytes(data))
        self._flush()
        return len(data)

    def close(self):
        """Send close_notify (best effort), let the peer close, close the socket."""
        if self._closed:
            return
        if not self._eng.closed:
            self._eng.close()
        try:
            self._flush()
            if not self._fed_eof:
                self._linger()
        except OSError:
            pass
        self._abort()

    def _linger(self):
        # A few reads only: a peer that trickles bytes must not hold us for
        # CLOSE_WAIT_S per read indefinitely.
        self._sock.settimeout(CLOSE_WAIT_S)
        for _ in range(CLOSE_DRAIN_READS):
            if not self._sock.recv(4096):
                return

