"""TLS 1.2 handshake messages for a TLS-SRP server: parse what clients send, build ours.

Pure functions and small value classes; no state machine (tls_engine) and no
records (tls_record).  Every length field is checked against the bytes
actually present: a mismatch raises RemoteProtocolError(decode_error), and
so do trailing bytes, so no malformed message is ever half-accepted.

Messages (RFC 5246 7.4, RFC 5054 2.5):
  in:  ClientHello, ClientKeyExchange (srp_A<1..2^16-1>), Finished
  out: ServerHello, ServerKeyExchange (srp_N, srp_g, srp_s, srp_B, no
       signature for the TLS_SRP_SHA_* suites), ServerHelloDone, Finished
"""
from srptls.tls_alert import DECODE_ERROR, ILLEGAL_PARAMETER, RemoteProtocolError

# Handshake message types (RFC 5246 7.4).
HELLO_REQUEST = 0
CLIENT_HELLO = 1
SERVER_HELLO = 2
SERVER_KEY_EXCHANGE = 12
SERVER_HELLO_DONE = 14
CLIENT_KEY_EXCHANGE = 16
FINISHED = 20

# Extensions we act on; all others are ignored (RFC 5246 7.4.1.4).
EXT_SRP = 12                    # RFC 5054 2.8.1
EXT_ENCRYPT_THEN_MAC = 22       # RFC 7366
EXT_EXTENDED_MASTER_SECRET = 23  # RFC 7627
EXT_RECORD_SIZE_LIMIT = 28      # RFC 8449
EXT_RENEGOTIATION_INFO = 0xFF01  # RFC 5746
SCSV_RENEGOTIATION = 0x00FF     # TLS_EMPTY_RENEGOTIATION_INFO_SCSV

# Our cipher suites, in server preference order (RFC 5054 2.7).
SUITES = {
    0xC020: ("TLS_SRP_SHA_WITH_AES_256_CBC_SHA", 32),
    0xC01D: ("TLS_SRP_SHA_WITH_AES_128_CBC_SHA", 16),
}
SUITE_PREFERENCE = (0xC020, 0xC01D)

# The largest handshake message we accept (a ClientHello with many
# extensions, e.g. a browser's with post-quantum key shares, is ~2 KB; an
# 8192-bit A is 1 KB).  Bigger ones are refused before being buffered.
MAX_HANDSHAKE_MESSAGE = 8192
VERIFY_DATA_LEN = 12


def _decode_error(what):
    raise RemoteProtocolError(DECODE_ERROR, what)


