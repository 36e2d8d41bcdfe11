"""Pure text helpers: whitespace/Unicode normalisation, date lines, stated issues.

Normalisation may change whitespace and Unicode form, never words: the archive keeps the
source text as published, typos and typographic quotes included.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from unpog_crawler import site

# Unicode spaces that render as an ordinary space (NBSP from Word pastes above all).
_SPACES_RE = re.compile(r"[\t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters that only break matching: zero-width space, BOM, soft hyphen.
_INVISIBLE_RE = re.compile(r"[\u200b\ufeff\u00ad\u2060]")
_LINE_BREAK_RE = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_RUN_RE = re.compile(r" {2,}")


def flatten_text(s: str) -> str:
    """`normalise_text` on one line: every run of white space (line breaks too) is one
    space. The hot path of reading a page: str.split() knows Unicode's spaces."""
    if not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    return " ".join(_INVISIBLE_RE.sub("", s).split())


def normalise_text(s: str) -> str:
    """NFC, Unicode spaces to ' ', invisible chars dropped, space runs collapsed, stripped.

    Line breaks are kept (each line stripped), so the helper is safe on multi-line text.
    """
    s = unicodedata.normalize("NFC", s)
    s = _INVISIBLE_RE.sub("", _SPACES_RE.sub(" ", _LINE_BREAK_RE.sub("\n", s)))
    return "\n".join(_RUN_RE.sub(" ", line).strip() for line in s.split("\n")).strip()


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# "Oct 24-26, 2018/ Incheon, Republic of Korea", "Oct 30-Nov 1, 2018/ …",
# "Dec 30, 2018 - Jan 2, 2019/ …", "Nov 27, 2018/ Seoul, …".
_DATE_LINE_RE = re.compile(
    rf"""^(?P<m1>{_MONTH})\.?\s*(?P<d1>{_DAY})(?:,?\s*(?P<y1>\d{{4}}))?
    (?:\s*(?:-|–|—|~|to)\s*(?:(?P<m2>{_MONTH})\.?\s*)?(?P<d2>{_DAY}))?
    ,?\s*(?P<y2>\d{{4}})\s*(?:[/|]\s*(?P<place>[^/|]*))?$""",
    re.I | re.X,
)


def _day(text: str) -> int:
    return int(re.match(r"\d+", text).group())


def _iso(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), _MONTHS[month[:3].lower()], _day(day))
    except ValueError:
        return None


def parse_date_line(line: str) -> tuple[str, str, str] | None:
    """An event's date/place line as (ISO start, ISO end, place); None if it is not one."""
    m = _DATE_LINE_RE.match(normalise_text(line))
    if not m:
        return None
    start = _iso(m["y1"] or m["y2"], m["m1"], m["d1"])
    end = _iso(m["y2"], m["m2"] or m["m1"], m["d2"] or m["d1"])
    if start is None or end is None or end < start:
        return None
    return start.isoformat(), end.isoformat(), (m["place"] or "").strip()


_ORDINAL_WORDS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
]  # fmt: skip
_ORDINAL = r"(?:\d{1,3}(?:st|nd|rd|th)?|" + "|".join(_ORDINAL_WORDS) + ")"
_QUARTER_RE = re.compile(
    rf"\b(?P<ord>{_ORDINAL})\s+quarter\b(?:\s+of)?(?:\s+the\s+year)?\s+(?P<year>(?:19|20)\d\d)\b"
    r"|\bQ(?P<q>[1-4])\s*,?\s*(?P<qyear>(?:19|20)\d\d)\b",
    re.I,
)
_NUMBER_RE = re.compile(
    rf"\b(?P<ord>{_ORDINAL})\s+{site.NEWSLETTER_NAME_RE}|\bissue\s+(?:no\.?\s*)?(?P<n>\d+)\b",
    re.I,
)


def _ordinal_value(text: str) -> int:
    text = text.lower()
    if text in _ORDINAL_WORDS:
        return _ORDINAL_WORDS.index(text) + 1
    return _day(text)


def stated_issue(text: str) -> str | None:
    """The issue a Welcome Note states: '2019-Q1' (quarter+year wins), else 'No. 2'."""
    for m in _QUARTER_RE.finditer(text):
        quarter = int(m["q"]) if m["q"] else _ordinal_value(m["ord"])
        if 1 <= quarter <= 4:
            return f"{m['year'] or m['qyear']}-Q{quarter}"
    m = _NUMBER_RE.search(text)
    if m:
        return f"No. {int(m['n']) if m['n'] else _ordinal_value(m['ord'])}"
    return None


def issue_from_issue_page(path: str) -> str | None:
    """'sub4_3_2022_winter.asp' (or a URL/path ending so) -> '2022 Winter'."""
    m = site.ISSUE_PAGE_RE.search(path.split("?")[0].split("#")[0])
    return f"{m['year']} {m['season'].capitalize()}" if m else None


# "Meeting with ITU Regional Office May 30, 2017": a Theme/Publications heading with its date.
_TITLE_DATE_RE = re.compile(
    rf"^(?P<title>.*?\S)\s*[,(\[-]?\s*(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}}),\s*"
    r"(?P<year>\d{4})\s*[)\]]?$",
    re.I,
)


def split_title_date(line: str) -> tuple[str, str] | None:
    """'<title> May 30, 2017' -> (title, '2017-05-30'); None when no valid date ends it."""
    m = _TITLE_DATE_RE.match(normalise_text(line).replace("\n", " "))
    if not m:
        return None
    day = _iso(m["year"], m["month"], m["day"])
    return (m["title"], day.isoformat()) if day else None


def parse_dateline(line: str) -> tuple[str, str] | None:
    """'INCHEON, 22 November 2022 - …' -> ('INCHEON', '2022-11-22'), place as printed."""
    m = site.DATELINE_RE.match(normalise_text(line))
    if not m or not re.fullmatch(_MONTH, m["month"], re.I):
        return None
    day = _iso(m["year"], m["month"], m["day"])
    return (m["place"].strip(), day.isoformat()) if day else None
