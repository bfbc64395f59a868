"""./flash.sh: the sim board end to end (the printed curl command logs in), build and usage errors."""
import os
import signal
import socket
import subprocess
import time

import zxingcpp
from PIL import Image

from factory import REPO
from ports import free_port
from host_tools import label


def run(args, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(REPO / "flash.sh")] + args, capture_output=True, text=True,
                          env=e, timeout=timeout, stdin=subprocess.DEVNULL)


def test_flash_sh_sim_prints_label_and_a_working_curl_command(tmp_path):
    https, http = free_port(), free_port()
    env = dict(os.environ, SRP_IOT_OUT=str(tmp_path / "out"), SRP_IOT_STATION=str(tmp_path / "st.db"))
    err = open(tmp_path / "flash.err", "w")
    proc = subprocess.Popen([str(REPO / "flash.sh"), "--board", "sim", "--group", "2048",
                             "--https-port", str(https), "--http-port", str(http)],
                            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("curl" in l for l in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        err.flush()
        curl_line = [l for l in lines if "curl" in l]
        assert curl_line, (lines, (tmp_path / "flash.err").read_text())
        png = [l.split(": ", 1)[1] for l in lines if l.startswith("label: ")][0]
        payload = label.parse_payload(zxingcpp.read_barcodes(Image.open(png).convert("L"))[0].text)
        assert payload["password"] not in "\n".join(lines) + (tmp_path / "flash.err").read_text()
        # run exactly what flash.sh printed
        r = subprocess.run(["bash", "-c", curl_line[0] + " -sS -o /dev/null -w '%{http_code}'"],
                           capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
        assert r.stdout == "200", r.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 130
        # the device was stopped with it
        time.sleep(0.5)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", https)) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        err.close()


def test_flash_sh_usage_errors(tmp_path):
    env = {"SRP_IOT_OUT": str(tmp_path / "out"), "SRP_IOT_STATION": str(tmp_path / "st.db")}
    r = run(["--board", "NOPE"], env)
    assert r.returncode == 3 and "unknown board NOPE" in r.stderr and "ESP32_GENERIC" in r.stderr
    r = run(["--board", "ESP32_GENERIC"], env)
    assert r.returncode == 3 and "--port is required" in r.stderr
    r = run(["--board", "ESP32_GENERIC", "--port", "/dev/null"], env)
    assert r.returncode == 3 and "--firmware is required" in r.stderr
    r = run([], env)
    assert r.returncode == 2 and "usage" in r.stderr
    r = run(["--help"], env)
    assert r.returncode == 0 and "./flash.sh build" in r.stdout


def test_flash_sh_build_says_what_is_missing(tmp_path):
    env = {"IDF_PATH": "", "MICROPY_DIR": ""}
    r = run(["build", "--board", "ESP32_GENERIC"], env)
    assert r.returncode == 7 and "ESP-IDF not found" in r.stderr and "IDF_PATH" in r.stderr
    idf = tmp_path / "esp-idf"
    idf.mkdir()
    (idf / "export.sh").write_text("true\n")
    r = run(["build", "--board", "ESP32_GENERIC", "--idf", str(idf)], env)
    assert r.returncode == 7 and "MicroPython checkout not found" in r.stderr
    r = run(["build", "--board", "sim"], env)
    assert r.returncode == 3 and "build_micropython" in r.stderr


def test_flash_sh_real_board_path_with_mock_and_tcp_printer(tmp_path):
    """./flash.sh --board ESP32_GENERIC --port P --firmware F through a mock board,
    printing the label to a fake TCP 9100 printer. (--no-verify: the mock runs no
    MicroPython to answer the REPL; verify itself is tested on the sim REPL.)"""
    from factory import MockBoard, fake_firmware
    from test_label import FakePrinter
    board = MockBoard(tmp_path, "24:0a:c4:5e:00:77")
    printer = FakePrinter()
    try:
        env = {"SRP_IOT_OUT": str(tmp_path / "out"), "SRP_IOT_STATION": str(tmp_path / "st.db")}
        fw = fake_firmware(tmp_path / "fw.bin", 256 * 1024)
        r = run(["--board", "ESP32_GENERIC", "--port", board.port, "--firmware", str(fw),
                 "--group", "2048", "--tcp", "127.0.0.1:%d" % printer.port, "--no-verify"], env, timeout=180)
        assert r.returncode == 0, r.stderr
        ddir = tmp_path / "out" / "devices" / "esp32-5e0077"
        assert r.stdout.strip() == "label: %s" % (ddir / "label.png")
        printer.close()
        assert printer.jobs == [(ddir / "label.zpl").read_bytes()]
    finally:
        board.stop()