class Reader:
    """Bounds-checked cursor over a message body."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        end = self.pos + n
        if end > len(self.data):
            _decode_error("message truncated")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def uint(self, nbytes):
        v = 0
        for b in self.take(nbytes):
            v = v << 8 | b
        return v

    def vector(self, len_bytes, minimum=0, maximum=None):
        n = self.uint(len_bytes)
        if n < minimum or (maximum is not None and n > maximum):
            _decode_error("vector length %d out of range" % n)
        return self.take(n)

    def left(self):
        return len(self.data) - self.pos

    def done(self):
        if self.pos != len(self.data):
            _decode_error("trailing bytes")


class ClientHello:
    """The fields of a ClientHello the server acts on."""

    def __init__(self, body):
        r = Reader(body)
        self.version = r.uint(2)
        self.random = bytes(r.take(32))
        self.session_id = bytes(r.vector(1, 0, 32))
        raw = r.vector(2, 2)
        if len(raw) % 2:
            _decode_error("odd cipher suite list")
        self.suites = [raw[i] << 8 | raw[i + 1] for i in range(0, len(raw), 2)]
        self.compressions = bytes(r.vector(1, 1))
        self.extensions = {}
        if r.left():
            block = Reader(r.vector(2))
            r.done()
            while block.left():
                etype = block.uint(2)
                data = bytes(block.vector(2))
                if etype in self.extensions:
                    _decode_error("duplicate extension %d" % etype)
                self.extensions[etype] = data
        # srp_I<1..2^8-1>, exactly filling the extension (RFC 5054 2.8.1).
        self.srp_user = None
        if EXT_SRP in self.extensions:
            er = Reader(self.extensions[EXT_SRP])
            self.srp_user = bytes(er.vector(1, 1))
            er.done()
        for empty in (EXT_ENCRYPT_THEN_MAC, EXT_EXTENDED_MASTER_SECRET):
            if self.extensions.get(empty):
                _decode_error("extension %d must be empty" % empty)
        # RFC 8449: uint16 >= 64; in TLS 1.2 a plaintext size (2^14 at most matters).
        self.record_size_limit = None
        if EXT_RECORD_SIZE_LIMIT in self.extensions:
            data = self.extensions[EXT_RECORD_SIZE_LIMIT]
            if len(data) != 2:
                _decode_error("record_size_limit of %d bytes" % len(data))
            self.record_size_limit = data[0] << 8 | data[1]
            if self.record_size_limit < 64:
                raise RemoteProtocolError(ILLEGAL_PARAMETER, "record_size_limit below 64")
        # renegotiated_connection<0..255>; None when absent.
        self.renegotiation_info = None
        if EXT_RENEGOTIATION_INFO in self.extensions:
            er = Reader(self.extensions[EXT_RENEGOTIATION_INFO])
            self.renegotiation_info = bytes(er.vector(1))
            er.done()

    @property
    def etm(self):
        return EXT_ENCRYPT_THEN_MAC in self.extensions

    @property
    def ems(self):
        return EXT_EXTENDED_MASTER_SECRET in self.extensions

    @property
    def secure_renegotiation(self):
        return self.renegotiation_info is not None or SCSV_RENEGOTIATION in self.suites


def parse_client_key_exchange(body):
    """srp_A as an integer (RFC 5054 2.5.4)."""
    r = Reader(body)
    a = r.vector(2, 1)
    r.done()
    return int.from_bytes(bytes(a), "big")


def parse_finished(body):
    if len(body) != VERIFY_DATA_LEN:
        _decode_error("Finished of %d bytes" % len(body))
    return bytes(body)


def message(msg_type, body):
    """A handshake message: type, uint24 length, body."""
    n = len(body)
    return bytes((msg_type, n >> 16, (n >> 8) & 0xFF, n & 0xFF)) + body


def _vec(len_bytes, data):
    return len(data).to_bytes(len_bytes, "big") + data


def server_hello(random, session_id, suite, etm, ems, secure_renegotiation,
                 record_size_limit=None):
    ext = b""
    if record_size_limit:
        ext += b"\x00\x1c\x00\x02" + record_size_limit.to_bytes(2, "big")
    if secure_renegotiation:
        # Initial handshake: empty renegotiated_connection (RFC 5746 3.6).
        ext += b"\xff\x01\x00\x01\x00"
    if etm:
        ext += b"\x00\x16\x00\x00"
    if ems:
        ext += b"\x00\x17\x00\x00"
    body = b"\x03\x03" + random + _vec(1, session_id) + suite.to_bytes(2, "big") + b"\x00"
    if ext:
        body += _vec(2, ext)
    return message(SERVER_HELLO, body)


def server_key_exchange(n_bytes, g_bytes, salt, b_bytes):
    return message(SERVER_KEY_EXCHANGE, _vec(2, n_bytes) + _vec(2, g_bytes)
                   + _vec(1, salt) + _vec(2, b_bytes))


def server_hello_done():
    return message(SERVER_HELLO_DONE, b"")


def finished(verify_data):
    return message(FINISHED, verify_data)


class MessageBuffer:
    """Reassembles handshake messages from record fragments.

    Handshake messages may span records, and one record may hold several
    (RFC 5246 6.2.1); the buffer hides both.  It never holds more than one
    message of up to MAX_HANDSHAKE_MESSAGE bytes plus one record's worth.
    """

    def __init__(self):
        self._buf = bytearray()

    def feed(self, fragment):
        self._buf.extend(fragment)

    def empty(self):
        return not self._buf

    def next_message(self):
        """(type, body bytes, whole message bytes) or None if incomplete."""
        buf = self._buf
        if len(buf) < 4:
            return None
        n = buf[1] << 16 | buf[2] << 8 | buf[3]
        if n > MAX_HANDSHAKE_MESSAGE:
            _decode_error("handshake message of %d bytes" % n)
        if len(buf) < 4 + n:
            return None
        whole = bytes(buf[:4 + n])
        self._buf = buf[4 + n:]
        return whole[0], whole[4:], whole

    def clear(self):
        self._buf = bytearray()
