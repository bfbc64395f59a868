"""Replay fuzz inputs through the engine under MicroPython (the device's interpreter).

    micropython tests/fuzz/mp_replay.py CREDENTIAL_JSON FILE...
    (MICROPYPATH=firmware:tests/mp:.frozen; run by tests/test_fuzz_engine.py)

The CPython harness (harness.py) checks the engine's promises on every
input; this checks that the engine running under MicroPython behaves the
same on the corpus and the saved regressions: its modules' `os` is
replaced by the same SHA-256 counter stream, so a captured flight replays
here too, byte for byte.  For each file prints one line
`replay NAME events=A,B,... alerts=N error=...`; the caller compares them
with CPython's.  Inputs in the post-handshake mode (byte 0 >= 0xF0) need
the harness's own client and are skipped here; bit 6 of the mode byte
means the server allows clients without encrypt-then-MAC, as in harness.py.
"""
import json
import sys

from srptls import credential, srp, tls_engine, tls_record
from det_os import DetOS

SEED = b"srp-iot fuzz seed"


def main(argv):
    with open(argv[0]) as f:
        meta = json.loads(f.read())
    cred = credential.Credential(meta["user"], meta["group"], bytes.fromhex(meta["salt"]),
                                 int(meta["verifier"], 16))
    secret = bytes.fromhex(meta["device_secret"])
    det = DetOS(SEED)
    for mod in (srp, tls_engine, tls_record):
        mod.os = det
    for path in argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        if not data or data[0] >= 0xF0 or data[0] >= 128:
            continue   # only whole-stream inputs (mode byte < 128)
        det.reset()
        cfg = tls_engine.ServerConfig(lambda u: cred if u == cred.user else None, secret,
                                      simulate_like=cred, require_etm=not data[0] & 0x40)
        for _ in range(16):
            if not cfg.prepare():
                break
        eng = tls_engine.ServerEngine(cfg)
        names = []
        completed = False
        for piece in (data[1:], b""):
            if eng.closed:
                break
            eng.receive_data(piece)
            for _ in range(256):
                evt = eng.next_event()
                if evt is tls_engine.NEED_DATA:
                    break
                names.append(type(evt).__name__)
                if isinstance(evt, tls_engine.HandshakeComplete):
                    completed = True
                    eng.send(b"x" * 100)
                if isinstance(evt, tls_engine.PeerClosed) or eng.closed:
                    break
            eng.data_to_send()
        print("replay %s events=%s error=%s" % (path.split("/")[-1], ",".join(names),
                                                 (eng.error or "").split(":")[0]))


main(sys.argv[1:])
