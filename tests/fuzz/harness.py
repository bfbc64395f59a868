"""Drive the TLS engine in memory from CPython, deterministically, for fuzzing.

One call, `run(stream, chunks)`, plays a client's byte stream into a fresh
`tls_engine.ServerEngine` and checks the engine's promises (issue 3):

  * it never raises on peer input, whatever the bytes;
  * it sends at most one alert, and after a fatal alert it is closed;
  * everything it writes is a well-formed TLS record;
  * no input reaches its last-resort handler: the engine turns any
    unexpected exception into an internal_error alert (so a device never
    dies), which would hide a parser bug from a fuzzer -- here such an
    alert (eng.error "internal: ...") is itself the bug;
  * it never loops: a bounded number of events per received chunk.

A violated promise raises `EngineBug`; the fuzzers turn that into a crash.

Randomness is made reproducible: `os.urandom` is replaced (in this process
only, before srptls is imported) by a SHA-256 counter stream that restarts
from a fixed seed for every connection.  The flights in corpus/ were
captured from real clients talking to exactly such an engine (capture.py),
so replaying one repeats the whole handshake byte for byte, including the
client's encrypted Finished and application data: mutations of a replayed
flight reach the record decryption and the application-data paths, not
just the ClientHello parser.

The credential in corpus/credential.json belongs to a password that was
drawn at random for the capture and then thrown away; it is salt and
verifier only.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"
CREDENTIAL = CORPUS / "credential.json"
SEED = b"srp-iot fuzz seed"

MAX_EVENTS_PER_FEED = 256      # far above anything a real flight produces
MAX_RECORD = 2 ** 14 + 2048    # RFC 5246 6.2.3: ciphertext limit
RECORD_TYPES = (20, 21, 22, 23)


class _Stream:
    """Deterministic stand-in for os.urandom: SHA-256 in counter mode."""

    def __init__(self):
        self.reset()

    def reset(self, seed=SEED):
        self._seed, self._ctr, self._buf = seed, 0, b""

    def __call__(self, n):
        while len(self._buf) < n:
            self._buf += hashlib.sha256(self._seed + self._ctr.to_bytes(8, "big")).digest()
            self._ctr += 1
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


rng = _Stream()
_real_urandom = os.urandom
os.urandom = rng  # before srptls is imported, so `from os import urandom` sees it too

sys.path.insert(0, str(REPO / "firmware"))
sys.path.insert(0, str(REPO / "tests" / "mp"))
from srptls import credential, modexp, srp, tls_engine  # noqa: E402
from tls_testclient import ScriptedClient  # noqa: E402


class _MemoContext:
    """modexp context that remembers results: deterministic replays repeat
    the same exponentiations input after input, and they were 90 % of the
    harness's time.  Misses go to the real backend, so results and errors
    are exactly modexp's."""

    cache = {}
    LIMIT = 20000

    def __init__(self, real):
        self.real = real

    def pow(self, base, exp):
        key = (base, exp, self.real.n)
        r = self.cache.get(key)
        if r is None:
            r = self.real.pow(base, exp)
            if len(self.cache) < self.LIMIT:
                self.cache[key] = r
        return r


_real_context = modexp.context
modexp.context = lambda n: _MemoContext(_real_context(n))


class EngineBug(AssertionError):
    """The engine broke one of its promises on some input."""


def load_credential(path=CREDENTIAL):
    meta = json.loads(Path(path).read_text())
    cred = credential.Credential(meta["user"], meta["group"],
                                 bytes.fromhex(meta["salt"]), int(meta["verifier"], 16))
    return cred, bytes.fromhex(meta["device_secret"])


_CRED = None


# For the post-handshake mode the harness is its own client (the scripted
# client of tests/mp), so it needs a password: one drawn for this process
# only, for a second user of the same group.
POST_USER = "fuzz-post"
_POST_PASSWORD = _real_urandom(12).hex().encode()
_POST_CRED = None


def _post_credential(group):
    global _POST_CRED
    if _POST_CRED is None:
        salt = _real_urandom(16)
        v = srp.make_verifier(srp.group(group), POST_USER.encode(), _POST_PASSWORD, salt)
        _POST_CRED = credential.Credential(POST_USER, group, salt, v)
    return _POST_CRED


