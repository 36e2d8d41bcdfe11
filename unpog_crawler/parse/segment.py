"""Find the article in a page's lines by the reading order real pages show (SITE.md).

Landmarks first: the share line ``UNPOG : <heading>`` (followed by the social links) ends the
article, and the line it names starts it; the section heading tells which heading is the
article's when the share line is missing. Between them, shallow features of each line decide
what is left (after boilerpipe and jusText): info rows and toolbars by their shape, lines made
only of links or furniture words at the body's edges, footnotes by their marker, a signature
as short name-like lines at the end. No CSS class is read. Every site fact comes from
``site``; this module is generic. Pure: lines in, segments out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from unpog_crawler import site
from unpog_crawler.parse.lines import Image, Line
from unpog_crawler.parse.text import parse_date_line, split_title_date

_FOOTNOTE_RE = re.compile(r"^\[\d+\]")
_MARKER_RE = re.compile(r"\[\d+\]")
_RULE_RE = re.compile(r"^[_\-–—=*·.\s]+$")
_BULLET_RE = re.compile(r"^[□○•●■▪◦◇◆※\-*·]")
_SENTENCE_END_RE = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_NUMBER_RE = re.compile(r"(?<![\w])\d[\d,.]*(?![\w])")
_MAX_SIGNATURE_WORDS = 12
_MAX_SIGNATURE_LINES = 6
_MAX_SIGNATURE_LOWER_SHARE = 0.4  # names and job titles: few words start lower-case
_MAX_HEADING_WORDS = 30


@dataclass
class Segments:
    """What the reading order says of a page: the article's parts, and how they were found."""

    title: str
    heading: str  # the heading line as printed (may carry a date on dated boards)
    head: list[Line]  # article lines of the head: date line, repeated heading
    body: list[Line]
    footnotes: tuple[str, ...]
    authors: tuple[str, ...]
    tail: list[Line]  # the lines of footnotes and signature
    event: tuple[str, str, str] | None
    region: list[Line]  # every line between the heading and the end of the article
    furniture: list[Line]  # lines of the region that are page furniture
    notes: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()  # landmarks that were not found ('share line', 'heading')


class NoArticle(Exception):
    """The page's lines hold no article heading: the message says which landmarks failed."""


def norm(text: str) -> str:
    """A line as compared with a title: case and runs of spaces do not count."""
    return " ".join(text.split()).casefold()


# --- Landmarks ----------------------------------------------------------------------------


def _share_title(line: Line) -> str | None:
    match = site.SHARE_LINE_RE.match(line.text)
    if match and not site.SECTION_TITLE_RE.match(match["title"]):
        return match["title"].strip()
    return None


def _social_follows(lines: list[Line], index: int) -> bool:
    """The share line at `index` is followed by the social links (whole or a link a line)."""
    for line in lines[index + 1 : index + 1 + site.SOCIAL_LINES_MAX]:
        if not line.text:
            continue
        return bool(site.SOCIAL_LINE_RE.match(line.text) or site.SOCIAL_WORD_RE.match(line.text))
    return False


def _names_heading(text: str, title: str, dated: bool) -> bool:
    """`text` is the heading `title` names: the same words, maybe with the board's date."""
    wanted = norm(title)
    if norm(text) == wanted:
        return True
    if title.endswith(("...", "…")):  # a share line that shortens a long title
        return norm(text).startswith(norm(title.rstrip(".… ")))
    split = split_title_date(text) if dated else None
    return bool(split) and norm(split[0]) == wanted


def _is_link_only(line: Line) -> bool:
    return bool(line.link_text) and line.link_text == line.text


def _section_heading_index(lines: list[Line], section: str, before: int) -> int | None:
    """The last line before `before` that prints the section heading (not a menu link)."""
    wanted = norm(site.section_heading(section))
    found = None
    for index, line in enumerate(lines[:before]):
        if wanted and norm(line.text) == wanted and not _is_link_only(line):
            found = index
    return found


def _heading_index(
    lines: list[Line], title: str, dated: bool, section: str, end: int
) -> int | None:
    """The line the share line names: the first after the section heading, else the first."""
    candidates = [
        i
        for i, line in enumerate(lines[:end])
        if line.text and not _is_link_only(line) and _names_heading(line.text, title, dated)
    ]
    if not candidates:
        return None
    section_at = _section_heading_index(lines, section, end)
    after = [i for i in candidates if section_at is not None and i > section_at]
    return (after or candidates)[0]


def _looks_like_heading(line: Line) -> bool:
    text = line.text
    return (
        line.heading
        and not _is_link_only(line)
        and len(text.split()) <= _MAX_HEADING_WORDS
        and norm(text) not in _SECTION_NAMES
        and not (_SENTENCE_END_RE.search(text) and len(text.split()) > 12)  # not prose
        and not is_furniture(line)
        and info_row(text) is None
        and not site.SHARE_LINE_RE.match(text)
    )


