"""Fuzzing the TLS engine in memory: corpus replay, mutations, a short atheris run.

The engine promises never to raise on peer input and to end every failure
with one alert (issue 3).  tests/fuzz/harness.py checks those promises for
one input; here they are checked for:
  * every real client flight in tests/fuzz/corpus/ and every saved crash in
    tests/fuzz/regressions/ (the flights also must still complete, or fail
    with the alert a wrong password gets);
  * hypothesis-driven mutations of those flights (bit flips, truncations,
    insertions, record-length edits, re-chunking);
  * a bounded run of the coverage-guided fuzzer (atheris), the same one the
    long campaign in the README uses.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fuzz"))
import harness  # noqa: E402
import mpy  # noqa: E402
from srptls import tls_engine  # noqa: E402

# Client flights replayable into the deterministic engine (sim-* were
# recorded in front of the real sim server; post-* are post-handshake seeds).
ENGINE_FLIGHTS = sorted(p for p in harness.CORPUS.glob("*.bin")
                        if not p.name.startswith(("sim-", "post-")))
POST_SEEDS = sorted(harness.CORPUS.glob("post-*.bin"))
ALL_INPUTS = sorted(harness.corpus_files())
BAD_RECORD_MAC = 20
ATHERIS_SECONDS = int(os.environ.get("SRP_IOT_FUZZ_SECONDS", "20"))


def flight(path):
    return path.read_bytes()[1:]   # byte 0 is the harness's split mode


def test_corpus_has_every_real_client():
    names = {p.name.split("-")[0] for p in ENGINE_FLIGHTS}
    assert {"curl", "gnutls", "openssl", "tlslite"} <= names, names


@pytest.mark.parametrize("path", [p for p in ENGINE_FLIGHTS
                                  if p.stem.endswith(("-ok", "-post", "-aes128", "-noetm"))
                                  and not p.name.startswith("openssl")], ids=lambda p: p.stem)
def test_good_flight_replays_to_completion(path):
    """Deterministic replay repeats the real handshake, Finished and request included
    (gnutls-noetm: MAC-then-encrypt, with the server's opt-in for it)."""
    etm = harness.require_etm_for(path.read_bytes())
    for chunks in (None, [1] * 4096, [7] * 1000):  # whole, byte by byte, straddling
        res = harness.run(flight(path), chunks, reply=b"hello", require_etm=etm)
        assert res.completed, res.names()
        data = b"".join(e.data for e in res.events if isinstance(e, tls_engine.ApplicationData))
        assert data.startswith((b"GET ", b"POST ")), data[:40]
        assert not res.alerts_sent


@pytest.mark.parametrize("path", [p for p in ENGINE_FLIGHTS if "wrongpass" in p.stem
                                  or "unknownuser" in p.stem], ids=lambda p: p.stem)
def test_failed_login_flight_ends_in_bad_record_mac(path):
    """Wrong password and unknown user end the same way (RFC 5054 2.5.1.3)."""
    res = harness.run(flight(path))
    assert [a.description for a in res.alerts_sent] == [BAD_RECORD_MAC], res.names()
    assert not res.completed


ILLEGAL_PARAMETER = 47


def test_reconnect_flight_resumes_the_session():
    """curl's second transfer offers the first one's session: abbreviated handshake."""
    res = harness.resume((harness.CORPUS / "curl-resume.bin").read_bytes())
    done = [e for e in res.events if isinstance(e, tls_engine.HandshakeComplete)]
    assert len(done) == 1 and done[0].resumed, res.names()
    assert not res.alerts_sent


def test_mac_then_encrypt_client_is_refused_by_default():
    """Without the opt-in, the real no-EtM flight gets one alert, no session."""
    path = harness.CORPUS / "gnutls-noetm.bin"
    res = harness.run(flight(path))
    assert len(res.alerts_sent) == 1 and not res.completed, res.names()


@pytest.mark.parametrize("name", ["edge-a-equals-n", "edge-a-zero"])
def test_forged_public_value_is_an_illegal_parameter(name):
    """A real flight whose A was replaced by N or 0 (RFC 5054 2.5.4)."""
    res = harness.run(flight(harness.CORPUS / (name + ".bin")))
    assert [a.description for a in res.alerts_sent] == [ILLEGAL_PARAMETER], res.names()


@pytest.mark.parametrize("path", ALL_INPUTS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_input_keeps_engine_promises(path):
    harness.one_input(path.read_bytes())


@pytest.mark.parametrize("build", ["32", "64"])
def test_micropython_engine_replays_like_cpython(build):
    """The device's interpreter runs the same engine to the same end on every
    whole-stream corpus and regression input (real flights complete there
    too: the server side is just as deterministic)."""
    files = [p for p in ALL_INPUTS if p.read_bytes()[:1] < b"\x80"]
    proc = mpy.run(HERE / "fuzz" / "mp_replay.py", harness.CREDENTIAL, *files, build=build,
                   timeout=600)
    got = {}
    for line in proc.stdout.splitlines():
        head, error = line.split(" error=", 1)
        name, events = head.split()[1:3]
        got[name] = (events.split("=", 1)[1], error)
    assert len(got) == len(files)
    completed = 0
    for p in files:
        data = p.read_bytes()
        try:
            res = harness.run(data[1:], reply=b"x" * 100, require_etm=harness.require_etm_for(data))
        except harness.EngineBug:
            continue   # a known engine bug: test_input_keeps_engine_promises reports it
        want = (",".join(res.names()), (res.error or "").split(":")[0])
        assert got[p.name] == want, (p.name, got[p.name], want)
        completed += res.completed
    assert completed >= 5


# -- hypothesis: mutated real flights ---------------------------------------------

def _records(data):
    """Offsets of the records in a flight (the structure mutations aim at)."""
    out, i = [], 0
    while i + 5 <= len(data):
        out.append(i)
        i += 5 + int.from_bytes(data[i + 3:i + 5], "big")
    return out


@st.composite
def mutated_flight(draw):
    base = bytearray(flight(draw(st.sampled_from(ENGINE_FLIGHTS))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete",
                                   "reclen", "hslen", "duplicate"]))
        if not base:
            break
        pos = draw(st.integers(0, len(base) - 1))
        if op == "flip":
            base[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            base[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == "truncate":
            del base[pos:]
        elif op == "insert":
            base[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del base[pos:pos + draw(st.integers(1, 64))]
        else:
            recs = _records(base)
            if not recs:
                continue
            r = draw(st.sampled_from(recs))
            if op == "reclen" and r + 5 <= len(base):
                base[r + 3:r + 5] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
            elif op == "hslen" and r + 9 <= len(base):
                base[r + 6:r + 9] = draw(st.integers(0, 0xFFFFFF)).to_bytes(3, "big")
            elif op == "duplicate":
                end = r + 5 + int.from_bytes(base[r + 3:r + 5], "big")
                base[end:end] = base[r:end]
    chunk = draw(st.one_of(st.none(), st.integers(1, 300)))
    return bytes(base), ([chunk] * (len(base) // chunk + 1) if chunk else None)


@settings(max_examples=int(os.environ.get("SRP_IOT_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow], derandomize=False)
@given(mutated_flight())
def test_mutated_flights_keep_engine_promises(case):
    data, chunks = case
    harness.run(data, chunks, reply=b"x" * 100)


@settings(max_examples=int(os.environ.get("SRP_IOT_FUZZ_EXAMPLES", "300")) // 3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([20, 21, 22, 23, 23, 23, 24, 99, harness.RAW]),
                          st.one_of(st.binary(max_size=64),
                                    st.sampled_from([b"\x01\x00", b"\x02\x28", b"\x01",
                                                     b"\x01\x00\x00\x04abcd", b"x" * 17000]))),
                min_size=1, max_size=6))
def test_records_after_handshake_keep_engine_promises(items):
    """Encrypted records of any type and content after a real handshake."""
    res = harness.post_handshake(harness.encode_post(items)[1:])
    assert res.completed


def test_post_handshake_seeds_reach_the_open_state():
    assert len(POST_SEEDS) >= 5
    for p in POST_SEEDS:
        assert harness.post_handshake(p.read_bytes()[1:]).completed, p.name


# -- atheris: a short coverage-guided run ----------------------------------------

def test_short_atheris_run(tmp_path):
    pytest.importorskip("atheris", reason="atheris has wheels for x86-64 only")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, str(HERE / "fuzz" / "fuzz_engine.py"), str(work), str(harness.CORPUS),
         "-max_total_time=%d" % ATHERIS_SECONDS, "-print_final_stats=1",
         "-artifact_prefix=%s/" % tmp_path],
        capture_output=True, text=True, timeout=ATHERIS_SECONDS + 120, cwd=tmp_path)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    found = {n: (tmp_path / n).read_bytes().hex() for n in crashes}
    assert proc.returncode == 0 and not crashes, (
        "the fuzzer found an input that breaks the engine; save it (hex below) as "
        "tests/fuzz/regressions/<name>.bin\n%s\n%s" % (found, proc.stderr[-4000:]))
    runs = [l for l in proc.stderr.splitlines() if l.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 100, proc.stderr[-2000:]
