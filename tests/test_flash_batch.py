"""Batch: three mock boards flashed in parallel; one flash is killed half-way; the
re-run resumes, and the killed board ends up with the credential its label shows."""
import os
import re
import signal
import subprocess
import threading

import pytest
import zxingcpp
from PIL import Image

from factory import PY, MockBoard, esptool_read, fake_firmware
from test_label import FakePrinter
from host_tools import boards, image, label
from host_tools.station import Station
from srptls import credential, srp

MACS = ["24:0a:c4:ba:00:01", "24:0a:c4:ba:00:02", "24:0a:c4:ba:00:03"]


@pytest.fixture
def mocks(tmp_path):
    bs = [MockBoard(tmp_path, m) for m in MACS]
    yield bs
    for b in bs:
        b.stop()


def esptool_children(parent_pid, port):
    """pids of `esptool write-flash` processes for `port` whose parent is parent_pid."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == parent_pid and b"esptool" in args and b"write-flash" in args and port.encode() in args:
            found.append(int(pid))
    return found


def batch(tmp_path, ports, fw, printer):
    env = dict(os.environ, SRP_IOT_STATION=str(tmp_path / "station.db"),
               SRP_IOT_OUT=str(tmp_path / "out"))
    argv = [PY, "-m", "host_tools", "batch", "--board", "ESP32_GENERIC", "--firmware", str(fw),
            "--group", "2048", "--tcp", "127.0.0.1:%d" % printer.port]
    for p in ports:
        argv += ["--port", p]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def line_port(line):
    """The port a progress line is about (PortLines pads the name to 14 columns).

    A prefix test is not enough: "/dev/pts/1" is a prefix of "/dev/pts/10"'s line.
    """
    return line[:14].rstrip()


def decode_password(png):
    with Image.open(png) as img:
        return label.parse_payload(zxingcpp.read_barcodes(img.convert("L"))[0].text)["password"]


def test_batch_kill_one_mid_flash_then_resume(mocks, tmp_path):
    b = boards.load("ESP32_GENERIC")
    fw = fake_firmware(tmp_path / "micropython.bin", 1024 * 1024)
    ports = [m.port for m in mocks]
    victim = ports[1]
    printer = FakePrinter()
    proc = batch(tmp_path, ports, fw, printer)
    err_lines = []
    killed = threading.Event()

    def watch():
        # One progress line per port; once the victim is past 25 % of its write, kill its esptool.
        for line in proc.stderr:
            err_lines.append(line)
            m = re.search(r"\]\s+(\d+)% writing", line)
            if not killed.is_set() and line_port(line) == victim[-14:] and m and 20 <= int(m.group(1)) < 90:
                for pid in esptool_children(proc.pid, victim):
                    os.kill(pid, signal.SIGKILL)
                    killed.set()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    # stderr belongs to the watcher alone (communicate() would race it for lines);
    # a timer bounds the run.
    guard = threading.Timer(240, proc.kill)
    guard.start()
    try:
        out = proc.stdout.read()
        proc.wait(30)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t.join(10)
    assert killed.is_set(), "".join(err_lines)
    assert proc.returncode == 4, "".join(err_lines)
    status = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    assert [status[p][1] for p in ports] == ["flashed", "failed", "flashed"], out
    assert "killed by signal 9" in status[victim][3]
    # one progress line per port, each naming its port
    for p in ports:
        assert any(line_port(l) == p[-14:] and "done" in l for l in err_lines) or p == victim

    victim_id = "esp32-ba0002"
    st = Station(tmp_path / "station.db")
    row = st.get(victim_id)
    assert row["flashed_at"] is None and "killed" in row["last_error"]   # no false success
    ddir = tmp_path / "out" / "devices" / victim_id
    label_png = (ddir / "label.png").read_bytes()
    original_pw = decode_password(ddir / "label.png")
    assert (tmp_path / "out" / "labels-batch.pdf").exists()

    # re-run the same command: finished boards are skipped, the killed one is redone
    printed_first = list(printer.jobs)
    proc = batch(tmp_path, ports, fw, printer)
    out, err = proc.communicate(timeout=240)
    printer.close()
    assert proc.returncode == 0, err
    status = {line.split("\t")[0]: line.split("\t")[1] for line in out.splitlines()}
    assert [status[p] for p in ports] == ["skipped", "flashed", "skipped"], out

    assert (ddir / "label.png").read_bytes() == label_png             # label not re-made
    # labels are printed once each, and only after their board was flashed
    zpl = {m: (tmp_path / "out" / "devices" / ("esp32-" + m.replace(":", "")[6:]) / "label.zpl").read_bytes()
           for m in MACS}
    assert sorted(printed_first) == sorted([zpl[MACS[0]], zpl[MACS[2]]])
    assert printer.jobs[len(printed_first):] == [zpl[MACS[1]]]
    part = esptool_read(victim, b.fs_offset, b.fs_size, tmp_path / "victim.rb")
    cred = credential.loads(image.read_lfs(part, b)["/factory_credential.json"].decode())
    assert srp.make_verifier(srp.group(cred.group), cred.user.encode(), original_pw.encode(),
                             cred.salt) == cred.verifier
    row = st.get(victim_id)
    assert row["flashed_at"] is not None and row["fingerprint"] == cred.fingerprint()
    for mac in MACS:
        events = [e["what"] for e in st.events("esp32-" + mac.replace(":", "")[6:])]
        assert events.count("flashed") == 1 and events.count("provisioned") == 1, events
    st.close()