_SECTION_NAMES = frozenset(norm(name) for name in site.SECTION_HEADINGS.values()) | {
    "news & events",
    "knowledge platform",
    "unpog",
}


def _first_heading_like(lines: list[Line], section: str, end: int) -> int | None:
    """The first heading-like line after the section heading (None without the latter)."""
    section_at = _section_heading_index(lines, section, end)
    if section_at is None:
        return None
    for index in range(section_at + 1, end):
        if _looks_like_heading(lines[index]):
            return index
    return None


def _issue_heading(lines: list[Line], section: str, issue: str, end: int) -> int | None:
    """The first line after the section heading that names the issue ('… - 2022 Winter')."""
    words = norm(issue).split()
    section_at = _section_heading_index(lines, section, end)
    for index in range((section_at or -1) + 1, end):
        line = lines[index]
        text = norm(line.text)
        short = 0 < len(text.split()) <= 15 and not _is_link_only(line)
        if short and all(re.search(rf"\b{re.escape(word)}\b", text) for word in words):
            return index
    return None


def _fallback_end(lines: list[Line], start: int) -> int:
    """Without a share line: the first footer, share or social line after the heading."""
    for index in range(start + 1, len(lines)):
        text = lines[index].text
        if text and (
            site.FOOTER_RE.search(text)
            or site.SOCIAL_LINE_RE.match(text)
            or site.SHARE_LINE_RE.match(text)
        ):
            return index
    return len(lines)


@dataclass
class _Frame:
    title: str
    start: int  # the heading's index
    end: int  # the first index after the article
    notes: list[str]
    missing: tuple[str, ...]


def _find_frame(lines: list[Line], section: str, dated: bool, issue: str | None) -> _Frame:
    """Where the article starts and ends, and its title (raises NoArticle).

    `issue` is the issue a whole-issue page's URL names ('2022 Winter'): its heading names
    it too, and such pages have no share box."""
    shares = [(i, t) for i, line in enumerate(lines) if (t := _share_title(line))]
    for index, title in shares:
        start = _heading_index(lines, title, dated, section, index)
        if start is not None and start < index:
            note = "end: share line" + (
                "" if _social_follows(lines, index) else " (no social line)"
            )
            return _Frame(
                title, start, index, ["start: the heading the share line names", note], ()
            )
    before = shares[0][0] if shares else len(lines)
    fallback = _issue_heading(lines, section, issue, before) if issue else None
    if fallback is None:
        fallback = _first_heading_like(lines, section, before)
    if shares and fallback is not None:
        index, title = shares[0]
        notes = ["start: first heading after the section heading (share line names none)"]
        return _Frame(title, fallback, index, [*notes, "end: share line"], ("heading",))
    if fallback is None:
        raise NoArticle(
            "no article found: no share line naming a heading, and no heading after the "
            f"section heading {site.section_heading(section)!r}"
        )
    missing = () if issue else ("share line",)
    end = _fallback_end(lines, fallback)
    notes = ["start: first heading after the section heading", "end: no share line (footer)"]
    return _Frame(lines[fallback].text, fallback, end, notes, missing)


# --- Shapes of lines ----------------------------------------------------------------------


def info_row(text: str) -> str | None:
    """'row' for an info row (writer, date, counter), 'label' for a bare name label whose
    value is the next line ('Writer' / 'admin'), None for anything else."""
    stripped = text.strip(" |/·[]()")
    matches = list(site.INFO_LABEL_RE.finditer(stripped))
    if not matches or matches[0].start() != 0:
        return None
    value = ""
    for k, match in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(stripped)
        value = stripped[match.end() : end].strip(" |/·,:：[]()")
        if not value:
            continue
        if site.NAME_LABEL_RE.match(match.group()):
            if len(value.split()) > 4 or _SENTENCE_END_RE.search(value):
                return None
        elif not _is_value(value):
            return None
    if value:
        return "row"
    return "label" if site.NAME_LABEL_RE.match(matches[-1].group()) else "row"


def _is_value(text: str) -> bool:
    """A date, time or number as board software prints them in info rows."""
    return bool(site.NUMERIC_DATE_RE.match(text)) or text.replace(",", "").isdigit()


def is_furniture(line: Line) -> bool:
    """A line that is page furniture wherever it sits at the body's edges: made only of
    links, furniture words, separators, dates and numbers; a breadcrumb; a social line; a
    prev/next box's "no previous post"."""
    text = line.text
    if not text:
        return False
    if (
        site.NO_NEIGHBOUR_RE.match(text)
        or site.BREADCRUMB_RE.match(text)
        or site.SOCIAL_LINE_RE.match(text)
        or site.COUNTER_LINE_RE.match(text)
    ):
        return True
    residue = text
    for link in line.links:
        if link.text and not link.href.startswith("#"):
            residue = residue.replace(link.text, " ", 1)
    if line.link_text and line.link_text in residue:
        residue = residue.replace(line.link_text, " ", 1)  # onclick rows: no <a> to name
    residue = site.FURNITURE_WORDS_RE.sub(" ", residue)
    residue = _NUMBER_RE.sub(" ", residue)
    return not any(ch.isalnum() for ch in residue)


