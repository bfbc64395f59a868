"""Station database: no passwords, duplicate refusal, same credential on re-flash,
and a failed flash never recorded as a success."""
import os
import stat

import pytest

from factory import fake_firmware
from host_tools import boards, flash, password as pwmod, provision as prov
from host_tools.errors import DeviceError, StationError
from host_tools.station import Station
from srptls import srp


@pytest.fixture
def st(tmp_path):
    s = Station(tmp_path / "station.db")
    yield s
    s.close()


def raw_db_bytes(path):
    data = b""
    for suffix in ("", "-wal", "-shm"):
        p = str(path) + suffix
        if os.path.exists(p):
            data += open(p, "rb").read()
    return data


def test_password_never_stored(st, tmp_path):
    b = boards.load("sim")
    r = prov.provision(st, b, "esp32-000001", group=2048, out=tmp_path / "out")
    assert r.new and r.password
    blob = raw_db_bytes(st.path)
    for form in (r.password, r.password.replace("-", ""), r.password.lower()):
        assert form.encode() not in blob
    assert r.password.encode().hex().encode() not in blob
    row = st.get("esp32-000001")
    assert r.password not in repr(row)
    # what is stored is enough to check a password, not to recover it
    assert srp.make_verifier(srp.group(2048), b"admin", r.password.encode(),
                             bytes.fromhex(row["salt"])) == int(row["verifier"], 16)
    assert len(bytes.fromhex(row["salt"])) >= 16
    # the keyed hash needs the key file, which only the owner can read
    key = st.path.with_name(st.path.name + ".key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert row["password_mac"] == st.password_mac(r.password)
    assert "password" not in " ".join(e["detail"] or "" for e in st.events("esp32-000001")).lower()


def test_duplicates_rejected_in_batch_and_against_station(st, tmp_path):
    b = boards.load("sim")
    first = prov.provision(st, b, "esp32-000001", group=2048, out=tmp_path)
    fresh = pwmod.generate()
    weak = "AAAA-" + fresh[5:]
    in_batch = pwmod.generate()
    queue = [first.password, weak, in_batch, fresh]
    seen = {in_batch}
    got = prov.new_password(st, seen, generate=lambda: queue.pop(0))
    assert got == fresh and queue == []
    assert fresh in seen
    # direct insert of a reused password is refused by the database itself
    cred = prov.make_credential("admin", 2048, first.password)
    with pytest.raises(StationError, match="password already used"):
        st.add("esp32-000002", "sim", cred, first.password)
    with pytest.raises(StationError):
        prov.new_password(st, set(), generate=lambda: first.password)


def test_reprovision_returns_the_same_credential(st, tmp_path):
    b = boards.load("sim")
    a = prov.provision(st, b, "esp32-000001", group=2048, out=tmp_path)
    again = prov.provision(st, b, "esp32-000001", group=2048, out=tmp_path)
    assert not again.new and again.password is None
    assert again.credential == a.credential
    with pytest.raises(StationError, match="provisioned for board sim"):
        prov.provision(st, boards.load("ESP32_GENERIC"), "esp32-000001", out=tmp_path)


class FailingTool:
    """Stands in for esptool: answers the MAC, then fails while writing."""

    def __init__(self, mac, fail=True):
        self.mac, self.fail = mac, fail
        self.writes = 0

    def read_mac(self):
        return self.mac

    def write_verify_reset(self, regions, progress=None):
        self.writes += 1
        if progress:
            progress(0.5, "writing")
        if self.fail:
            raise DeviceError("writing flash on /dev/null failed: The chip stopped responding")


def test_failed_flash_is_never_recorded_as_success(st, tmp_path):
    b = boards.load("ESP32_GENERIC")
    fw = fake_firmware(tmp_path / "fw.bin", 4096)
    tool = FailingTool("24:0a:c4:00:00:09")
    with pytest.raises(DeviceError):
        flash.flash_device(st, b, "/dev/null", fw, out=tmp_path, group=2048, tool=tool)
    row = st.get("esp32-000009")
    assert row["flashed_at"] is None and row["verified_at"] is None
    assert "stopped responding" in row["last_error"]
    cred = st.credential("esp32-000009")
    # succeed, then fail a forced re-flash: the old success must be cleared
    tool.fail = False
    r = flash.flash_device(st, b, "/dev/null", fw, out=tmp_path, group=2048, tool=tool)
    assert r.status == "flashed" and st.get("esp32-000009")["flashed_at"] is not None
    assert st.credential("esp32-000009") == cred               # same credential, label still valid
    assert flash.flash_device(st, b, "/dev/null", fw, out=tmp_path, tool=tool).status == "skipped"
    tool.fail = True
    with pytest.raises(DeviceError):
        flash.flash_device(st, b, "/dev/null", fw, out=tmp_path, tool=tool, force=True)
    row = st.get("esp32-000009")
    assert row["flashed_at"] is None and row["last_error"]
    whats = [e["what"] for e in st.events("esp32-000009")]
    assert whats.count("flash failed") == 2 and whats.count("flashed") == 1
    assert st.credential("esp32-000009") == cred


def test_firmware_overlapping_filesystem_is_refused(st, tmp_path):
    b = boards.load("ESP32_GENERIC")
    fw = fake_firmware(tmp_path / "big.bin", b.fs_offset - b.firmware_offset + 1)
    tool = FailingTool("24:0a:c4:00:00:0a", fail=False)
    from host_tools.errors import InputError
    with pytest.raises(InputError, match="overlaps the filesystem"):
        flash.flash_device(st, b, "/dev/null", fw, out=tmp_path, group=2048, tool=tool)
    assert tool.writes == 0
    assert st.get("esp32-00000a")["flashed_at"] is None


def test_concurrent_first_open_shares_one_key(tmp_path):
    """Batch threads open a new station at the same moment: one key, never a torn one."""
    import threading
    keys, errors = [], []

    def open_it():
        try:
            s = Station(tmp_path / "new.db")
            keys.append(s._key)
            s.close()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(keys) == 8 and len(set(keys)) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".key-")]
