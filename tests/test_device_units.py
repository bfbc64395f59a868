"""Runs tests/mp/test_admin_units.py (admin services) under both MicroPython builds."""
import pytest

import mpy


@pytest.mark.parametrize("build", ["64", "32"])
def test_admin_units(build, tmp_path):
    proc = mpy.run(mpy.MP_TESTS / "test_admin_units.py", tmp_path, build=build,
                   check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed=0" in proc.stdout
