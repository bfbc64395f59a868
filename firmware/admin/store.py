"""Credential store: which verifier the TLS-SRP server checks passwords against.

Two files in the device root (device filesystem contract):
  factory_credential.json   written at manufacturing; this module never
                            writes, renames or removes it
  credential.json           the current credential after a password change;
                            absent means "use the factory one"

A password change must survive a power cut at any instant with exactly one
valid credential.  `replace` therefore
  1. writes credential.tmp (a cut here leaves the old credential in force;
     the stale temp file is removed at the next boot),
  2. reads it back and parses it (a short or corrupt write is caught before
     anything refers to it),
  3. renames it over credential.json (atomic on littlefs and POSIX: the
     name points at the old file or at the new one, never at neither),
and only then switches the in-memory credential.  The old password works
until step 3 has completed.

A current credential that does not parse is ignored with a log line and the
factory one is used.  With neither, `credential` is None and the server
refuses every handshake (nothing could be authenticated).

`steps` lets a test stop the device between steps (the sim board's power-cut
hook); it is None on a real device.  Nothing here logs a salt or verifier.
"""
import os

from srptls import credential as credfile

FACTORY = "factory_credential.json"
CURRENT = "credential.json"
TEMP = "credential.tmp"


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
        return True
    except OSError:
        return False


class CredentialStore:
    def __init__(self, root, log, steps=None, factory=None):
        self.root = root
        self.log = log
        self.steps = steps        # callable(step_name) or None (test hook)
        # A Credential standing in for factory_credential.json (the sim
        # board's development mode: --user with SRP_PASSWORD); None on a device.
        self.factory = factory
        self.credential = None
        self.source = "none"      # "current", "factory" or "none"

    def _path(self, name):
        return self.root + name

    def load(self):
        """Choose the credential in force; returns it (or None)."""
        if _remove(self._path(TEMP)):
            self.log.warn("store: removed an unfinished password change")
        cred = self._read(CURRENT, "current")
        if cred is not None:
            self.credential, self.source = cred, "current"
            return cred
        cred = self.factory or self._read(FACTORY, "factory")
        if cred is not None:
            self.credential, self.source = cred, "factory"
        else:
            self.credential, self.source = None, "none"
            self.log.warn("store: no valid credential; every login is refused")
        return self.credential

    def _read(self, name, what):
        path = self._path(name)
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return None
        try:
            return credfile.loads(text)
        except ValueError as e:
            # The parser's message names the field, never its value.
            self.log.warn("store: %s credential unusable (%s)" % (what, e))
            return None

    def lookup(self, user):
        """The engine's lookup: the credential for `user`, or None."""
        cred = self.credential
        if cred is not None and cred.user == user:
            return cred
        return None

    def _step(self, name):
        if self.steps is not None:
            self.steps(name)

    def replace(self, cred):
        """Install `cred` as the current credential (see module docstring).

        Raises OSError/ValueError when the new credential could not be stored
        safely; the old one is then still in force, in memory and on flash.
        """
        text = cred.dumps()
        tmp = self._path(TEMP)
        try:
            with open(tmp, "w") as f:
                self._step("tmp-open")
                half = len(text) // 2
                f.write(text[:half])
                f.flush()
                self._step("tmp-half")
                f.write(text[half:])
            self._step("tmp-written")
            with open(tmp) as f:
                back = credfile.loads(f.read())
            if back != cred:
                raise ValueError("store: read-back differs from what was written")
            self._step("verified")
            os.rename(tmp, self._path(CURRENT))
        except Exception:
            _remove(tmp)
            raise
        self._step("renamed")
        self.credential, self.source = cred, "current"
        self.log.info("store: password changed for user %s (credential %s)"
                      % (cred.user, cred.fingerprint()))

    def factory_reset(self):
        """Forget the current credential; the factory (label) one is back."""
        _remove(self._path(TEMP))
        _remove(self._path(CURRENT))
        self.log.info("store: factory reset, label password restored")
        return self.load()

    def provisioned(self):
        return self.credential is not None
