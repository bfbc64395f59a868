"""Raw TLS bytes for negative tests: build malformed flights, read what comes back.

Written from RFC 5246 / 5054 / 7366 / 7627 / 5746 with `struct` only, and
used only where a real client cannot be made to misbehave (bad A values,
truncated records, SSLv2 hellos ...).  Real interop always uses real
clients.  Also a recording TCP proxy, so a test can see the handshake
messages a real client and our server exchanged (ServerHello extensions,
message order, alerts) without trusting either side's report.
"""
import os
import select
import socket
import struct
import threading
import time

HANDSHAKE, CCS, ALERT, APPDATA = 22, 20, 21, 23
CLIENT_HELLO, SERVER_HELLO, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE = 1, 2, 12, 14
CLIENT_KEY_EXCHANGE, FINISHED, HELLO_REQUEST = 16, 20, 0
EXT_SRP, EXT_ETM, EXT_EMS, EXT_RENEG = 12, 22, 23, 0xFF01
SRP_AES_256, SRP_AES_128 = 0xC020, 0xC01D
SCSV = 0x00FF
TLS12, TLS10 = 0x0303, 0x0301


def u8(b):
    return struct.pack("!B", len(b)) + b


def u16(b):
    return struct.pack("!H", len(b)) + b


def u24(b):
    return struct.pack("!I", len(b))[1:] + b


def record(ctype, payload, version=TLS12):
    return struct.pack("!BHH", ctype, version, len(payload)) + payload


def handshake(msg_type, body):
    return struct.pack("!B", msg_type) + u24(body)


def ext(ext_type, data=b""):
    return struct.pack("!H", ext_type) + u16(data)


def srp_ext(user):
    return ext(EXT_SRP, u8(user.encode() if isinstance(user, str) else user))


def standard_exts(user="admin"):
    return [srp_ext(user), ext(EXT_ETM), ext(EXT_EMS), ext(EXT_RENEG, b"\x00")]


def client_hello(user="admin", suites=(SRP_AES_256, SRP_AES_128), exts=None,
                 version=TLS12, session_id=b"", random=None):
    """A ClientHello handshake message (not yet wrapped in a record)."""
    if exts is None:
        exts = standard_exts(user)
    body = struct.pack("!H", version) + (random or os.urandom(32)) + u8(session_id)
    body += u16(b"".join(struct.pack("!H", s) for s in suites)) + u8(b"\x00")
    if exts is not False:
        body += u16(b"".join(exts))
    return handshake(CLIENT_HELLO, body)


def client_key_exchange(a_value_bytes):
    return handshake(CLIENT_KEY_EXCHANGE, u16(a_value_bytes))


def parse_records(data):
    """Split bytes into (type, version, payload) records; the tail that is incomplete is dropped."""
    out = []
    i = 0
    while i + 5 <= len(data):
        ctype, version, length = struct.unpack_from("!BHH", data, i)
        if i + 5 + length > len(data):
            break
        out.append((ctype, version, data[i + 5:i + 5 + length]))
        i += 5 + length
    return out


def parse_handshakes(records):
    """Handshake messages (type, body) from the plaintext handshake records."""
    stream = b"".join(p for t, _, p in records if t == HANDSHAKE)
    out = []
    i = 0
    while i + 4 <= len(stream):
        mtype = stream[i]
        length = int.from_bytes(stream[i + 1:i + 4], "big")
        out.append((mtype, stream[i + 4:i + 4 + length]))
        i += 4 + length
    return out


def server_hello_extensions(body):
    """{ext_type: data} of a ServerHello body."""
    i = 2 + 32
    i += 1 + body[i]          # session id
    i += 2 + 1                # cipher suite, compression
    exts = {}
    if i + 2 > len(body):
        return exts
    end = i + 2 + struct.unpack_from("!H", body, i)[0]
    i += 2
    while i + 4 <= end:
        etype, elen = struct.unpack_from("!HH", body, i)
        exts[etype] = body[i + 4:i + 4 + elen]
        i += 4 + elen
    return exts


def server_hello_suite(body):
    i = 2 + 32
    i += 1 + body[i]
    return struct.unpack_from("!H", body, i)[0]


def ske_fields(body):
    """(N, g, s, B) byte strings of an SRP ServerKeyExchange body."""
    fields = []
    i = 0
    for width in (2, 2, 1, 2):
        n = int.from_bytes(body[i:i + width], "big")
        fields.append(body[i + width:i + width + n])
        i += width + n
    return tuple(fields)


def read_until_close(sock, timeout=10.0, limit=1 << 20):
    """Everything the peer sends until it closes, or until `timeout` passes.

    Returns (data, closed): closed is False when the peer was still silent
    and connected at the deadline.
    """
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def read_flight(sock, until=SERVER_HELLO_DONE, timeout=10.0):
    """Read records until a handshake message of type `until` (or an alert / close)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recs = parse_records(data)
        if any(t == ALERT for t, _, _ in recs):
            return recs
        if any(m == until for m, _ in parse_handshakes(recs)):
            return recs
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return recs
        if not chunk:
            return recs
        data += chunk
    return parse_records(data)


def alerts(records):
    """[(level, description)] of the plaintext alert records."""
    return [(p[0], p[1]) for t, _, p in records if t == ALERT and len(p) == 2]


class RecordingProxy:
    """A TCP forwarder on 127.0.0.1 that keeps both directions' bytes.

    One connection at a time (accept loop in a thread); `flows` is a list of
    (client_to_server, server_to_client) byte strings, one per connection.
    """

    def __init__(self, target_port):
        self.target_port = target_port
        self.flows = []
        self._lsock = socket.socket()
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(8)
        self._lsock.settimeout(0.2)
        self.port = self._lsock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                client, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._pipe(client)

    def _pipe(self, client):
        server = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        flow = [b"", b""]
        self.flows.append(flow)
        socks = [client, server]
        open_ = {client: True, server: True}
        deadline = time.monotonic() + 120
        while any(open_.values()) and time.monotonic() < deadline and not self._stop:
            r, _, _ = select.select([s for s in socks if open_[s]], [], [], 0.2)
            for s in r:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    chunk = b""
                other = server if s is client else client
                if not chunk:
                    open_[s] = False
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                flow[0 if s is client else 1] += chunk
                try:
                    other.sendall(chunk)
                except OSError:
                    open_[s] = False
        client.close()
        server.close()

    def close(self):
        self._stop = True
        self._lsock.close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
