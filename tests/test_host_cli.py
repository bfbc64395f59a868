"""The srp-iot command line: every subcommand has --help; errors map to stable exit codes."""
import subprocess

import pytest

from factory import REPO, srp_iot

SUBCOMMANDS = ["provision", "label", "image", "flash", "verify", "update", "batch", "station"]


def test_main_help_lists_subcommands_and_exit_codes():
    r = srp_iot("--help")
    assert r.returncode == 0
    for name in SUBCOMMANDS:
        assert name in r.stdout
    assert "Exit codes: 0 ok" in r.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name):
    r = srp_iot(name, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage: srp-iot %s" % name in r.stdout


def test_console_script():
    r = subprocess.run([str(REPO / ".venv" / "bin" / "srp-iot"), "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "0.1.0" in r.stdout


def test_exit_codes(tmp_path):
    env = {"SRP_IOT_STATION": str(tmp_path / "st.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    r = srp_iot("provision", "--board", "sim", env=env)
    assert r.returncode == 3 and "exactly one of --mac or --device-id" in r.stderr
    r = srp_iot("provision", "--board", "sim", "--mac", "not-a-mac", env=env)
    assert r.returncode == 3 and "not a MAC address" in r.stderr and "hint:" in r.stderr
    r = srp_iot("provision", "--board", "nope", "--mac", "02:00:00:00:00:01", env=env)
    assert r.returncode == 3 and "unknown board" in r.stderr
    r = srp_iot("provision", "--bogus-option", env=env)
    assert r.returncode == 2
    r = srp_iot("label", "--device-id", "esp32-000000", env=env)
    assert r.returncode == 3 and "no rendered label" in r.stderr
    r = srp_iot("label", "--device-id", "esp32-000000", "--render", env=env, input="x\n")
    assert r.returncode == 6 and "not in the station database" in r.stderr
    r = srp_iot("batch", "--board", "sim", "--port", "a", "--firmware", __file__, env=env)
    assert r.returncode == 3
    r = srp_iot("batch", "--board", "ESP32_GENERIC", "--port", "a", "--port", "a",
                "--firmware", __file__, env=env)
    assert r.returncode == 3 and "listed twice" in r.stderr
    # no traceback for expected failures
    assert "Traceback" not in r.stderr


def test_provision_prints_no_password(tmp_path):
    env = {"SRP_IOT_STATION": str(tmp_path / "st.db"), "SRP_IOT_OUT": str(tmp_path / "out")}
    r = srp_iot("provision", "--board", "sim", "--mac", "02:00:00:00:00:01", "--group", "2048", env=env)
    assert r.returncode == 0
    import zxingcpp
    from PIL import Image
    from host_tools import label
    png = tmp_path / "out" / "devices" / "esp32-000001" / "label.png"
    pw = label.parse_payload(zxingcpp.read_barcodes(Image.open(png).convert("L"))[0].text)["password"]
    assert pw not in r.stdout + r.stderr
    r2 = srp_iot("provision", "--board", "sim", "--mac", "02:00:00:00:00:01", env=env)
    assert r2.returncode == 0 and "already provisioned" in r2.stderr
