"""A mock ESP32 board for flashing tests: esp32-mock-bootloader on a pty, with its own MAC.

esp32-mock-bootloader answers the ROM bootloader protocol with an in-memory
flash that survives between esptool connections, but gives every board of
a chip type the same synthetic MAC. A factory line has distinct boards, so
this wrapper sets the MAC (the efuse words esptool's read_mac() decodes)
before the server starts. Usage:

    python tests/mock_board.py --mac 24:0a:c4:00:00:01 --chip esp32 --port-file F

The pty path is written to F once the board is ready.
"""
import argparse
import sys

from esp32_mock_bootloader import cli, registers, server


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mac", required=True)
    ap.add_argument("--chip", default="esp32")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    mac = tuple(int(x, 16) for x in a.mac.split(":"))
    registers.mac_bytes_for_chip = lambda chip: mac
    registers.rom_profile.cache_clear()
    # The mock ends a session a fixed 3 s after the first FLASH_END even while
    # esptool is still writing the next region (a 2 MB filesystem after the
    # firmware takes longer than that). A pty reports the client's close by
    # itself, so that idle cut-off is not needed here.
    server._FLASH_END_IDLE_SEC = 24 * 3600.0
    return cli.main(["run", "--pty", "--chip", a.chip, "--port-file", a.port_file,
                     "--timeout", str(a.timeout)])


if __name__ == "__main__":
    sys.exit(main())
