"""TLS-SRP over asyncio streams: the engine driven by a (reader, writer) pair.

    stream = await tls_aio.accept(reader, writer, cfg, handshake_timeout=10)
    line = await stream.readline()
    stream.write(b"...")
    await stream.drain()
    stream.close()
    await stream.wait_closed()

`accept` runs the server handshake and returns a stream with the shape of
MicroPython's asyncio `Stream` (read, readline, readexactly, write, drain,
close, wait_closed, get_extra_info) plus `session`, the engine's
HandshakeComplete event (user, cipher, group ...).  A failed or timed-out
handshake closes the connection and raises TLSError.

Idle-time work: the engine can prepare the next handshake's ephemeral
values (b, g^b mod N) before a client arrives (`cfg.prepare()`).  A single
background task per ServerConfig does that one unit at a time, only while no
handshake is running and after IDLE_QUIET_MS without TLS traffic, so
preparation never competes with a client that is being served.
`start_idle_work(cfg)` starts it; `accept` starts it on first use if the
application did not.

This module knows sockets only through the asyncio stream objects and knows
nothing about HTTP; all protocol decisions stay in the engine.
"""
import asyncio
import time

from . import tls_engine

# Bytes asked of the transport per read, into the connection's receive
# buffer.  The engine reassembles records from small reads anyway, and the
# buffer is held for the whole connection: small keeps it cheap (a client's
# handshake flights take one or two reads).
RECV_SIZE = 512

# After our close_notify, how long to wait for the peer's (or its EOF) and how
# much to read meanwhile.  Closing a socket that still has unread input makes
# the kernel send RST, and an RST makes the peer drop response bytes it has
# not read yet; reading until the peer closes avoids that.
CLOSE_WAIT_S = 2
CLOSE_DRAIN_LIMIT = 65536

# Idle-time work starts only after this much quiet (see _IdleWorker).
IDLE_QUIET_MS = 100

# setsockopt(IPPROTO_TCP, TCP_NODELAY): the same numbers on Linux and lwIP
# (ESP32); MicroPython's socket module does not name them.
_IPPROTO_TCP = 6
_TCP_NODELAY = 1


class TLSError(OSError):
    """The TLS connection failed (alert sent or received, handshake timeout)."""


