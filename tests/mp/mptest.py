"""A tiny test runner for firmware tests executed by MicroPython.

A test module defines functions named test_*; `main(globals())` runs them in
source order (module dict order), prints `PASS name` or `FAIL name` plus the
traceback, and exits 1 when any failed, so pytest sees the real outcome.
Runs unchanged under CPython too.
"""
import sys


def main(namespace, only=None):
    names = [n for n in namespace if n.startswith("test_") and callable(namespace[n])]
    if only:
        names = [n for n in names if n in only]
    failed = 0
    for name in names:
        try:
            namespace[name]()
        except Exception as e:  # report every failure, keep going
            failed += 1
            print("FAIL", name)
            sys.print_exception(e) if hasattr(sys, "print_exception") else _cpy_tb()
        else:
            print("PASS", name)
    print("ran=%d failed=%d" % (len(names), failed))
    if failed or not names:
        sys.exit(1)


def _cpy_tb():
    import traceback
    traceback.print_exc()
