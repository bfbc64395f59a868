"""MicroPython tests of the admin app's request-error answers (admin.webapp.AdminApp).

Runs on a frozen build (microdot is frozen into it) with firmware/ first on
the path.  A device that runs out of heap must answer 503 and log it, never
blame the client with 400; a malformed request is still a 400, logged by
exception class only.
"""
import asyncio

import mptest

from admin.log import Log
from admin.webapp import AdminApp


class Conn:
    """Reader and writer of one request: feeds `data`, or raises `fail`."""

    def __init__(self, data=b"", fail=None):
        self.data = data
        self.fail = fail
        self.out = b""
        self.closed = False

    async def readline(self):
        if self.fail is not None:
            raise self.fail
        i = self.data.find(b"\n")
        line = self.data if i < 0 else self.data[:i + 1]
        self.data = self.data[len(line):]
        return line

    async def readexactly(self, n):
        data, self.data = self.data[:n], self.data[n:]
        return data

    async def read(self, n=-1):
        return await self.readexactly(len(self.data) if n < 0 else n)

    async def awrite(self, data):
        self.out += data.encode() if isinstance(data, str) else data

    async def aclose(self):
        self.closed = True

    def get_extra_info(self, name):
        return ("127.0.0.1", 1234)


def serve(conn, route=None):
    log = Log(lines=8)
    app = AdminApp(log)

    @app.get("/")
    def index(req):
        return route() if route else "ok"

    asyncio.run(app.handle_request(conn, conn))
    return conn.out, "\n".join(log.recent())


def test_good_request_is_answered():
    out, log = serve(Conn(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert out.startswith(b"HTTP/1.0 200"), out
    assert out.endswith(b"ok")


def test_memory_error_while_reading_is_503_and_logged():
    conn = Conn(fail=MemoryError())
    out, log = serve(conn)
    assert out.startswith(b"HTTP/1.0 503"), out
    assert b"Retry-After: 1" in out
    assert "out of memory while reading a request" in log, log
    assert conn.closed


def test_memory_error_in_handler_is_503():
    def boom():
        raise MemoryError()
    out, log = serve(Conn(b"GET / HTTP/1.1\r\n\r\n"), boom)
    assert out.startswith(b"HTTP/1.0 503"), out
    assert "out of memory while answering a request" in log, log


def test_malformed_request_is_400_logged_by_class_only():
    out, log = serve(Conn(b"GARBAGE-secret-words\r\n\r\n"))
    assert out.startswith(b"HTTP/1.0 400"), out
    assert "unreadable request (ValueError)" in log, log
    assert "secret" not in log


def test_peer_gone_is_not_answered():
    conn = Conn(fail=OSError(104))
    try:
        serve(conn)
    except OSError:
        pass
    else:
        raise AssertionError("a reset peer was answered")
    assert conn.out == b""


mptest.main(globals())
