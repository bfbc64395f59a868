"""The sans-IO TLS-SRP engine against the real tlslite-ng client, in memory (CPython).

tlslite-ng's TLSConnection runs in a thread on one end of a socketpair; the
test pumps the engine on the other end (pump()).  Edge cases no real client
will produce (A = 0, renegotiation, malformed records) use the scripted
client in tests/mp/tls_testclient.py or raw bytes.  Passwords are generated
at run time.
"""
import os
import secrets
import socket
import sys
import threading
from pathlib import Path

import pytest
from tlslite import HandshakeSettings, TLSConnection
from tlslite.errors import TLSRemoteAlert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "firmware"))
sys.path.insert(0, str(REPO / "tests" / "mp"))

from srptls import credential, srp, tls_engine  # noqa: E402
from srptls import tls_alert as alert  # noqa: E402
from srptls import tls_handshake as hs  # noqa: E402
from srptls import tls_record as rec  # noqa: E402
from tls_testclient import ScriptedClient, client_hello_body, record  # noqa: E402

BITS = 2048


def make_cred(user, bits=BITS):
    pw = secrets.token_urlsafe(12)
    salt = os.urandom(16)
    grp = srp.group(bits)
    return credential.Credential(user, bits, salt,
                                 srp.make_verifier(grp, user.encode(), pw.encode(), salt)), pw


@pytest.fixture
def users():
    admin, admin_pw = make_cred("admin")
    other, other_pw = make_cred("operator")
    return {"admin": (admin, admin_pw), "operator": (other, other_pw)}


def make_cfg(users, **kw):
    creds = {name: c for name, (c, _) in users.items()}
    return tls_engine.ServerConfig(creds.get, os.urandom(32), **kw)


def settings(max_version=(3, 3), cipher=None, etm=True, ems=True, min_version=None):
    s = HandshakeSettings()
    s.maxVersion = max_version
    if min_version:
        s.minVersion = min_version
    if cipher:
        s.cipherNames = [cipher]
    s.useEncryptThenMAC = etm
    s.useExtendedMasterSecret = ems
    return s


def pump(cfg, client_fn, chunk=65536, on_data=None, eng=None, log=None):
    """Run client_fn(TLSConnection) in a thread against an engine; return (events, result).

    result is client_fn's return value or the exception it raised.  The
    engine echoes application data upper-cased unless on_data is given.
    `log` (a list) receives every record header+type the server writes.
    """
    a, b = socket.socketpair()
    a.settimeout(20)
    b.settimeout(20)
    out = {}

    def client():
        try:
            out["result"] = client_fn(TLSConnection(a))
        except Exception as e:  # the test inspects it
            out["result"] = e
        finally:
            a.close()

    t = threading.Thread(target=client)
    t.start()
    eng = eng or tls_engine.ServerEngine(cfg)
    events = []

    def flush():
        data = eng.data_to_send()
        if data:
            if log is not None:
                log.append(data)
            try:
                b.sendall(data)
            except OSError:
                pass   # the client may already have gone

    try:
        for _ in range(100000):   # bounded
            evt = eng.next_event()
            flush()
            if evt is tls_engine.NEED_DATA:
                if eng.closed:
                    break
                try:
                    data = b.recv(chunk)
                except ConnectionResetError:
                    data = b""
                eng.receive_data(data)
                continue
            events.append(evt)
            if isinstance(evt, tls_engine.ApplicationData):
                if on_data:
                    on_data(eng, evt.data)
                else:
                    eng.send(evt.data.upper())
                flush()
        else:
            raise AssertionError("pump did not finish")
    finally:
        b.close()
        t.join(30)
    assert not t.is_alive()
    return events, out.get("result")


def srp_client(user, pw, sett=None, session=None, message=b"ping", keep=None):
    def run(conn):
        conn.handshakeClientSRP(user, pw, settings=sett or settings(), session=session)
        info = {"etm": conn.encryptThenMAC, "ems": conn.extendedMasterSecret,
                "cipher": conn.getCipherName(), "version": conn.version,
                "resumed": conn.resumed, "session": conn.session}
        conn.write(message)
        info["reply"] = conn.read(max=len(message) + 100)
        conn.close()
        return info
    return run


