"""Sans-IO TLS 1.2 server engine for TLS-SRP (RFC 5054), for MicroPython and CPython.

Use (the shape of h11: bytes in, events and bytes out, no sockets here):

    cfg = ServerConfig(lookup, device_secret)   # shared by all connections
    eng = ServerEngine(cfg)
    eng.receive_data(data)        # bytes from the peer; b"" means EOF
    evt = eng.next_event()        # NEED_DATA or an event (below)
    out = eng.data_to_send()      # bytes to write; call after every step
    eng.send(b"...")              # application data, after HandshakeComplete
    eng.close()                   # queue close_notify
    eng.closed                    # nothing more will be read or written
    eng.idle()                    # optional, before blocking on a read: deferred gc

Events: HandshakeComplete(user, cipher_suite, cipher_name, group_bits, etm,
ems, resumed), ApplicationData(data), PeerClosed(clean), AlertReceived(level,
description), AlertSent(description).  After AlertSent the engine is closed.

State machine
-------------
All transitions live in TRANSITIONS below, keyed by (state, input), where an
input is a handshake message type, a ChangeCipherSpec or application data.
Alerts are handled the same way in every state.  Anything not in the table
is an unexpected_message.

    WAIT_CLIENT_HELLO --ClientHello--> WAIT_KEY_EXCHANGE   (full: we send
                                          ServerHello, ServerKeyExchange, ServerHelloDone)
                      --ClientHello--> RESUME_WAIT_CCS     (resumed: we send
                                          ServerHello, ChangeCipherSpec, Finished)
    WAIT_KEY_EXCHANGE --ClientKeyExchange--> WAIT_CCS
    WAIT_CCS          --ChangeCipherSpec-->  WAIT_FINISHED
    WAIT_FINISHED     --Finished--> OPEN   (we send ChangeCipherSpec, Finished)
    RESUME_WAIT_CCS   --ChangeCipherSpec--> RESUME_WAIT_FINISHED
    RESUME_WAIT_FINISHED --Finished--> OPEN
    OPEN              --ApplicationData--> OPEN
    OPEN              --ClientHello--> OPEN  (renegotiation refused, see below)
    any               --close_notify--> CLOSED;  fatal alert in/out --> FAILED

Errors (h11's idea): code below raises RemoteProtocolError carrying the
alert to send; next_event() turns it into exactly one fatal alert, an
AlertSent event and the FAILED state, which is final.  Any other exception
while handling peer input (a bug, MemoryError) becomes internal_error the
same way, so no peer input ever makes the engine raise.  Misuse by the
caller raises LocalProtocolError.

Design choices and the alerts we send (README "TLS engine" has the table):
  - TLS 1.2 only.  client_version below 1.2 -> protocol_version.  A TLS 1.3
    client's supported_versions extension is ignored like any unknown one:
    it gets a plain TLS 1.2 ServerHello, as RFC 8446 D.1 expects of a 1.2
    server.  An SSLv2-format hello -> protocol_version.
  - Suites 0xC020 then 0xC01D (server preference); none offered ->
    handshake_failure.  SRP suite but no SRP extension -> unknown_psk_identity
    (RFC 5054 2.5.1.2).
  - Encrypt-then-MAC is required unless ServerConfig(require_etm=False):
    a client without it gets insufficient_security ("the server requires
    more security than the client offers", RFC 5246 7.2.2).  Reason: the
    MAC-then-encrypt padding check cannot be made constant-time in Python.
  - Extended master secret is used whenever the client offers it; only
    EMS sessions are cached for resumption (RFC 7627 5.3/5.4).
  - Unknown user: a salt and verifier derived from cfg.device_secret and the
    name (RFC 5054 2.5.1.3), so the reply looks like a real user's and the
    same modular exponentiations run; the handshake then fails exactly like
    a wrong password: bad_record_mac on the client's Finished record.
  - A % N == 0 -> illegal_parameter (RFC 5054 2.5.4); so is an unreduced
    A >= N.
  - Renegotiation: a ClientHello after the handshake gets a no_renegotiation
    *warning* and the connection carries on.  RFC 5246 7.2.2 defines exactly
    this answer ("sent by the server in response to a client hello after
    initial handshaking"), and RFC 5746 section 5 notes that refusing to
    renegotiate at all avoids the renegotiation attack.  A warning rather
    than a fatal handshake_failure keeps a working connection alive for
    clients that merely probe; the client decides whether to go on.
    A peer repeating it more than MAX_RENEGOTIATION_ATTEMPTS times is cut off
    with a fatal unexpected_message (a cheap way to keep it from making us
    parse ClientHellos forever).
  - record_size_limit (RFC 8449): when the client sends it we announce
    RECORD_SIZE_LIMIT and honour its own, so its protected records never
    need more than ~4 KB of receive buffer.
  - Precomputation: ServerConfig.prepare() makes the next handshakes'
    ephemeral b and g^b mod N in idle time; online work is then k*v + g^b
    (cheap) at ClientHello and v^u, (A*v^u)^b at ClientKeyExchange.
    `eng.stats` records the online milliseconds (precompute=False to compare).
"""
import gc
import os
import sys
import time

