"""Device passwords: random, easy to read and type, with a check symbol.

Format: 20 Crockford Base32 symbols printed as five groups of four,
e.g. ``7KQ2-M9XD-0HBT-4WZR-E5NC``. The first 19 symbols are random (from
`secrets`); the 20th is a check symbol.

Check symbol (a weighted sum over the prime field GF(37)): with symbol
values s1..s20 (0..31) the password is valid when

    sum(i * s_i for i in 1..20) == 0  (mod 37)

Why this catches every single substitution: changing one symbol s_i to s_i'
changes the sum by i * (s_i' - s_i); 37 is prime, 1 <= i <= 20 < 37 and
0 < |s_i' - s_i| <= 31 < 37, so the product is never 0 mod 37. Why it
catches every adjacent swap (indeed every swap of two different symbols):
swapping s_i and s_j changes the sum by (j - i) * (s_i - s_j), again a
product of two non-zero residues mod 37. A modulus of 31 would not do
(0 and Z differ by exactly 31), hence the first prime above 32.

The check value is a residue 0..36 but only 0..31 have a Base32 symbol, so
the generator draws again when the needed check value is 32..36 (like
Crockford's own mod-37 check but without his five extra symbols *~$=U,
which are hard to read aloud and type). Entropy: 19 * 5 = 95 bits, times
the 32/37 kept fraction and minus the rare weak rejects below: ~94.8 bits,
well above the 80 bits we require.

Typing: `check()` accepts lower case, spaces or no separators, and the
Crockford aliases I/L -> 1 and O -> 0, and returns the canonical form,
which is the exact byte string the SRP verifier is computed from.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # Crockford Base32 (no I L O U)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALIASES = {"I": 1, "L": 1, "O": 0}
PRIME = 37
LENGTH = 20          # symbols including the check symbol
GROUP = 4
DATA_SYMBOLS = LENGTH - 1
ENTROPY_BITS = 94.7  # 95 bits * 32/37 kept (log2) minus weak rejects; see module doc
MIN_DISTINCT = 9     # a random 20-symbol password has >= 9 distinct symbols with p > 0.999999


def _weighted(values):
    return sum((i + 1) * v for i, v in enumerate(values)) % PRIME


def check_value(data_values):
    """Check value c (0..36) that makes the weighted sum of data + c zero."""
    s = _weighted(data_values)
    # c * LENGTH + s == 0 (mod 37)  ->  c = -s / LENGTH (mod 37)
    return (-s * pow(LENGTH, -1, PRIME)) % PRIME


def _format(values):
    text = "".join(ALPHABET[v] for v in values)
    return "-".join(text[i:i + GROUP] for i in range(0, len(text), GROUP))


def is_weak(password):
    """True for outputs we refuse to print even though they are random:
    few distinct symbols, a run of four equal symbols, or a run of four
    consecutive symbols (0123, ABCD, DCBA) that a reader would notice."""
    values = [_VALUE[c] for c in password.replace("-", "")]
    if len(set(values)) < MIN_DISTINCT:
        return True
    for i in range(len(values) - 3):
        a, b, c, d = values[i:i + 4]
        if a == b == c == d:
            return True
        step = b - a
        if step in (1, -1) and c - b == step and d - c == step:
            return True
    return False


def generate(rng=secrets):
    """A new random password in canonical form (see module doc)."""
    while True:
        data = [rng.randbelow(32) for _ in range(DATA_SYMBOLS)]
        c = check_value(data)
        if c >= 32:
            continue          # no symbol for this residue: draw again
        pw = _format(data + [c])
        if not is_weak(pw):
            return pw


def check(text):
    """Normalize what a person typed and verify its check symbol.

    Returns the canonical form (upper case, groups of four joined by '-').
    Raises ValueError naming the problem (length, bad symbol, typo).
    """
    if not isinstance(text, str):
        raise ValueError("password must be text")
    raw = "".join(text.split()).replace("-", "").upper()
    values = []
    for pos, ch in enumerate(raw):
        if ch in _VALUE:
            values.append(_VALUE[ch])
        elif ch in _ALIASES:
            values.append(_ALIASES[ch])
        else:
            raise ValueError("password: symbol %r at position %d is not in the label "
                             "alphabet (0-9 A-Z without I L O U)" % (ch, pos + 1))
    if len(values) != LENGTH:
        raise ValueError("password: expected %d symbols (five groups of four), got %d"
                         % (LENGTH, len(values)))
    if _weighted(values) != 0:
        raise ValueError("password: check symbol does not match - a symbol is mistyped")
    return _format(values)
