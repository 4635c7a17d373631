"""Text from files as a terminal or a log may show it: one line, control characters escaped,
bounded. Everything a feed, a contract or an exception carries passes through here before it is
printed, logged or stored as a reason."""

from __future__ import annotations

import unicodedata

REASON_LIMIT = 500  # the most characters of a rejection reason
VALUE_LIMIT = 80  # the most characters of one value repeated in a report

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    category = unicodedata.category(char)
    # Cc: C0/C1 controls (escape codes, NUL); Cf: invisible formatting (bidi overrides);
    # Zl/Zp: line and paragraph separators that split a line on some terminals
    if category in ("Cc", "Cf", "Zl", "Zp"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def escaped(value: object, limit: int = VALUE_LIMIT) -> str:
    """`value` as text on one line: control and invisible characters written as escapes, at
    most `limit` characters (the last one `…` when cut)."""
    text = "".join(_escape_char(c) for c in str(value))
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def one_line(message: object, limit: int = REASON_LIMIT) -> str:
    """A message (an exception's, say) as one bounded line: line breaks and other control
    characters escaped (`\\n`), spaces kept as they are (a label's double space is evidence)."""
    return escaped(str(message).strip(), limit)
