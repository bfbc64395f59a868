"""The device's administration firmware: everything above the TLS engine.

Modules, each with one job (layers call downward only, DESIGN.md section 3):
  log        RAM ring buffer + size-capped log file (never a secret)
  store      credential store: factory credential (read-only), current one
             replaced atomically, fallback on corruption
  settings   device name and Wi-Fi settings, validated, saved atomically
  limits     connection slots and failed-login back-off
  httpio     bounded request reading for microdot (header/line caps)
  pages      the HTML of the admin pages and the port-80 transition page
  webapp     admin routes and JSON API (microdot) served over TLS-SRP
  plainhttp  the plain-HTTP transition server (no admin function)
  tlsserver  accept loop: limits, back-off, TLS-SRP handshake, one request
  net        ESP32 network bring-up (station, or an access point)
  device     boot sequence: identity, store, network, both servers
"""