from srptls import modexp, srp, tls_crypto
from srptls import tls_handshake as hs
from srptls import tls_record as rec
from srptls.tls_alert import (
    CLOSE_NOTIFY, DECODE_ERROR, DECRYPT_ERROR, FATAL, HANDSHAKE_FAILURE,
    ILLEGAL_PARAMETER, INSUFFICIENT_SECURITY, INTERNAL_ERROR, NO_RENEGOTIATION,
    PROTOCOL_VERSION, UNEXPECTED_MESSAGE, UNKNOWN_PSK_IDENTITY, WARNING,
    LocalProtocolError, ProtocolError, RemoteProtocolError)
from srptls.tls_alert import name as alert_name
from srptls.tls_session import Session, SessionCache

_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from time import ticks_diff, ticks_ms

    def _now_ms():
        return ticks_ms()

    def _elapsed_ms(t0):
        return ticks_diff(ticks_ms(), t0)
except ImportError:
    def _now_ms():
        return time.perf_counter() * 1000.0

    def _elapsed_ms(t0):
        return time.perf_counter() * 1000.0 - t0


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")

# Limits (named so they can be found and argued about).
PREPARED_POOL = 2                 # prepared (b, g^b) pairs: one per concurrent handshake
MAX_RENEGOTIATION_ATTEMPTS = 2
MAX_WARNING_ALERTS = 16           # warnings other than close_notify per connection
SIMULATED_SALT_LEN = 16           # default when no real credential was seen yet
DEFAULT_GROUP_BITS = 3072
RECORD_SIZE_LIMIT = 4096          # RFC 8449 limit we announce when the client asks


# -- events --------------------------------------------------------------------

class Event:
    _fields = ()

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (f, getattr(self, f)) for f in self._fields))

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)


class HandshakeComplete(Event):
    _fields = ("user", "cipher_suite", "cipher_name", "group_bits", "etm", "ems", "resumed")

    def __init__(self, user, cipher_suite, cipher_name, group_bits, etm, ems, resumed):
        self.user = user
        self.cipher_suite = cipher_suite
        self.cipher_name = cipher_name
        self.group_bits = group_bits
        self.etm = etm
        self.ems = ems
        self.resumed = resumed


class ApplicationData(Event):
    _fields = ("data",)

    def __init__(self, data):
        self.data = data


class PeerClosed(Event):
    """The peer ended the connection: clean=True for close_notify, False for bare EOF."""
    _fields = ("clean",)

    def __init__(self, clean=True):
        self.clean = clean


