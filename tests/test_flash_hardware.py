"""On a real board (not run by tests/run): flash, wait for boot, verify over the REPL.

    .venv/bin/python -m pytest tests/test_flash_hardware.py --run-hardware \
        --port /dev/ttyUSB0   # with SRP_IOT_FIRMWARE=micropython.bin SRP_IOT_BOARD=ESP32_GENERIC
"""
import os
import time

import pytest

from factory import srp_iot

pytestmark = pytest.mark.hardware


def test_flash_and_verify_a_real_board(request, tmp_path):
    port = request.config.getoption("--port")
    firmware = os.environ.get("SRP_IOT_FIRMWARE")
    board = os.environ.get("SRP_IOT_BOARD", "ESP32_GENERIC")
    assert port and firmware, "pass --port and set SRP_IOT_FIRMWARE"
    env = {"SRP_IOT_STATION": str(tmp_path / "st.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    r = srp_iot("flash", "--board", board, "--port", port, "--firmware", firmware, "--force", env=env)
    assert r.returncode == 0, r.stderr
    device_id = r.stdout.strip()
    for _ in range(5):                      # first boot mounts littlefs and starts main.py
        time.sleep(3)
        v = srp_iot("verify", "--port", port, "--device-id", device_id, env=env)
        if v.returncode == 0:
            break
    assert v.returncode == 0, v.stderr
