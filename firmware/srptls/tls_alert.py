"""TLS alert codes and the engine's two error kinds (local vs remote).

Borrowed from h11's error design: every protocol failure is an exception
that carries the alert it should produce (its "alert hint").

  RemoteProtocolError   the peer broke the protocol (bad bytes, wrong order,
                        failed MAC ...).  Raised inside the record and
                        handshake code; the engine catches it, sends exactly
                        one fatal alert with `alert` and stays failed.
                        Never reaches the engine's caller.
  LocalProtocolError    the engine's caller misused the API (send() before
                        the handshake finished, after close ...).  Raised to
                        the caller, because it is a bug in the caller.

This module only defines names; it has no behaviour.
"""

WARNING = 1
FATAL = 2

# RFC 5246 section 7.2, RFC 4279 (unknown_psk_identity, used by RFC 5054).
CLOSE_NOTIFY = 0
UNEXPECTED_MESSAGE = 10
BAD_RECORD_MAC = 20
RECORD_OVERFLOW = 22
HANDSHAKE_FAILURE = 40
ILLEGAL_PARAMETER = 47
DECODE_ERROR = 50
DECRYPT_ERROR = 51
PROTOCOL_VERSION = 70
INSUFFICIENT_SECURITY = 71
INTERNAL_ERROR = 80
USER_CANCELED = 90
NO_RENEGOTIATION = 100
UNSUPPORTED_EXTENSION = 110
UNKNOWN_PSK_IDENTITY = 115

NAMES = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
    43: "unsupported_certificate", 44: "certificate_revoked",
    45: "certificate_expired", 46: "certificate_unknown",
    47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied",
    50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
    109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 115: "unknown_psk_identity",
}


def name(description):
    """Readable name of an alert description (its number if unknown)."""
    return NAMES.get(description, str(description))


class ProtocolError(Exception):
    """Base class: a TLS protocol failure with the alert that reports it."""

    def __init__(self, alert, reason=""):
        # super(), not Exception.__init__: MicroPython's built-in exception
        # types have no __init__ attribute to call.
        super().__init__(reason or name(alert))
        self.alert = alert
        self.reason = reason or name(alert)


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids; answered with `alert`."""


class LocalProtocolError(ProtocolError):
    """The caller used the engine wrongly (a bug in the caller)."""

    def __init__(self, reason):
        ProtocolError.__init__(self, INTERNAL_ERROR, reason)