class AlertReceived(Event):
    _fields = ("level", "description")

    def __init__(self, level, description):
        self.level = level
        self.description = description

    @property
    def name(self):
        return alert_name(self.description)


class AlertSent(Event):
    _fields = ("description",)

    def __init__(self, description):
        self.description = description

    @property
    def name(self):
        return alert_name(self.description)



def describe_end(evt):
    """Short text for the event that ended a connection (for error messages).

    Shared by the transport adapters; None means the peer just went away.
    """
    if evt is None:
        return "connection closed"
    if isinstance(evt, AlertSent):
        return "alert sent %s" % (evt.name,)
    if isinstance(evt, AlertReceived):
        return "alert received %s/%s" % (evt.level, evt.name)
    return type(evt).__name__

# -- configuration shared by all connections -----------------------------------

class ServerConfig:
    """Credentials, policy, session cache and precomputed ephemerals of one server.

    lookup(user: str) -> Credential or None; None makes a simulated user.
    device_secret: 32 random bytes kept by the device; simulated salts and
        verifiers derive from it, so they are stable per name across boots.
    require_etm: refuse clients without encrypt-then-MAC (default True).
    simulate_like: a Credential whose group and salt length simulated users
        copy (normally the device's own); default: the most recent real
        credential looked up, else a 3072-bit group and 16-byte salt.
    precompute: False disables the prepared ephemerals (for measurements).
    """

    def __init__(self, lookup, device_secret, require_etm=True, session_lifetime=3600,
                 session_cache_size=8, simulate_like=None, precompute=True, clock=time.time):
        if not isinstance(device_secret, (bytes, bytearray)) or len(device_secret) < 16:
            raise ValueError("device_secret must be at least 16 random bytes")
        self.lookup = lookup
        self.device_secret = bytes(device_secret)
        self.require_etm = require_etm
        self.sessions = SessionCache(session_cache_size, session_lifetime, clock)
        self.precompute = precompute
        self.group_bits = DEFAULT_GROUP_BITS
        self.salt_len = SIMULATED_SALT_LEN
        self._fixed_shape = simulate_like is not None
        if simulate_like is not None:
            self.group_bits = simulate_like.group
            self.salt_len = len(simulate_like.salt)
        self._prepared = []           # [(group_bits, b, g^b)]

    def prepare(self):
        """Do one unit of idle-time work; True if more work remains.

        A unit is one fresh ephemeral b and g^b mod N for the group the next
        handshake will most likely use.  Pairs are used once, never reused.
        """
        if not self.precompute:
            return False
        bits = self.group_bits
        self._prepared = [p for p in self._prepared if p[0] == bits]
        if len(self._prepared) >= PREPARED_POOL:
            return False
        grp = srp.group(bits)
        b = srp.random_private(grp)
        self._prepared.append((bits, b, modexp.context(grp.N).pow(grp.g, b)))
        return len(self._prepared) < PREPARED_POOL

    def _ephemeral(self, grp):
        """(b, g^b, was_prepared) for one handshake in group grp."""
        for i in range(len(self._prepared)):
            bits, b, gb = self._prepared[i]
            if bits == grp.bits:
                del self._prepared[i]
                return b, gb, True
        b = srp.random_private(grp)
        return b, modexp.context(grp.N).pow(grp.g, b), False

    def _credential(self, user_bytes):
        """(user, group, salt, verifier, real) for the name in the SRP extension."""
        try:
            user = user_bytes.decode()
        except UnicodeError:
            user = None
        cred = self.lookup(user) if user is not None else None
        if cred is not None and not self._fixed_shape:
            self.group_bits = cred.group
            self.salt_len = len(cred.salt)
        # RFC 5054 2.5.1.3: a stable fake salt and verifier for this name.  The
        # verifier never appears on the wire (B = k*v + g^b is uniformly
        # distributed whatever v is), so a keyed hash reduced mod N serves as
        # well as a real g^x.  It is computed for real users too, so both
        # paths do the same work before the (identical) exponentiations.
        grp = srp.group(self.group_bits)
        salt, v = self._simulated(grp, user_bytes)
        if cred is not None:
            return user, srp.group(cred.group), cred.salt, cred.verifier, True
        return (user if user is not None else repr(user_bytes)), grp, salt, v, False

    def _simulated(self, grp, user_bytes):
        secret = self.device_secret
        salt = tls_crypto.prf(secret, b"srp-iot simulated salt", user_bytes, self.salt_len)
        v = int.from_bytes(tls_crypto.prf(secret, b"srp-iot simulated verifier", user_bytes,
                                          grp.nbytes + 8), "big") % grp.N
        return salt, (v if v > 1 else 2)

    def forget_sessions(self):
        """Drop every cached session (call after the credential changes)."""
        self.sessions = SessionCache(self.sessions.size, self.sessions.lifetime,
                                     self.sessions.clock)


