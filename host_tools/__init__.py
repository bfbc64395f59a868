"""Factory and admin tools (CPython) for TLS-SRP devices.

Subcommands live in their own modules and are wired together by cli.py.
The SRP math is imported from the firmware's own `srptls` package, so the
verifier a station computes is the one the device checks.
"""
