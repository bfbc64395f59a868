"""HTTP over TLS-SRP to one device: a small pool of tlslite-ng connections.

Used by the bridge (forwarding a browser's requests) and by `connect` (one
request from a script). It knows HTTP/1.1 framing through http.client and
TLS-SRP through tlslite-ng, both pure Python, so it runs on phones.

Why a pool: an SRP handshake costs the device about 2.5 modular
exponentiations (seconds on an ESP32 without the RSA accelerator) and the
device serves at most a couple of TLS connections at once, so we keep at
most `max_connections` connections open, reuse them for keep-alive, and
resume the TLS session (abbreviated handshake, no SRP math) when the device
has closed one.

Failed logins: a rejected password raises AuthFailed and starts our own
back-off (Backoff); the device's back-off (a refused or dropped connection,
or an HTTP 429/503 with Retry-After) is respected by not trying again before
it allows. What this module must not do: log the password, or retry a
rejected password on its own.
"""
import http.client
import io
import select
import socket
import threading
import time

from tlslite import HandshakeSettings, TLSConnection
from tlslite.constants import AlertDescription, CipherSuite
from tlslite.errors import (TLSAbruptCloseError, TLSError, TLSLocalAlert,
                            TLSRemoteAlert)

# Alerts a TLS-SRP server sends when the client proved the wrong password
# (its Finished does not verify) or the user is unknown (simulated user).
AUTH_ALERTS = {AlertDescription.bad_record_mac, AlertDescription.decrypt_error,
               AlertDescription.access_denied, AlertDescription.unknown_psk_identity}

CONNECT_TIMEOUT = 30.0        # s; an ESP32 SRP handshake takes seconds
REPLAY_LIMIT = 64 * 1024      # request bodies up to this size are buffered so a
                              # request can be replayed once on a fresh connection


class DeviceError(Exception):
    """The device could not be reached or answered nonsense."""


class AuthFailed(DeviceError):
    """The device rejected the user/password (TLS-SRP Finished did not verify)."""


