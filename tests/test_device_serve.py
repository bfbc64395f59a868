"""boards/sim/serve runs the whole device with --http-port / --root / --image.

The development credential (--user, --group, SRP_PASSWORD) keeps working in
device mode, and the test-server mode without these options is unchanged
(its own tests cover it; here only its `listening` line is checked).
"""
import json
import os
import subprocess
import time

from simdevice import REPO, curl, free_port, make_root, new_password

SERVE = REPO / "boards" / "sim" / "serve"


class Serve:
    def __init__(self, args, password, tmp_path):
        self.tmpdir = tmp_path / "serve-tmp"
        self.tmpdir.mkdir()
        self.port = free_port()
        self.http_port = free_port()
        self.out = tmp_path / "serve.out"
        self.err = tmp_path / "serve.err"
        args = [a.replace("{http}", str(self.http_port)) for a in args]
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen([str(SERVE), "--port", str(self.port), *args],
                                         stdout=o, stderr=e,
                                         env=dict(os.environ, SRP_PASSWORD=password,
                                                  TMPDIR=str(self.tmpdir)))
        deadline = time.monotonic() + 30
        while "listening port=%d" % self.port not in self.out.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.err.read_text()
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def test_serve_dev_credential_whole_device(tmp_path):
    pw = new_password()
    s = Serve(["--http-port", "{http}", "--user", "admin", "--group", "2048"], pw, tmp_path)
    try:
        roots = list(s.tmpdir.iterdir())
        assert len(roots) == 1 and (roots[0] / "device.json").exists()
        rc, status, body = curl("https://127.0.0.1:%d/api/status" % s.port, pw)
        st = json.loads(body)
        assert status == 200 and st["tls"]["srp_group"] == 2048 and st["tls"]["user"] == "admin"
        assert curl("https://127.0.0.1:%d/" % s.port, new_password())[0] != 0
        p = subprocess.run(["curl", "-sS", "http://127.0.0.1:%d/" % s.http_port],
                           capture_output=True, text=True, timeout=10)
        assert "TLS-SRP" in p.stdout and "https://127.0.0.1:%d/" % s.port in p.stdout
    finally:
        s.stop()
    # the temporary device root is removed with the process
    assert list(s.tmpdir.iterdir()) == []


def test_serve_root_keeps_settings(tmp_path):
    pw = new_password()
    root = make_root(tmp_path / "root", pw)
    s = Serve(["--root", str(root), "--http-port", "{http}"], pw, tmp_path)
    try:
        rc, status, _ = curl("https://127.0.0.1:%d/api/settings" % s.port, pw, method="PUT",
                             json_body={"name": "via serve"})
        assert status == 200
    finally:
        s.stop()
    assert json.loads((root / "settings.json").read_text())["name"] == "via serve"


def test_serve_test_server_mode_unchanged(tmp_path):
    pw = new_password()
    s = Serve(["--user", "admin", "--group", "2048"], pw, tmp_path)
    try:
        rc, status, body = curl("https://127.0.0.1:%d/" % s.port, pw)
        assert status == 200 and "hello admin" in body
    finally:
        s.stop()
