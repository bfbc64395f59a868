# Frozen manifest for the ESP32 custom firmware (ESP32_GENERIC, _C3, _S3):
# the port's own manifest first (_boot.py, which mounts the filesystem,
# inisetup, and the modules stock firmware freezes), then the device
# firmware.  Not built or tested here (no ESP-IDF on the build machine);
# the sim board's frozen unix builds freeze boards/manifest_firmware.py
# from the same source.  See README "Memory".
include("$(PORT_DIR)/boards/manifest.py")
include("manifest_firmware.py")
