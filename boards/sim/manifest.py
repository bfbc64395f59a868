# Frozen into the unix build: the same asyncio the ESP32 firmware freezes.
# (Debian's repacked source has no micropython-lib, so the port's default
# manifest cannot be used.)
include("$(MPY_DIR)/extmod/asyncio")