class BackingOff(DeviceError):
    """We must not try yet: `retry_after` seconds remain (ours or the device's)."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


class Backoff:
    """Exponential delay between login attempts after failures, capped.

    `base`, 2*base, 4*base ... up to `cap` seconds after consecutive failures;
    a success resets it. The device has its own, stricter back-off; ours keeps
    a typo-prone user (or a runaway script) from triggering it.
    """

    def __init__(self, base=2.0, cap=120.0, clock=time.monotonic):
        self.base = base
        self.cap = cap
        self.clock = clock
        self.failures = 0
        self.not_before = 0.0

    def remaining(self):
        return max(0.0, self.not_before - self.clock())

    def failed(self, at_least=0.0):
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1))
        self.not_before = max(self.not_before, self.clock() + max(delay, at_least))

    def defer(self, seconds):
        """The device asked us to wait (Retry-After) without a failed login."""
        self.not_before = max(self.not_before, self.clock() + seconds)

    def succeeded(self):
        self.failures = 0
        self.not_before = 0.0


def suite_name(code):
    return CipherSuite.ietfNames.get(code, "0x%04x" % code)


class SessionInfo:
    """What the last handshake established (shown in the bridge's banner)."""

    def __init__(self, tls):
        self.user = bytes(tls.session.srpUsername).decode("utf-8", "replace") \
            if isinstance(tls.session.srpUsername, (bytes, bytearray)) else tls.session.srpUsername
        self.cipher_suite = suite_name(tls.session.cipherSuite)
        self.version = tls.getVersionName()
        self.etm = bool(tls.encryptThenMAC)
        self.ems = bool(tls.extendedMasterSecret)
        self.resumed = bool(tls.resumed)
        self.when = time.time()

    def as_dict(self):
        return dict(self.__dict__)


class _TLSSocket:
    """The socket face http.client needs, over a tlslite connection.

    tlslite's own makefile() is unbuffered, but HTTPResponse wants read1()
    and cheap readline(), hence the BufferedReader.
    """

    def __init__(self, tls, raw):
        self.tls = tls
        self.sock = raw               # the TCP socket, for select()

    def sendall(self, data):
        self.tls.sendall(data)

    def makefile(self, mode="rb", bufsize=-1):
        return io.BufferedReader(self.tls.makefile(mode), 16384)

    def close(self):
        self.tls.close()


class _SRPConnection(http.client.HTTPConnection):
    """http.client over a TLS-SRP tlslite connection; connect() does the handshake."""

    def __init__(self, link):
        super().__init__(link.host, link.port, timeout=link.timeout)
        self.link = link
        self.reused = False

    def connect(self):
        self.link._handshake(self)

    def dead(self):
        """True if the device closed this idle connection (EOF or alert pending)."""
        raw = getattr(self.sock, "sock", None)
        if raw is None:
            return True
        try:
            readable, _, _ = select.select([raw], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class DeviceLink:
    """Authenticated HTTP to one device, at most `max_connections` at a time."""

    def __init__(self, host, port, user, secret=None, max_connections=2,
                 timeout=CONNECT_TIMEOUT, backoff=None):
        self.host = host
        self.port = port
        self.user = user
        self.secret = secret
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.session = None           # tlslite Session for resumption
        self.info = None              # SessionInfo of the last handshake
        self.handshakes = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle = []
        self._generation = 0          # bumped by logout: stale connections are dropped

    @property
    def origin(self):
        return "https://%s:%d" % (self.host, self.port)

    @property
    def authority(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)

    # -- password life cycle --------------------------------------------
    def set_secret(self, secret):
        with self._lock:
            if self.secret is not None and self.secret is not secret:
                self.secret.wipe()
            self.secret = secret
            self.session = None

    def logout(self):
        """Wipe the password and the TLS session, close every device connection."""
        with self._lock:
            if self.secret is not None:
                self.secret.wipe()
            self.secret = None
            self.session = None
            self.info = None
            self._generation += 1
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)

    @property
    def unlocked(self):
        return bool(self.secret)

    @property
    def idle_connections(self):
        return len(self._idle)

    # -- handshakes -------------------------------------------------------
    def _settings(self):
        settings = HandshakeSettings()
        settings.minVersion = (3, 3)      # TLS 1.2: the only version with SRP suites
        settings.maxVersion = (3, 3)
        settings.useEncryptThenMAC = True
        settings.useExtendedMasterSecret = True
        return settings

    def _handshake(self, conn):
        secret = self.secret
        if not secret:
            raise AuthFailed("logged out: no password")
        wait = self.backoff.remaining()
        if wait > 0:
            raise BackingOff("waiting %.0f s before the next login attempt" % wait, wait)
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise DeviceError("cannot reach the device at %s: %s" % (self.authority, e)) from None
        tls = TLSConnection(raw)
        session = self.session
        try:
            tls.handshakeClientSRP(self.user, secret.value, session=session,
                                   settings=self._settings())
        except TLSRemoteAlert as e:
            _close_quietly(tls)
            if e.description in AUTH_ALERTS:
                self.backoff.failed()
                raise AuthFailed("the device rejected the password for user %r" % self.user) \
                    from None
            self.backoff.failed()
            raise DeviceError("the device refused the TLS-SRP handshake (alert %s); it may be "
                              "backing off after failed logins" % e) from None
        except (TLSAbruptCloseError, ConnectionError) as e:
            _close_quietly(tls)
            # A device that drops us mid-handshake is busy or backing off:
            # wait before trying again rather than hammering it.
            self.backoff.failed()
            raise BackingOff("the device closed the connection during the handshake (%s); "
                             "it may be busy or backing off" % type(e).__name__,
                             self.backoff.remaining()) from None
        except (TLSLocalAlert, TLSError) as e:
            _close_quietly(tls)
            raise DeviceError("TLS-SRP handshake failed: %s" % e) from None
        except OSError as e:
            _close_quietly(tls)
            raise DeviceError("network error talking to %s: %s" % (self.authority, e)) from None
        self.backoff.succeeded()
        with self._lock:
            self.handshakes += 1
            self.session = tls.session
            self.info = SessionInfo(tls)
        conn.sock = _TLSSocket(tls, raw)

    # -- requests --------------------------------------------------------
    def _acquire(self):
        if not self._slots.acquire(timeout=self.timeout):
            raise DeviceError("timed out waiting for a free device connection")
        with self._lock:
            generation = self._generation
            while self._idle:
                conn = self._idle.pop()
                if not conn.dead():
                    conn.reused = True
                    return conn, generation
                _close_quietly(conn)
        return _SRPConnection(self), generation

    def _release(self, conn, generation, reusable):
        with self._lock:
            keep = reusable and generation == self._generation and self.secret
            if keep:
                self._idle.append(conn)
        if not keep:
            _close_quietly(conn)
        self._slots.release()

    def request(self, method, path, headers=(), body=None, body_length=None):
        """Send one request; return a Response to stream and then close().

        `body` is bytes or a file-like object of `body_length` bytes. A reused
        connection that the device had closed is replaced once, transparently,
        when the body could be replayed.
        """
        if body is not None and not isinstance(body, (bytes, bytearray)):
            if body_length is not None and body_length <= REPLAY_LIMIT:
                body = _read_exactly(body, body_length)
        replayable = body is None or isinstance(body, (bytes, bytearray))
        for attempt in (1, 2):
            conn, generation = self._acquire()
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", self.authority)
                for name, value in headers:
                    conn.putheader(name, value)
                if body is not None:
                    length = len(body) if replayable else body_length
                    conn.putheader("Content-Length", str(length))
                conn.endheaders()
                if body is not None:
                    if replayable:
                        conn.send(bytes(body))
                    else:
                        _copy(body, conn, body_length)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError, TLSAbruptCloseError,
                    BrokenPipeError) as e:
                reused = conn.reused
                self._release(conn, generation, False)
                if attempt == 1 and reused and replayable:
                    continue           # the device had timed the idle connection out
                raise DeviceError("the device closed the connection: %s" % e) from None
            except BaseException:
                self._release(conn, generation, False)
                raise
            self._note_retry_after(resp)
            return Response(self, conn, generation, resp)
        raise AssertionError("unreachable")

    def _note_retry_after(self, resp):
        if resp.status in (429, 503):
            value = resp.getheader("Retry-After", "")
            if value.strip().isdigit():
                self.backoff.defer(min(int(value), 3600))

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


