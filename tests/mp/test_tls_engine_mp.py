"""TLS engine smoke test executed by MicroPython (the device's interpreter).

The peer is the scripted client in tls_testclient.py, built from the
engine's own primitives: this proves the engine, cryptolib AES, hashlib and
the SRP math work together under MicroPython (and within a small heap), not
interoperability, which tests/test_tls_engine.py (tlslite-ng) and the
interop tests (curl, openssl, gnutls-cli) establish.

Usage: micropython test_tls_engine_mp.py [BITS [BACKEND]]   (default 2048, automatic)
Prints `stat key=value` lines (online handshake cost, heap) for the runner.
"""
import gc
import os
import sys

import mptest
from srptls import credential, modexp, srp, tls_engine
from srptls import tls_alert as alert
from srptls import tls_handshake as hs
from srptls import tls_record as rec
from tls_testclient import ScriptedClient, client_hello_body, record

BITS = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
if len(sys.argv) > 2:
    modexp.select(sys.argv[2])
print("stat bits=%d backend=%s" % (BITS, modexp.backend()))
PASSWORD = "".join("%02x" % b for b in os.urandom(10)).encode()   # fresh per run
SALT = os.urandom(16)
GRP = srp.group(BITS)
CRED = credential.Credential("admin", BITS, SALT, srp.make_verifier(GRP, b"admin", PASSWORD, SALT))


def cfg(**kw):
    return tls_engine.ServerConfig(lambda u: CRED if u == "admin" else None, os.urandom(32),
                                   simulate_like=CRED, **kw)


def handshake(config, password=PASSWORD, user=b"admin", chunk=None):
    c = ScriptedClient(user, password)
    eng = tls_engine.ServerEngine(config)
    feed(eng, c.hello(), chunk)
    evt = eng.next_event()
    assert evt is tls_engine.NEED_DATA, (evt, eng.error)
    c.receive(eng.data_to_send())
    feed(eng, c.key_exchange(), chunk)
    evt = eng.next_event()
    c.receive(eng.data_to_send())
    if eng.error:
        print("engine error:", eng.error)
    return c, eng, evt


def feed(eng, data, chunk):
    if not chunk:
        eng.receive_data(data)
        return
    for i in range(0, len(data), chunk):
        eng.receive_data(data[i:i + chunk])


def test_full_handshake_and_data():
    c, eng, evt = handshake(cfg())
    assert isinstance(evt, tls_engine.HandshakeComplete), evt
    assert evt.user == "admin" and evt.group_bits == BITS and evt.etm and evt.ems
    assert evt.cipher_suite == 0xC020 and not evt.resumed
    assert c.server_finished_ok()
    eng.receive_data(c.send(rec.APPLICATION_DATA, b"GET / HTTP/1.0\r\n\r\n"))
    assert eng.next_event() == tls_engine.ApplicationData(b"GET / HTTP/1.0\r\n\r\n")
    body = b"x" * 4096
    eng.send(body)
    c.receive(eng.data_to_send())
    assert b"".join(c.app) == body
    eng.receive_data(c.send(rec.ALERT, b"\x01\x00"))
    assert eng.next_event() == tls_engine.PeerClosed(True)
    c.receive(eng.data_to_send())
    assert c.alerts == [(1, 0)] and eng.closed


def test_aes128_suite():
    c = ScriptedClient(b"admin", PASSWORD, suites=(0xC01D,))
    eng = tls_engine.ServerEngine(cfg())
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange())
    evt = eng.next_event()
    assert evt.cipher_suite == 0xC01D, evt


def test_byte_by_byte():
    c, eng, evt = handshake(cfg(), chunk=1)
    assert isinstance(evt, tls_engine.HandshakeComplete), evt


def test_wrong_password_and_unknown_user_look_alike():
    c1, e1, ev1 = handshake(cfg(), password=b"wrong")
    c2, e2, ev2 = handshake(cfg(), user=b"mallory")
    assert ev1 == tls_engine.AlertSent(alert.BAD_RECORD_MAC), ev1
    assert ev2 == ev1
    assert [m[0] for m in c1.server_msgs] == [m[0] for m in c2.server_msgs]
    assert len(c1.salt) == len(c2.salt)


def test_A_zero_illegal_parameter():
    c = ScriptedClient(b"admin", PASSWORD)
    eng = tls_engine.ServerEngine(cfg())
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange(A=GRP.N))
    assert eng.next_event() == tls_engine.AlertSent(alert.ILLEGAL_PARAMETER)


def test_record_limits_and_garbage():
    cases = [
        (bytes((22, 3, 3)) + (16385).to_bytes(2, "big"), alert.RECORD_OVERFLOW),
        (record(22, hs.message(1, client_hello_body(srp_ext=False))), alert.UNKNOWN_PSK_IDENTITY),
        (record(22, hs.message(1, client_hello_body(version=0x0301))), alert.PROTOCOL_VERSION),
        (record(22, b"\x01\x00\x00\x01\x00\x00"), alert.DECODE_ERROR),
        (b"\x00" * 40, alert.UNEXPECTED_MESSAGE),
    ]
    for data, want in cases:
        eng = tls_engine.ServerEngine(cfg())
        eng.receive_data(data)
        evt = eng.next_event()
        assert evt == tls_engine.AlertSent(want), (evt, want)
        assert eng.closed
    for i in range(30):
        eng = tls_engine.ServerEngine(cfg())
        eng.receive_data(os.urandom(5 + i * 13))
        eng.receive_data(b"")
        evt = eng.next_event()
        assert evt is not tls_engine.NEED_DATA and eng.closed


def test_online_cost_with_and_without_precompute():
    on = cfg()
    while on.prepare():
        pass
    c, eng, evt = handshake(on)
    assert eng.stats["prepared"] is True
    off = cfg(precompute=False)
    c2, eng2, evt2 = handshake(off)
    assert eng2.stats["prepared"] is False
    print("stat precomputed hello_ms=%s key_exchange_ms=%s" % (
        eng.stats["hello_ms"], eng.stats["key_exchange_ms"]))
    print("stat online hello_ms=%s key_exchange_ms=%s" % (
        eng2.stats["hello_ms"], eng2.stats["key_exchange_ms"]))


def test_heap_use():
    gc.collect()
    before = gc.mem_alloc()
    eng = tls_engine.ServerEngine(cfg())
    gc.collect()
    print("stat engine_bytes=%d" % (gc.mem_alloc() - before))
    del eng


mptest.main(globals())