def new_engine(require_etm=True, cfg=None):
    """A fresh engine with the randomness stream rewound; a fresh config too
    unless `cfg` (a server's state from an earlier connection) is given."""
    global _CRED
    if _CRED is None:
        _CRED = load_credential()
    cred, device_secret = _CRED
    post = _post_credential(cred.group)
    rng.reset()
    creds = {cred.user: cred, post.user: post}
    # simulate_like: unknown users get the real user's group and salt length,
    # as on the servers (boards/sim/serve, the device).
    if cfg is None:
        cfg = tls_engine.ServerConfig(creds.get, device_secret, require_etm=require_etm,
                                      simulate_like=cred)
    for _ in range(16):  # idle-time work, as the server does before a client arrives
        if not cfg.prepare():
            break
    return tls_engine.ServerEngine(cfg)


def check_records(out):
    """Every byte the engine writes must be a whole, well-formed record."""
    i = 0
    while i < len(out):
        if len(out) - i < 5:
            raise EngineBug("truncated record header in output")
        ctype, major, ln = out[i], out[i + 1], int.from_bytes(out[i + 3:i + 5], "big")
        if ctype not in RECORD_TYPES or major != 3:
            raise EngineBug("bad record header in output: %r" % out[i:i + 5])
        if ln > MAX_RECORD or i + 5 + ln > len(out):
            raise EngineBug("bad record length %d in output" % ln)
        i += 5 + ln


class Result:
    def __init__(self):
        self.events = []
        self.out = bytearray()
        self.error = None

    def names(self):
        return [type(e).__name__ for e in self.events]

    @property
    def completed(self):
        return any(isinstance(e, tls_engine.HandshakeComplete) for e in self.events)

    @property
    def alerts_sent(self):
        return [e for e in self.events if isinstance(e, tls_engine.AlertSent)]


def _pump(eng, res):
    for _ in range(MAX_EVENTS_PER_FEED):
        evt = eng.next_event()
        if evt is tls_engine.NEED_DATA:
            return
        res.events.append(evt)
        if isinstance(evt, tls_engine.ApplicationData) and not res.completed:
            raise EngineBug("application data before the handshake completed")
        if isinstance(evt, tls_engine.PeerClosed) or eng.closed:
            return
    raise EngineBug("more than %d events from one feed: a loop?" % MAX_EVENTS_PER_FEED)


def run(stream, chunks=None, eof=True, reply=b"", require_etm=True, cfg=None):
    """Feed `stream` (split at `chunks`, a list of sizes) to a fresh engine.

    reply: application data the server sends once the handshake completes
    (exercises the write path).  Returns a Result; raises EngineBug or
    whatever the engine raised.
    """
    eng = new_engine(require_etm, cfg)
    res = Result()
    res.cfg = eng.cfg
    pieces = split(stream, chunks)
    if eof:
        pieces.append(b"")
    replied = False
    for piece in pieces:
        if eng.closed:
            break
        eng.receive_data(piece)
        _pump(eng, res)
        if res.completed and reply and not replied and not eng.closed:
            eng.send(reply)
            replied = True
        res.out += eng.data_to_send()
    res.out += eng.data_to_send()
    check_records(bytes(res.out))
    if len(res.alerts_sent) > 1:
        raise EngineBug("more than one alert sent: %r" % res.names())
    if res.alerts_sent and not eng.closed:
        raise EngineBug("engine still open after a fatal alert")
    if str(getattr(eng, "error", "") or "").startswith("internal"):
        raise EngineBug("unexpected exception inside the engine: %s" % eng.error)
    res.error = eng.error
    return res


def split(stream, chunks):
    if not chunks:
        return [bytes(stream)]
    out, i = [], 0
    for n in chunks:
        if i >= len(stream):
            break
        out.append(bytes(stream[i:i + max(1, n)]))
        i += max(1, n)
    if i < len(stream):
        out.append(bytes(stream[i:]))
    return out


POST_MODE = 0xF0
RESUME_MODE = 0xE0      # 0xE0-0xEF: two connections, the second may resume