class _IdleWorker:
    """Runs cfg.prepare() steps while the server is idle.

    Idle means no handshake in progress and no TLS traffic for IDLE_QUIET_MS:
    the request that follows a handshake is served before the stock of
    prepared values is refilled, and one step (a modexp: milliseconds with
    the C backend, about a second in viper on an ESP32) runs at a time, so
    a new client waits for at most one step.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.active = 0          # handshakes in flight
        self.last = _now_ms()    # time of the last TLS activity
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        while True:
            if self.active:
                await self._sleep()
                continue
            quiet = _diff_ms(_now_ms(), self.last)
            if quiet < IDLE_QUIET_MS:
                await asyncio.sleep((IDLE_QUIET_MS - quiet) / 1000)
                continue
            try:
                more = self.cfg.prepare()
            except Exception as e:  # a failing step must not kill the server
                _log("tls: idle prepare failed: %r" % (e,))
                more = False
            if more:
                await asyncio.sleep(0)   # let a new connection in between steps
            else:
                await self._sleep()

    async def _sleep(self):
        await self.wake.wait()
        self.wake.clear()

    def touch(self):
        self.last = _now_ms()

    def begin(self):
        self.active += 1
        self.touch()

    def end(self):
        self.active -= 1
        self.touch()
        # The handshake may have used the prepared values: refill the stock.
        self.wake.set()


try:  # MicroPython: wrapping millisecond ticks, compared with ticks_diff
    from time import ticks_diff as _diff_ms, ticks_ms as _now_ms
except ImportError:  # CPython
    def _now_ms():
        return int(time.monotonic() * 1000)

    def _diff_ms(a, b):
        return a - b


_workers = {}


def start_idle_work(cfg):
    """Start (once) the background task that runs cfg.prepare() in idle time."""
    w = _workers.get(id(cfg))
    if w is None or w.task.done():   # none yet, or its event loop has ended
        w = _workers[id(cfg)] = _IdleWorker(cfg)
    return w


# Read buffers, reused from connection to connection.  `read(n)` would
# allocate n bytes on every call, and in a heap fragmented by hours of
# traffic n contiguous bytes can be missing even with 30 KB free: the soak
# test (tests/test_soak.py) saw handshakes and requests fail exactly there.
# A buffer allocated once, at boot while the heap is in one piece, cannot.
# It only ever holds ciphertext and raw transport bytes: no wipe needed.
_free_buffers = []
_keep_buffers = 0          # until reserve(): buffers are freed with their connection


def reserve(n):
    """Allocate read buffers for n connections now and keep them for reuse.

    A server calls this at start-up with its number of connection slots.
    More simultaneous connections still work: they allocate their own.
    """
    global _keep_buffers
    _keep_buffers = n
    while len(_free_buffers) < n:
        _free_buffers.append(bytearray(RECV_SIZE))


def _take_buffer():
    return _free_buffers.pop() if _free_buffers else bytearray(RECV_SIZE)


def _give_buffer(buf):
    if len(_free_buffers) < _keep_buffers:
        _free_buffers.append(buf)


def _log(msg):
    import sys
    print(msg, file=sys.stderr)


async def accept(reader, writer, cfg, handshake_timeout=10):
    """Run a server handshake over (reader, writer); return a TLSStream.

    Raises TLSError when the handshake fails or does not finish within
    handshake_timeout seconds; the connection is closed in that case.
    """
    worker = start_idle_work(cfg)
    _no_delay(writer)
    stream = TLSStream(reader, writer, tls_engine.ServerEngine(cfg), worker)
    worker.begin()
    try:
        try:
            await asyncio.wait_for(stream._handshake(), handshake_timeout)
        except asyncio.TimeoutError:
            raise TLSError("tls: handshake timeout")
    except BaseException:
        await stream._abort()
        raise
    finally:
        worker.end()
    return stream


_MERGE = 512   # _Plaintext joins received records while they stay this small


class _Plaintext:
    """Received plaintext not yet read, with few copies.

    Each record's data is kept as the bytes object the engine produced, in
    arrival order, and handed out by slicing.  A read that spans records
    (a 4 KB body the client cut at our 4 KB record_size_limit) is gathered
    into one new buffer, and each record is let go as soon as it has been
    copied: about twice the body at the peak, where joining the leftover
    with the next record first cost three times.  On an ESP32-sized heap
    that is the difference between fitting and MemoryError.
    """

    def __init__(self):
        self._chunks = []    # bytes objects, oldest first
        self._pos = 0        # bytes of _chunks[0] already taken
        self._len = 0        # unread bytes in all chunks

    def __len__(self):
        return self._len

    def append(self, data):
        if not data:
            return
        chunks = self._chunks
        if chunks and len(chunks[-1]) + len(data) <= _MERGE:
            # Tiny records (a peer may send 1-byte ones) are joined, so a
            # buffered line costs about its size, not an object per byte.
            chunks[-1] = chunks[-1] + data
        else:
            chunks.append(data)
        self._len += len(data)

    def take(self, n):
        n = min(n, self._len)
        if n <= 0:
            return b""
        chunks, pos = self._chunks, self._pos
        self._len -= n
        first = chunks[0]
        if n <= len(first) - pos:
            data = first if pos == 0 and n == len(first) else first[pos:pos + n]
            pos += n
            if pos == len(first):
                chunks.pop(0)
                pos = 0
            self._pos = pos
            return data
        first = None
        buf = bytearray(n)
        got = 0
        while got < n:
            k = min(len(chunks[0]) - pos, n - got)
            buf[got:got + k] = memoryview(chunks[0])[pos:pos + k]
            got += k
            pos += k
            if pos == len(chunks[0]):
                chunks.pop(0)    # copied: free it before the final copy below
                pos = 0
        self._pos = pos
        return bytes(buf)

    def find_newline(self, start):
        """Offset (from the unread start) of the first newline at or after start, or -1."""
        off = 0              # unread offset of this chunk's first unread byte
        skip = self._pos
        for c in self._chunks:
            avail = len(c) - skip
            if start < off + avail:
                i = c.find(b"\n", skip + max(0, start - off))
                if i >= 0:
                    return off + i - skip
            off += avail
            skip = 0
        return -1


def _no_delay(writer):
    """Turn Nagle's algorithm off (best effort).

    The engine already packs each flight into one write; Nagle would only
    hold back the last small write (a Finished, a close_notify) until the
    peer's delayed ACK, 40 ms later.
    """
    sock = getattr(writer, "s", None)                 # MicroPython's Stream
    if sock is None and hasattr(writer, "get_extra_info"):
        sock = writer.get_extra_info("socket")        # CPython's StreamWriter
    try:
        sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except Exception:
        pass   # not a TCP socket (tests with pipes): nothing to tune


class TLSStream:
    """Application data over a finished TLS handshake, asyncio-stream shaped."""

    def __init__(self, reader, writer, engine, worker=None):
        self._worker = worker        # told about traffic, so idle work waits
        self._reader = reader
        self._writer = writer
        self._eng = engine
        self._rx = _Plaintext()      # received plaintext not yet read
        self._eof = False            # peer's close (or EOF) seen
        self._fed_eof = False        # b"" given to the engine
        self._closed = False
        self._buf = _take_buffer()   # handed back when the transport closes

    @property
    def session(self):
        return self._eng.session

    @property
    def stats(self):
        """The engine's online-work figures for this handshake (ms, prepared)."""
        return self._eng.stats

    def get_extra_info(self, name):
        return self._writer.get_extra_info(name)

    # -- engine pump -------------------------------------------------------

    async def _flush(self):
        out = self._eng.data_to_send()
        if out:
            self._writer.write(out)
            await self._writer.drain()

    async def _next_event(self):
        """Next engine event, reading the transport as needed; None when done."""
        eng = self._eng
        while True:
            evt = eng.next_event()
            await self._flush()
            if evt is not tls_engine.NEED_DATA:
                return evt
            if eng.closed or self._fed_eof:
                return None
            eng.idle()   # the engine's housekeeping, while the peer has the turn
            try:
                data = await self._recv()
            except OSError:
                data = b""   # reset by peer: the same as EOF for the engine
            if self._worker:
                self._worker.touch()
            if not data:
                self._fed_eof = True
            eng.receive_data(data)

    async def _recv(self):
        """Next bytes from the transport, b"" at EOF.

        A view into this connection's receive buffer, valid until the next
        call (the engine copies what it keeps).
        """
        while True:
            if self._buf is None:
                return b""       # the transport is closed: end of stream
            n = await self._reader.readinto(self._buf)
            if n is not None:    # None: woken without data (non-blocking socket)
                return memoryview(self._buf)[:n]

    async def _handshake(self):
        while True:
            evt = await self._next_event()
            if isinstance(evt, tls_engine.HandshakeComplete):
                return evt
            if isinstance(evt, tls_engine.ApplicationData):
                self._rx.append(evt.data)  # cannot precede the handshake; kept anyway
                continue
            raise TLSError("tls: handshake failed: %s" % tls_engine.describe_end(evt))

    async def _fill(self):
        """Read until some plaintext is buffered; False at end of stream."""
        while not self._eof:
            evt = await self._next_event()
            if isinstance(evt, tls_engine.ApplicationData):
                if evt.data:
                    self._rx.append(evt.data)
                    return True
            elif evt is None or isinstance(evt, tls_engine.PeerClosed):
                self._eof = True
            elif isinstance(evt, tls_engine.AlertReceived) and evt.level == 1:
                continue  # a warning alert other than close_notify: keep going
            elif isinstance(evt, (tls_engine.AlertSent, tls_engine.AlertReceived)):
                self._eof = True
                raise TLSError("tls: %s" % tls_engine.describe_end(evt))
        return False


    async def _abort(self):
        """Send what the engine queued (an alert) and close the transport."""
        try:
            await self._flush()
        except Exception:
            pass
        await self._close_transport()

    async def _close_transport(self):
        self._closed = True
        if self._buf is not None:
            _give_buffer(self._buf)
            self._buf = None
        try:
            self._writer.close()
            await self._writer.wait_closed()
        except Exception:
            pass

    # -- asyncio stream API ------------------------------------------------

    async def read(self, n=-1):
        """Up to n bytes (n < 0: everything until the peer closes); b"" at EOF."""
        if n < 0:
            while await self._fill():
                pass
            return self._rx.take(len(self._rx))
        if n == 0:
            return b""
        if not len(self._rx):
            await self._fill()
        return self._rx.take(n)

    async def readexactly(self, n):
        while len(self._rx) < n:
            if not await self._fill():
                raise EOFError
        return self._rx.take(n)

    async def readline(self, limit=None):
        """One line including b"\\n" (shorter at EOF).

        With `limit`, at most that many bytes are buffered looking for the
        end of line: a longer line raises ValueError, so a peer cannot make us
        hold an unbounded line in memory.
        """
        start = 0
        while True:
            i = self._rx.find_newline(start)
            if i >= 0:
                return self._rx.take(i + 1)
            if limit is not None and len(self._rx) > limit:
                raise ValueError("line longer than %d bytes" % limit)
            start = len(self._rx)
            if not await self._fill():
                return self._rx.take(len(self._rx))

    def write(self, data):
        """Encrypt `data` into records; drain() sends them.

        Records stay in the engine until drain(), so several writes leave in
        one socket write: separate small segments would meet Nagle's
        algorithm and the peer's delayed ACK (a 40 ms stall per response).
        """
        if self._closed or self._eng.closed:
            raise TLSError("tls: write on a closed connection")
        self._eng.send(data)
        if self._worker:
            self._worker.touch()

    async def drain(self):
        out = self._eng.data_to_send()
        if out:
            self._writer.write(out)
        await self._writer.drain()

    def close(self):
        """Queue close_notify; wait_closed() sends it and closes the socket."""
        if not self._closed and not self._eng.closed:
            self._eng.close()
            out = self._eng.data_to_send()
            if out:
                self._writer.write(out)

    async def wait_closed(self):
        if self._closed:
            return
        try:
            await self._writer.drain()
            if not self._fed_eof:
                await asyncio.wait_for(self._linger(), CLOSE_WAIT_S)
        except Exception:
            pass  # the peer may be gone or slow; closing is all that is left
        await self._close_transport()

    async def _linger(self):
        """Discard input until the peer closes (see CLOSE_WAIT_S)."""
        total = 0
        while total < CLOSE_DRAIN_LIMIT:
            data = await self._recv()
            if not data:
                return
            total += len(data)

