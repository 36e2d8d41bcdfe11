"""Archive text made safe for the place it is shown: a terminal, a CSV cell, XML, JSON.

The archive keeps text as captured, and a hostile page can carry control characters: terminal
escape sequences (ESC ] 8 hyperlinks, ESC [ 2J, window titles), characters XML 1.0 forbids,
or a cell that a spreadsheet runs as a formula. Only the output edges change it, with these
functions; what the archive holds stays as it was.
"""

from __future__ import annotations

import json
from typing import Any

# Unicode category Cc: C0 controls, DEL and C1 controls (some terminals read 0x9B as CSI),
# and the two noncharacters XML 1.0 forbids besides.
_UNSAFE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0xFFFE, 0xFFFF]


def _escapes(keep: str) -> dict[int, str]:
    """Each unsafe character (but `keep`) written out visibly, e.g. ESC as \\x1b."""
    return {
        code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        for code in _UNSAFE
        if chr(code) not in keep
    }


_LINE = str.maketrans(_escapes(""))  # one line: a newline or CR in it is shown too
_TEXT = str.maketrans(_escapes("\t\n"))  # text of many lines keeps its tabs and line breaks
# JSON escapes C0 controls itself; these are left raw by json.dumps(ensure_ascii=False).
_JSON = str.maketrans(
    {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)}
)

# OWASP's CSV injection rule: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def terminal_line(value: Any) -> str:
    """A value for one line of terminal output: every control character made visible."""
    return str(value).translate(_LINE)


def terminal_text(value: Any) -> str:
    """Text of many lines for a terminal or a feed: controls visible but tabs and newlines.

    The result is also valid XML 1.0 character data (lxml refuses the rest)."""
    return str(value).translate(_TEXT)


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading ' neutralises a formula prefix, and
    control characters but tabs and newlines are made visible. Numbers pass unchanged."""
    if not isinstance(value, str):
        return value
    text = value.translate(_TEXT)
    return f"'{text}" if value.startswith(FORMULA_PREFIXES) else text


def json_text(value: Any, **options: Any) -> str:
    """json.dumps(value, ensure_ascii=False, ...) with DEL, C1 controls and line separators
    \\u-escaped too: the same data once parsed, safe to print on a terminal."""
    return json.dumps(value, ensure_ascii=False, **options).translate(_JSON)