def is_attachment_href(href: str) -> bool:
    """A link to a file: the board's download script, or a document by its extension."""
    parts = urlsplit(href)
    values = [v for _, v in parse_qsl(parts.query)]
    return bool(site.DOWNLOAD_RE.search(parts.path)) or any(
        site.ATTACHMENT_EXT_RE.search(p) for p in [parts.path, *values]
    )


def _is_attachment_line(line: Line) -> bool:
    """A line made only of download links (and separators, file words, sizes)."""
    files = [link for link in line.links if is_attachment_href(link.href)]
    if not files or not line.text:
        return False
    residue = line.text
    for link in files:
        residue = residue.replace(link.text, " ", 1) if link.text else residue
    residue = re.sub(r"\(?\d[\d.,]*\s*(?:[kmg]?b|bytes?)\)?", " ", residue, flags=re.I)
    residue = site.FURNITURE_WORDS_RE.sub(" ", residue)
    return not any(ch.isalnum() for ch in residue)


def is_furniture_image(image: Image) -> bool:
    """Icons, buttons, spacers and social images, by their size, what they say of
    themselves and where their link goes; never by their file name."""
    el = image.element
    for name in ("width", "height"):
        value = (el.get(name) or "").strip().lower().removesuffix("px")
        if value.isdigit() and int(value) <= site.FURNITURE_IMAGE_MAX_PX:
            return True
    style = (el.get("style") or "").lower()
    for match in re.finditer(r"(?:width|height)\s*:\s*(\d+)px", style):
        if int(match.group(1)) <= site.FURNITURE_IMAGE_MAX_PX:
            return True
    for name in ("alt", "title"):
        said = " ".join((el.get(name) or "").split())
        if said and site.FURNITURE_IMAGE_TEXT_RE.match(said):
            return True
    link = image.link.lower()
    if link.startswith("javascript:"):
        return True
    path = urlsplit(link).path
    return path.endswith(".asp") and not site.DOWNLOAD_RE.search(path)


# --- The head, the tail, the body ---------------------------------------------------------


@dataclass
class _Head:
    kept: list[Line] = field(default_factory=list)  # date line, repeated heading
    furniture: list[Line] = field(default_factory=list)
    event: tuple[str, str, str] | None = None
    size: int = 0  # lines of the region the head covers


def _take_head(region: list[Line], title: str, dated: bool, section: str) -> _Head:
    """The first lines after the heading: repeated heading and date/place line (article),
    info rows, toolbars, breadcrumbs and link lines (furniture), in any order."""
    head = _Head()
    expects_value = False
    section_name = norm(site.section_heading(section))
    for index, line in enumerate(region):
        text = line.text
        if not text:
            if not _furniture_images_only(line):
                break  # an article image: the body has begun
            head.furniture.append(line)
        elif _names_heading(text, title, dated) or (dated and _same_dated(text, title)):
            head.kept.append(line)
        elif _is_date_line(head, text):
            head.event = parse_date_line(text)
            head.kept.append(line)
        elif (shape := info_row(text)) or (expects_value and _is_value_line(text)):
            head.furniture.append(line)
            expects_value = shape == "label"
            head.size = index + 1
            continue
        elif is_furniture(line) or norm(text) == section_name or _is_attachment_line(line):
            head.furniture.append(line)
        else:
            break
        expects_value = False
        head.size = index + 1
    return head


def _is_date_line(head: _Head, text: str) -> bool:
    """The event's date/place line: the first one, within the article's first lines
    (furniture between them does not count)."""
    return (
        head.event is None and len(head.kept) < site.HEAD_LINES_MAX and bool(parse_date_line(text))
    )


def _same_dated(text: str, title: str) -> bool:
    split = split_title_date(text)
    return bool(split) and norm(split[0]) == norm(title)


def _is_value_line(text: str) -> bool:
    """The value cell after a bare 'Writer' label: a short name, a date or a number."""
    return _is_value(text) or (len(text.split()) <= 4 and not _SENTENCE_END_RE.search(text))


def _edge_furniture_at_end(lines: list[Line]) -> int:
    """How many lines at the end of `lines` are furniture (or file lines). A short heading
    above a box of links ('News & Events' over a menu, 'Latest News') goes with it."""
    count = links_below = 0
    for line in reversed(lines):
        if _is_edge_furniture(line):
            links_below = links_below + 1 if _is_link_only(line) else 0
        elif links_below >= 2 and _is_box_title(line):
            links_below = 0
        else:
            break
        count += 1
    return count