# -- the engine -----------------------------------------------------------------

WAIT_CLIENT_HELLO = "WAIT_CLIENT_HELLO"
WAIT_KEY_EXCHANGE = "WAIT_KEY_EXCHANGE"
WAIT_CCS = "WAIT_CCS"
WAIT_FINISHED = "WAIT_FINISHED"
RESUME_WAIT_CCS = "RESUME_WAIT_CCS"
RESUME_WAIT_FINISHED = "RESUME_WAIT_FINISHED"
OPEN = "OPEN"
CLOSED = "CLOSED"
FAILED = "FAILED"

# Inputs other than handshake message types.
CCS = "ChangeCipherSpec"
APPDATA = "ApplicationData"

# (state, input) -> (handler method, allowed next states).  The handler
# returns the next state, or None when there is only one.
TRANSITIONS = {
    (WAIT_CLIENT_HELLO, hs.CLIENT_HELLO): ("_on_client_hello", (WAIT_KEY_EXCHANGE, RESUME_WAIT_CCS)),
    (WAIT_KEY_EXCHANGE, hs.CLIENT_KEY_EXCHANGE): ("_on_client_key_exchange", (WAIT_CCS,)),
    (WAIT_CCS, CCS): ("_on_change_cipher_spec", (WAIT_FINISHED,)),
    (WAIT_FINISHED, hs.FINISHED): ("_on_client_finished", (OPEN,)),
    (RESUME_WAIT_CCS, CCS): ("_on_change_cipher_spec", (RESUME_WAIT_FINISHED,)),
    (RESUME_WAIT_FINISHED, hs.FINISHED): ("_on_resumed_client_finished", (OPEN,)),
    (OPEN, APPDATA): ("_on_application_data", (OPEN,)),
    (OPEN, hs.CLIENT_HELLO): ("_on_renegotiation_attempt", (OPEN,)),
}


