"""The `srp-iot` command line: one click group, one module per subcommand.

Library first, command line second: each subcommand module exposes plain
functions (used by tests and by other subcommands) and a thin click command
registered here. Subcommands whose modules are missing (or fail to import
because an optional dependency is absent) are skipped so the others still
work; `srp-iot --help` lists what is available.
"""
import importlib
import sys

import click

from host_tools.errors import EXIT_CODES_HELP, ToolGroup

# (module, attribute) of every subcommand; order is the order in --help.
SUBCOMMANDS = [
    ("host_tools.provision", "provision_cmd"),
    ("host_tools.label_print", "label_cmd"),
    ("host_tools.image", "image_cmd"),
    ("host_tools.flash", "flash_cmd"),
    ("host_tools.verify", "verify_cmd"),
    ("host_tools.update", "update_cmd"),
    ("host_tools.batch", "batch_cmd"),
    ("host_tools.station", "station_cmd"),
    ("host_tools.bridge", "bridge_cmd"),
    ("host_tools.connect", "connect_cmd"),
]


@click.group(cls=ToolGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES_HELP)
@click.version_option(package_name="srp-iot")
def main():
    """TLS-SRP device tools: manufacture (provision, label, image, flash,
    verify, update, batch) and administer (bridge, connect) devices."""


def _register():
    for modname, attr in SUBCOMMANDS:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            # Only a missing subcommand module is tolerated, never a bug inside one.
            if e.name == modname:
                continue
            # ... or a missing third-party package of an optional extra (a phone
            # running the bridge has only its pure-Python dependencies).
            if e.name and e.name.split(".")[0] not in ("host_tools", "srptls"):
                continue
            raise
        cmd = getattr(mod, attr, None)
        if cmd is not None:
            main.add_command(cmd)


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
