"""The TLS-SRP port: limits and back-off around each handshake, then one request.

For every accepted TCP connection, in this order (cheapest check first, so a
flood costs as little heap and time as possible):
  1. no valid credential         -> close (nothing could be authenticated)
  2. address in back-off         -> close at once (refused fast)
  3. no connection slot free     -> wait a little in a bounded queue, else close
  4. global back-off delay       (spaces handshakes while guessing goes on)
  5. TLS-SRP handshake, at most `handshake_timeout` seconds
       a failed password (the engine's bad_record_mac / decrypt_error alert
       on the client's Finished) counts against the address
  6. one HTTP request, read and answered within `idle_timeout` seconds,
     by the admin app (microdot), through the bounded reader.

What it must not do: log anything the client sent except its address and
the SRP user name of a finished handshake.
"""
import asyncio
import gc

from srptls import tls_aio

from admin.httpio import BoundedStream

# Alerts that mean "the client's Finished did not verify": a wrong password
# (RFC 5246 bad_record_mac 20, decrypt_error 51).
_BAD_PASSWORD_ALERTS = (20, 51)
_BAD_PASSWORD_NAMES = ("bad_record_mac", "decrypt_error")


def is_bad_password(exc):
    """True if a failed tls_aio.accept means a wrong password.

    Uses the exception's `alert` attribute when the adapter provides one,
    else the alert named in its message ("... alert sent bad_record_mac").
    """
    alert = getattr(exc, "alert", None)
    if alert is not None:
        return alert in _BAD_PASSWORD_ALERTS or alert in _BAD_PASSWORD_NAMES
    text = str(exc)
    for name in _BAD_PASSWORD_NAMES:
        if name in text:
            return True
    for code in _BAD_PASSWORD_ALERTS:
        marker = "alert sent %d" % code
        i = text.find(marker)
        if i >= 0:
            j = i + len(marker)
            if j >= len(text) or not ("0" <= text[j] <= "9"):
                return True
    return False


def peer_address(writer):
    """The client's IP address as text.

    ESP32 gives ("1.2.3.4", port); the unix port gives the raw sockaddr
    bytes (family, port, IPv4 address).
    """
    try:
        peer = writer.get_extra_info("peername")
        if isinstance(peer, (bytes, bytearray)):
            if len(peer) >= 8 and peer[0] == 2:   # AF_INET
                return "%d.%d.%d.%d" % (peer[4], peer[5], peer[6], peer[7])
            return "?"
        return str(peer[0])
    except Exception:
        return "?"


class TLSServer:
    def __init__(self, dev, app, cfg, slots, backoff, limits):
        self.dev = dev
        self.app = app
        self.cfg = cfg
        self.slots = slots
        self.backoff = backoff
        self.handshake_timeout = limits["handshake_timeout"]
        self.idle_timeout = limits["idle_timeout"]
        self.max_line = limits["max_header_line"]
        self.max_lines = limits["max_header_lines"]
        self.connections = 0
        # One read buffer per slot, allocated now while the heap is whole.
        tls_aio.reserve(slots.max_active)

    async def handle(self, reader, writer):
        self.connections += 1
        addr = peer_address(writer)
        log = self.dev.log
        if not self.dev.store.provisioned():
            log.note("tls: refused %s: device has no valid credential" % addr)
            await _close(writer)
            return
        if self._backing_off(addr):
            await _close(writer)
            return
        if not await self.slots.take():
            log.note("tls: refused %s: all %d connection slots busy" % (addr, self.slots.max_active))
            await _close(writer)
            return
        try:
            delay = self.backoff.global_delay_ms()
            if delay:
                await asyncio.sleep_ms(delay)
            # A failure of this address's previous handshake is recorded only
            # after its alert went out; check again now that it surely is.
            if self._backing_off(addr):
                await _close(writer)
                return
            # A handshake needs several KB-sized blocks (3072-bit numbers);
            # collecting first gives it the least fragmented heap we can.
            gc.collect()
            await self._serve(reader, writer, addr)
        finally:
            self.slots.give()
            gc.collect()

    def _backing_off(self, addr):
        wait_ms = self.backoff.refused_for_ms(addr)
        if wait_ms:
            self.dev.log.note("tls: refused %s: login back-off, %d s left"
                              % (addr, (wait_ms + 999) // 1000))
        return wait_ms > 0

    async def _serve(self, reader, writer, addr):
        log = self.dev.log
        try:
            stream = await tls_aio.accept(reader, writer, self.cfg,
                                          handshake_timeout=self.handshake_timeout)
        except Exception as e:
            if is_bad_password(e):
                n = self.backoff.failed(addr)
                log.warn("tls: failed login from %s (%d in a row)" % (addr, n))
            elif isinstance(e, MemoryError):
                gc.collect()
                log.note("tls: out of memory in the handshake with %s (%d bytes free after gc)"
                         % (addr, gc.mem_free()))
            else:
                log.info("tls: handshake with %s ended: %s" % (addr, _short(e)))
            await _close(writer)
            return
        self.backoff.succeeded(addr)
        s = stream.session
        if not s.resumed:
            log.info("tls: login %s from %s" % (s.user, addr))
        bounded = BoundedStream(stream, self.max_line, self.max_lines)
        # The handshake left its big numbers as garbage; collect them before
        # the request allocates, so the request does not find the heap full
        # while another slot's handshake is at its peak.
        gc.collect()
        try:
            await asyncio.wait_for(self.app.handle_request(bounded, bounded),
                                   self.idle_timeout)
        except asyncio.TimeoutError:
            log.info("tls: %s idle for %d s, closed" % (addr, self.idle_timeout))
        except MemoryError:
            gc.collect()
            log.note("tls: out of memory serving %s (%d bytes free after gc)"
                     % (addr, gc.mem_free()))
        except Exception as e:
            log.info("tls: connection from %s ended: %s" % (addr, _short(e)))
        try:
            stream.close()
            await stream.wait_closed()
        except Exception:
            pass


def _short(e):
    text = str(e) or type(e).__name__
    return text[:80]


async def _close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except Exception:
        pass
