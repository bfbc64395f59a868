"""Power cut during a password change: at every step, exactly one password works.

The sim runner's --power-cut STEP freezes the device when the credential
store reaches STEP (admin/store.py); the test then SIGKILLs it (no flush, no
clean-up: the files are exactly as a power cut would leave them), boots the
same root again and tries both passwords.
"""
import subprocess
import threading

import pytest

from simdevice import Device, curl, make_root, new_password

# step reached -> which password must work after the cut
STEPS = [("tmp-open", "old"), ("tmp-half", "old"), ("tmp-written", "old"),
         ("verified", "old"), ("renamed", "new")]


def works(dev, password):
    rc, status, _ = dev.curl("/api/status", password)
    return rc == 0 and status == 200


@pytest.mark.parametrize("step,survivor", STEPS)
def test_power_cut_during_password_change(tmp_path, step, survivor):
    old, new = new_password(), new_password()
    root = make_root(tmp_path / "root", old)
    dev = Device(root, extra=["--power-cut", step]).start()
    try:
        # The change request never gets its answer: the device freezes mid-way.
        t = threading.Thread(target=dev.curl, args=("/api/password", old),
                             kwargs={"method": "POST", "json_body": {"password": new},
                                     "timeout": 20})
        t.start()
        dev.wait_for("powercut " + step, 20)
        dev.kill()
        t.join(30)
    finally:
        dev.kill()
    with Device(root) as dev2:
        ok_old, ok_new = works(dev2, old), works(dev2, new)
        assert (ok_old, ok_new) == ((True, False) if survivor == "old" else (False, True)), \
            (step, ok_old, ok_new, dev2.log())
        if survivor == "old":
            assert not (root / "credential.json").exists()
        assert not (root / "credential.tmp").exists()
