"""Bulk-download server for the throughput benchmark, under MicroPython.

    SRP_PASSWORD=... micropython tests/bench/mp_bulk_server.py PORT USER BITS SIZE [CHUNK]
    (MICROPYPATH=firmware:.frozen; run by tests/bench/throughput)

TLS-SRP through the same asyncio adapter the device uses (srptls.tls_aio);
each connection reads one HTTP request and answers 200 with SIZE bytes of
body, written CHUNK bytes at a time (default 4096, what a device with a
small heap would do).  Prints `listening port=P`.  Benchmark use only: the
device's own app serves pages, not bulk data.
"""
import asyncio
import gc
import os
import sys

from srptls import credential, srp, tls_aio, tls_engine


async def handle(reader, writer, cfg, size, chunk):
    try:
        stream = await tls_aio.accept(reader, writer, cfg, handshake_timeout=30)
    except Exception:
        return
    try:
        while True:
            line = await stream.readline()
            if line in (b"\r\n", b"\n", b""):
                break
        stream.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        block = bytes(chunk)
        left = size
        while left > 0:
            n = min(chunk, left)
            stream.write(block if n == chunk else block[:n])
            await stream.drain()
            left -= n
    except Exception as e:
        print("bulk: %r" % e, file=sys.stderr)
    stream.close()
    await stream.wait_closed()
    gc.collect()


async def serve(port, cfg, size, chunk):
    async def on_connect(r, w):
        await handle(r, w, cfg, size, chunk)

    await asyncio.start_server(on_connect, "127.0.0.1", port)
    print("listening port=%d" % port)
    while True:
        await asyncio.sleep(3600)


def main(argv):
    port, user, bits, size = int(argv[0]), argv[1], int(argv[2]), int(argv[3])
    chunk = int(argv[4]) if len(argv) > 4 else 4096
    salt = os.urandom(16)
    v = srp.make_verifier(srp.group(bits), user.encode(), os.getenv("SRP_PASSWORD").encode(), salt)
    cred = credential.Credential(user, bits, salt, v)
    cfg = tls_engine.ServerConfig(lambda u: cred if u == user else None, os.urandom(32),
                                  simulate_like=cred)
    tls_aio.start_idle_work(cfg)
    asyncio.run(serve(port, cfg, size, chunk))


main(sys.argv[1:])
