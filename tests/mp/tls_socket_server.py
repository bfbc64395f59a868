"""Blocking TLS-SRP server for tests/test_tls_socket.py: srptls.tls_socket under MicroPython.

    SRP_PASSWORD=... micropython tls_socket_server.py PORT USER BITS CONNECTIONS

Serves CONNECTIONS connections one after the other on 127.0.0.1:PORT with
plain blocking sockets and tls_socket.wrap_server, then exits 0.  Each
request line is answered with "echo:" + the line; the first connection reads
with read(), the others with readinto(), so both paths are used.  Prints
`listening port=P` once accepting, and one result line per connection.
"""
import os
import socket
import sys

from srptls import credential, srp, tls_engine, tls_socket

port, user, bits, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
salt = os.urandom(16)
grp = srp.group(bits)
cred = credential.Credential(user, bits, salt, srp.make_verifier(
    grp, user.encode(), os.getenv("SRP_PASSWORD").encode(), salt))
cfg = tls_engine.ServerConfig(lambda name: cred if name == user else None, os.urandom(32),
                              simulate_like=cred)
while cfg.prepare():
    pass

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
listener.listen(2)
print("listening port=%d" % port)

for n in range(count):
    conn, _ = listener.accept()
    conn.settimeout(10)
    try:
        tls = tls_socket.wrap_server(conn, cfg)
    except OSError as e:
        print("conn=%d handshake=failed %s" % (n, e))
        continue
    line = b""
    buf = bytearray(7)          # small on purpose: several readinto calls per line
    while not line.endswith(b"\n"):
        if n == 0:
            chunk = tls.read(5)
        else:
            got = tls.readinto(buf)
            chunk = bytes(buf[:got])
        if not chunk:
            break
        line += chunk
    tls.write(b"echo:" + line)
    s = tls.session
    print("conn=%d handshake=ok user=%s cipher=%s resumed=%d" % (n, s.user, s.cipher_name, s.resumed))
    tls.close()
listener.close()
