"""Unit tests of the admin firmware's services, run by MicroPython itself.

Covers what needs no network: log, credential store, settings, limits,
bounded request reader, page escaping.  argv[1] is a scratch directory (the
pytest wrapper makes it).  Credentials are made here from a random password
(os.urandom), never a fixed one.
"""
import os
import sys
import time

import mptest
from srptls import credential, srp

from admin import httpio, limits, pages, settings, store
from admin import log as log_mod
from admin.log import Log

TMP = sys.argv[1].rstrip("/") + "/"
GROUP = 1024   # the store does not care about the size; keep the math quick


def fresh(name):
    d = TMP + name + "/"
    os.mkdir(d)
    return d


def make_cred(user="admin"):
    pw = "".join("%02x" % b for b in os.urandom(8))
    salt = os.urandom(16)
    v = srp.make_verifier(srp.group(GROUP), user.encode(), pw.encode(), salt)
    return credential.Credential(user, GROUP, salt, v)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Quiet:
    def __init__(self):
        self.lines = []

    def info(self, m):
        self.lines.append("I " + m)

    def warn(self, m):
        self.lines.append("W " + m)


# -- log -----------------------------------------------------------------

def test_log_ring_keeps_last_lines():
    log = Log(None, lines=3)
    for i in range(5):
        log.info("event %d" % i)
    r = log.recent()
    assert len(r) == 3 and r[0].endswith("event 2") and r[-1].endswith("event 4"), r
    assert log.recent(1)[0].endswith("event 4")


def test_log_ring_cuts_long_lines_in_ram_only():
    d = fresh("loglong")
    log = Log(d + "log.txt", lines=2)
    long_line = "x" * 300
    log.info(long_line)
    log.info("caf\u00e9 " * 40)        # multi-byte characters at the cut
    r = log.recent()
    assert len(r) == 2 and all(len(x.encode()) <= log_mod.LINE_MAX for x in r), r
    assert r[0].endswith("x" * 50) and r[1].startswith(" ") and "caf" in r[1], r
    with open(d + "log.txt") as f:
        assert long_line in f.read()     # the file keeps the whole line
    assert log.recent(5) == r and log.recent(1) == r[1:] and Log(None).recent() == []


def test_log_file_is_capped():
    d = fresh("log")
    log = Log(d + "log.txt", lines=4, file_cap=300)
    for i in range(100):
        log.info("line number %d with some padding" % i)
    size = os.stat(d + "log.txt")[6]
    old = os.stat(d + "log.txt.1")[6]
    assert size <= 300 and old <= 300, (size, old)
    with open(d + "log.txt") as f:
        assert "line number 99" in f.read()


def test_log_note_stays_in_ram():
    d = fresh("lognote")
    log = Log(d + "log.txt")
    log.info("kept on flash")
    for i in range(50):
        log.note("refused 10.0.0.%d" % i)
    with open(d + "log.txt") as f:
        text = f.read()
    assert "kept on flash" in text and "refused" not in text
    assert log.recent(1)[0].endswith("refused 10.0.0.49")


def test_log_withholds_key_material():
    log = Log(None)
    v = "%x" % make_cred().verifier
    log.info("oops " + v)
    log.info("credential 0123456789abcdef is fine")
    r = log.recent()
    assert v not in r[0] and "withheld" in r[0], r
    assert "0123456789abcdef" in r[1]


# -- credential store ------------------------------------------------------

def test_store_factory_then_current():
    d = fresh("st1")
    fac, new = make_cred(), make_cred()
    write(d + "factory_credential.json", fac.dumps())
    s = store.CredentialStore(d, Quiet())
    assert s.load() == fac and s.source == "factory"
    assert s.lookup("admin") == fac and s.lookup("root") is None
    s.replace(new)
    assert s.credential == new and s.source == "current"
    with open(d + "factory_credential.json") as f:
        assert credential.loads(f.read()) == fac, "factory file modified"
    s2 = store.CredentialStore(d, Quiet())
    assert s2.load() == new and s2.source == "current"
    assert not exists(d + "credential.tmp")


def test_store_corrupt_current_falls_back_and_logs():
    d = fresh("st2")
    fac = make_cred()
    write(d + "factory_credential.json", fac.dumps())
    write(d + "credential.json", '{"format": "srp-iot-credential/1", "user": "ad')
    log = Quiet()
    s = store.CredentialStore(d, log)
    assert s.load() == fac and s.source == "factory"
    assert any(l.startswith("W store: current credential unusable") for l in log.lines), log.lines


