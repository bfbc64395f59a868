"""srptls.tls_socket (the blocking, ssl-shaped wrapper) under MicroPython, with a real client.

tests/mp/tls_socket_server.py serves three connections with blocking sockets:
a good tlslite-ng client (read path), a wrong password (wrap_server must
raise and the loop go on), and a resumed session (readinto path).
"""
import os

import pytest
from tlslite.errors import TLSRemoteAlert

import mpy
import serverproc


class BlockingServer(serverproc.ServerProcess):
    def command(self, port):
        return ["env", "MICROPYPATH=" + mpy.env()["MICROPYPATH"], mpy.binary("64"),
                str(mpy.MP_TESTS / "tls_socket_server.py"), str(port), self.user,
                str(self.group), "3"]


def test_blocking_wrapper_serves_real_client():
    with BlockingServer(group=2048) as srv:
        line = os.urandom(20).hex().encode() + b"\n"
        first = serverproc.srp_client(srv.port, srv.user, srv.password)
        session = first.session
        assert serverproc.exchange(first, line) == b"echo:" + line
        with pytest.raises(TLSRemoteAlert) as info:
            serverproc.srp_client(srv.port, srv.user, srv.password + "x")
        assert info.value.description == 20          # bad_record_mac
        again = serverproc.srp_client(srv.port, srv.user, srv.password, session=session)
        assert again.resumed
        assert serverproc.exchange(again, line) == b"echo:" + line
        srv.proc.wait(30)
        out = srv.proc.stdout.read().decode()
        assert srv.proc.returncode == 0, srv.stderr_text()
        assert "conn=1 handshake=failed" in out and "bad_record_mac" in out, out
        assert "conn=2 handshake=ok" in out and "resumed=1" in out, out
