"""Capture real client flights for the fuzz corpus through a recording proxy.

    .venv/bin/python tests/fuzz/capture.py            # rewrite tests/fuzz/corpus/
    .venv/bin/python tests/fuzz/capture.py --sim      # record in front of boards/sim/serve

Each real client (curl, gnutls-cli, openssl s_client, tlslite-ng) connects
to a proxy on 127.0.0.1 that forwards to the server and writes everything
the client sent, in order, to corpus/<client>-<case>.bin (prefixed with the
harness's "whole input" mode byte 0).

By default the server behind the proxy is the engine itself, in this
CPython process, with the harness's deterministic randomness: replaying a
file through harness.run() then repeats the handshake exactly, Finished and
application data included, which is what lets mutations reach the
encrypted paths.  With --sim the server is the MicroPython sim server;
those flights (corpus/sim-*.bin) replay only up to the ClientKeyExchange,
since the sim server's randomness is real.

The password is drawn with `secrets` for this capture only and never
written; credential.json holds the user, group, salt and verifier, plus the
fuzz engine's device secret.  The flights contain the client's SRP public
value A, nothing secret.
"""
import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "bench"))
import harness  # noqa: E402  (installs the deterministic os.urandom)
import peers  # noqa: E402
from srptls import srp, tls_engine  # noqa: E402

USER = "fuzz"
BITS = 2048
REQUEST = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"


def engine_server(lsock, stop, state):
    """Serve connections one at a time with a fresh deterministic engine each
    (and a fresh config, unless state["keep_cfg"]: then the last one, so a
    reconnect can resume its session, exactly as harness.resume() replays)."""
    while not stop.is_set():
        try:
            sock, _ = lsock.accept()
        except OSError:
            return
        with sock:
            sock.settimeout(10)
            # Clients without EtM are served too (the opt-in), so the
            # corpus has a MAC-then-encrypt flight; a client that offers EtM
            # gets the same bytes either way.
            eng = harness.new_engine(require_etm=False,
                                     cfg=state["cfg"] if state["keep_cfg"] else None)
            state["cfg"] = eng.cfg
            buf = b""
            try:
                while not eng.closed:
                    out = eng.data_to_send()
                    if out:
                        sock.sendall(out)
                    data = sock.recv(65536)
                    eng.receive_data(data)
                    while True:
                        evt = eng.next_event()
                        if evt is tls_engine.NEED_DATA:
                            break
                        if isinstance(evt, tls_engine.ApplicationData):
                            buf += evt.data
                            if b"\r\n\r\n" in buf:
                                eng.send(REPLY)
                                eng.close()
                        if eng.closed:
                            break
                    if not data:
                        break
                sock.sendall(eng.data_to_send())
            except OSError:
                pass


def proxy(lsock, upstream_port, record):
    """Forward one connection at a time to upstream; record client->server bytes."""
    while True:
        try:
            client, _ = lsock.accept()
        except OSError:
            return
        up = socket.create_connection(("127.0.0.1", upstream_port))
        sent = bytearray()

        def pump(src, dst, rec):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if rec is not None:
                        rec += data
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(up, client, None))
        t.start()
        pump(client, up, sent)
        t.join(10)
        client.close()
        up.close()
        record.append(bytes(sent))


def clients(port, password):
    """(name, argv, stdin) of every capture case: real clients only."""
    wrong = password + "x"
    cipher128 = "NORMAL:-KX-ALL:+SRP:-CIPHER-ALL:+AES-128-CBC"
    cases = [
        ("curl-ok", peers.curl_cmd(port, USER, password), None),
        ("curl-post", peers.curl_cmd(port, USER, password, extra=["--data-binary", "a=1&b=2"]), None),
        ("curl-wrongpass", peers.curl_cmd(port, USER, wrong), None),
        ("curl-unknownuser", peers.curl_cmd(port, "nobody", password), None),
        ("gnutls-ok", peers.gnutls_cli_cmd(port, USER, password), REQUEST),
        ("gnutls-aes128", [*peers.gnutls_cli_cmd(port, USER, password)[:5],
                           "--priority", cipher128, "-p", str(port), "127.0.0.1"], REQUEST),
        ("gnutls-wrongpass", peers.gnutls_cli_cmd(port, USER, wrong), REQUEST),
        ("gnutls-noetm", [*peers.gnutls_cli_cmd(port, USER, password)[:5],
                          "--priority", peers.SRP_PRIORITY + ":%NO_ETM", "-p", str(port),
                          "127.0.0.1"], REQUEST),
        ("openssl-ok", peers.openssl_cmd(port, USER, password), REQUEST),
        # curl reuses the session of its first transfer for the second URL
        ("curl-resume", peers.curl_cmd(port, USER, password)
         + ["https://127.0.0.1:%d/again" % port], None),
        ("tlslite-ok", [sys.executable, "-c",
                        "import sys,os; sys.path.insert(0,%r); import peers;"
                        "peers.tlslite_get(%d,%r,os.environ['PW'])"
                        % (str(HERE.parent / "bench"), port, USER)], None),
    ]
    return cases


