"""Boot sequence and run loop: identity, credential, network, both servers.

`run(board=None)` is what main.py calls.  It reads the device root (device
filesystem contract: device.json, the credentials, settings.json,
device_secret), brings the network up (ESP32 only), then serves TLS-SRP and
plain HTTP under asyncio until a reboot is requested.  On the ESP32 a reboot
is machine.reset(); on the unix port `run` returns True and the sim runner
boots again in the same process.

`board` (a dict, sim runner only) overrides ports, the listen address and
limits, and may install the credential store's step hook used by power-cut
tests.  Limits can also be set in device.json under "limits".
"""
import asyncio
import gc
import json
import os
import sys
import time

from admin import limits as limits_mod
from admin import settings as settings_mod
from admin.log import Log
from admin.store import CredentialStore

ROOT = "/"

DEFAULT_LIMITS = {
    "max_connections": 2,       # TLS connections served at once
    "max_waiting": 2,           # ... plus this many queued, the rest refused
    "slot_wait": 5,             # seconds a queued connection waits for a slot
    "handshake_timeout": 10,    # seconds for a whole TLS-SRP handshake
    "idle_timeout": 10,         # seconds for the request after the handshake
    "max_header_line": 512,     # bytes per request/header line
    "max_header_lines": 24,     # request line + headers
    "max_plain_connections": 2,
    "backoff_free": 3,          # failed logins per address before back-off
    "backoff_base": 1,          # seconds, doubled per further failure
    "backoff_cap": 300,         # seconds
    "global_backoff_cap_ms": 2000,
}


def read_json(path, default):
    try:
        with open(path) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return default


def device_secret(root, log):
    """32 random bytes, generated on the device at first boot and kept."""
    path = root + "device_secret"
    try:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) == 32:
            return data
        log.warn("boot: device_secret malformed, replacing it")
    except OSError:
        pass
    data = os.urandom(32)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)
    log.info("boot: generated device secret")
    return data


class Device:
    """Everything the servers and the app share; one per boot."""

    def __init__(self, root=ROOT, board=None):
        board = board or {}
        self.root = root
        # time.time(), not ticks_ms: ticks wrap after ~6 days on an ESP32.
        self.started_s = time.time()
        self.info = read_json(root + "device.json", {})
        self.log = Log(root + "log.txt", echo=board.get("echo"))
        self.limits = dict(DEFAULT_LIMITS)
        self.limits.update(self.info.get("limits") or {})
        self.limits.update(board.get("limits") or {})
        self.https_port = board.get("https_port") or self.info.get("https_port", 443)
        self.http_port = board.get("http_port")
        if self.http_port is None:
            self.http_port = self.info.get("http_port", 80)
        self.host = board.get("host", "0.0.0.0")
        # The transition page names the address clients actually reach.
        self.info["https_port"] = self.https_port
        if board.get("hostname"):
            self.info["hostname"] = board["hostname"]
        self.store = CredentialStore(root, self.log, board.get("store_steps"),
                                     board.get("factory_credential"))
        self.settings = settings_mod.Settings(root, self.log)
        # Per-boot token for state-changing forms (see webapp docstring).
        self.token = "".join("%02x" % b for b in os.urandom(16))
        self.reboot = asyncio.Event()
        self.cfg = None
        self.backoff = None
        self.on_ready = board.get("on_ready")   # sim runner: called once serving

    def request_reboot(self, why):
        self.log.info("device: %s" % why)
        self.reboot.set()

    def factory_reset(self):
        self.store.factory_reset()
        self.settings.reset()
        self.request_reboot("factory reset: settings and current credential removed")

    def forget_sessions(self):
        """Drop every resumable TLS session (the engine's session cache).

        After a logout or a password change no earlier session may be
        resumed without the password; with one admin account, dropping all
        of them is both simplest and right.
        """
        old = self.cfg.sessions if self.cfg else None
        if old is not None:
            self.cfg.sessions = type(old)(old.size, old.lifetime, old.clock)

    def password_changed(self):
        self.forget_sessions()
        # Simulated users keep looking like the credential now in force
        # (a salt+verifier from a client may carry a longer salt).
        cred = self.store.credential
        if self.cfg is not None and cred is not None:
            self.cfg.group_bits = cred.group
            self.cfg.salt_len = len(cred.salt)

    def logout(self, stream):
        self.forget_sessions()
        self.log.info("device: logout")


async def _serve(dev):
    from srptls import tls_engine
    from admin import plainhttp, tlsserver, webapp

    lim = dev.limits
    # simulate_like: an unknown user gets the device's own group and salt
    # length from the first handshake on, not only after a real login has
    # shown the engine what a real credential looks like (RFC 5054 2.5.1.3).
    dev.cfg = tls_engine.ServerConfig(dev.store.lookup, device_secret(dev.root, dev.log),
                                      simulate_like=dev.store.credential)
    slots = limits_mod.Slots(lim["max_connections"], lim["max_waiting"], lim["slot_wait"])
    dev.backoff = limits_mod.BackOff(free=lim["backoff_free"], base_s=lim["backoff_base"],
                                     cap_s=lim["backoff_cap"],
                                     global_cap_ms=lim["global_backoff_cap_ms"])
    tls = tlsserver.TLSServer(dev, webapp.create_app(dev), dev.cfg, slots, dev.backoff, lim)
    servers = [await asyncio.start_server(tls.handle, dev.host, dev.https_port)]
    ports = "https=%d" % dev.https_port
    if dev.http_port:
        plain = plainhttp.PlainServer(dev, plainhttp.create_app(dev), lim)
        servers.append(await asyncio.start_server(plain.handle, dev.host, dev.http_port))
        ports += " http=%d" % dev.http_port
    gc.collect()
    dev.log.info("boot: serving %s (free heap %d)" % (ports, gc.mem_free()))
    if dev.on_ready:
        dev.on_ready(dev)
    await dev.reboot.wait()
    # Let the response that asked for the reboot reach the client.
    await asyncio.sleep_ms(300)
    for s in servers:
        s.close()
        await s.wait_closed()


def run(board=None, root=ROOT):
    """Boot and serve; returns True when a reboot was requested (unix port)."""
    gc.collect()
    dev = Device(root, board)
    if not dev.info:
        dev.log.warn("boot: /device.json missing or unreadable; identity unknown")
    dev.log.info("boot: %s firmware %s" % (dev.info.get("device_id", "?"),
                                           dev.info.get("firmware_version", "?")))
    dev.store.load()
    dev.settings.load()
    if dev.store.provisioned():
        dev.log.info("boot: %s credential for user %s (%s)"
                     % (dev.store.source, dev.store.credential.user,
                        dev.store.credential.fingerprint()))
    from admin import net
    if net.bring_up(dev.settings, dev.info.get("device_id", "srp-iot"), dev.log) is None \
            and board is None:
        dev.log.info("boot: no radio; listening on all interfaces")
    try:
        asyncio.run(_serve(dev))
    finally:
        asyncio.new_event_loop()
    if sys.platform == "esp32":
        import machine
        machine.reset()
    return True
