"""Per-board facts (chip, flash layout, mpy-cross arch) read from boards/<NAME>.json.

The JSON files cite where every offset comes from (their "sources" field);
this module only loads and checks them so a typo in a board file is an
InputError naming the file, never a flash written at a wrong address.
"""
import json
import os
from pathlib import Path

from host_tools.errors import InputError

REPO = Path(__file__).resolve().parent.parent
BOARDS_DIR = Path(os.environ.get("SRP_IOT_BOARDS_DIR", REPO / "boards"))

_REQUIRED = ("chip", "flash_size", "firmware_offset", "fs_offset", "fs_size",
             "fs_block_size", "arch", "firmware_image", "https_port", "http_port")


class Board:
    """One board's facts; offsets and sizes as ints."""

    def __init__(self, name, d):
        self.name = name
        self.chip = d["chip"]
        self.flash_size = d["flash_size"]
        self.firmware_offset = int(str(d["firmware_offset"]), 0)
        self.fs_offset = int(str(d["fs_offset"]), 0)
        self.fs_size = int(str(d["fs_size"]), 0)
        self.fs_block_size = int(d["fs_block_size"])
        self.arch = d["arch"]
        self.firmware_image = d["firmware_image"]
        self.https_port = int(d["https_port"])
        self.http_port = int(d["http_port"])
        self.sources = d.get("sources", {})
        if self.fs_size % self.fs_block_size or self.fs_offset % self.fs_block_size:
            raise InputError("board %s: filesystem offset/size not a multiple of the block size" % name)
        if self.firmware_offset >= self.fs_offset:
            raise InputError("board %s: firmware offset must be below the filesystem partition" % name)

    @property
    def is_sim(self):
        return self.chip == "sim"

    @property
    def fs_block_count(self):
        return self.fs_size // self.fs_block_size


def names():
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load(name):
    """The Board called `name`; InputError listing the known boards otherwise."""
    path = BOARDS_DIR / ("%s.json" % name)
    if not path.is_file():
        raise InputError("unknown board %r" % name,
                         hint="known boards: %s" % ", ".join(names()))
    try:
        d = json.loads(path.read_text())
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise InputError("board file %s lacks %s" % (path, ", ".join(missing)))
        return Board(name, d)
    except (ValueError, TypeError) as e:
        raise InputError("board file %s is malformed: %s" % (path, e))