def edge_seeds(out):
    """curl's real flight with A replaced by N and by 0 (same length), the
    values RFC 5054 2.5.4 says to refuse (illegal_parameter)."""
    flight = bytearray((out / "curl-ok.bin").read_bytes()[1:])
    i = 0
    while i + 9 <= len(flight):
        ln = int.from_bytes(flight[i + 3:i + 5], "big")
        if flight[i] == 22 and flight[i + 5] == 16:      # handshake: ClientKeyExchange
            alen = int.from_bytes(flight[i + 9:i + 11], "big")
            start = i + 11
            n = srp.group(BITS).N.to_bytes(alen, "big")
            for name, value in (("a-equals-n", n), ("a-zero", bytes(alen))):
                edited = bytes(flight[:start]) + value + bytes(flight[start + alen:])
                (out / ("edge-%s.bin" % name)).write_bytes(b"\x00" + edited)
                names = harness.run(edited).names()
                print("capture: edge-%s replay=%s" % (name, ",".join(names)))
            return
        i += 5 + ln
    raise SystemExit("capture: no ClientKeyExchange in curl-ok.bin")


def post_handshake_seeds(out):
    """Seeds for the harness's post-handshake mode (records the client sends
    after a completed handshake, encrypted by the harness), built from RFC
    5246 record types; the renegotiation one carries curl's real hello."""
    hello = (out / "curl-ok.bin").read_bytes()[1:]
    hello_msg = hello[5:5 + int.from_bytes(hello[3:5], "big")]
    seeds = {
        "get-close": [(23, REQUEST), (21, b"\x01\x00")],
        "renegotiate": [(23, b"GET"), (22, hello_msg)],
        "ccs-when-open": [(20, b"\x01")],
        "warning-alert": [(21, b"\x01\x64"), (23, REQUEST)],
        "fatal-alert": [(21, b"\x02\x28")],
        "unknown-type": [(99, b"abc"), (23, REQUEST)],
        "empty-appdata": [(23, b""), (23, b""), (23, REQUEST)],
        "big-appdata": [(23, b"a" * 16384)],
        "handshake-fragment": [(22, b"\x01\x00"), (23, REQUEST)],
        "raw-after": [(23, REQUEST), (harness.RAW, b"\x17\x03\x03\x00\x20" + bytes(32))],
    }
    for name, items in seeds.items():
        (out / ("post-%s.bin" % name)).write_bytes(harness.encode_post(items))
        harness.one_input(harness.encode_post(items))  # must keep the promises
    print("capture: %d post-handshake seeds" % len(seeds))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim", action="store_true", help="record in front of boards/sim/serve")
    ap.add_argument("--out", default=str(harness.CORPUS))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    stop = threading.Event()
    state = {"cfg": None, "keep_cfg": False}
    server_proc = None

    if args.sim:
        up_port = peers.free_port()
        server_proc = subprocess.Popen(
            [str(harness.REPO / "boards/sim/serve"), "--port", str(up_port),
             "--user", USER, "--group", str(BITS)],
            env=dict(os.environ, SRP_PASSWORD=password), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        if not server_proc.stdout.readline().startswith("listening"):
            sys.exit("capture: the sim server did not start")
        prefix = "sim-"
    else:
        # A fresh credential for a password nobody will ever know again.
        salt = harness._real_urandom(16)
        grp = srp.group(BITS)
        v = srp.make_verifier(grp, USER.encode(), password.encode(), salt)
        (out / "credential.json").write_text(json.dumps({
            "user": USER, "group": BITS, "salt": salt.hex(), "verifier": "%x" % v,
            "device_secret": harness._real_urandom(32).hex()}, indent=1) + "\n")
        harness._CRED = None
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        up_port = srv.getsockname()[1]
        threading.Thread(target=engine_server, args=(srv, stop, state), daemon=True).start()
        prefix = ""

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    record = []
    threading.Thread(target=proxy, args=(lsock, up_port, record), daemon=True).start()
    try:
        for name, argv, stdin in clients(port, password):
            state["keep_cfg"] = name.endswith("resume")
            state["cfg"] = None   # the case's first connection starts a fresh server
            want = 2 if state["keep_cfg"] else 1
            before = len(record)
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=60,
                                  env=dict(os.environ, PW=password))
            for _ in range(100):  # the proxy finishes the connection after the client exits
                if len(record) >= before + want:
                    break
                threading.Event().wait(0.05)
            flights = record[before:]
            if not flights or not flights[0]:
                print("capture: %s sent nothing (exit %d)" % (name, proc.returncode))
                continue
            path = out / ("%s%s.bin" % (prefix, name))
            if state["keep_cfg"]:
                if len(flights) < 2 or args.sim:
                    print("capture: %s made %d connections" % (name, len(flights)))
                    continue
                data = harness.encode_resume(flights[0], flights[1])
                path.write_bytes(data)
                print("capture: %s exit=%d bytes=%d replay=%s" % (
                    name, proc.returncode, len(data), ",".join(harness.resume(data).names())))
                continue
            mode = 0x40 if name.endswith("noetm") else 0x00
            path.write_bytes(bytes([mode]) + flights[0])
            res = harness.run(flights[0], require_etm=not mode) if not args.sim else None
            print("capture: %s exit=%d bytes=%d replay=%s" % (
                name, proc.returncode, len(flights[0]),
                ",".join(res.names()) if res else "-"))
        if not args.sim:
            edge_seeds(out)
            post_handshake_seeds(out)
    finally:
        stop.set()
        lsock.close()
        if server_proc:
            server_proc.terminate()
            server_proc.wait(5)


if __name__ == "__main__":
    main()
