"""Property-based test: mutated handshake flights fed straight into the engine (CPython).

Whatever the bytes, the engine must never raise, must end either waiting for
more data, with a server flight, or closed after exactly one fatal alert, and
must write nothing after that alert.  Kept quick (a few hundred examples);
the network-level version against the running server lives with the
adapters' tests.
"""
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "firmware"))
sys.path.insert(0, str(REPO / "tests" / "mp"))

from srptls import credential, srp, tls_engine  # noqa: E402
from srptls import tls_handshake as hs  # noqa: E402
from srptls import tls_record as rec  # noqa: E402
from tls_testclient import ScriptedClient, client_hello_body, record  # noqa: E402

PASSWORD = os.urandom(12).hex().encode()   # generated per run, never stored
SALT = os.urandom(16)
GRP = srp.group(2048)
CRED = credential.Credential("admin", 2048, SALT, srp.make_verifier(GRP, b"admin", PASSWORD, SALT))
CFG = tls_engine.ServerConfig(lambda u: CRED if u == "admin" else None, os.urandom(32))


def _hello_record(extra):
    return record(22, hs.message(1, client_hello_body(extra=extra)))


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 4000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 4000), st.integers(0, 0)),
    st.tuples(st.just("insert"), st.integers(0, 4000), st.integers(0, 255)),
    st.tuples(st.just("set"), st.integers(0, 4000), st.sampled_from([0, 1, 0x7F, 0x80, 0xFF])),
)


def mutate(data, muts):
    data = bytearray(data)
    for kind, pos, val in muts:
        if not data:
            break
        pos %= len(data)
        if kind == "flip":
            data[pos] ^= val
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = bytes((val,))
        else:
            data[pos] = val
    return bytes(data)


def drive(eng, data, chunks):
    """Feed data in the given chunk sizes, then EOF; return (events, output)."""
    events, out, pos, eof_sent = [], [], 0, False
    sizes = list(chunks) or [len(data)]
    i = 0
    for _ in range(10000):
        evt = eng.next_event()
        out.append(eng.data_to_send())
        if evt is not tls_engine.NEED_DATA:
            events.append(evt)
            continue
        if eng.closed:
            break
        if pos >= len(data):
            if eof_sent:
                break
            eng.receive_data(b"")
            eof_sent = True
            continue
        n = max(1, sizes[i % len(sizes)])
        i += 1
        eng.receive_data(data[pos:pos + n])
        pos += n
    return events, out


def record_types(data):
    """Content types of the records in data; asserts they are well framed."""
    types, pos = [], 0
    while pos < len(data):
        assert pos + 5 <= len(data)
        n = data[pos + 3] << 8 | data[pos + 4]
        types.append(data[pos])
        pos += 5 + n
    assert pos == len(data)
    return types


def check(events, out):
    alerts = [e for e in events if isinstance(e, tls_engine.AlertSent)]
    assert len(alerts) <= 1
    types = record_types(b"".join(out))
    if alerts:
        # exactly one alert, and it is the last event and the last record
        assert events[-1] is alerts[0]
        # internal_error would mean a bug was hit, not a protocol check
        assert alerts[0].description != 80
        assert types and types[-1] == rec.ALERT and types.count(rec.ALERT) == 1


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=4),
       muts=st.lists(mutation, min_size=1, max_size=4),
       chunks=st.lists(st.integers(1, 300), max_size=5))
def test_mutated_client_hello(extra, muts, chunks):
    data = mutate(_hello_record(extra), muts)
    eng = tls_engine.ServerEngine(CFG)
    events, out = drive(eng, data, chunks)
    check(events, out)
    assert eng.closed   # EOF always ends it


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(muts=st.lists(mutation, min_size=1, max_size=3),
       chunks=st.lists(st.integers(1, 200), max_size=4))
def test_mutated_second_flight(muts, chunks):
    c = ScriptedClient(b"admin", PASSWORD)
    eng = tls_engine.ServerEngine(CFG)
    eng.receive_data(c.hello())
    assert eng.next_event() is tls_engine.NEED_DATA
    c.receive(eng.data_to_send())
    flight = c.key_exchange()
    data = mutate(flight, muts)
    events, out = drive(eng, data, chunks)
    check(events, out)
    if data != flight:
        assert not any(isinstance(e, tls_engine.HandshakeComplete) for e in events) or \
            data.startswith(flight)
    assert eng.closed
