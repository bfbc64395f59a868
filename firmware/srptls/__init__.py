"""TLS-SRP for MicroPython devices (and CPython host tools).

Layers, each calling only downward:
  srp        SRP-6a math and RFC 5054 groups (pure Python, both interpreters)
  modexp     modular exponentiation backends (C module, viper, built-in pow)
  tls_*      the TLS 1.2 sans-IO engine and its transport adapters
"""
