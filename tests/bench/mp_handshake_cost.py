"""Server-side cost of one full TLS-SRP handshake, in memory, under MicroPython.

    micropython tests/bench/mp_handshake_cost.py BACKEND BITS RUNS
    (MICROPYPATH=firmware:tests/mp:.frozen; run by tests/bench/handshake_cost)

The server engine is made deterministic (its modules' `os` is replaced by a
SHA-256 counter stream that restarts for every handshake), so the client's
flights, recorded once from the scripted client (tests/mp/tls_testclient.py),
replay as a complete, verified handshake RUNS more times.  Only the server
runs in the measured part: ClientHello -> ServerHello..Done, then
ClientKeyExchange + CCS + Finished -> CCS + Finished, with no precomputed
ephemeral (ServerConfig(precompute=False)), i.e. the whole cost including
g^b.  Each replay must end in HandshakeComplete.

BACKEND may also be "memo": every modexp answered from a table filled while
recording, i.e. the handshake with its modular exponentiations taken out --
what the rest of the engine (parsing, PRF, HMAC, AES, the interpreter)
costs, the part no modexp backend or accelerator changes.

Prints `handshake_cost backend=.. bits=.. runs=.. ms=<median>`.  Under
callgrind the difference between RUNS=k and RUNS=0 is k handshakes' worth of
instructions and nothing else (tests/bench/handshake_cost does that).
"""
import os
import sys
import time

from srptls import credential, modexp, srp, tls_engine, tls_record
from tls_testclient import ScriptedClient
from det_os import DetOS


class Recorder:
    """Wraps modexp.context during recording: remembers every result."""

    def __init__(self, real_context):
        self.real = real_context
        self.memo = {}

    def context(self, n):
        ctx = self.real(n)
        memo = self.memo

        class Ctx:
            def pow(self, base, exp):
                r = ctx.pow(base, exp)
                memo[(base, exp, n)] = r
                return r
        return Ctx()

    def replay_context(self, n):
        memo = self.memo

        class Ctx:
            def pow(self, base, exp):
                return memo[(base, exp, n)]   # KeyError: not a replay of the recording
        return Ctx()


def ticks_ms():
    try:
        return time.ticks_us() / 1000
    except AttributeError:   # CPython
        return time.perf_counter() * 1000


def main(backend, bits, runs):
    # The flights are recorded with the fastest backend (results are the
    # same number whatever the backend), so that under callgrind the RUNS=0
    # baseline stays cheap; the backend under test is selected after.
    modexp.select("c" if "c" in modexp.available() else "pow")
    rec = Recorder(modexp.context)
    modexp.context = rec.context
    password = "".join("%02x" % b for b in os.urandom(12))  # this run only
    user = "bench"
    salt = os.urandom(16)
    grp = srp.group(bits)
    cred = credential.Credential(user, bits, salt,
                                 srp.make_verifier(grp, user.encode(), password.encode(), salt))
    device_secret = os.urandom(32)
    det = DetOS(b"bench")
    for mod in (srp, tls_engine, tls_record):
        mod.os = det

    def engine():
        det.reset()
        cfg = tls_engine.ServerConfig(lambda u: cred if u == user else None, device_secret,
                                      simulate_like=cred, precompute=False)
        return tls_engine.ServerEngine(cfg)

    # Record the client's flights once (the client's own randomness is real).
    client = ScriptedClient(user.encode(), password.encode())
    eng = engine()
    hello = client.hello()
    eng.receive_data(hello)
    eng.next_event()
    client.receive(eng.data_to_send())
    flight2 = client.key_exchange()
    eng.receive_data(flight2)
    evt = eng.next_event()
    assert isinstance(evt, tls_engine.HandshakeComplete), evt

    if backend == "memo":
        modexp.context = rec.replay_context
    else:
        modexp.context = rec.real
        modexp.select(backend)
    times = []
    for _ in range(runs):
        eng = engine()
        t0 = ticks_ms()
        eng.receive_data(hello)
        eng.next_event()
        eng.data_to_send()
        eng.receive_data(flight2)
        evt = eng.next_event()
        eng.data_to_send()
        times.append(ticks_ms() - t0)
        assert isinstance(evt, tls_engine.HandshakeComplete), evt
    times.sort()
    ms = times[len(times) // 2] if times else 0
    print("handshake_cost backend=%s bits=%d runs=%d ms=%.1f" % (backend, bits, runs, ms))


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
