"""Runs the admin firmware's MicroPython unit tests: tests/mp/test_admin_units.py
(services) and tests/mp/test_admin_app_errors.py (the app's request-error answers)."""
import pytest

import mpy


@pytest.mark.parametrize("build", ["64", "32"])
def test_admin_units(build, tmp_path):
    proc = mpy.run(mpy.MP_TESTS / "test_admin_units.py", tmp_path, build=build,
                   check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed=0" in proc.stdout


@pytest.mark.parametrize("build", ["frozen-64", "frozen-32"])
def test_admin_app_errors(build, tmp_path):
    # microdot comes frozen into these builds; the admin app from firmware/.
    mpy.ensure_frozen_build()
    proc = mpy.run(mpy.MP_TESTS / "test_admin_app_errors.py", tmp_path, build=build,
                   check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ran=5 failed=0" in proc.stdout, proc.stdout + proc.stderr
