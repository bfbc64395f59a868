"""Network bring-up on the ESP32: join the saved Wi-Fi network, else open an AP.

With a saved SSID the device joins it in station mode (waiting up to
`join_s` seconds).  With none, or when joining fails, it starts an access
point named after the device id, so a new or reset device can be set up from
a laptop or phone.  The AP is open: it carries only the plain-HTTP transition
page and TLS-SRP, and TLS-SRP protects the password and the admin session on
any network, so a Wi-Fi key would add a second secret to print on the label
without protecting anything more.

On the unix port (the sim board) there is no `network` module: `bring_up`
returns None and the servers listen on 127.0.0.1.
"""
import time


def bring_up(settings, device_id, log, join_s=20):
    """Return ("sta"|"ap", ip address) or None when there is no radio."""
    try:
        import network
    except ImportError:
        return None
    wifi = settings.values["wifi"]
    try:
        network.hostname(device_id)   # DHCP name and mDNS: DEVICE_ID.local
    except Exception:
        pass  # older firmware has no network.hostname(); the IP still works
    ap = network.WLAN(network.AP_IF)
    sta = network.WLAN(network.STA_IF)
    if wifi["ssid"]:
        ap.active(False)
        sta.active(True)
        sta.connect(wifi["ssid"], wifi["key"] or None)
        t0 = time.ticks_ms()
        while not sta.isconnected() and time.ticks_diff(time.ticks_ms(), t0) < join_s * 1000:
            time.sleep_ms(200)
        if sta.isconnected():
            ip = sta.ifconfig()[0]
            log.info("net: joined %r as %s" % (wifi["ssid"], ip))
            return ("sta", ip)
        log.warn("net: could not join %r; opening access point" % wifi["ssid"])
        sta.active(False)
    ap.active(True)
    ap.config(essid=device_id, authmode=network.AUTH_OPEN)
    ip = ap.ifconfig()[0]
    log.info("net: access point %s at %s" % (device_id, ip))
    return ("ap", ip)
