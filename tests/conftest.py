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
