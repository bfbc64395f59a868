"""Second file the device runs: boot the admin firmware (admin/device.py)."""
from admin import device

device.run()
