"""Replay fuzz inputs through the harness; measure engine coverage with coverage.py.

    .venv/bin/python tests/fuzz/replay.py [DIR_OR_FILE ...]     (default: corpus + regressions)
    .venv/bin/python -m coverage run --branch --include='firmware/srptls/tls_*' \
        tests/fuzz/replay.py WORKDIR tests/fuzz/corpus && .venv/bin/python -m coverage report

Prints one `key=value` summary line; exits 1 if any input made the engine
break a promise (the failing files are listed).
"""
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def inputs(args):
    if not args:
        yield from harness.corpus_files()
        return
    for a in map(Path, args):
        if a.is_dir():
            yield from sorted(p for p in a.iterdir() if p.is_file() and p.suffix != ".json")
        else:
            yield a


def main(args):
    n, failed = 0, []
    for path in inputs(args):
        n += 1
        try:
            harness.one_input(path.read_bytes())
        except Exception:
            failed.append(path)
            print("FAIL %s\n%s" % (path, traceback.format_exc()), file=sys.stderr)
    print("replay inputs=%d failed=%d" % (n, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
