"""A scripted TLS-SRP client built from the engine's own primitives, for edge-case tests.

It exists to send what real clients never send (A = 0, A = N, a
renegotiation ClientHello, a hello without the SRP extension ...) and to
smoke-test the engine under MicroPython, where no independent client runs.
It is NOT interoperability evidence: it shares the engine's record layer
and PRF, so a bug in those would cancel out.  The interop tests use
tlslite-ng, curl, openssl and gnutls-cli.

Runs under CPython and MicroPython.
"""
import os

from srptls import srp, tls_crypto
from srptls import tls_handshake as hs
from srptls import tls_record as rec


def _vec(n, data):
    return len(data).to_bytes(n, "big") + data


def client_hello_body(user=b"admin", suites=(0xC020, 0xC01D), version=0x0303, etm=True,
                      ems=True, srp_ext=True, session_id=b"", reneg=b"", extra=(),
                      random=None):
    ext = b""
    if srp_ext:
        ext += b"\x00\x0c" + _vec(2, _vec(1, user))
    if etm:
        ext += b"\x00\x16\x00\x00"
    if ems:
        ext += b"\x00\x17\x00\x00"
    if reneg is not None:
        ext += b"\xff\x01" + _vec(2, _vec(1, reneg))
    for etype, data in extra:
        ext += etype.to_bytes(2, "big") + _vec(2, data)
    suite_bytes = b"".join(s.to_bytes(2, "big") for s in suites)
    return (version.to_bytes(2, "big") + (random or os.urandom(32)) + _vec(1, session_id)
            + _vec(2, suite_bytes) + b"\x01\x00" + _vec(2, ext))


def record(ctype, payload, version=0x0303):
    return bytes((ctype, version >> 8, version & 0xFF)) + _vec(2, payload)


class ScriptedClient:
    """Drives one handshake; each step returns the bytes to feed the server."""

    def __init__(self, user, password, **hello_args):
        self.user = user
        self.password = password
        self.rec = rec.RecordLayer()
        self.transcript = []
        self.hello_args = hello_args
        self.server_msgs = []
        self.alerts = []
        self.app = []

    def hello(self):
        body = client_hello_body(user=self.user, **self.hello_args)
        self.client_random = body[2:34]
        msg = hs.message(hs.CLIENT_HELLO, body)
        self.transcript.append(msg)
        self.rec.write(rec.HANDSHAKE, msg)
        return self.rec.take_output()

    def receive(self, data):
        """Parse server records; handshake messages go to server_msgs."""
        self.rec.feed(data)
        buf = hs.MessageBuffer()
        while True:
            r = self.rec.read_record()
            if r is None:
                break
            ctype, payload = r
            if ctype == rec.HANDSHAKE:
                buf.feed(payload)
                while True:
                    m = buf.next_message()
                    if m is None:
                        break
                    self.server_msgs.append(m)
            elif ctype == rec.ALERT:
                self.alerts.append((payload[0], payload[1]))
            elif ctype == rec.CHANGE_CIPHER_SPEC:
                self.rec.read_state = self._server_state
            else:
                self.app.append(bytes(payload))

    def key_exchange(self, A=None):
        """After the server's first flight: CKE, CCS, Finished (or just a forged CKE)."""
        msgs = {m[0]: m for m in self.server_msgs}
        sh, ske = msgs[hs.SERVER_HELLO], msgs[hs.SERVER_KEY_EXCHANGE]
        self.transcript += [sh[2], ske[2], msgs[hs.SERVER_HELLO_DONE][2]]
        r = hs.Reader(sh[1])
        r.take(2)
        self.server_random = bytes(r.take(32))
        self.session_id = bytes(r.vector(1))
        self.suite = r.uint(2)
        r = hs.Reader(ske[1])
        n = srp.b2i(r.vector(2))
        g = srp.b2i(r.vector(2))
        salt = bytes(r.vector(1))
        B = srp.b2i(r.vector(2))
        grp = srp.group_for(n, g)
        self.salt = salt
        if A is not None:
            msg = hs.message(hs.CLIENT_KEY_EXCHANGE, _vec(2, srp.i2b(A)))
            self.rec.write(rec.HANDSHAKE, msg)
            return self.rec.take_output()
        a = srp.random_private(grp)
        A = srp.client_public(grp, a)
        u = srp.compute_u(grp, A, B)
        x = srp.compute_x(salt, self.user, self.password)
        pre = srp.premaster(srp.client_secret(grp, B, x, u, a))
        cke = hs.message(hs.CLIENT_KEY_EXCHANGE, _vec(2, srp.i2b(A)))
        self.transcript.append(cke)
        h = tls_crypto.sha256(b"".join(self.transcript)).digest()
        etm = self.hello_args.get("etm", True)
        if self.hello_args.get("ems", True):
            self.master = tls_crypto.prf(pre, b"extended master secret", h, 48)
        else:
            self.master = tls_crypto.prf(pre, b"master secret",
                                         self.client_random + self.server_random, 48)
        keylen = hs.SUITES[self.suite][1]
        kb = tls_crypto.prf(self.master, b"key expansion",
                            self.server_random + self.client_random, 40 + 2 * keylen)
        self._server_state = rec.CipherState(kb[40 + keylen:40 + 2 * keylen], kb[20:40], etm)
        self.rec.write(rec.HANDSHAKE, cke)
        self.rec.write(rec.CHANGE_CIPHER_SPEC, b"\x01")
        self.rec.write_state = rec.CipherState(kb[40:40 + keylen], kb[0:20], etm)
        fin = hs.finished(tls_crypto.prf(self.master, b"client finished", h, 12))
        self.transcript.append(fin)
        self.rec.write(rec.HANDSHAKE, fin)
        return self.rec.take_output()

    def server_finished_ok(self):
        h = tls_crypto.sha256(b"".join(self.transcript)).digest()
        want = hs.finished(tls_crypto.prf(self.master, b"server finished", h, 12))
        return any(m[0] == hs.FINISHED and m[2] == want for m in self.server_msgs)

    def send(self, ctype, data):
        self.rec.write(ctype, data)
        return self.rec.take_output()
