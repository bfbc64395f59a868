"""Benchmark: the TLS engine's online work per full handshake, with and without idle-time precomputation.

    boards/sim/bin/micropython-32 tests/bench/engine_online.py [RUNS]
    (with MICROPYPATH=firmware:tests/mp:.frozen; also runs under CPython)

In memory, no sockets: the peer is the scripted client (tests/mp/
tls_testclient.py), and only the engine's own figures (eng.stats) are
counted, i.e. what a client waits for at ClientHello (hello_ms) and at
ClientKeyExchange (key_exchange_ms).  With precompute the ephemeral b and
g^b come from ServerConfig.prepare() done beforehand; without it they are
computed when the ClientHello arrives.  One key=value line per measurement;
`saved` is online time without precompute divided by online time with it.
"""
import os
import sys

sys.path.append("tests/mp")
sys.path.append("firmware")
from srptls import credential, modexp, srp, tls_engine  # noqa: E402
from tls_testclient import ScriptedClient  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def one(cfg, password):
    if cfg.precompute:
        while cfg.prepare():
            pass
    c = ScriptedClient(b"admin", password)
    eng = tls_engine.ServerEngine(cfg)
    eng.receive_data(c.hello())
    eng.next_event()
    c.receive(eng.data_to_send())
    eng.receive_data(c.key_exchange())
    evt = eng.next_event()
    assert isinstance(evt, tls_engine.HandshakeComplete), (evt, eng.error)
    return eng.stats["hello_ms"], eng.stats["key_exchange_ms"]


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    password = "".join("%02x" % b for b in os.urandom(8)).encode()
    for backend in modexp.available():
        modexp.select(backend)
        for bits in (2048, 3072):
            grp = srp.group(bits)
            salt = os.urandom(16)
            cred = credential.Credential("admin", bits, salt,
                                         srp.make_verifier(grp, b"admin", password, salt))
            totals = {}
            for pre in (True, False):
                cfg = tls_engine.ServerConfig(lambda u: cred, os.urandom(32),
                                              simulate_like=cred, precompute=pre)
                runs = [one(cfg, password) for _ in range(RUNS)]
                hello = median([r[0] for r in runs])
                kex = median([r[1] for r in runs])
                totals[pre] = hello + kex
                print("engine_online backend=%s bits=%d precompute=%d hello_ms=%s "
                      "key_exchange_ms=%s online_ms=%s" % (
                          backend, bits, pre, hello, kex, hello + kex))
            print("engine_online backend=%s bits=%d saved=%.2f" % (
                backend, bits, totals[False] / max(totals[True], 1)))


main()
