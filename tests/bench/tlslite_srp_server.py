"""A tlslite-ng TLS-SRP server (CPython): the benchmark's pure-Python peer.

    SRP_PASSWORD=... python tlslite_srp_server.py --port P --user NAME --group BITS

Serves the same tiny HTTP exchange as boards/sim/serve (one request per
connection, fixed text, request body echoed) with tlslite-ng's SRP server,
TLS 1.2 only, the two RFC 5054 AES-CBC suites, EtM and EMS, and a session
cache so resumption can be measured.  Prints `listening port=P` once
accepting.  One connection at a time: enough for a benchmark client loop.
"""
import argparse
import os
import socket
import sys

from tlslite import HandshakeSettings, SessionCache, TLSConnection, VerifierDB


def handshake_settings():
    hs = HandshakeSettings()
    hs.minVersion = hs.maxVersion = (3, 3)
    hs.cipherNames = ["aes256", "aes128"]
    hs.macNames = ["sha"]
    hs.keyExchangeNames = ["srp_sha"]
    return hs


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        body += chunk
    return body[:length]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--group", type=int, required=True)
    args = ap.parse_args()
    password = os.environ.get("SRP_PASSWORD")
    if not password:
        sys.exit("tlslite_srp_server: set SRP_PASSWORD")
    db = VerifierDB()
    db.create()
    # In-memory tlslite DBs are keyed by the raw user name bytes.
    db[args.user.encode()] = VerifierDB.makeVerifier(args.user, password, args.group)
    cache = SessionCache()
    settings = handshake_settings()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(16)
    print("listening port=%d" % args.port, flush=True)
    while True:
        sock, _ = lsock.accept()
        sock.settimeout(10)
        conn = TLSConnection(sock)
        try:
            conn.handshakeServer(verifierDB=db, sessionCache=cache, settings=settings)
            body = read_request(conn)
            if body is not None:
                greeting = b"tlslite-ng server: hello %s\n" % args.user.encode()
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                           % (len(greeting) + len(body)) + greeting + body)
            conn.close()
        except Exception as e:  # a failed client must not stop the benchmark peer
            print("tlslite_srp_server: %s" % type(e).__name__, file=sys.stderr)
        finally:
            sock.close()


if __name__ == "__main__":
    main()