def test_store_no_credential_refuses():
    d = fresh("st3")
    write(d + "factory_credential.json", "garbage")
    s = store.CredentialStore(d, Quiet())
    assert s.load() is None and not s.provisioned() and s.lookup("admin") is None


def test_store_stale_temp_removed_and_old_kept():
    d = fresh("st4")
    fac = make_cred()
    write(d + "factory_credential.json", fac.dumps())
    write(d + "credential.tmp", make_cred().dumps()[:40])
    log = Quiet()
    s = store.CredentialStore(d, log)
    assert s.load() == fac
    assert not exists(d + "credential.tmp")
    assert any("unfinished" in l for l in log.lines)


def test_store_failed_verify_keeps_old():
    d = fresh("st5")
    fac = make_cred()
    write(d + "factory_credential.json", fac.dumps())
    s = store.CredentialStore(d, Quiet(), steps=None)
    s.load()

    def corrupt(step):
        if step == "tmp-written":   # flash returned something else
            write(d + "credential.tmp", "{}")
    s.steps = corrupt
    try:
        s.replace(make_cred())
    except ValueError:
        pass
    else:
        raise AssertionError("corrupt temp file accepted")
    assert s.credential == fac and s.source == "factory"
    assert not exists(d + "credential.json") and not exists(d + "credential.tmp")


def test_store_steps_in_order():
    d = fresh("st6")
    write(d + "factory_credential.json", make_cred().dumps())
    seen = []
    s = store.CredentialStore(d, Quiet(), steps=seen.append)
    s.load()
    s.replace(make_cred())
    assert seen == ["tmp-open", "tmp-half", "tmp-written", "verified", "renamed"], seen


def test_store_factory_reset():
    d = fresh("st7")
    fac = make_cred()
    write(d + "factory_credential.json", fac.dumps())
    s = store.CredentialStore(d, Quiet())
    s.load()
    s.replace(make_cred())
    assert s.factory_reset() == fac and s.source == "factory"
    assert not exists(d + "credential.json")


def test_store_logs_no_secret():
    d = fresh("st8")
    fac, new = make_cred(), make_cred()
    write(d + "factory_credential.json", fac.dumps())
    log = Quiet()
    s = store.CredentialStore(d, log)
    s.load()
    s.replace(new)
    text = "\n".join(log.lines)
    for c in (fac, new):
        assert "%x" % c.verifier not in text
        assert "".join("%02x" % b for b in c.salt) not in text


# -- settings --------------------------------------------------------------

def test_settings_validate():
    ok = settings.validate("Greenhouse 2", "farm-net", "correct horse")
    assert ok == {"name": "Greenhouse 2", "wifi": {"ssid": "farm-net", "key": "correct horse"}}
    assert settings.validate(key="ab" * 32, ssid="x")["wifi"]["key"] == "ab" * 32
    for bad in ({"name": "x" * 33}, {"name": "tab\there"}, {"ssid": "s" * 33},
                {"ssid": "net", "key": "short"}, {"ssid": "net", "key": "z" * 64},
                {"key": "longenough"}, {"name": 5}):
        try:
            settings.validate(**bad)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % (bad,))


def test_settings_saved_atomically_and_key_hidden():
    d = fresh("set1")
    s = settings.Settings(d, Quiet())
    s.load()
    s.update("Barn", "farm", "k3y-k3y-k3y")
    try:
        s.update(name="x" * 40)
    except ValueError:
        pass
    assert s.values["name"] == "Barn"
    s2 = settings.Settings(d, Quiet())
    assert s2.load()["wifi"]["key"] == "k3y-k3y-k3y"
    pub = s2.public()
    assert pub == {"name": "Barn", "wifi_ssid": "farm", "wifi_key_set": True}, pub
    s2.reset()
    assert not exists(d + "settings.json") and s2.values["name"] == ""


def test_settings_corrupt_file_gives_defaults():
    d = fresh("set2")
    write(d + "settings.json", "{not json")
    log = Quiet()
    s = settings.Settings(d, log)
    assert s.load()["name"] == "" and log.lines


# -- limits ------------------------------------------------------------------