def of_type(events, cls):
    return [e for e in events if isinstance(e, cls)]


# -- full handshakes with a real client -------------------------------------------------

@pytest.mark.parametrize("cipher,suite", [("aes256", 0xC020), ("aes128", 0xC01D)])
def test_full_handshake_both_suites(users, cipher, suite):
    cred, pw = users["admin"]
    cfg = make_cfg(users)
    events, info = pump(cfg, srp_client("admin", pw, settings(cipher=cipher)))
    assert isinstance(info, dict), info
    assert info["reply"] == b"PING"
    assert info["etm"] and info["ems"] and info["version"] == (3, 3)
    done = of_type(events, tls_engine.HandshakeComplete)
    assert done == [tls_engine.HandshakeComplete(
        "admin", suite, hs.SUITES[suite][0], BITS, True, True, False)]
    assert of_type(events, tls_engine.ApplicationData)[0].data == b"ping"
    # tlslite closes with close_notify: a clean close, answered in kind.
    assert of_type(events, tls_engine.PeerClosed) == [tls_engine.PeerClosed(True)]


def test_tls13_capable_client_gets_tls12(users):
    cred, pw = users["admin"]
    events, info = pump(make_cfg(users), srp_client("admin", pw, settings(max_version=(3, 4))))
    assert isinstance(info, dict), info
    assert info["version"] == (3, 3) and info["reply"] == b"PING"


def test_large_data_round_trip(users):
    cred, pw = users["admin"]
    payload = os.urandom(40000)

    def run(conn):
        conn.handshakeClientSRP("admin", pw, settings=settings())
        conn.write(payload)
        got = b""
        while len(got) < len(payload):
            got += conn.read()
        conn.close()
        return got
    events, got = pump(make_cfg(users), run)
    assert got == payload.upper()


def test_record_size_limit_keeps_receive_buffer_small(users):
    # tlslite-ng sends record_size_limit (RFC 8449): it must then respect
    # ours, so even 40 KB of upload never grows the receive buffer past ~4 KB.
    cred, pw = users["admin"]
    payload = os.urandom(40000)
    eng = tls_engine.ServerEngine(make_cfg(users))

    def run(conn):
        conn.handshakeClientSRP("admin", pw, settings=settings())
        conn.write(payload)
        got = b""
        while len(got) < len(payload):
            got += conn.read()
        conn.close()
        return got
    events, got = pump(make_cfg(users), run, eng=eng)
    assert got == payload.upper()
    assert len(eng._rec._rx) <= tls_engine.RECORD_SIZE_LIMIT + 1024


def test_record_size_limit_of_client_honoured(users):
    cred, pw = users["admin"]
    c = ScriptedClient(b"admin", pw.encode(), extra=[(28, (64).to_bytes(2, "big"))])
    eng = tls_engine.ServerEngine(make_cfg(users))
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange())
    assert isinstance(eng.next_event(), tls_engine.HandshakeComplete)
    c.receive(eng.data_to_send())
    eng.send(b"z" * 1000)
    out = eng.data_to_send()
    c.receive(out)
    assert b"".join(c.app) == b"z" * 1000 and len(c.app) == 16   # 1000 / 64
    # and a record over the limit we announced is refused
    c.rec.send_fragment = 16384
    eng.receive_data(c.send(rec.APPLICATION_DATA, b"y" * 4096))
    assert eng.next_event() == tls_engine.ApplicationData(b"y" * 4096)
    eng.receive_data(c.send(rec.APPLICATION_DATA, b"y" * 4097))
    assert eng.next_event() == tls_engine.AlertSent(alert.RECORD_OVERFLOW)


@pytest.mark.parametrize("value,expected", [(b"\x00\x3f", alert.ILLEGAL_PARAMETER),
                                            (b"\x10", alert.DECODE_ERROR)])
def test_record_size_limit_malformed(users, value, expected):
    body = client_hello_body(extra=[(28, value)])
    eng, evt, out = _first_flight(make_cfg(users), record(22, hs.message(1, body)))
    assert evt == tls_engine.AlertSent(expected)


