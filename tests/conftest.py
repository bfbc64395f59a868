"""Shared pytest fixtures: the MicroPython builds and the firmware path."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mpy  # noqa: E402


@pytest.fixture(scope="session")
def mp64():
    return mpy.binary("64")


@pytest.fixture(scope="session")
def mp32():
    return mpy.binary("32")


@pytest.fixture(scope="module")
def frozen_build_is_current():
    """Rebuild the frozen binaries if the firmware changed since they were built.

    Their cache key covers the frozen sources, so this takes a few seconds
    when nothing changed and ~15 s when only the firmware did; without it a
    run with SRP_IOT_SKIP_SETUP=1 would measure yesterday's firmware.
    Modules that measure the frozen firmware use it (pytestmark).
    """
    mpy.ensure_frozen_build()


def pytest_collection_modifyitems(config, items):
    """Hardware tests need --run-hardware; they never run in tests/run."""
    if config.getoption("--run-hardware"):
        return
    skip = pytest.mark.skip(reason="needs a board: pass --run-hardware --port ...")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


def pytest_addoption(parser):
    parser.addoption("--run-hardware", action="store_true",
                     help="run tests that need a real ESP32")
    parser.addoption("--port", default=None, help="serial port of the board")
