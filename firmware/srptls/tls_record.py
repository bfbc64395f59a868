"""TLS 1.2 record layer: framing, limits, and AES-CBC + HMAC-SHA1 protection.

The engine pushes received bytes in with feed() and pulls whole records out
with read_record(); it queues outgoing records with write() and drains them
with take_output().  No sockets, no handshake logic.

Buffers (BearSSL's idea: allocate once, size by documented constants):
  - one receive buffer per connection that holds exactly one record.  It
    starts at RX_INITIAL bytes (every handshake record and a typical HTTP
    request fit) and grows in 1 KB steps, only when a bigger record
    arrives, up to RX_BUFFER (RFC 5246 6.2.3: 2^14 plaintext + 2048
    expansion + the 5-byte header).  Allocating the full 18 KB up front
    would cost two idle connections a third of an ESP32's free heap.
    Bytes beyond the current record wait in a backlog of the caller's own
    chunks (views, no copy) and are copied in only when that record is
    done, so nothing ever has to be moved within the buffer.
  - records are decrypted in place in that buffer; the caller gets a
    memoryview and must copy what it keeps before the next read_record().
  - outgoing data is cut into records of at most MAX_SEND_FRAGMENT bytes of
    plaintext, so the output never needs a 16 KB scratch buffer; the queued
    output is handed to the caller as its bytearray, without a copy.

Protection (RFC 5246 6.2.3.2, RFC 7366):
  - encrypt-then-MAC: MAC(seq | type | version | length | IV | ciphertext)
    is checked first, in constant time, before anything is decrypted, so
    padding is only ever examined in authenticated data (no oracle).
  - MAC-then-encrypt (only when the server allows it, see ServerConfig):
    the padding check and MAC follow RFC 5246's advice (a bad padding is
    treated as empty padding and the MAC is still computed), but the MAC's
    running time still depends on the plaintext length, the "Lucky 13"
    timing channel that cannot be closed in Python.
  - explicit random IV per record (os.urandom), 64-bit sequence numbers.

Errors are RemoteProtocolError with the alert to send.
"""
import os

from srptls import tls_crypto
from srptls.tls_alert import (BAD_RECORD_MAC, PROTOCOL_VERSION, RECORD_OVERFLOW,
                              UNEXPECTED_MESSAGE, RemoteProtocolError)

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
CONTENT_TYPES = (CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA)

TLS12 = 0x0303
HEADER = 5
MAX_PLAINTEXT = 16384                 # 2^14, RFC 5246 6.2.1
MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048  # RFC 5246 6.2.3
RX_BUFFER = HEADER + MAX_CIPHERTEXT    # 18437: the most one connection may need
RX_INITIAL = 2048                     # what it allocates first
MAX_SEND_FRAGMENT = 4096              # our own records: smaller keeps RAM low
MAC_LEN = 20                          # HMAC-SHA1
BLOCK = tls_crypto.BLOCK
_SEQ_LIMIT = 1 << 64


class CipherState:
    """Keys and sequence number of one direction of a connection."""

    def __init__(self, enc_key, mac_key, etm):
        self.key = enc_key
        self.hmac = tls_crypto.HMAC(mac_key, tls_crypto.sha1)
        self.etm = etm
        self.seq = 0

    def next_seq(self):
        seq = self.seq
        if seq >= _SEQ_LIMIT - 1:
            # RFC 5246 6.1: sequence numbers must not wrap; we cannot renegotiate.
            raise RemoteProtocolError(BAD_RECORD_MAC, "sequence number exhausted")
        self.seq = seq + 1
        return seq.to_bytes(8, "big")


def _len2(n):
    return bytes((n >> 8, n & 0xFF))