def test_precompute_used_and_measured(users):
    cred, pw = users["admin"]
    cfg = make_cfg(users)
    # learn the group from one login, then prepare in "idle time"
    pump(cfg, srp_client("admin", pw))
    steps = 0
    while cfg.prepare():
        steps += 1
    assert steps == tls_engine.PREPARED_POOL - 1
    eng = tls_engine.ServerEngine(cfg)
    pump(cfg, srp_client("admin", pw), eng=eng)
    assert eng.stats["prepared"] is True
    cfg_off = make_cfg(users, precompute=False)
    assert cfg_off.prepare() is False
    eng2 = tls_engine.ServerEngine(cfg_off)
    pump(cfg_off, srp_client("admin", pw), eng=eng2)
    assert eng2.stats["prepared"] is False
    assert eng.stats["hello_ms"] >= 0 and eng2.stats["key_exchange_ms"] > 0


# -- resumption ---------------------------------------------------------------------------

def test_resumption(users):
    cred, pw = users["admin"]
    cfg = make_cfg(users)
    ev1, first = pump(cfg, srp_client("admin", pw))
    assert first["resumed"] is False
    ev2, second = pump(cfg, srp_client("admin", pw, session=first["session"]))
    assert isinstance(second, dict), second
    assert second["resumed"] is True and second["reply"] == b"PING"
    done = of_type(ev2, tls_engine.HandshakeComplete)[0]
    assert done.resumed and done.user == "admin" and done.etm and done.ems


def test_resumption_other_user_gets_full_handshake(users):
    cred, pw = users["admin"]
    _, other_pw = users["operator"]
    cfg = make_cfg(users)
    _, first = pump(cfg, srp_client("admin", pw))
    # Scripted: the old session id with another user's name (RFC 5054 2.5.1.1).
    c = ScriptedClient(b"operator", other_pw.encode(), session_id=first["session"].sessionID)
    eng = tls_engine.ServerEngine(cfg)
    eng.receive_data(c.hello())
    assert eng.next_event() is tls_engine.NEED_DATA
    c.receive(eng.data_to_send())
    types = [m[0] for m in c.server_msgs]
    assert types == [hs.SERVER_HELLO, hs.SERVER_KEY_EXCHANGE, hs.SERVER_HELLO_DONE]
    eng.receive_data(c.key_exchange())
    evt = eng.next_event()
    assert isinstance(evt, tls_engine.HandshakeComplete)
    assert evt.user == "operator" and not evt.resumed


def test_resumption_expires(users):
    cred, pw = users["admin"]
    now = [1000.0]
    cfg = make_cfg(users, session_lifetime=60, clock=lambda: now[0])
    _, first = pump(cfg, srp_client("admin", pw))
    now[0] += 61
    _, second = pump(cfg, srp_client("admin", pw, session=first["session"]))
    assert second["resumed"] is False


def test_no_resumption_after_password_change(users):
    cred, pw = users["admin"]
    creds = {"admin": cred}
    cfg = tls_engine.ServerConfig(lambda u: creds.get(u), os.urandom(32))
    _, first = pump(cfg, srp_client("admin", pw))
    new_cred, new_pw = make_cred("admin")
    creds["admin"] = new_cred
    _, second = pump(cfg, srp_client("admin", new_pw, session=first["session"]))
    assert second["resumed"] is False and second["reply"] == b"PING"
    # forget_sessions() drops every cached session at once
    cfg.forget_sessions()
    _, third = pump(cfg, srp_client("admin", new_pw, session=second["session"]))
    assert third["resumed"] is False


# -- authentication failures ----------------------------------------------------------

def _failed_login(cfg, user, pw):
    log = []
    events, result = pump(cfg, srp_client(user, pw), log=log)
    return events, result, log


def _server_flow(log):
    """(content type, handshake types, lengths) of what the server wrote, without payload values."""
    c = ScriptedClient(b"x", b"x")
    c.receive(b"".join(log))
    msgs = [(m[0], len(m[1]) if m[0] != hs.SERVER_KEY_EXCHANGE else "ske") for m in c.server_msgs]
    return msgs, c.alerts


