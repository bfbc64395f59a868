# Frozen manifest of the sim board's "frozen" unix builds
# (boards/sim/bin/micropython-frozen, -frozen-32): the device firmware exactly
# as an ESP32 custom build freezes it, plus the two unix-port runners, so
# that `-X heapsize=` measures what the device measures (code in flash,
# only data in the heap).  Built by boards/sim/build_micropython, which sets
# SRP_IOT_SIM_RUNNERS to a directory holding a copy of boards/sim/device.py
# named sim_device.py (a frozen module is named after its file).
import os

include("../manifest_firmware.py")
# The whole sim device, run with `micropython -m sim_device ...`.
module("sim_device.py", base_path=os.environ["SRP_IOT_SIM_RUNNERS"])
# The engine test server (firmware/sim_serve.py), run with `-m sim_serve ...`.
module("sim_serve.py", base_path="../../firmware")