def _is_box_title(line: Line) -> bool:
    """The title of a box of links: a short heading."""
    return line.heading and 0 < len(line.text.split()) <= 5


def _is_edge_furniture(line: Line) -> bool:
    if not line.text:
        return _furniture_images_only(line)
    return is_furniture(line) or bool(info_row(line.text)) or _is_attachment_line(line)


def _is_signature_line(line: Line) -> bool:
    text = line.text
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if not words or line.listed or _is_link_only(line) or len(text.split()) > _MAX_SIGNATURE_WORDS:
        return False
    if _MARKER_RE.search(text) or _SENTENCE_END_RE.search(text) or _BULLET_RE.match(text):
        return False
    lower = sum(1 for w in words if w[0].islower())
    return lower / len(words) <= _MAX_SIGNATURE_LOWER_SHARE


def _take_tail(lines: list[Line], signatures: bool) -> tuple[int, list[Line], list[Line]]:
    """(where the body ends, footnote lines, signature lines) at the end of `lines`.

    Footnotes ('[n] …') and the signature block (short name-like lines, never a sentence,
    never citing a footnote) may come in either order; rules, file lines and furniture
    between them only separate."""
    i, footnotes, authors = len(lines), [], []
    while i > 1:
        line = lines[i - 1]
        if not line.text:
            if not _furniture_images_only(line):
                break
        elif _FOOTNOTE_RE.match(line.text):
            footnotes.insert(0, line)
        elif _RULE_RE.match(line.text) or _is_attachment_line(line) or is_furniture(line):
            pass
        elif signatures and _is_signature_line(line):
            authors.insert(0, line)
        else:
            break
        i -= 1
    # A long run of short lines is a list or headings, not a signature: give it back.
    if authors and (len(authors) > _MAX_SIGNATURE_LINES or not any(x.text for x in lines[:i])):
        i = lines.index(authors[-1]) + 1
        return i, [line for line in footnotes if lines.index(line) >= i], []
    return i, footnotes, authors


def _furniture_images_only(line: Line) -> bool:
    return bool(line.images) and all(is_furniture_image(image) for image in line.images)


def _middle(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """(body lines, furniture lines) of the body's middle: file lines and the label above
    them, counters and stray share/social lines are not prose."""
    body, furniture = [], []
    for index, line in enumerate(lines):
        after = lines[index + 1] if index + 1 < len(lines) else None
        if not line.text:
            (furniture if _furniture_images_only(line) else body).append(line)
        elif (
            _is_attachment_line(line)
            or site.COUNTER_LINE_RE.match(line.text)
            or site.SOCIAL_LINE_RE.match(line.text)
            or (after is not None and _is_attachment_line(after) and _is_label_only(line))
        ):
            furniture.append(line)
        else:
            body.append(line)
    return body, furniture


def _is_trailer(line: Line, footnotes: list[Line], authors: list[Line]) -> bool:
    """A line of the article's end: a footnote, a signature line, a rule, an image."""
    if line in footnotes or line in authors:
        return True
    if not line.text:
        return not _furniture_images_only(line)
    return bool(_RULE_RE.match(line.text))


def _is_label_only(line: Line) -> bool:
    residue = site.FURNITURE_WORDS_RE.sub(" ", line.text)
    return not any(ch.isalnum() for ch in residue)


# --- The whole page -----------------------------------------------------------------------


def segment(lines: list[Line], section: str, dated: bool, issue: str | None = None) -> Segments:
    """The article in `lines` by reading order (raises NoArticle when there is none).

    `issue`: on a whole-issue page, the issue its URL names ('2022 Winter')."""
    frame = _find_frame(lines, section, dated, issue)
    region = lines[frame.start + 1 : frame.end]
    head = _take_head(region, frame.title, dated, section)
    rest = region[head.size :]
    edge = _edge_furniture_at_end(rest)
    trailing = rest[len(rest) - edge :] if edge else []
    rest = rest[: len(rest) - edge]
    end, footnote_lines, author_lines = _take_tail(rest, signatures=not issue)
    body, middle_furniture = _middle(rest[:end])
    trailer = [line for line in rest[end:] if _is_trailer(line, footnote_lines, author_lines)]
    tail_furniture = [line for line in rest[end:] if line not in trailer]
    return Segments(
        title=frame.title,
        heading=lines[frame.start].text,
        head=head.kept,
        body=body,
        footnotes=tuple(line.text for line in footnote_lines),
        authors=tuple(line.text for line in author_lines),
        tail=trailer,
        event=head.event,
        region=region,
        furniture=head.furniture + middle_furniture + tail_furniture + trailing,
        notes=frame.notes,
        missing=frame.missing,
    )
