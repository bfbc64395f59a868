"""The station database (SQLite): which device got which credential, and how far it got.

One row per device: id, MAC, board, the credential's public parts (user,
group, salt, verifier - enough to rebuild the very same filesystem image
after a failed flash, so the printed label stays valid), its fingerprint,
firmware/image hashes, and the timestamps of each step (label printed,
flashed, verified). Never the password: to refuse duplicates the station
keeps only HMAC-SHA256(station key, password), the key living in a
separate file (mode 0600) beside the database.

A step's timestamp is written only after the step succeeded, inside one
transaction, so a crash or a failed flash never leaves a row claiming
success. Every change is also appended to the `events` table (audit trail).
"""
import hashlib
import hmac
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from host_tools.errors import StationError

DEFAULT_PATH = os.environ.get("SRP_IOT_STATION", "out/station.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id      TEXT PRIMARY KEY,
    mac            TEXT,
    board          TEXT NOT NULL,
    user           TEXT NOT NULL,
    group_bits     INTEGER NOT NULL,
    salt           TEXT NOT NULL,
    verifier       TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    password_mac   TEXT NOT NULL UNIQUE,
    label_path     TEXT,
    firmware_hash  TEXT,
    image_hash     TEXT,
    created_at     REAL NOT NULL,
    label_printed_at REAL,
    flash_started_at REAL,
    flashed_at     REAL,
    verified_at    REAL,
    last_error     TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    at        REAL NOT NULL,
    what      TEXT NOT NULL,
    detail    TEXT
);
"""

# Columns a caller may set through mark(); everything else is fixed at creation.
_MARKABLE = {"mac", "label_path", "firmware_hash", "image_hash", "label_printed_at",
             "flash_started_at", "flashed_at", "verified_at", "last_error"}


class Station:
    """Open (creating if needed) the station database at `path`."""

    def __init__(self, path=DEFAULT_PATH):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # timeout: batch workers in several threads/processes share the file.
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                  check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self._key = self._load_key()

    def _load_key(self):
        keyfile = self.path.with_name(self.path.name + ".key")
        if not keyfile.exists():
            # Write a complete key under a temporary name, then link it into place:
            # link() fails if another process or thread won the race, and nobody
            # ever reads a half-written key.
            fd, tmp = tempfile.mkstemp(dir=str(keyfile.parent), prefix=".key-")
            try:
                with os.fdopen(fd, "wb") as f:       # mkstemp files are mode 0600
                    f.write(os.urandom(32))
                    f.flush()
                    os.fsync(f.fileno())
                try:
                    os.link(tmp, str(keyfile))
                except FileExistsError:
                    pass
            finally:
                os.unlink(tmp)
        key = keyfile.read_bytes()
        if len(key) != 32:
            raise StationError("station key %s is damaged (expected 32 bytes)" % keyfile)
        return key

    def close(self):
        self.db.close()

    def password_mac(self, password):
        """Keyed hash used only to spot duplicates; cannot be reversed without the key file."""
        return hmac.new(self._key, password.encode(), hashlib.sha256).hexdigest()

    def password_seen(self, password):
        row = self.db.execute("SELECT 1 FROM devices WHERE password_mac = ?",
                              (self.password_mac(password),)).fetchone()
        return row is not None

    def get(self, device_id):
        row = self.db.execute("SELECT * FROM devices WHERE device_id = ?", (device_id,)).fetchone()
        return dict(row) if row else None

    def all(self):
        return [dict(r) for r in self.db.execute("SELECT * FROM devices ORDER BY created_at")]

    def add(self, device_id, board, credential, password, mac=None):
        """Record a newly provisioned device; StationError on a duplicate id or password."""
        now = time.time()
        try:
            with self._tx():
                self.db.execute(
                    "INSERT INTO devices (device_id, mac, board, user, group_bits, salt, verifier,"
                    " fingerprint, password_mac, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (device_id, mac, board, credential.user, credential.group,
                     credential.salt.hex(), "%x" % credential.verifier,
                     credential.fingerprint(), self.password_mac(password), now))
                self._event(device_id, "provisioned", credential.fingerprint())
        except sqlite3.IntegrityError as e:
            msg = str(e)
            if "password_mac" in msg:
                raise StationError("password already used by another device")
            raise StationError("device %s is already provisioned" % device_id,
                               hint="re-run flash/batch to reuse its credential")

    def mark(self, device_id, event, **fields):
        """Set step columns and log an event, in one transaction."""
        bad = set(fields) - _MARKABLE
        if bad:
            raise ValueError("not markable: %s" % ", ".join(sorted(bad)))
        with self._tx():
            if fields:
                cols = ", ".join("%s = ?" % k for k in fields)
                cur = self.db.execute("UPDATE devices SET %s WHERE device_id = ?" % cols,
                                      list(fields.values()) + [device_id])
                if cur.rowcount != 1:
                    raise StationError("device %s is not in the station database" % device_id)
            self._event(device_id, event, fields.get("last_error"))

    def events(self, device_id):
        return [dict(r) for r in self.db.execute(
            "SELECT at, what, detail FROM events WHERE device_id = ? ORDER BY id", (device_id,))]

    def credential(self, device_id):
        """The stored credential of a device (to rebuild its image), or None."""
        from srptls.credential import Credential
        row = self.get(device_id)
        if row is None:
            return None
        return Credential(row["user"], row["group_bits"], bytes.fromhex(row["salt"]),
                          int(row["verifier"], 16))

    def _event(self, device_id, what, detail=None):
        self.db.execute("INSERT INTO events (device_id, at, what, detail) VALUES (?,?,?,?)",
                        (device_id, time.time(), what, detail))

    def _tx(self):
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK (the sqlite3 module's implicit ones are too lazy)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _when(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


import click  # noqa: E402  (the command line part of this module)


@click.command("station")
@click.option("--station", "station_path", envvar="SRP_IOT_STATION", default=DEFAULT_PATH,
              show_default=True, help="station database (env SRP_IOT_STATION)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per device")
@click.option("--device-id", help="only this device, with its event log")
def station_cmd(station_path, as_json, device_id):
    """List the devices this station provisioned and how far each got."""
    import json
    if not Path(station_path).exists():
        raise StationError("no station database at %s" % station_path)
    st = Station(station_path)
    try:
        rows = [st.get(device_id)] if device_id else st.all()
        if device_id and rows[0] is None:
            raise StationError("device %s is not in the station database" % device_id)
        for r in rows:
            r = {k: v for k, v in r.items() if k != "password_mac"}
            if as_json:
                if device_id:
                    r["events"] = st.events(device_id)
                click.echo(json.dumps(r))
            else:
                click.echo("%-13s %-17s %-17s %s label:%s flashed:%s verified:%s%s" % (
                    r["device_id"], r["board"], r["mac"] or "-", r["fingerprint"],
                    "printed" if r["label_printed_at"] else ("rendered" if r["label_path"] else "-"),
                    _when(r["flashed_at"]), _when(r["verified_at"]),
                    ("  last error: " + r["last_error"]) if r["last_error"] else ""))
        if device_id and not as_json:
            for e in st.events(device_id):
                click.echo("  %s %s %s" % (_when(e["at"]), e["what"], e["detail"] or ""))
    finally:
        st.close()