def test_wrong_password_bad_record_mac(users):
    cfg = make_cfg(users)
    events, result, log = _failed_login(cfg, "admin", "not-" + secrets.token_hex(4))
    assert isinstance(result, TLSRemoteAlert)
    assert result.description == alert.BAD_RECORD_MAC
    assert of_type(events, tls_engine.AlertSent) == [tls_engine.AlertSent(alert.BAD_RECORD_MAC)]


def test_unknown_user_indistinguishable_from_wrong_password(users):
    cfg = make_cfg(users)
    ev_wrong, res_wrong, log_wrong = _failed_login(cfg, "admin", "x" + secrets.token_hex(4))
    ev_unk, res_unk, log_unk = _failed_login(cfg, "nobody", "x" + secrets.token_hex(4))
    assert isinstance(res_unk, TLSRemoteAlert) and res_unk.description == alert.BAD_RECORD_MAC
    assert of_type(ev_unk, tls_engine.AlertSent) == of_type(ev_wrong, tls_engine.AlertSent)
    assert _server_flow(log_unk) == _server_flow(log_wrong)
    # Same group and salt length as the real user; salt stable across attempts.
    salts = []
    for _ in range(2):
        c = ScriptedClient(b"nobody", b"pw")
        eng = tls_engine.ServerEngine(cfg)
        eng.receive_data(c.hello())
        eng.next_event()
        c.receive(eng.data_to_send())
        c.key_exchange()
        salts.append(c.salt)
    real = users["admin"][0]
    assert salts[0] == salts[1] and len(salts[0]) == len(real.salt) and salts[0] != real.salt


@pytest.mark.parametrize("mult", [0, 1, 2])
def test_A_multiple_of_N_illegal_parameter(users, mult):
    cfg = make_cfg(users)
    c = ScriptedClient(b"admin", b"irrelevant")
    eng = tls_engine.ServerEngine(cfg)
    eng.receive_data(c.hello())
    assert eng.next_event() is tls_engine.NEED_DATA
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange(A=mult * srp.group(BITS).N))
    assert eng.next_event() == tls_engine.AlertSent(alert.ILLEGAL_PARAMETER)
    c.receive(eng.data_to_send())
    assert c.alerts == [(alert.FATAL, alert.ILLEGAL_PARAMETER)]
    assert eng.closed


def test_A_not_reduced_illegal_parameter(users):
    c = ScriptedClient(b"admin", b"irrelevant")
    eng = tls_engine.ServerEngine(make_cfg(users))
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange(A=srp.group(BITS).N + 2))
    assert eng.next_event() == tls_engine.AlertSent(alert.ILLEGAL_PARAMETER)


# -- negotiation refusals -----------------------------------------------------------------

def _first_flight(cfg, data):
    eng = tls_engine.ServerEngine(cfg)
    eng.receive_data(data)
    evt = eng.next_event()
    return eng, evt, eng.data_to_send()


def test_missing_srp_extension_unknown_psk_identity(users):
    body = client_hello_body(srp_ext=False)
    eng, evt, out = _first_flight(make_cfg(users), record(22, hs.message(1, body)))
    assert evt == tls_engine.AlertSent(alert.UNKNOWN_PSK_IDENTITY)
    assert out == record(21, bytes((2, alert.UNKNOWN_PSK_IDENTITY)))


def test_tls10_only_client_protocol_version(users):
    cred, pw = users["admin"]
    events, result = pump(make_cfg(users), srp_client(
        "admin", pw, settings(max_version=(3, 1), min_version=(3, 1))))
    assert isinstance(result, TLSRemoteAlert), result
    assert result.description == alert.PROTOCOL_VERSION
    assert of_type(events, tls_engine.AlertSent) == [tls_engine.AlertSent(alert.PROTOCOL_VERSION)]


def test_no_common_suite_handshake_failure(users):
    body = client_hello_body(suites=(0x002F, 0xC02F))
    eng, evt, out = _first_flight(make_cfg(users), record(22, hs.message(1, body)))
    assert evt == tls_engine.AlertSent(alert.HANDSHAKE_FAILURE)


def test_etm_required_by_default(users):
    cred, pw = users["admin"]
    events, result = pump(make_cfg(users), srp_client("admin", pw, settings(etm=False)))
    assert isinstance(result, TLSRemoteAlert)
    assert result.description == alert.INSUFFICIENT_SECURITY


