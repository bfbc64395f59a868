"""Negative tests: every bad client gets its alert (or a close) and the server lives on.

The server runs under MicroPython (boards/sim/serve, 2048-bit group, the
default modexp backend, 3 s handshake timeout).  Wrong passwords and unknown users use the
real tlslite-ng client; malformed inputs that no real client produces are
sent as raw bytes (tests/rawtls.py).  After each case a good tlslite-ng
client must still complete a handshake and a request.
"""
import os
import socket
import struct
import subprocess
import time

import pytest
from tlslite.errors import TLSRemoteAlert

import rawtls
import serverproc
from rawtls import record, client_hello, read_until_close, parse_records

BAD_RECORD_MAC, RECORD_OVERFLOW, HANDSHAKE_FAILURE = 20, 22, 40
ILLEGAL_PARAMETER, DECODE_ERROR, PROTOCOL_VERSION = 47, 50, 70
UNEXPECTED_MESSAGE, UNKNOWN_PSK_IDENTITY = 10, 115
INSUFFICIENT_SECURITY = 71
HANDSHAKE_TIMEOUT = 3


@pytest.fixture(scope="module")
def srv():
    s = serverproc.SimServer(group=2048, backend=None,   # the device's default
                             handshake_timeout=HANDSHAKE_TIMEOUT).start()
    yield s
    s.stop()


@pytest.fixture
def server(srv):
    """The shared server; after the test it must still serve a good client."""
    yield srv
    assert srv.alive(), "server died:\n" + srv.stderr_text()
    assert_serves(srv)


def assert_serves(srv):
    conn = serverproc.srp_client(srv.port, srv.user, srv.password)
    payload = os.urandom(8).hex().encode()
    reply = serverproc.exchange(
        conn, b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
    assert reply.endswith(payload), reply


def exchange(port, data, shutdown=False, timeout=10):
    """Send raw bytes; return (records received, connection closed by server)."""
    with serverproc.connect(port) as s:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        raw, closed = read_until_close(s, timeout)
    return parse_records(raw), closed, raw


def assert_fatal_alert(records, closed, description):
    got = rawtls.alerts(records)
    assert got, "no alert; records=%r" % (records,)
    assert got[-1] == (2, description), "alert %r, expected fatal %d" % (got, description)
    assert closed, "server kept the connection open after a fatal alert"


def assert_refused(records, closed, raw):
    """Any fatal alert or a plain close, and never a ServerHello."""
    assert closed, "connection left open"
    assert not any(m == rawtls.SERVER_HELLO for m, _ in rawtls.parse_handshakes(records))
    got = rawtls.alerts(records)
    if got:
        assert got[-1][0] == 2, got
    else:
        assert raw == b"", raw


# -- wrong password / unknown user ------------------------------------------

def failed_login(port, user, password):
    """Real client, bad credentials: (alert the client saw, server's flight)."""
    with rawtls.RecordingProxy(port) as proxy:
        with pytest.raises(TLSRemoteAlert) as info:
            serverproc.srp_client(proxy.port, user, password)
    flight = parse_records(proxy.flows[0][1])
    return info.value.description, flight


def flow_shape(records):
    """What an observer sees: record types, handshake types, N/g/salt lengths."""
    msgs = rawtls.parse_handshakes(records)
    ske = [b for m, b in msgs if m == rawtls.SERVER_KEY_EXCHANGE][0]
    N, g, s, B = rawtls.ske_fields(ske)
    return ([t for t, _, _ in records], [m for m, _ in msgs], N, g, len(s),
            rawtls.alerts(records))


def test_wrong_password_bad_record_mac(server):
    desc, flight = failed_login(server.port, server.user, server.password + "!")
    assert desc == BAD_RECORD_MAC
    assert rawtls.alerts(flight) == [(2, BAD_RECORD_MAC)]


def test_unknown_user_looks_like_wrong_password(server):
    wrong = failed_login(server.port, server.user, server.password + "!")
    unknown = failed_login(server.port, "nobody-" + os.urandom(4).hex(), server.password)
    assert unknown[0] == wrong[0] == BAD_RECORD_MAC
    assert flow_shape(unknown[1]) == flow_shape(wrong[1])


def test_unknown_user_gets_a_stable_salt(server):
    """The simulated salt is derived, not random per attempt (else it is distinguishable)."""
    user = "ghost-" + os.urandom(4).hex()
    salts = []
    for _ in range(2):
        with serverproc.connect(server.port) as s:
            s.sendall(record(rawtls.HANDSHAKE, client_hello(user)))
            recs = rawtls.read_flight(s)
        ske = [b for m, b in rawtls.parse_handshakes(recs) if m == rawtls.SERVER_KEY_EXCHANGE]
        assert ske, recs
        salts.append(rawtls.ske_fields(ske[0])[2])
    assert salts[0] == salts[1] and len(salts[0]) >= 16


# -- bad A ------------------------------------------------------------------

@pytest.mark.parametrize("multiple", [0, 1, 2])
def test_bad_client_public_value(server, multiple):
    """A % N == 0 (A = 0, N, 2N) -> illegal_parameter (RFC 5054 2.5.4)."""
    with serverproc.connect(server.port) as s:
        s.sendall(record(rawtls.HANDSHAKE, client_hello(server.user)))
        recs = rawtls.read_flight(s)
        ske = [b for m, b in rawtls.parse_handshakes(recs) if m == rawtls.SERVER_KEY_EXCHANGE]
        assert ske, recs
        N = int.from_bytes(rawtls.ske_fields(ske[0])[0], "big")
        A = multiple * N
        width = max(1, (N.bit_length() + 7) // 8 + (1 if multiple == 2 else 0))
        s.sendall(record(rawtls.HANDSHAKE,
                         rawtls.client_key_exchange(A.to_bytes(width, "big"))))
        raw, closed = read_until_close(s)
    assert_fatal_alert(parse_records(raw), closed, ILLEGAL_PARAMETER)


# -- ClientHello problems ----------------------------------------------------

def test_no_srp_extension(server):
    """RFC 5054 2.5.1.2: SRP suite wanted, no user name -> unknown_psk_identity."""
    exts = [rawtls.ext(rawtls.EXT_ETM), rawtls.ext(rawtls.EXT_EMS)]
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, client_hello(exts=exts)))
    assert_fatal_alert(recs, closed, UNKNOWN_PSK_IDENTITY)


