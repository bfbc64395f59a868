"""Soak: the whole sim device at its documented heap under a hostile client mix.

A fixed schedule of CONNECTIONS connections (seeded shuffle, so every run
is the same mix) runs WORKERS at a time against one sim device on
127.0.0.1 under `-X heapsize=DEVICE_HEAP`:

  good        curl, gnutls-cli, tlslite-ng, openssl s_client: GET /api/status
  hostile     wrong password (curl), unknown user (tlslite-ng), slowloris
              (a real ClientHello one byte at a time), random bytes,
              disconnects in the middle of a handshake

Hostile connections come from 127.0.0.2 and up (tests/bench/hostile.py
says why).  Afterwards:
  * every good client got its page (openssl s_client may instead crash by
    itself: Debian's OpenSSL 3.0 client segfaults in its own SRP callback;
    that is reported, never counted as a success);
  * every hostile connection was refused or closed by the device;
  * the device still answers on both ports;
  * free heap after gc.collect() (from /api/status, which collects first)
    is back within HEAP_BOUND bytes of where it was after warm-up;
  * no file on the device changed except /log.txt.
The whole run is bounded: DEADLINE seconds, then the test fails.
"""
import hashlib
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import simdevice

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
import hostile  # noqa: E402
import peers  # noqa: E402

DEVICE_HEAP = "96k"     # issue 4's target heap for the whole device
CONNECTIONS = 48
WORKERS = 3
DEADLINE = 300          # seconds for the whole schedule
HEAP_BOUND = 3072       # bytes of free heap the device may lose over the run
SHORT_TIMEOUT = 4       # handshake/idle timeout (s): slowloris ends sooner
LIMITS = ["--limit", "handshake_timeout=%d" % SHORT_TIMEOUT,
          "--limit", "idle_timeout=%d" % SHORT_TIMEOUT]
MIX = {"good-curl": 6, "good-gnutls": 5, "good-tlslite": 5, "good-openssl": 3,
       "wrong-password": 7, "unknown-user": 5, "slowloris": 3, "random-bytes": 8,
       "midway-disconnect": 6}
assert sum(MIX.values()) == CONNECTIONS


def snapshot(root):
    """sha256 of every file under the device root, except the log."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and p.name != "log.txt":
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def free_heap(dev, password):
    rc, status, body = dev.curl("/api/status", password)
    assert rc == 0 and status == 200, (rc, status, body[:300])
    return json.loads(body)["free_heap"]


@pytest.mark.slow
def test_soak_hostile_mix(tmp_path):
    password = peers.new_password()
    root = simdevice.make_root(tmp_path / "root", password)
    dev = simdevice.Device(root, heapsize=DEVICE_HEAP, extra=LIMITS)
    with dev:
        # Warm-up: first requests load the app's modules; then the baseline.
        for _ in range(3):
            free_heap(dev, password)
        before_files = snapshot(root)
        heap_start = max(free_heap(dev, password) for _ in range(3))

        port, user = dev.port, "admin"
        path, marker = "/api/status", b'"free_heap"'
        jobs = [k for k, n in MIX.items() for _ in range(n)]
        random.Random(7).shuffle(jobs)
        # One slowloris at a time: it holds a connection slot until the
        # handshake timeout, by design; two would starve the good clients
        # behind the device's 2-slot limit, which is the limit working.
        import threading
        slow_gate = threading.Semaphore(1)

        def run(i, kind):
            if kind == "good-curl":
                return hostile.good_curl(port, user, password, path, marker)
            if kind == "good-gnutls":
                return hostile.good_gnutls(port, user, password, path, marker)
            if kind == "good-tlslite":
                return hostile.good_tlslite(port, user, password, path, marker)
            if kind == "good-openssl":
                return hostile.good_openssl(port, user, password, path, marker)
            if kind == "wrong-password":
                return hostile.wrong_password(port, user, password)
            if kind == "unknown-user":
                return hostile.unknown_user(port, user, password)
            if kind == "slowloris":
                with slow_gate:
                    return hostile.slowloris(port, close_within=SHORT_TIMEOUT + 6)
            if kind == "random-bytes":
                return hostile.random_bytes(port, i.to_bytes(4, "big") + b"seed")
            return hostile.midway_disconnect(port, i % 2)

        t0 = time.monotonic()
        with ThreadPoolExecutor(WORKERS) as pool:
            outcomes = list(pool.map(run, range(len(jobs)), jobs, timeout=DEADLINE))
        elapsed = time.monotonic() - t0

        # Let slow handshakes time out and the back-off settle, then re-measure.
        time.sleep(SHORT_TIMEOUT + 1)
        assert dev.proc.poll() is None, "device died:\n" + dev.log()[-3000:]
        heap_end = max(free_heap(dev, password) for _ in range(3))
        rc, status, body = dev.http("/")
        after_files = snapshot(root)

    by_kind = {}
    for o in outcomes:
        by_kind.setdefault(o.kind, []).append(o)
    summary = " ".join("%s=%d/%d" % (k, sum(1 for o in v if o.ok), len(v))
                       for k, v in sorted(by_kind.items()))
    crashes = sum(1 for o in by_kind.get("good-openssl", []) if o.ok is None)
    print("soak connections=%d seconds=%.1f heap=%s heap_start=%d heap_end=%d "
          "openssl_client_crashes=%d %s" % (len(outcomes), elapsed, DEVICE_HEAP,
                                            heap_start, heap_end, crashes, summary))
    bad = [o for o in outcomes if o.ok is False]
    assert not bad, bad
    assert rc == 0 and status == 200, ("plain-HTTP port stopped answering", rc, status)
    assert heap_end >= heap_start - HEAP_BOUND, (heap_start, heap_end)
    assert after_files == before_files, {
        k: (before_files.get(k), after_files.get(k))
        for k in set(before_files) | set(after_files)
        if before_files.get(k) != after_files.get(k)}