def test_mac_then_encrypt_opt_in(users):
    cred, pw = users["admin"]
    events, info = pump(make_cfg(users, require_etm=False),
                        srp_client("admin", pw, settings(etm=False), message=b"x" * 3000))
    assert isinstance(info, dict), info
    assert info["etm"] is False and info["reply"] == b"X" * 3000
    assert of_type(events, tls_engine.HandshakeComplete)[0].etm is False


def test_sslv2_hello_protocol_version(users):
    sslv2 = bytes.fromhex("802e0103010015000000100700c00500800300800100800600400400800200") + os.urandom(16)
    eng, evt, out = _first_flight(make_cfg(users), sslv2)
    assert evt == tls_engine.AlertSent(alert.PROTOCOL_VERSION) and eng.closed


def test_renegotiation_refused_with_warning(users):
    cred, pw = users["admin"]
    cfg = make_cfg(users)
    c = ScriptedClient(b"admin", pw.encode())
    eng = tls_engine.ServerEngine(cfg)
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange())
    assert isinstance(eng.next_event(), tls_engine.HandshakeComplete)
    c.receive(eng.data_to_send())
    assert c.server_finished_ok()
    eng.receive_data(c.send(rec.HANDSHAKE, hs.message(1, client_hello_body())))
    assert eng.next_event() is tls_engine.NEED_DATA and not eng.closed
    c.receive(eng.data_to_send())
    assert c.alerts == [(alert.WARNING, alert.NO_RENEGOTIATION)]
    # The connection still works...
    eng.receive_data(c.send(rec.APPLICATION_DATA, b"still here"))
    assert eng.next_event() == tls_engine.ApplicationData(b"still here")
    # ...but a peer that insists is cut off.
    for _ in range(tls_engine.MAX_RENEGOTIATION_ATTEMPTS):
        eng.receive_data(c.send(rec.HANDSHAKE, hs.message(1, client_hello_body())))
        eng.next_event()
    assert eng.closed and eng.state == tls_engine.FAILED


def test_server_close_notify(users):
    cred, pw = users["admin"]

    def run(conn):
        conn.handshakeClientSRP("admin", pw, settings=settings())
        conn.write(b"bye?")
        return conn.read()   # b"" once the server's close_notify arrives

    def close_now(eng, data):
        eng.close()
    events, result = pump(make_cfg(users), run, on_data=close_now)
    assert result == b""


# -- record layer hygiene -------------------------------------------------------------

def test_byte_by_byte(users):
    cred, pw = users["admin"]
    events, info = pump(make_cfg(users), srp_client("admin", pw), chunk=1)
    assert isinstance(info, dict) and info["reply"] == b"PING"


def test_handshake_message_split_across_records(users):
    msg = hs.message(1, client_hello_body())
    data = b"".join(record(22, msg[i:i + 7]) for i in range(0, len(msg), 7))
    eng, evt, out = _first_flight(make_cfg(users), data)
    assert evt is tls_engine.NEED_DATA and not eng.closed
    # our whole first flight is several messages in ONE record
    assert out[0] == 22 and len(out) == 5 + (out[3] << 8 | out[4])
    c = ScriptedClient(b"admin", b"pw")
    c.receive(out)
    assert [m[0] for m in c.server_msgs] == [2, 12, 14]


def test_several_messages_in_one_record(users):
    # Two ClientHellos in one record: the first is processed (server flight
    # queued), the second is then out of order.
    msg = hs.message(1, client_hello_body())
    eng, evt, out = _first_flight(make_cfg(users), record(22, msg + msg))
    assert evt == tls_engine.AlertSent(alert.UNEXPECTED_MESSAGE)
    c = ScriptedClient(b"admin", b"pw")
    c.receive(out)
    assert [m[0] for m in c.server_msgs] == [2, 12, 14]
    assert c.alerts == [(2, alert.UNEXPECTED_MESSAGE)]


def test_oversized_record_overflow(users):
    data = bytes((22, 3, 3)) + (16385).to_bytes(2, "big")
    eng, evt, out = _first_flight(make_cfg(users), data)
    assert evt == tls_engine.AlertSent(alert.RECORD_OVERFLOW)
    assert out == bytes((21, 3, 3, 0, 2, 2, alert.RECORD_OVERFLOW))


