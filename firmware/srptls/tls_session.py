"""Session cache for TLS resumption by session ID (RFC 5246 7.3, RFC 5054 2.5.1.1).

A resumed handshake costs a few hashes instead of three big modular
exponentiations (milliseconds instead of a second on an ESP32), and browsers
and the host bridge reconnect often.  The cache is small (a handful of
entries, evicting the oldest) and every entry expires after a lifetime.

Only sessions whose handshake fully succeeded are stored, and an entry is
discarded as soon as a connection using it fails (RFC 5246 7.2.2).
Entries hold the master secret, so the cache lives in RAM only.
"""
import time


class Session:
    __slots__ = ("session_id", "master_secret", "suite", "user", "group_bits",
                 "etm", "ems", "created", "credential_id")

    def __init__(self, session_id, master_secret, suite, user, group_bits, etm, ems, created,
                 credential_id=None):
        self.session_id = session_id
        self.master_secret = master_secret
        self.suite = suite
        self.user = user
        self.group_bits = group_bits
        self.etm = etm
        self.ems = ems
        self.created = created
        self.credential_id = credential_id   # (salt, verifier) it was made with


class SessionCache:
    def __init__(self, size=8, lifetime=3600, clock=time.time):
        self.size = size
        self.lifetime = lifetime
        self.clock = clock
        self._entries = {}
        self._order = []          # session ids, oldest first

    def __len__(self):
        return len(self._entries)

    def put(self, session):
        if self.size <= 0 or self.lifetime <= 0:
            return
        sid = session.session_id
        if sid in self._entries:
            self._order.remove(sid)
        self._entries[sid] = session
        self._order.append(sid)
        while len(self._order) > self.size:
            del self._entries[self._order.pop(0)]

    def get(self, session_id):
        """The live session with this ID, or None (expired ones are dropped)."""
        s = self._entries.get(session_id)
        if s is None:
            return None
        age = self.clock() - s.created
        if age < 0 or age >= self.lifetime:
            self.discard(session_id)
            return None
        return s

    def discard(self, session_id):
        if self._entries.pop(session_id, None) is not None:
            self._order.remove(session_id)