def test_no_common_cipher_suite(server):
    hello = client_hello(server.user, suites=(0x002F, 0x0035, 0xC02F))
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, hello))
    assert_fatal_alert(recs, closed, HANDSHAKE_FAILURE)


def test_tls10_only(server):
    hello = client_hello(server.user, version=rawtls.TLS10)
    recs, closed, _ = exchange(server.port,
                               record(rawtls.HANDSHAKE, hello, version=rawtls.TLS10))
    assert_fatal_alert(recs, closed, PROTOCOL_VERSION)


def test_no_etm_refused_by_default(server):
    """EtM is required by default: MAC-then-encrypt CBC cannot be constant-time here."""
    exts = [rawtls.srp_ext(server.user), rawtls.ext(rawtls.EXT_EMS)]
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, client_hello(exts=exts)))
    # insufficient_security: "the server requires more than the client offers".
    assert_fatal_alert(recs, closed, INSUFFICIENT_SECURITY)


def test_sslv2_hello(server):
    specs = b"\x00\x00\x2f\x00\x00\xff"     # TLS_RSA_WITH_AES_128_CBC_SHA, SCSV
    challenge = os.urandom(16)
    body = b"\x01\x03\x03" + struct.pack("!HHH", len(specs), 0, len(challenge)) + specs + challenge
    v2 = struct.pack("!H", 0x8000 | len(body)) + body
    recs, closed, raw = exchange(server.port, v2)
    assert_refused(recs, closed, raw)
    assert_fatal_alert(recs, closed, PROTOCOL_VERSION)


def test_nonempty_renegotiation_info_on_first_handshake(server):
    """RFC 5746 3.6: renegotiated_connection must be empty initially -> handshake_failure."""
    exts = rawtls.standard_exts(server.user)[:-1] + [rawtls.ext(rawtls.EXT_RENEG, b"\x0c" + b"\x00" * 12)]
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, client_hello(exts=exts)))
    assert_fatal_alert(recs, closed, HANDSHAKE_FAILURE)