def test_backoff_per_address_exponential_capped():
    b = limits.BackOff(free=3, base_s=1, cap_s=8)
    for i in range(3):
        b.failed("10.0.0.1")
        assert b.refused_for_ms("10.0.0.1") == 0, "free attempts are not delayed"
    expect = [1000, 2000, 4000, 8000, 8000, 8000]
    for e in expect:
        b.failed("10.0.0.1")
        left = b.refused_for_ms("10.0.0.1")
        assert e - 50 <= left <= e, (e, left)
    assert b.refused_for_ms("10.0.0.2") == 0
    b.succeeded("10.0.0.1")
    assert b.refused_for_ms("10.0.0.1") == 0


def test_backoff_global_grows_and_is_capped():
    b = limits.BackOff(global_base_ms=50, global_cap_ms=2000)
    assert b.global_delay_ms() == 0
    b.failed("a")
    assert b.global_delay_ms() == 50
    for i in range(30):
        b.failed("addr%d" % i)
    assert b.global_delay_ms() == 2000


def test_backoff_table_is_bounded():
    b = limits.BackOff(max_entries=8)
    for i in range(100):
        b.failed("10.0.%d.%d" % (i // 256, i % 256))
    assert len(b._addr) == 8


def test_slots():
    import asyncio
    s = limits.Slots(max_active=2, max_waiting=1, wait_s=0.3)

    async def go():
        assert await s.take() and await s.take()
        t0 = time.ticks_ms()
        waiter = asyncio.create_task(s.take())
        await asyncio.sleep_ms(20)
        # queue (1) full: refused at once
        t1 = time.ticks_ms()
        assert not await s.take()
        assert time.ticks_diff(time.ticks_ms(), t1) < 50
        s.give()
        assert await waiter
        assert time.ticks_diff(time.ticks_ms(), t0) < 250
        # nobody gives: times out
        t2 = time.ticks_ms()
        assert not await s.take()
        assert 250 <= time.ticks_diff(time.ticks_ms(), t2) < 600
    asyncio.run(go())


# -- bounded reader ------------------------------------------------------------

class Feed:
    def __init__(self, data):
        self.data = data
        self.reads = 0

    async def read(self, n=-1):
        self.reads += 1
        n = len(self.data) if n < 0 else n
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def test_bounded_reader():
    import asyncio

    async def go():
        b = httpio.BoundedStream(Feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY"), 64, 5)
        assert await b.readline() == b"GET / HTTP/1.1\r\n"
        assert await b.readline() == b"Host: x\r\n"
        assert await b.readline() == b"\r\n"
        assert await b.readexactly(4) == b"BODY"
        feed = Feed(b"GET /" + b"a" * 100000)
        b = httpio.BoundedStream(feed, 512, 5)
        try:
            await b.readline()
        except ValueError:
            pass
        else:
            raise AssertionError("long line accepted")
        assert feed.reads <= 4, "read far past the cap"
        b = httpio.BoundedStream(Feed(b"X: y\r\n" * 50), 512, 5)
        try:
            for i in range(50):
                await b.readline()
        except ValueError:
            assert i == 5
        else:
            raise AssertionError("header count not capped")
    asyncio.run(go())


def test_is_bad_password():
    from admin.tlsserver import is_bad_password
    from srptls.tls_aio import TLSError
    assert is_bad_password(TLSError("tls: handshake failed: alert sent bad_record_mac"))
    assert is_bad_password(TLSError("tls: handshake failed: alert sent 20"))
    assert is_bad_password(TLSError("tls: handshake failed: alert sent decrypt_error"))
    assert not is_bad_password(TLSError("tls: handshake failed: alert sent 200"))
    assert not is_bad_password(TLSError("tls: handshake timeout"))
    assert not is_bad_password(TLSError("tls: handshake failed: alert sent handshake_failure"))
    assert not is_bad_password(TLSError("tls: handshake failed: connection closed"))


# -- pages -------------------------------------------------------------------

def test_pages_escape_and_transition():
    assert pages.esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    info = {"device_id": "esp32-a1b2c3", "hostname": "esp32-a1b2c3", "https_port": 443}
    html = pages.transition(info, True)
    assert "curl -k -K - --tlsauthtype SRP --tlsuser admin" in html
    assert "--tlspassword" not in html  # a password on the command line shows in ps
    assert "https://esp32-a1b2c3/" in html and "<form" not in html
    assert "not provisioned" not in html
    assert "not provisioned" in pages.transition(info, False)
    assert "https://192.168.4.1/" in pages.transition(info, True, "admin", "192.168.4.1")
    evil = pages.settings({"name": "<script>", "wifi_ssid": "\"x", "wifi_key_set": True}, "t")
    assert "<script>" not in evil and "&lt;script&gt;" in evil


mptest.main(globals())