def decode_input(data):
    """Map a fuzzer input to (stream, chunks): byte 0 picks how to split.

    0-127: whole; 128-191: one byte at a time (short streams only);
    192-223: byte 1 is a chunk size, so records straddle feeds.
    (224-239 is the resumption mode, see resume(); 240-255 the
    post-handshake mode, see post_handshake(); in every
    mode, bit 6 set means the server allows clients without
    encrypt-then-MAC, see require_etm_for().)
    """
    if not data:
        return b"", None
    mode, rest = data[0], data[1:]
    if mode < 128:
        return rest, None
    if mode < 192:
        return rest, [1] * min(len(rest), 2048)
    if not rest:
        return b"", None
    size = rest[0] + 1
    return rest[1:], [size] * (len(rest) // size + 1)


RAW = 0xFF


def post_items(blob):
    """Split [ctype:1][len:2][payload] items (the post-handshake input format)."""
    i, out = 0, []
    while i + 3 <= len(blob):
        n = int.from_bytes(blob[i + 1:i + 3], "big")
        out.append((blob[i], bytes(blob[i + 1 + 2:i + 3 + n])))
        i += 3 + n
    return out


def encode_post(items):
    return bytes([POST_MODE]) + b"".join(
        bytes([t]) + len(p).to_bytes(2, "big") + p for t, p in items)


def post_handshake(blob):
    """Complete a real handshake in memory, then send the fuzzer's records.

    Each item is encrypted and MACed by the client with the session's keys
    (item type RAW: appended as is), so the fuzzer reaches what follows a
    handshake -- application data, alerts, a renegotiating ClientHello,
    stray ChangeCipherSpec, unknown record types -- past the MAC check.
    """
    eng = new_engine()
    client = ScriptedClient(POST_USER.encode(), _POST_PASSWORD)
    res = Result()
    eng.receive_data(client.hello())
    _pump(eng, res)
    client.receive(eng.data_to_send())
    eng.receive_data(client.key_exchange())
    _pump(eng, res)
    client.receive(eng.data_to_send())
    if not res.completed:
        raise EngineBug("in-memory handshake failed: %r %s" % (res.names(), eng.error))
    for ctype, payload in post_items(blob):
        if eng.closed:
            break
        data = payload if ctype == RAW else client.send(ctype, payload)
        if not data:
            continue   # nothing to send (b"" would mean EOF to the engine)
        eng.receive_data(data)
        _pump(eng, res)
        out = eng.data_to_send()
        check_records(out)
        res.out += out
    if not eng.closed:
        eng.receive_data(b"")
        _pump(eng, res)
    res.out += eng.data_to_send()
    check_records(bytes(res.out))
    if len(res.alerts_sent) > 1:
        raise EngineBug("more than one alert sent: %r" % res.names())
    if str(getattr(eng, "error", "") or "").startswith("internal"):
        raise EngineBug("unexpected exception inside the engine: %s" % eng.error)
    return res


def corpus_files(*dirs):
    for d in dirs or (CORPUS, REGRESSIONS):
        for p in sorted(Path(d).glob("*.bin")):
            yield p


def encode_resume(first, second, mode=RESUME_MODE):
    return bytes([mode]) + len(first).to_bytes(4, "big") + first + second


def resume(data):
    """Two connections to one server (one config, hence one session cache):
    a client's full handshake, then its reconnect offering the session ID --
    the abbreviated handshake and the checks before a session is resumed."""
    n = int.from_bytes(data[1:5], "big")
    first, second = data[5:5 + n], data[5 + n:]
    res = run(first, reply=b"x" * 100)
    return run(second, reply=b"x" * 100, cfg=res.cfg)


def require_etm_for(data):
    """Bit 6 of the mode byte: a server with the documented opt-in for
    clients without encrypt-then-MAC (MAC-then-encrypt CBC)."""
    return not (data and data[0] & 0x40)


def one_input(data):
    """The fuzz target: decode, run, let EngineBug or any exception escape."""
    if data and data[0] >= POST_MODE:
        post_handshake(data[1:])
        return
    if data and data[0] >= RESUME_MODE:
        resume(data)
        return
    stream, chunks = decode_input(data)
    run(stream, chunks, reply=b"x" * 100, require_etm=require_etm_for(data))
