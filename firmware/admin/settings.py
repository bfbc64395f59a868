"""Device settings (name, Wi-Fi network): validated, saved atomically.

Stored as settings.json in the device root:
    {"name": "Greenhouse", "wifi": {"ssid": "farm", "key": "..."}}
The Wi-Fi key is a setting the device needs in clear (the radio uses it), so
it is stored, but it is never shown back: pages and the API report only
whether one is set.  `validate` turns form or JSON input into clean values or
raises ValueError with a message fit for the user; a rejected update changes
nothing.
"""
import json
import os

FILE = "settings.json"
TEMP = "settings.tmp"
DEFAULTS = {"name": "", "wifi": {"ssid": "", "key": ""}}


def _printable(s):
    for c in s:
        if not " " <= c <= "~":
            return False
    return True


def validate(name=None, ssid=None, key=None, current=None):
    """Return a new settings dict from `current` with the given fields changed."""
    cur = current or DEFAULTS
    new = {"name": cur["name"], "wifi": dict(cur["wifi"])}
    if name is not None:
        if not isinstance(name, str):
            raise ValueError("name must be text")
        name = name.strip()
        if len(name) > 32 or not _printable(name):
            raise ValueError("name: up to 32 printable ASCII characters")
        new["name"] = name
    if ssid is not None:
        if not isinstance(ssid, str):
            raise ValueError("ssid must be text")
        if len(ssid.encode()) > 32 or not _printable(ssid):
            raise ValueError("ssid: up to 32 printable ASCII characters")
        new["wifi"]["ssid"] = ssid
        if not ssid:
            new["wifi"]["key"] = ""
    if key is not None:
        if not isinstance(key, str):
            raise ValueError("key must be text")
        ok = (key == "" or (8 <= len(key) <= 63 and _printable(key))
              or (len(key) == 64 and all(c in "0123456789abcdefABCDEF" for c in key)))
        if not ok:
            raise ValueError("key: empty (open network), 8-63 printable "
                             "characters, or 64 hex digits (WPA2)")
        new["wifi"]["key"] = key
    if new["wifi"]["key"] and not new["wifi"]["ssid"]:
        raise ValueError("a Wi-Fi key needs an SSID")
    return new


class Settings:
    def __init__(self, root, log):
        self.root = root
        self.log = log
        self.values = validate()

    def load(self):
        try:
            with open(self.root + FILE) as f:
                obj = json.loads(f.read())
            wifi = obj.get("wifi") or {}
            self.values = validate(obj.get("name", ""), wifi.get("ssid", ""),
                                   wifi.get("key", ""))
        except OSError:
            self.values = validate()
        except (ValueError, TypeError, AttributeError) as e:
            self.log.warn("settings: file unusable (%s); using defaults" % e)
            self.values = validate()
        return self.values

    def update(self, name=None, ssid=None, key=None):
        """Validate and save; ValueError leaves the old settings untouched."""
        new = validate(name, ssid, key, self.values)
        tmp = self.root + TEMP
        with open(tmp, "w") as f:
            f.write(json.dumps(new))
        os.rename(tmp, self.root + FILE)
        self.values = new
        self.log.info("settings: saved (name %r, ssid %r)" % (new["name"], new["wifi"]["ssid"]))
        return new

    def public(self):
        """What pages and the API may show: never the Wi-Fi key itself."""
        v = self.values
        return {"name": v["name"], "wifi_ssid": v["wifi"]["ssid"],
                "wifi_key_set": bool(v["wifi"]["key"])}

    def reset(self):
        for name in (FILE, TEMP):
            try:
                os.remove(self.root + name)
            except OSError:
                pass
        self.values = validate()
