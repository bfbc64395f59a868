"""The credential file: what a device stores to check a password (never the password).

Format (JSON, UTF-8, one object):
    {"format": "srp-iot-credential/1",
     "user": "admin",            # SRP user name (RFC 5054 I), UTF-8
     "group": 3072,              # RFC 5054 Appendix A group, by bit length
     "salt": "<hex>",            # >= 16 random bytes
     "verifier": "<hex>"}        # v = g^x mod N, big-endian, no padding required

Shared by the host tools (which write it), the device's credential store
(which reads and replaces it) and the test server.  Parsing validates every
field and raises ValueError with a message naming the problem, so a
truncated or corrupt file is never mistaken for a valid credential.
"""
import json

FORMAT = "srp-iot-credential/1"
GROUP_BITS = (1024, 1536, 2048, 3072, 4096, 6144, 8192)


class Credential:
    __slots__ = ("user", "group", "salt", "verifier")

    def __init__(self, user, group, salt, verifier):
        if not isinstance(user, str) or not user or len(user) > 255:
            raise ValueError("credential: user must be 1..255 characters")
        if group not in GROUP_BITS:
            raise ValueError("credential: unknown SRP group %r" % (group,))
        if not isinstance(salt, (bytes, bytearray)) or not 1 <= len(salt) <= 255:
            raise ValueError("credential: salt must be 1..255 bytes")
        if not isinstance(verifier, int) or verifier <= 1:
            raise ValueError("credential: verifier must be an integer > 1")
        self.user = user
        self.group = group
        self.salt = bytes(salt)
        self.verifier = verifier

    def to_dict(self):
        return {"format": FORMAT, "user": self.user, "group": self.group,
                "salt": _hex(self.salt), "verifier": "%x" % self.verifier}

    def dumps(self):
        return json.dumps(self.to_dict())

    def fingerprint(self):
        """Short public id of this credential (sha256 of the canonical form).

        Lets the station and the device agree on which verifier is installed
        without either revealing it.
        """
        import hashlib
        text = "%s|%d|%s|%x" % (self.user, self.group, _hex(self.salt), self.verifier)
        return _hex(hashlib.sha256(text.encode()).digest()[:8])

    def __eq__(self, other):
        return isinstance(other, Credential) and self.to_dict() == other.to_dict()


def loads(text):
    """Parse a credential from JSON text; ValueError on anything malformed."""
    try:
        obj = json.loads(text)
    except (ValueError, TypeError):
        raise ValueError("credential: not valid JSON")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError("credential: missing or unknown format tag")
    try:
        salt = _unhex(obj["salt"])
        verifier = int(obj["verifier"], 16)
        return Credential(obj["user"], obj["group"], salt, verifier)
    except KeyError as e:
        raise ValueError("credential: missing field %s" % e)
    except (TypeError, AttributeError):
        raise ValueError("credential: field of the wrong type")


def load(path):
    with open(path) as f:
        return loads(f.read())


def _hex(b):
    return "".join("%02x" % x for x in b)


def _unhex(s):
    if not isinstance(s, str) or len(s) % 2:
        raise ValueError("credential: salt is not even-length hex")
    try:
        return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))
    except ValueError:
        raise ValueError("credential: salt is not hex")
