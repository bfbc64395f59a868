"""Resource limits: connection slots and failed-login back-off.

Online password guessing and connection floods are the attacks a LAN device
sees.  The defences here are bookkeeping only (no I/O), so they are tested
directly:

  Slots     at most `max_active` TLS connections run at once (each costs a
            handshake's worth of heap); up to `max_waiting` more wait up to
            `wait_s` for a slot, anything beyond is refused at once.
  BackOff   after `free` failed logins from one address, that address is
            refused for base * 2^(n - free - 1) seconds, capped at `cap`.
            A global back-off spaces handshakes from *every* address by a
            short delay that doubles with the recent failure count (capped
            at `global_cap`), so many addresses guessing together are slow
            too, while a legitimate client elsewhere still gets in.
            The per-address table holds at most `max_entries` addresses
            (the oldest is dropped), so a flood from many addresses cannot
            grow it without bound.

Failures decay: an address's count is forgotten after `forget_s` without a
failure, and a successful login clears it.
"""
import time


def _now():
    return time.ticks_ms()


class Slots:
    def __init__(self, max_active=2, max_waiting=2, wait_s=5):
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.wait_ms = int(wait_s * 1000)
        self.active = 0
        self.waiting = 0

    def try_take(self):
        if self.active < self.max_active:
            self.active += 1
            return True
        return False

    async def take(self):
        """True once a slot is ours; False if refused (queue full or timed out)."""
        import asyncio
        if self.try_take():
            return True
        if self.waiting >= self.max_waiting:
            return False
        self.waiting += 1
        t0 = _now()
        try:
            # Polling keeps this tiny and bounded; slots free up at human
            # time scales (a handshake), so 50 ms granularity costs nothing.
            while time.ticks_diff(_now(), t0) < self.wait_ms:
                await asyncio.sleep_ms(50)
                if self.try_take():
                    return True
            return False
        finally:
            self.waiting -= 1

    def give(self):
        self.active -= 1


class BackOff:
    def __init__(self, free=3, base_s=1, cap_s=300, global_base_ms=50,
                 global_cap_ms=2000, forget_s=900, max_entries=32):
        self.free = free
        self.base_ms = int(base_s * 1000)
        self.cap_ms = int(cap_s * 1000)
        self.global_base_ms = global_base_ms
        self.global_cap_ms = global_cap_ms
        self.forget_ms = int(forget_s * 1000)
        self.max_entries = max_entries
        self._addr = {}            # address -> [failures, last_failure_ms]
        self._global_n = 0         # recent failures, all addresses
        self._global_last = _now()
        self.failures_total = 0

    def _entry(self, addr, now):
        e = self._addr.get(addr)
        if e is not None:
            age = time.ticks_diff(now, e[1])
            # A negative age means ticks wrapped (days ago): forget it too.
            if age < 0 or age > self.forget_ms:
                del self._addr[addr]
                e = None
        return e

    def _addr_delay_ms(self, n):
        if n <= self.free:
            return 0
        shift = min(n - self.free - 1, 20)
        return min(self.base_ms << shift, self.cap_ms)

    def refused_for_ms(self, addr):
        """Milliseconds this address must still wait (0: may try now)."""
        now = _now()
        e = self._entry(addr, now)
        if e is None:
            return 0
        left = self._addr_delay_ms(e[0]) - time.ticks_diff(now, e[1])
        return left if left > 0 else 0

    def global_delay_ms(self):
        """Delay every handshake waits before starting, from recent failures."""
        now = _now()
        # Halve the recent-failure count for every quiet minute.
        quiet = time.ticks_diff(now, self._global_last) // 60000
        if quiet < 0:
            quiet = 20   # ticks wrapped: the last failure was days ago
        n = self._global_n >> min(quiet, 20)
        if n == 0:
            return 0
        return min(self.global_base_ms << min(n - 1, 20), self.global_cap_ms)

    def failed(self, addr):
        now = _now()
        self.failures_total += 1
        e = self._entry(addr, now)
        if e is None:
            if len(self._addr) >= self.max_entries:
                oldest = None
                for k, v in self._addr.items():
                    if oldest is None or time.ticks_diff(v[1], self._addr[oldest][1]) < 0:
                        oldest = k
                del self._addr[oldest]
            e = self._addr[addr] = [0, now]
        e[0] += 1
        e[1] = now
        quiet = time.ticks_diff(now, self._global_last) // 60000
        if quiet < 0:
            quiet = 20
        self._global_n = min((self._global_n >> min(quiet, 20)) + 1, 64)
        self._global_last = now
        return e[0]

    def succeeded(self, addr):
        self._addr.pop(addr, None)

    def count(self, addr):
        e = self._entry(addr, _now())
        return e[0] if e else 0