def test_renegotiation_refused(server):
    """A real client (gnutls-cli --rehandshake) asks to renegotiate; it is refused."""
    # subprocess.run kills the client if it outlives the timeout
    out = subprocess.run(
        ["gnutls-cli", "--rehandshake", "--srpusername", server.user,
         "--srppasswd", server.password, "--priority", "NORMAL:-KX-ALL:+SRP",
         "-p", str(server.port), "127.0.0.1"],
        input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60).stdout
    text = out.decode(errors="replace")
    assert "Handshake was completed" in text, text
    # Our answer is a no_renegotiation warning; gnutls-cli insists, and is
    # cut off after MAX_RENEGOTIATION_ATTEMPTS.
    assert "A TLS warning alert has been received" in text, text
    assert "ReHandshake has failed" in text, text


# -- record layer ------------------------------------------------------------

def test_malformed_extensions_length(server):
    hello = bytearray(client_hello(server.user))
    exts_len = sum(len(e) for e in rawtls.standard_exts(server.user))
    hello[len(hello) - exts_len - 2] ^= 0x40   # extensions length now overruns the body
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, bytes(hello)))
    assert_fatal_alert(recs, closed, DECODE_ERROR)


def test_truncated_record_then_eof(server):
    full = record(rawtls.HANDSHAKE, client_hello(server.user))
    recs, closed, raw = exchange(server.port, full[:len(full) // 2], shutdown=True)
    assert closed
    assert not any(m == rawtls.SERVER_HELLO for m, _ in rawtls.parse_handshakes(recs))


def test_truncated_handshake_message(server):
    hello = client_hello(server.user)
    # The record is whole, the handshake message inside claims more than follows.
    recs, closed, raw = exchange(server.port, record(rawtls.HANDSHAKE, hello[:-10]),
                                 shutdown=True)
    assert closed
    assert not any(m == rawtls.SERVER_HELLO for m, _ in rawtls.parse_handshakes(recs))


def test_oversized_record(server):
    payload = b"\x16" * (2 ** 14 + 2048 + 1)   # beyond any TLSCiphertext limit
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, payload))
    assert_fatal_alert(recs, closed, RECORD_OVERFLOW)


def test_oversized_plaintext_record(server):
    payload = client_hello(server.user) + b"\x00" * (2 ** 14 + 1)
    recs, closed, _ = exchange(server.port, record(rawtls.HANDSHAKE, payload[:2 ** 14 + 1]))
    assert_fatal_alert(recs, closed, RECORD_OVERFLOW)


def test_unexpected_message_first(server):
    """Application data before any handshake -> unexpected_message."""
    recs, closed, _ = exchange(server.port, record(rawtls.APPDATA, b"GET / HTTP/1.0\r\n\r\n"))
    assert_fatal_alert(recs, closed, UNEXPECTED_MESSAGE)


def test_plain_http(server):
    recs, closed, raw = exchange(server.port, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    assert_refused(recs, closed, raw)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bytes(server, seed):
    import random
    data = random.Random(seed).randbytes(3000)
    assert_refused(*exchange(server.port, data))


# -- timeouts ----------------------------------------------------------------

def test_silent_client_is_closed(server):
    t0 = time.monotonic()
    with serverproc.connect(server.port) as s:
        raw, closed = read_until_close(s, timeout=HANDSHAKE_TIMEOUT + 10)
    took = time.monotonic() - t0
    assert closed, "silent client still connected after %.1f s" % took
    assert took < HANDSHAKE_TIMEOUT + 5, took
    assert not any(m == rawtls.SERVER_HELLO
                   for m, _ in rawtls.parse_handshakes(parse_records(raw)))


def test_client_stalls_mid_handshake(server):
    t0 = time.monotonic()
    with serverproc.connect(server.port) as s:
        s.sendall(record(rawtls.HANDSHAKE, client_hello(server.user)))
        raw, closed = read_until_close(s, timeout=HANDSHAKE_TIMEOUT + 10)
    assert closed and time.monotonic() - t0 < HANDSHAKE_TIMEOUT + 5
    msgs = [m for m, _ in rawtls.parse_handshakes(parse_records(raw))]
    assert msgs[:3] == [rawtls.SERVER_HELLO, rawtls.SERVER_KEY_EXCHANGE,
                        rawtls.SERVER_HELLO_DONE]


def test_silent_client_does_not_block_others(server):
    """While one client sits silent, another completes its handshake."""
    with serverproc.connect(server.port):
        assert_serves(server)


def test_server_logs_hold_no_password(server):
    assert server.password not in server.stderr_text()