class Response:
    """A device response being read; close() returns the connection to the pool."""

    def __init__(self, link, conn, generation, resp):
        self._link = link
        self._conn = conn
        self._generation = generation
        self.raw = resp
        self.status = resp.status
        self.reason = resp.reason
        self.headers = resp.getheaders()
        self.length = resp.length       # None when chunked or close-delimited
        self._done = False

    def read(self, amt=16384):
        """Up to amt bytes of the body (b"" at its end), as they arrive."""
        try:
            data = self.raw.read1(amt)
            if not data or self.raw.length == 0:
                # read1() never marks a Content-Length body complete; read()
                # does, and only a complete response frees the connection.
                data += self.raw.read()
            return data
        except (http.client.HTTPException, OSError, TLSError) as e:
            self.close(failed=True)
            raise DeviceError("the device broke off its response: %s" % e) from None

    @property
    def complete(self):
        """True once the whole body has been read (the connection may be reused)."""
        return self.raw.isclosed()

    def close(self, failed=False):
        if self._done:
            return
        self._done = True
        reusable = not failed and self.raw.isclosed() and not self.raw.will_close
        if not reusable:
            self.raw.close()
        self._link._release(self._conn, self._generation, reusable)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)


def _read_exactly(stream, n):
    out = bytearray()
    while len(out) < n:
        chunk = stream.read(min(65536, n - len(out)))
        if not chunk:
            raise DeviceError("the request body ended early")
        out += chunk
    return bytes(out)


def _copy(stream, conn, n):
    left = n
    while left > 0:
        chunk = stream.read(min(16384, left))
        if not chunk:
            raise DeviceError("the request body ended early")
        conn.send(chunk)
        left -= len(chunk)


def _close_quietly(conn):
    try:
        conn.close()
    except Exception:   # closing a broken TLS connection may raise anything tlslite has
        pass
