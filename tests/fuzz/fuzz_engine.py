"""Coverage-guided fuzzing of the TLS engine's record and handshake parsing (atheris).

    .venv/bin/python tests/fuzz/fuzz_engine.py WORKDIR tests/fuzz/corpus -max_total_time=1800

WORKDIR receives the inputs libFuzzer finds interesting (start it empty or
reuse it to resume); tests/fuzz/corpus holds the real client flights that
seed it.  A crash (an exception escaping the engine, or a broken promise
checked by harness.run) stops the run and writes crash-<hash>; copy it to
tests/fuzz/regressions/ (test_fuzz_engine.py replays every file there).
Any libFuzzer flag works (-runs=N, -max_len=N, -jobs=N ...).

Only srptls is instrumented: the fuzzer's feedback is coverage of the
engine, not of the harness or the standard library.
"""
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["srptls"]):
    import harness


def test_one_input(data):
    harness.one_input(data)


def main(argv):
    # Flights are ~1 KB; a few KB leaves room for extra records.
    if not any(a.startswith("-max_len=") for a in argv):
        argv = argv + ["-max_len=8192"]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