def test_oversized_encrypted_record_overflow(users):
    cred, pw = users["admin"]
    c = ScriptedClient(b"admin", pw.encode())
    eng = tls_engine.ServerEngine(make_cfg(users))
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange())
    eng.next_event()
    eng.receive_data(bytes((23, 3, 3)) + (16384 + 2049).to_bytes(2, "big"))
    assert eng.next_event() == tls_engine.AlertSent(alert.RECORD_OVERFLOW)


@pytest.mark.parametrize("data,expected", [
    (b"GET / HTTP/1.1\r\n\r\n", alert.UNEXPECTED_MESSAGE),          # not TLS at all
    (record(22, b"\x01\x00\x00\x05abc"), None),                       # incomplete: waits
    (record(22, b"\x01\x00\x00\x02abc"), alert.DECODE_ERROR),         # 2-byte hello + junk
    (record(22, hs.message(1, b"\x03\x03" + b"\x00" * 10)), alert.DECODE_ERROR),
    (record(22, b""), alert.DECODE_ERROR),                            # empty handshake record
    (record(23, b"early data"), alert.UNEXPECTED_MESSAGE),
    (record(20, b"\x01"), alert.UNEXPECTED_MESSAGE),
    (record(21, b"\x02"), alert.DECODE_ERROR),
    (record(22, hs.message(16, b"\x00\x01\x05")), alert.UNEXPECTED_MESSAGE),
    (bytes((22, 3, 3, 0, 4, 1, 0x10, 0, 0)), alert.DECODE_ERROR),     # 1 MB message announced
    (bytes((22, 2, 0, 0, 4)) + b"abcd", alert.PROTOCOL_VERSION),
])
def test_malformed_input_alerts(users, data, expected):
    eng, evt, out = _first_flight(make_cfg(users), data)
    if expected is None:
        assert evt is tls_engine.NEED_DATA and not eng.closed
    else:
        assert evt == tls_engine.AlertSent(expected)
        assert out.endswith(bytes((2, expected))) and eng.closed
        assert eng.next_event() is tls_engine.NEED_DATA   # failed stays failed
        eng.receive_data(b"more")
        assert eng.next_event() is tls_engine.NEED_DATA and eng.data_to_send() == b""


def test_fatal_alert_received(users):
    eng, evt, out = _first_flight(make_cfg(users), record(21, b"\x02\x28"))
    assert evt == tls_engine.AlertReceived(2, 40) and eng.closed and out == b""


def test_eof_mid_handshake(users):
    eng = tls_engine.ServerEngine(make_cfg(users))
    eng.receive_data(record(22, b"\x01\x00")[:6])
    assert eng.next_event() is tls_engine.NEED_DATA
    eng.receive_data(b"")
    assert eng.next_event() == tls_engine.PeerClosed(False) and eng.closed


def test_bug_below_the_engine_becomes_internal_error(users):
    def broken_lookup(user):
        raise RuntimeError("credential store broken")
    cfg = tls_engine.ServerConfig(broken_lookup, os.urandom(32))
    eng, evt, out = _first_flight(cfg, record(22, hs.message(1, client_hello_body())))
    assert evt == tls_engine.AlertSent(alert.INTERNAL_ERROR) and eng.closed
    assert out == record(21, bytes((2, alert.INTERNAL_ERROR)))
    assert "credential store broken" in eng.error


def test_error_reason_is_recorded(users):
    body = client_hello_body(srp_ext=False)
    eng, evt, out = _first_flight(make_cfg(users), record(22, hs.message(1, body)))
    assert "SRP extension" in eng.error


def test_send_before_handshake_is_local_error(users):
    eng = tls_engine.ServerEngine(make_cfg(users))
    with pytest.raises(alert.LocalProtocolError):
        eng.send(b"x")


def test_random_garbage_never_raises(users):
    cfg = make_cfg(users)
    for i in range(200):
        eng = tls_engine.ServerEngine(cfg)
        eng.receive_data(os.urandom(1 + i * 7))
        eng.receive_data(b"")
        evt = eng.next_event()
        assert evt is not tls_engine.NEED_DATA
        assert eng.closed
