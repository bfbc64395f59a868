"""tools/device_bench.py, the bring-up measurement command, against the sim device.

The command a person runs against a new board must work before anyone holds
one: same device firmware, same client, 127.0.0.1 instead of the LAN.
"""
import os
import subprocess
import sys

import simdevice

REPO = simdevice.REPO


def test_device_bench_prints_handshake_and_heap(tmp_path):
    password = simdevice.new_password()
    root = simdevice.make_root(tmp_path / "root", password, compiled=True, build="32")
    with simdevice.Device(root, build="32", heapsize="224k", source_path=False,
                          extra=["--quiet"]) as dev:
        proc = subprocess.run(
            [sys.executable, str(REPO / "tools" / "device_bench.py"), "127.0.0.1",
             "--port", str(dev.port), "--runs", "3"],
            env=dict(os.environ, SRP_PASSWORD=password), capture_output=True, text=True,
            timeout=300)
        wrong = subprocess.run(
            [sys.executable, str(REPO / "tools" / "device_bench.py"), "127.0.0.1",
             "--port", str(dev.port), "--runs", "1"],
            env=dict(os.environ, SRP_PASSWORD=password + "x"), capture_output=True,
            text=True, timeout=300)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {}
    for line in proc.stdout.splitlines():
        fields = dict(f.split("=", 1) for f in line.split()[1:])
        key = fields.get("handshake", "info" if "device_id" in fields else "heap")
        lines[key] = fields
    assert lines["info"]["device_id"] == "esp32-a1b2c3"
    assert lines["info"]["etm"] == "1" and lines["info"]["ems"] == "1"
    assert float(lines["full"]["ms"]) > 0 and lines["full"]["runs"] == "3"
    assert float(lines["resumed"]["ms"]) > 0
    # resumption skips the modexp work, so it must be cheaper than a full handshake
    assert float(lines["resumed"]["server_ms"]) < float(lines["full"]["server_ms"])
    assert 0 < int(lines["heap"]["free_heap"]) < 224 * 1024
    # a wrong password is an error line and exit 1, never numbers
    assert wrong.returncode == 1 and wrong.stdout.startswith("device_bench error="), wrong.stdout