class RecordLayer:
    def __init__(self):
        self._rx = bytearray(RX_INITIAL)
        self._mv = memoryview(self._rx)
        self._rx_len = 0            # bytes of the current record in _rx
        self._handed_out = False    # _rx holds a record already returned
        self._backlog = []          # caller's chunks (or views of them) not yet in _rx
        self._out = bytearray()
        self.read_state = None      # CipherState once the peer's CCS arrived
        self.write_state = None     # CipherState once we sent CCS
        self.version = TLS12        # written on our records
        self.strict_version = False  # after ServerHello: peer records must be 1.2
        self.recv_limit = MAX_PLAINTEXT      # RFC 8449: what we told the peer
        self.send_fragment = MAX_SEND_FRAGMENT  # lowered by the peer's record_size_limit
        self.records_in = 0

    # -- input ---------------------------------------------------------------

    def feed(self, data):
        if data:
            # Keep bytes as they are (no copy); copy anything mutable, since
            # the caller may reuse its buffer before the record is complete.
            self._backlog.append(data if isinstance(data, bytes) else bytes(data))

    def _fill(self, need):
        """Copy backlog bytes into _rx until it holds `need` bytes (or backlog ends).

        Only the current record is ever copied, so nothing is left to move
        once it has been handled.
        """
        rx = self._rx
        while self._backlog and self._rx_len < need:
            chunk = self._backlog[0]
            n = min(len(chunk), need - self._rx_len)
            rx[self._rx_len:self._rx_len + n] = memoryview(chunk)[:n]
            self._rx_len += n
            if n == len(chunk):
                self._backlog.pop(0)
            else:
                self._backlog[0] = memoryview(chunk)[n:]

    def _grow(self, size):
        # Grow in 1 KB steps so a connection reallocates at most a few times;
        # the buffer is kept (not shrunk) to avoid heap churn.
        size = min(RX_BUFFER, (size + 1023) // 1024 * 1024)
        rx = bytearray(size)
        rx[0:self._rx_len] = self._mv[0:self._rx_len]
        self._rx = rx
        self._mv = memoryview(rx)

    def read_record(self):
        """Next record as (content_type, plaintext memoryview), or None for more data.

        The memoryview points into the receive buffer and is valid until the
        next call.
        """
        if self._handed_out:
            self._rx_len = 0      # the record handed out last time is done
            self._handed_out = False
        self._fill(HEADER)
        rx = self._rx
        if self._rx_len < HEADER:
            return None
        ctype = rx[0]
        if ctype not in CONTENT_TYPES:
            if self.records_in == 0 and rx[0] & 0x80 and rx[2] == 1:
                # RFC 5246 appendix E.2: the SSL 2.0 CLIENT-HELLO format.
                raise RemoteProtocolError(PROTOCOL_VERSION, "SSLv2-format ClientHello")
            raise RemoteProtocolError(UNEXPECTED_MESSAGE, "unknown record type %d" % ctype)
        if rx[1] != 3 or (self.strict_version and rx[2] != 3):
            # Before ServerHello any 3.x is fine (clients write 3.1 on their
            # first record for old middleboxes); afterwards only TLS 1.2.
            raise RemoteProtocolError(PROTOCOL_VERSION, "record version %d.%d" % (rx[1], rx[2]))
        length = rx[3] << 8 | rx[4]
        if length > (MAX_CIPHERTEXT if self.read_state else MAX_PLAINTEXT):
            raise RemoteProtocolError(RECORD_OVERFLOW, "record of %d bytes" % length)
        if HEADER + length > len(rx):
            self._grow(HEADER + length)
        self._fill(HEADER + length)
        if self._rx_len < HEADER + length:
            return None
        self.records_in += 1
        self._handed_out = True
        payload = self._mv[HEADER:HEADER + length]
        if self.read_state is not None:
            payload = self._unprotect(self.read_state, bytes(self._mv[0:3]), payload)
            if len(payload) > self.recv_limit:
                raise RemoteProtocolError(RECORD_OVERFLOW, "plaintext too long")
        return ctype, payload

    def _unprotect(self, st, type_version, payload):
        seq = st.next_seq()
        n = len(payload)
        if st.etm:
            # RFC 7366: IV and ciphertext, then the MAC over both.
            body = n - MAC_LEN
            if body < 2 * BLOCK or body % BLOCK:
                raise RemoteProtocolError(BAD_RECORD_MAC, "bad ciphertext length")
            tag = st.hmac.mac(seq, type_version, _len2(body), payload[:body])
            if not tls_crypto.ct_equal(tag, payload[body:]):
                raise RemoteProtocolError(BAD_RECORD_MAC, "record MAC")
            ct = payload[BLOCK:body]
            tls_crypto.cbc_decrypt_inplace(st.key, bytes(payload[:BLOCK]), ct)
            padlen = ct[len(ct) - 1]
            if padlen + 1 > len(ct):
                raise RemoteProtocolError(BAD_RECORD_MAC, "bad padding")
            bad = 0
            for i in range(len(ct) - padlen - 1, len(ct)):
                bad |= ct[i] ^ padlen
            if bad:
                raise RemoteProtocolError(BAD_RECORD_MAC, "bad padding")
            return ct[:len(ct) - padlen - 1]
        # MAC-then-encrypt (RFC 5246 6.2.3.2).  After the IV there must be
        # room for the MAC plus one padding byte, rounded up to whole blocks
        # (48 bytes in all); the length is public, so refusing early leaks nothing.
        if n < BLOCK + (MAC_LEN + BLOCK) // BLOCK * BLOCK or n % BLOCK:
            raise RemoteProtocolError(BAD_RECORD_MAC, "bad ciphertext length")
        ct = payload[BLOCK:]
        tls_crypto.cbc_decrypt_inplace(st.key, bytes(payload[:BLOCK]), ct)
        m = len(ct)
        padlen = ct[m - 1]
        good = padlen + 1 + MAC_LEN <= m
        # Always scan the same 256-byte window so the padding check's time
        # does not depend on padlen; then MAC as if padding were empty on failure.
        bad = 0 if good else 1
        start = m - 256 if m > 256 else 0
        for i in range(start, m):
            inpad = i >= m - padlen - 1
            bad |= (ct[i] ^ padlen) if inpad else 0
        if bad:
            good = False
        plen = m - MAC_LEN - (padlen + 1) if good else m - MAC_LEN
        tag = st.hmac.mac(seq, type_version, _len2(plen), ct[:plen])
        if not (tls_crypto.ct_equal(tag, ct[plen:plen + MAC_LEN]) and good):
            raise RemoteProtocolError(BAD_RECORD_MAC, "record MAC")
        return ct[:plen]

    # -- output --------------------------------------------------------------

    def write(self, ctype, data):
        """Queue `data` as records of `ctype`, cut into send_fragment pieces.

        The queue grows once, by the exact size of all the new records, and
        each record is then built in place: growing it piece by piece could
        move a 4 KB record several times, each move needing a second copy's
        worth of contiguous heap.
        """
        n = len(data)
        step = self.send_fragment
        total = 0
        for off in range(0, n, step):
            total += self._record_size(min(step, n - off))
        out = self._out
        pos = len(out)
        if pos:
            # Records already queued (a flight, a header before a body):
            # one bigger queue, without a temporary block of the new size.
            grown = bytearray(pos + total)
            grown[0:pos] = out
            out = grown
        else:
            out = bytearray(total)
        self._out = out
        mv = memoryview(data)
        for off in range(0, n, step):
            pos = self._write_record(ctype, mv[off:off + step], pos)

    def _padlen(self, st, n):
        return (BLOCK - (n + (0 if st.etm else MAC_LEN) + 1) % BLOCK) % BLOCK

    def _record_size(self, n):
        st = self.write_state
        if st is None:
            return HEADER + n
        return HEADER + BLOCK + n + MAC_LEN + self._padlen(st, n) + 1

    def _write_record(self, ctype, frag, start):
        """Build one record at out[start:]; return where the next one starts."""
        out = self._out
        ver = self.version
        st = self.write_state
        n = len(frag)
        type_version = bytes((ctype, ver >> 8, ver & 0xFF))
        if st is None:
            out[start:start + HEADER] = type_version + _len2(n)
            out[start + HEADER:start + HEADER + n] = frag
            return start + HEADER + n
        seq = st.next_seq()
        padlen = self._padlen(st, n)
        body = BLOCK + n + padlen + 1          # IV, fragment, padding (+ MAC for MtE)
        data_at = start + HEADER + BLOCK
        out[data_at:data_at + n] = frag
        pad_at = data_at + n
        if st.etm:
            # RFC 7366: IV and ciphertext, then the MAC over both.
            out[start:data_at] = type_version + _len2(body + MAC_LEN) + os.urandom(BLOCK)
            out[pad_at:pad_at + padlen + 1] = bytes((padlen,)) * (padlen + 1)
            self._encrypt(st, data_at, body - BLOCK)
            end = start + HEADER + body
            view = memoryview(out)[start + HEADER:end]
            out[end:end + MAC_LEN] = st.hmac.mac(seq, type_version, _len2(body), view)
            del view  # CPython: a live view would forbid resizing `out`
            return end + MAC_LEN
        # MAC-then-encrypt: the MAC over the plaintext, then padding, all encrypted.
        body += MAC_LEN
        out[start:data_at] = type_version + _len2(body) + os.urandom(BLOCK)
        out[pad_at:pad_at + MAC_LEN] = st.hmac.mac(seq, type_version, _len2(n), frag)
        pad_at += MAC_LEN
        out[pad_at:pad_at + padlen + 1] = bytes((padlen,)) * (padlen + 1)
        self._encrypt(st, data_at, body - BLOCK)
        return start + HEADER + body

    def _encrypt(self, st, off, n):
        view = memoryview(self._out)[off:off + n]
        tls_crypto.cbc_encrypt_inplace(st.key, self._iv_of(off), view)
        del view

    def _iv_of(self, off):
        return bytes(self._out[off - BLOCK:off])

    def take_output(self):
        """All queued bytes (b"" if none); the queue is emptied.

        The queue's own bytearray is handed over, not copied: the caller owns
        it and the record layer never touches it again (the next record goes
        into a new one).  A bytes copy would double the peak for a 4 KB
        response, about 4 KB of an ESP32-sized heap.
        """
        data = self._out
        if not data:
            return b""
        self._out = bytearray()
        return data
