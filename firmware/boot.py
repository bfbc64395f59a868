"""First file the device runs: make /lib importable (third-party packages
such as microdot live there, per the device filesystem contract)."""
import sys

if "/lib" not in sys.path:
    sys.path.append("/lib")
