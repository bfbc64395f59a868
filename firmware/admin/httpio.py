"""Bounded request reading: the stream microdot reads a request from.

microdot checks a line's length only after `readline()` has returned it and
does not count headers, so a peer could make the device buffer a huge line
or thousands of headers.  `BoundedStream` wraps the connection (a TLS stream
or a plain asyncio stream) and enforces the caps *while* reading:
  - a line longer than `max_line` bytes raises ValueError before more is read,
  - more than `max_lines` lines (request line + headers) raise ValueError,
microdot turns that ValueError into a 400 response.  Bodies are capped by
microdot's own `Request.max_content_length` (413).

It also supplies the `awrite`/`aclose` methods microdot writes responses with.
"""


class BoundedStream:
    CHUNK = 256

    def __init__(self, inner, max_line=512, max_lines=24):
        self.inner = inner
        self.max_line = max_line
        self.max_lines = max_lines
        self.lines = 0
        self._buf = b""

    def __getattr__(self, name):
        # session, get_extra_info ... come from the wrapped stream.
        return getattr(self.inner, name)

    async def _more(self, n):
        data = await self.inner.read(n)
        if data:
            self._buf += data
        return bool(data)

    async def readline(self):
        self.lines += 1
        if self.lines > self.max_lines:
            raise ValueError("too many header lines")
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0:
                line, self._buf = self._buf[:i + 1], self._buf[i + 1:]
                return line
            if len(self._buf) > self.max_line:
                raise ValueError("header line too long")
            start = len(self._buf)
            if not await self._more(self.CHUNK):
                line, self._buf = self._buf, b""
                return line

    async def readexactly(self, n):
        while len(self._buf) < n:
            if not await self._more(n - len(self._buf)):
                raise EOFError
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    async def read(self, n=-1):
        if self._buf:
            data = self._buf if n < 0 else self._buf[:n]
            self._buf = self._buf[len(data):]
            return data
        return await self.inner.read(n)

    async def awrite(self, data):
        self.inner.write(data)
        await self.inner.drain()

    async def aclose(self):
        self.inner.close()
        await self.inner.wait_closed()
