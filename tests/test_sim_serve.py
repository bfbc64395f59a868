"""boards/sim/serve: options, credential file mode, and its error messages."""
import json
import os
import subprocess
import time

import serverproc
from srptls import credential, srp


class CredentialServer(serverproc.ServerProcess):
    def __init__(self, path, **kw):
        super().__init__(**kw)
        self.path = path

    def command(self, port):
        return [str(serverproc.SERVE), "--port", str(port), "--credential", str(self.path)]


def run_serve(*args, env_password=None, timeout=30):
    env = dict(os.environ)
    env.pop("SRP_PASSWORD", None)
    if env_password is not None:
        env["SRP_PASSWORD"] = env_password
    return subprocess.run([str(serverproc.SERVE), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_help_documents_the_options():
    proc = run_serve("--help")
    assert proc.returncode == 0
    for option in ("--port", "--credential", "--user", "--group", "--backend",
                   "--heapsize", "SRP_PASSWORD", "listening port=P"):
        assert option in proc.stdout, option


def test_credential_file(tmp_path):
    password = serverproc.new_password()
    grp = srp.group(2048)
    salt = os.urandom(16)
    cred = credential.Credential("operator", 2048, salt,
                                 srp.make_verifier(grp, b"operator", password.encode(), salt))
    path = tmp_path / "credential.json"
    path.write_text(cred.dumps())
    with CredentialServer(path, user="operator", password=password) as srv:
        conn = serverproc.srp_client(srv.port, "operator", password)
        reply = serverproc.exchange(conn, b"GET / HTTP/1.0\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 OK") and b"hello operator" in reply
        assert password not in srv.stderr_text()


def test_bad_credential_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"format": "srp-iot-credential/1", "user": "x"}))
    proc = run_serve("--port", str(serverproc.free_port()), "--credential", str(path))
    assert proc.returncode == 2
    assert "missing field" in proc.stderr and str(path) in proc.stderr
    assert proc.stdout == ""


def test_dev_mode_needs_password_in_environment():
    proc = run_serve("--port", str(serverproc.free_port()), "--user", "a", "--group", "2048")
    assert proc.returncode == 2 and "SRP_PASSWORD" in proc.stderr


def test_password_option_is_refused():
    proc = run_serve("--port", "1", "--user", "a", "--group", "2048", "--password", "x",
                     env_password="x")
    assert proc.returncode == 2 and "never from the command line" in proc.stderr


def test_unknown_backend_is_a_clear_error():
    proc = run_serve("--port", str(serverproc.free_port()), "--user", "a", "--group", "2048",
                     "--backend", "gpu", env_password="x")
    assert proc.returncode == 2 and "gpu" in proc.stderr


def test_idle_time_prepares_each_handshake():
    """With pauses between clients, every full handshake finds b, g^b prepared.

    The pool holds two; the third client proves that idle time refills it.
    """
    with serverproc.SimServer(group=2048, backend="c") as srv:
        for _ in range(3):
            time.sleep(1.0)
            conn = serverproc.srp_client(srv.port, srv.user, srv.password)
            conn.close()
        lines = srv.wait_log("handshake=ok", 3)
    assert len(lines) == 3 and all("prepared=1" in l for l in lines), lines


def test_no_precompute_means_nothing_prepared():
    with serverproc.SimServer(group=2048, backend="c", extra_args=["--no-precompute"]) as srv:
        time.sleep(0.5)
        conn = serverproc.srp_client(srv.port, srv.user, srv.password)
        conn.close()
        lines = srv.wait_log("handshake=ok", 1)
    assert len(lines) == 1 and "prepared=0" in lines[0], lines
