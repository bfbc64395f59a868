"""Expected failures of the host tools and the exit code each one means.

Like esptool's FatalError: these are the failures a factory operator can
act on (bad input, a board that does not answer, a mismatch after writing),
not bugs. The click group in cli.py turns them into one line on stderr plus
a stable exit code; anything else is a bug and keeps its traceback.
"""
import sys

import click

# Exit codes: each means one thing, scripts (flash.sh, the line's MES) rely on them.
EXIT_OK = 0
EXIT_BUG = 1          # unexpected exception (a bug): traceback printed
EXIT_USAGE = 2        # bad command line (click's own code)
EXIT_INPUT = 3        # bad input file / value / board name
EXIT_DEVICE = 4       # device or serial port did not answer, or flashing failed after retries
EXIT_VERIFY = 5       # device answered but what it holds is not what we wrote
EXIT_STATION = 6      # station database refuses (duplicate, unknown device, ...)
EXIT_MISSING = 7      # a required tool / checkout / file is missing on this machine
EXIT_PRINTER = 8      # printer (CUPS queue or TCP 9100) failed
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 bug, 2 usage, 3 bad input, 4 device/serial failure, "
    "5 verification mismatch, 6 station database refused, 7 missing tool, "
    "8 printer failure, 130 interrupted."
)


class ToolError(Exception):
    """An expected failure; `hint` tells the operator what to do next."""
    exit_code = EXIT_INPUT

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


class InputError(ToolError):
    exit_code = EXIT_INPUT


class DeviceError(ToolError):
    exit_code = EXIT_DEVICE


class VerifyError(ToolError):
    exit_code = EXIT_VERIFY


class StationError(ToolError):
    exit_code = EXIT_STATION


class MissingError(ToolError):
    exit_code = EXIT_MISSING


class PrinterError(ToolError):
    exit_code = EXIT_PRINTER


def report(err):
    """Print a ToolError the way every subcommand does: one line, then a hint."""
    click.echo("error: %s" % err, err=True)
    if err.hint:
        click.echo("hint: %s" % err.hint, err=True)


class ToolGroup(click.Group):
    """click group that maps ToolError to its exit code and Ctrl-C to 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ToolError as e:
            report(e)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def progress(msg, nl=True):
    """Progress lines go to stderr so stdout stays machine-readable."""
    click.echo(msg, err=True, nl=nl)
    sys.stderr.flush()