class ServerEngine:
    """One server-side TLS connection (see the module docstring for the API).

    Attributes for the caller: state, closed, session (HandshakeComplete or
    None), error (why it failed, for logs), stats (online work in ms).
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.state = WAIT_CLIENT_HELLO
        self.session = None            # HandshakeComplete once OPEN
        self.stats = {}                # online work in ms (see module docstring)
        self.error = None              # why the engine failed, for logs (no secrets)
        self._rec = rec.RecordLayer()
        self._msgs = hs.MessageBuffer()
        self._events = []
        self._eof = False
        self._renegotiations = 0
        self._warnings = 0
        self._sent_close = False
        self._session_id = b""
        self._credential_id = None
        self._client_finished_hash = None
        self._collect_due = False      # a gc.collect() deferred to idle() (see there)
        # Two running transcript hashes, because MicroPython hashes can be
        # neither copied nor updated after digest().  _hash_first is finalised
        # at the first Finished (full handshake: the client's, which is also
        # the EMS session hash point; resumed: ours); _hash_second also takes
        # that Finished and is finalised for the other one.
        self._hash_first = tls_crypto.sha256()
        self._hash_second = tls_crypto.sha256()

    # -- public API -----------------------------------------------------------

    @property
    def closed(self):
        return self.state in (CLOSED, FAILED)

    def receive_data(self, data):
        """Buffer bytes from the peer; b"" means the peer closed its side."""
        if self.closed:
            return
        if not data:
            self._eof = True
        else:
            self._rec.feed(data)

    def data_to_send(self):
        """Bytes to write to the transport (b"" when none).

        A bytes-like object (the record layer's bytearray, handed over
        without a copy) that the caller owns: write it, keep it, or drop it.
        """
        return self._rec.take_output()

    def next_event(self):
        """The next event, or NEED_DATA when more bytes must be received.

        Never raises because of what the peer sent.
        """
        self.idle()
        if self._events:
            return self._events.pop(0)
        if self.closed:
            return NEED_DATA
        try:
            while not self._events and not self.closed:
                record = self._rec.read_record()
                if record is None:
                    if self._eof:
                        self._on_eof()
                    break
                self._on_record(record[0], record[1])
        except ProtocolError as e:
            self._fail(e.alert, e.reason)
        except Exception as e:
            # A bug or MemoryError while handling peer input: still one alert.
            self._fail(INTERNAL_ERROR, e)
        if self._events:
            return self._events.pop(0)
        return NEED_DATA

    def idle(self):
        """Housekeeping for while the peer has the turn: call before blocking on a read.

        The engine's gc.collect() calls (MicroPython) wait here until the
        caller has sent what data_to_send() returned, so that no client
        waits for them: after our first flight (the collection then overlaps
        the client's own SRP work and leaves a clean heap for our
        exponentiations) and after our Finished.  They take ~0.2 ms each on
        a 64-bit host, more on large heaps.  next_event() runs a pending one
        itself, so callers that never call idle() get the same collections,
        only later.
        """
        if self._collect_due:
            self._collect_due = False
            _collect()

    def send(self, data):
        """Queue application data (only once the handshake is complete)."""
        if self.state != OPEN:
            raise LocalProtocolError("send() in state %s" % self.state)
        if data:
            self._rec.write(rec.APPLICATION_DATA, data)

    def close(self):
        """Queue close_notify; the engine is closed afterwards."""
        if self.closed:
            return
        self._send_alert(WARNING, CLOSE_NOTIFY)
        self._sent_close = True
        self.state = CLOSED

    # -- record dispatch ----------------------------------------------------------

    def _on_record(self, ctype, payload):
        if ctype == rec.ALERT:
            self._on_alert(payload)
            return
        if ctype != rec.HANDSHAKE and not self._msgs.empty():
            # A handshake message must not be interleaved with other records.
            raise RemoteProtocolError(UNEXPECTED_MESSAGE, "record inside a handshake message")
        if ctype == rec.HANDSHAKE:
            if not len(payload):
                raise RemoteProtocolError(DECODE_ERROR, "empty handshake record")
            self._msgs.feed(payload)
            while not self.closed:
                msg = self._msgs.next_message()
                if msg is None:
                    break
                self._dispatch(msg[0], msg[1], msg[2])
        elif ctype == rec.CHANGE_CIPHER_SPEC:
            if bytes(payload) != b"\x01":
                raise RemoteProtocolError(DECODE_ERROR, "bad ChangeCipherSpec")
            self._dispatch(CCS, None, None)
        else:
            self._dispatch(APPDATA, payload, None)

    def _dispatch(self, what, body, whole):
        entry = TRANSITIONS.get((self.state, what))
        if entry is None:
            raise RemoteProtocolError(UNEXPECTED_MESSAGE, "%r in state %s" % (what, self.state))
        handler, targets = entry
        nxt = getattr(self, handler)(body, whole)
        if nxt is None:
            nxt = targets[0]
        if nxt not in targets:
            raise RemoteProtocolError(INTERNAL_ERROR, "bad transition to %s" % nxt)
        if self.state not in (CLOSED, FAILED):
            self.state = nxt

    def _on_alert(self, payload):
        if len(payload) != 2:
            raise RemoteProtocolError(DECODE_ERROR, "alert of %d bytes" % len(payload))
        level, desc = payload[0], payload[1]
        if desc == CLOSE_NOTIFY:
            if not self._sent_close:
                self._send_alert(WARNING, CLOSE_NOTIFY)
                self._sent_close = True
            self.state = CLOSED
            self._events.append(PeerClosed(True))
        elif level == WARNING:
            self._warnings += 1
            if self._warnings > MAX_WARNING_ALERTS:
                raise RemoteProtocolError(UNEXPECTED_MESSAGE, "too many warning alerts")
            self._events.append(AlertReceived(level, desc))
        else:
            # Fatal (or an unknown level, treated as fatal): no answer (RFC 5246 7.2.2).
            self._discard_session()
            self.state = FAILED
            self._events.append(AlertReceived(level, desc))

    def _on_eof(self):
        self.state = CLOSED
        self._events.append(PeerClosed(False))

    # -- handshake handlers ---------------------------------------------------------

    def _transcript(self, whole):
        self._hash_first.update(whole)
        self._hash_second.update(whole)

    def _on_client_hello(self, body, whole):
        t0 = _now_ms()
        hello = hs.ClientHello(body)
        if hello.version >> 8 != 3 or hello.version < rec.TLS12:
            # Answer in a version the old client can read.
            if hello.version >> 8 == 3 and hello.version >= 0x0300:
                self._rec.version = hello.version
            raise RemoteProtocolError(PROTOCOL_VERSION, "client offers only %04x" % hello.version)
        if 0 not in hello.compressions:
            raise RemoteProtocolError(HANDSHAKE_FAILURE, "no null compression")
        if hello.renegotiation_info:
            # RFC 5746 3.6: must be empty in an initial handshake.
            raise RemoteProtocolError(HANDSHAKE_FAILURE, "non-empty renegotiation_info")
        suite = None
        for s in hs.SUITE_PREFERENCE:
            if s in hello.suites:
                suite = s
                break
        if suite is None:
            raise RemoteProtocolError(HANDSHAKE_FAILURE, "no TLS-SRP cipher suite offered")
        if hello.srp_user is None:
            raise RemoteProtocolError(UNKNOWN_PSK_IDENTITY, "no SRP extension (RFC 5054 2.5.1.2)")
        if self.cfg.require_etm and not hello.etm:
            raise RemoteProtocolError(INSUFFICIENT_SECURITY, "client lacks encrypt-then-MAC")
        self._hello = hello
        self._transcript(whole)
        self._server_random = os.urandom(32)
        self._rec.strict_version = True
        if hello.record_size_limit is not None:
            # RFC 8449: protected records shrink both ways.  Ours keeps honest
            # clients (tlslite-ng, GnuTLS, Firefox) from needing the full
            # 18 KB receive buffer.
            self._record_limit = RECORD_SIZE_LIMIT
            self._rec.recv_limit = RECORD_SIZE_LIMIT
            self._rec.send_fragment = min(rec.MAX_SEND_FRAGMENT, hello.record_size_limit)
        else:
            self._record_limit = None
        cached = self._resumable(hello)
        if cached is not None:
            return self._resume(hello, cached)
        return self._full_handshake(hello, suite, t0)

    def _resumable(self, hello):
        if not hello.session_id:
            return None
        s = self.cfg.sessions.get(hello.session_id)
        if s is None:
            return None
        # RFC 5054 2.5.1.1: only the same user; RFC 7627/7366: same EMS/EtM.
        if (s.user.encode() != hello.srp_user or s.suite not in hello.suites
                or not hello.ems or s.etm != hello.etm):
            return None
        # A password change since then must not leave old sessions usable.
        cred = self.cfg.lookup(s.user)
        if cred is None or (cred.salt, cred.verifier) != s.credential_id:
            self.cfg.sessions.discard(s.session_id)
            return None
        return s

    def _full_handshake(self, hello, suite, t0):
        cfg = self.cfg
        user, grp, salt, v, real = cfg._credential(hello.srp_user)
        b, gb, prepared = cfg._ephemeral(grp)
        B = (grp.k * v + gb) % grp.N
        self._srp = (grp, v, b, B)
        self._user, self._real_user, self._group = user, real, grp
        self._credential_id = (salt, v)
        self._suite, self._etm, self._ems = suite, hello.etm, hello.ems
        self._session_id = os.urandom(32)
        self.stats["prepared"] = prepared
        self.stats["hello_ms"] = _elapsed_ms(t0)
        self._collect_due = True   # see idle()
        self._send_handshake(
            hs.server_hello(self._server_random, self._session_id, suite, self._etm,
                            self._ems, hello.secure_renegotiation, self._record_limit)
            + hs.server_key_exchange(grp.n_bytes, grp.g_bytes, salt, srp.i2b(B))
            + hs.server_hello_done())
        return WAIT_KEY_EXCHANGE

    def _resume(self, hello, s):
        self._user, self._real_user, self._group = s.user, True, srp.group(s.group_bits)
        self._suite, self._etm, self._ems = s.suite, s.etm, s.ems
        self._session_id = s.session_id
        self._master = s.master_secret
        self._resumed = True
        self._send_handshake(hs.server_hello(self._server_random, s.session_id, s.suite,
                                             s.etm, s.ems, hello.secure_renegotiation,
                                             self._record_limit))
        self._derive_keys()
        msg = self._send_ccs_and_finished(self._hash_first.digest())
        self._hash_second.update(msg)   # the client's Finished covers ours
        return RESUME_WAIT_CCS

    def _on_client_key_exchange(self, body, whole):
        t0 = _now_ms()
        A = hs.parse_client_key_exchange(body)
        grp, v, b, B = self._srp
        if A % grp.N == 0:
            raise RemoteProtocolError(ILLEGAL_PARAMETER, "A % N == 0 (RFC 5054 2.5.4)")
        if A >= grp.N:
            # Not reduced: no honest client sends it (OpenSSL refuses it too),
            # and refusing keeps PAD(A) in compute_u well defined.
            raise RemoteProtocolError(ILLEGAL_PARAMETER, "A >= N")
        self._transcript(whole)
        # The exponentiation needs a few KB of contiguous scratch: collect
        # now unless idle() did while the client was computing.
        self.idle()
        u = srp.compute_u(grp, A, B)
        S = srp.server_secret(grp, A, v, u, b)
        self._srp = None
        self.stats["key_exchange_ms"] = _elapsed_ms(t0)
        pre = srp.premaster(S)
        self._client_finished_hash = self._hash_first.digest()
        if self._ems:
            # RFC 7627 4: session_hash covers the messages up to ClientKeyExchange.
            self._master = tls_crypto.prf(pre, b"extended master secret",
                                          self._client_finished_hash, 48)
        else:
            self._master = tls_crypto.prf(pre, b"master secret",
                                          self._hello.random + self._server_random, 48)
        self._resumed = False
        self._derive_keys()
        # Free the big integers in idle() (see there), not now: the
        # client's CCS and Finished usually arrive in the same read.
        self._collect_due = True
        return None

    def _derive_keys(self):
        keylen = hs.SUITES[self._suite][1]
        block = tls_crypto.prf(self._master, b"key expansion",
                               self._server_random + self._hello.random, 2 * (20 + keylen))
        cmac, smac = block[0:20], block[20:40]
        ckey, skey = block[40:40 + keylen], block[40 + keylen:40 + 2 * keylen]
        self._pending_read = rec.CipherState(ckey, cmac, self._etm)
        self._pending_write = rec.CipherState(skey, smac, self._etm)

    def _on_change_cipher_spec(self, body, whole):
        self._rec.read_state = self._pending_read
        self._pending_read = None
        return None

    def _verify_client_finished(self, body, handshake_hash):
        got = hs.parse_finished(body)
        want = tls_crypto.prf(self._master, b"client finished", handshake_hash, 12)
        if not tls_crypto.ct_equal(got, want):
            raise RemoteProtocolError(DECRYPT_ERROR, "client Finished does not verify")

    def _on_client_finished(self, body, whole):
        self._verify_client_finished(body, self._client_finished_hash)
        self._hash_second.update(whole)
        self._send_ccs_and_finished(self._hash_second.digest())
        if self._ems:
            self.cfg.sessions.put(Session(
                self._session_id, self._master, self._suite, self._user, self._group.bits,
                self._etm, self._ems, self.cfg.sessions.clock(), self._credential_id))
        return self._complete()

    def _on_resumed_client_finished(self, body, whole):
        self._verify_client_finished(body, self._hash_second.digest())
        return self._complete()

    def _send_ccs_and_finished(self, handshake_hash):
        self._rec.write(rec.CHANGE_CIPHER_SPEC, b"\x01")
        self._rec.write_state = self._pending_write
        self._pending_write = None
        verify = tls_crypto.prf(self._master, b"server finished", handshake_hash, 12)
        msg = hs.finished(verify)
        self._rec.write(rec.HANDSHAKE, msg)
        return msg

    def _complete(self):
        # Drop what the open connection no longer needs (the master secret
        # lives on only in the session cache, if the session was cached).
        self._hello = self._master = self._credential_id = None
        self._client_finished_hash = None
        self._hash_first = self._hash_second = None
        self._msgs.clear()
        name, _ = hs.SUITES[self._suite]
        self.session = HandshakeComplete(self._user, self._suite, name, self._group.bits,
                                         self._etm, self._ems, self._resumed)
        self._events.append(self.session)
        self._collect_due = True   # in idle(), once our Finished is sent
        return OPEN

    def _on_application_data(self, payload, whole):
        if len(payload):
            self._events.append(ApplicationData(bytes(payload)))
        return None

    def _on_renegotiation_attempt(self, body, whole):
        self._renegotiations += 1
        if self._renegotiations > MAX_RENEGOTIATION_ATTEMPTS:
            raise RemoteProtocolError(UNEXPECTED_MESSAGE, "repeated renegotiation attempts")
        self._send_alert(WARNING, NO_RENEGOTIATION)
        return None

    # -- output helpers ---------------------------------------------------------

    def _send_handshake(self, data):
        self._transcript(data)
        self._rec.write(rec.HANDSHAKE, data)

    def _send_alert(self, level, desc):
        self._rec.write(rec.ALERT, bytes((level, desc)))

    def _fail(self, desc, reason=None):
        """Send one fatal alert and stay FAILED.

        Never raises, even when memory runs out: each step is guarded, and
        the state is set first, so a half-done failure still leaves the
        engine closed.
        """
        if self.state == FAILED:
            return
        self.state = FAILED
        try:
            self.error = reason if isinstance(reason, str) else "internal: %r" % (reason,)
        except Exception:
            self.error = "internal"
        try:
            self._send_alert(FATAL, desc)
            self._discard_session()
            self._events.append(AlertSent(desc))
        except Exception:
            pass

    def _discard_session(self):
        if self._session_id:
            self.cfg.sessions.discard(self._session_id)


def _collect():
    # Handshake boundaries free the big integers and transcript buffers; on the
    # device that keeps the heap from fragmenting.  CPython does not need it.
    if _MICROPYTHON:
        gc.collect()
