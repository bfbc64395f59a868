"""Property test: mutated handshake flights never hang or kill the running server.

Flights are recorded at run time from real tlslite-ng sessions with our
server (full handshake + request, resumed handshake) plus our own raw
ClientHello; hypothesis flips, inserts, deletes, truncates and duplicates
bytes, cuts the result into chunks, and sends it.  Property: the server
answers with TLS records only, any alert it sends is fatal (or the
no_renegotiation warning), and it closes the connection within a bound --
at once, or once we stop sending (EOF).  After every example the server
process is alive; at the end a good client still completes a request.
The example count is bounded (SRP_FUZZ_EXAMPLES, default 60) and the run
derandomized, so CI time and results are stable; SRP_FUZZ_BUILD=32 runs the
server on the 32-bit build.
"""
import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tlslite import HandshakeSettings, TLSConnection

import rawtls
import serverproc
from test_negative import assert_serves

EXAMPLES = int(os.environ.get("SRP_FUZZ_EXAMPLES", "60"))
ANSWER_WAIT = 0.5     # s to wait for an answer before we send EOF
CLOSE_BOUND = 5.0     # s within which the server must close after our EOF

_state = {}


@pytest.fixture(scope="module")
def fuzz_server():
    srv = serverproc.SimServer(group=2048, backend=None, handshake_timeout=5,
                               build=os.environ.get("SRP_FUZZ_BUILD", "64")).start()
    _state["srv"] = srv
    _state["flights"] = record_flights(srv)
    yield srv
    srv.stop()


def record_flights(srv):
    flights = [rawtls.record(rawtls.HANDSHAKE, rawtls.client_hello(srv.user))]
    with rawtls.RecordingProxy(srv.port) as proxy:
        for resume in (None, True):
            sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
            conn = TLSConnection(sock)
            conn.handshakeClientSRP(srv.user, srv.password, settings=HandshakeSettings(),
                                    session=_state.get("session") if resume else None)
            _state["session"] = conn.session
            conn.write(b"GET / HTTP/1.1\r\n\r\n")
            while conn.read():
                pass
            conn.close()
    flights += [c2s for c2s, _ in proxy.flows]
    assert len(flights) == 3 and all(flights)
    return flights


MUTATION = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]),
                     st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16))


def mutate(data, mutations):
    data = bytearray(data)
    for kind, pos, blob in mutations:
        if not data:
            break
        i = pos % len(data)
        if kind == "flip":
            data[i] ^= 1 << (blob[0] % 8)
        elif kind == "set":
            data[i:i + len(blob)] = blob[:len(data) - i]
        elif kind == "insert":
            data[i:i] = blob
        elif kind == "delete":
            del data[i:i + len(blob)]
        elif kind == "truncate":
            del data[i:]
        elif kind == "dup":
            data[i:i] = data[i:i + 64 * len(blob)]
    return bytes(data)


def check_answer(raw):
    """Whatever came back parses as TLS records; alerts are fatal or the renegotiation warning."""
    recs = rawtls.parse_records(raw)
    assert sum(5 + len(p) for _, _, p in recs) == len(raw), "bytes that are not TLS records"
    for level, desc in rawtls.alerts(recs):
        assert level == 2 or desc in (0, 100), (level, desc)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 2), mutations=st.lists(MUTATION, min_size=1, max_size=4),
       chunk=st.integers(1, 600))
def test_mutated_flights(fuzz_server, which, mutations, chunk):
    srv = fuzz_server
    data = mutate(_state["flights"][which], mutations)
    with serverproc.connect(srv.port, timeout=10) as s:
        try:
            for off in range(0, len(data), chunk):
                s.sendall(data[off:off + chunk])
        except OSError:
            pass      # the server may already have closed on an early error
        raw, closed = rawtls.read_until_close(s, ANSWER_WAIT)
        if not closed:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            more, closed = rawtls.read_until_close(s, CLOSE_BOUND)
            raw += more
    assert closed, "server neither answered nor closed after EOF"
    check_answer(raw)
    assert srv.alive(), "server died:\n" + srv.stderr_text()[-2000:]


def test_still_serves_after_fuzzing(fuzz_server):
    assert fuzz_server.alive()
    assert_serves(fuzz_server)
    assert "Traceback" not in fuzz_server.stderr_text()
