#!/usr/bin/env python3
"""Measure a running device: TLS-SRP handshake time and free heap, as key=value lines.

    SRP_PASSWORD=... .venv/bin/python tools/device_bench.py HOST [--port 443]
                     [--user admin] [--runs 5]

Works the same against a real board on the LAN and against the sim device
(127.0.0.1 and its port).  With tlslite-ng as the client it runs RUNS full
SRP handshakes, each followed by one `GET /api/status`, then RUNS resumed
handshakes (session ID) -- the two costs a person at the admin page feels --
and reads the device's identity and free heap (measured by the device after
gc.collect()) from the last status answer.

The password comes from SRP_PASSWORD or is asked for on the terminal, never
from the command line.  `server_ms` is the handshake's wall time minus this
process's CPU time, i.e. the device's share plus the network; on a LAN with
a ~1 ms round trip that is the device.  Output (same form as tests/bench/):

    device_bench host=... port=... device_id=... firmware=... group=3072 cipher=...
    device_bench handshake=full runs=5 ms=... server_ms=... min_ms=... max_ms=...
    device_bench handshake=resumed runs=5 ms=... server_ms=...
    device_bench request_ms=... free_heap=... uptime_s=...
Exit status 1 if the device could not be reached or refused the login.
"""
import argparse
import getpass
import json
import os
import socket
import statistics
import sys
import time


def handshake(host, port, user, password, session=None, timeout=30):
    from tlslite.api import HandshakeSettings, TLSConnection
    settings = HandshakeSettings()
    settings.maxVersion = (3, 3)   # TLS-SRP is TLS 1.2 only
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = TLSConnection(sock)
    t0, c0 = time.perf_counter(), time.process_time()
    conn.handshakeClientSRP(user, password, session=session, settings=settings)
    wall = (time.perf_counter() - t0) * 1000
    cpu = (time.process_time() - c0) * 1000
    return conn, wall, max(wall - cpu, 0.0)


def get_status(conn, host):
    t0 = time.perf_counter()
    conn.write(b"GET /api/status HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % host.encode())
    data = b""
    while True:
        try:
            chunk = conn.read()
        except Exception:
            break
        if not chunk:
            break
        data += bytes(chunk)
    ms = (time.perf_counter() - t0) * 1000
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError("status page: %r" % head[:80])
    return json.loads(body), ms


def close(conn):
    try:
        conn.close()
    except Exception:
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    password = os.environ.get("SRP_PASSWORD") or getpass.getpass("device password: ")
    full, full_srv, resumed, resumed_srv, req = [], [], [], [], []
    try:
        session, status = None, None
        for _ in range(args.runs):
            conn, wall, srv = handshake(args.host, args.port, args.user, password)
            full.append(wall)
            full_srv.append(srv)
            status, ms = get_status(conn, args.host)
            req.append(ms)
            session = conn.session
            close(conn)
            time.sleep(0.3)   # the device prepares the next ephemeral in idle time
        for _ in range(args.runs):
            conn, wall, srv = handshake(args.host, args.port, args.user, password, session)
            if not conn.resumed:
                raise RuntimeError("the device did not resume the session")
            resumed.append(wall)
            resumed_srv.append(srv)
            status, _ = get_status(conn, args.host)
            close(conn)
    except Exception as e:
        print("device_bench error=%r" % ("%s: %s" % (type(e).__name__, e)))
        return 1
    tls = status.get("tls", {})
    print("device_bench host=%s port=%d device_id=%s firmware=%s group=%s cipher=%s etm=%s ems=%s"
          % (args.host, args.port, status.get("device_id"), status.get("firmware_version"),
             tls.get("srp_group"), tls.get("cipher_suite"), int(bool(tls.get("etm"))),
             int(bool(tls.get("ems")))))
    print("device_bench handshake=full runs=%d ms=%.1f server_ms=%.1f min_ms=%.1f max_ms=%.1f"
          % (len(full), statistics.median(full), statistics.median(full_srv), min(full), max(full)))
    print("device_bench handshake=resumed runs=%d ms=%.1f server_ms=%.1f"
          % (len(resumed), statistics.median(resumed), statistics.median(resumed_srv)))
    print("device_bench request_ms=%.1f free_heap=%s uptime_s=%s"
          % (statistics.median(req), status.get("free_heap"), status.get("uptime_s")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
