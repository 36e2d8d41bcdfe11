"""The article's own lines in a generated template: paragraphs, lists, images, footnotes.

`Ink` escapes and decorates text the way one page's editor would (entities, `&nbsp;` after
full stops, a line break in the source, a word in `<b>`, footnote markers); `render_lines`
puts a page model's lines into one of the paragraph styles classic boards produce: `<p>`,
Word pastes (MsoNormal spans, `<o:p>`, conditional comments), text separated by one or two
`<br>`, `<div>`s, `<span>`+`<br>`, `<font>`. The words never change: after whitespace
collapsing, every line reads as the page model says (truth.py relies on it).
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Sequence

from unpog_crawler.replica.generated import TemplateStyle
from unpog_crawler.replica.pagemodel import Line, Link
from unpog_crawler.replica.templates import WORD_HEADER

FOOTNOTE_MARK = re.compile(r"\[(\d+)\]")
NAMED = {"’": "&rsquo;", "‘": "&lsquo;", "“": "&ldquo;", "”": "&rdquo;", "–": "&ndash;"}
WORD_P = '<p class="MsoNormal" style="margin-bottom:0pt;text-align:justify;line-height:150%">'
WORD_SPAN = (
    '<span lang="EN-US" style="font-size:10.0pt;font-family:&quot;Arial&quot;,sans-serif;'
    'mso-fareast-font-family:굴림">'
)
WORD_BLANK = '<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>'
INLINE_WRAPS = (
    ("<b>", "</b>"),
    ('<span style="color:#333333">', "</span>"),
    ('<font color="#000000">', "</font>"),
    ("<em>", "</em>"),
)


class Ink:
    """Text of one page as its editor wrote it; every choice comes from `rng`."""

    def __init__(self, style: TemplateStyle, rng: random.Random) -> None:
        self.style = style
        self.rng = rng

    def text(self, value: str) -> str:
        """Plain escaped text (furniture, titles) in the template's entity style."""
        out = html.escape(value, quote=False)
        if self.style.entities == "named":
            for char, entity in NAMED.items():
                out = out.replace(char, entity)
        elif self.style.entities == "numeric":
            out = "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in out)
        return out

    def attr(self, value: str) -> str:
        return html.escape(value, quote=True)

    def href(self, path: str) -> str:
        """A site path as an href: '/x' or '../x', with '&' raw or escaped."""
        if path.startswith("/") and self.style.link_prefix == "../":
            path = "../" + path[1:]
        return path if self.style.amp_raw else path.replace("&", "&amp;")

    def prose(self, value: str, word: bool = False) -> str:
        """A paragraph's text with its markers; Word pastes split it into runs of spans."""
        if word and self.rng.random() < 0.5 and value.count(" ") > 6:
            cut = [m.end() for m in re.finditer(" ", value)]
            at = self.rng.choice(cut[2:-2])
            runs = (value[:at], value[at:])
            return "".join(f"{WORD_SPAN}{self._inline(run)}</span>" for run in runs)
        return self._inline(value)

    def _inline(self, value: str) -> str:
        out = self.text(value)
        if self.rng.random() < 0.3 and " " in out:
            out = out.replace(" ", "\n", 1)  # a line break in the source: still one space
        if self.style.inline_tags and self.rng.random() < 0.5:
            out = self._wrap_a_word(out)
        if self.style.nbsp_sentences:
            out = out.replace(". ", ".&nbsp; ")
        return self.markers(out)

    def _wrap_a_word(self, escaped: str) -> str:
        words = escaped.split(" ")
        plain = [i for i, w in enumerate(words) if w.isalpha()]
        if not plain:
            return escaped
        index = self.rng.choice(plain)
        start, end = self.rng.choice(INLINE_WRAPS)
        words[index] = f"{start}{words[index]}{end}"
        return " ".join(words)

    def markers(self, escaped: str) -> str:
        """Footnote markers `[n]` as the template's editor prints them."""
        form = self.style.marker_form
        if form == "sup":
            return FOOTNOTE_MARK.sub(r"<sup>[\1]</sup>", escaped)
        if form == "word":
            return FOOTNOTE_MARK.sub(
                r'<a style="mso-footnote-id:ftn\1" href="#_ftn\1" name="_ftnref\1" title="">'
                r'<span class="MsoFootnoteReference">[\1]</span></a>',
                escaped,
            )
        return escaped

    def image(self, link: Link) -> str:
        width = self.rng.choice(("", ' width="480"', ' width="600" height="400"'))
        border = self.rng.choice(("", ' border="0"'))
        return f'<img src="{self.href(link.path)}" alt="{self.attr(link.label)}"{width}{border} />'

    def download(self, link: Link) -> str:
        target = self.rng.choice(("", ' target="_blank"'))
        return f'<a href="{self.href(link.path)}"{target}>{self.text(link.label)}</a>'


# ---- one line's inline content ------------------------------------------------------------


def unit(line: Line, ink: Ink, word: bool) -> str:
    """The inline markup of one line, before its paragraph wrapper."""
    role = line.role
    if role == "image" and line.image:
        return ink.image(line.image)
    if role == "files":
        sep = ink.rng.choice((" | ", "&nbsp;|&nbsp;", " &middot; "))
        return sep.join(ink.download(link) for link in line.links)
    if role == "footnote":
        return footnote_unit(line.text, ink)
    if role in ("lead", "subhead"):
        tag = ink.rng.choice(("strong", "b", ""))
        inner = ink.prose(line.text)
        return f"<{tag}>{inner}</{tag}>" if tag else inner
    if role == "event":
        tag = ink.rng.choice(('span style="color:#666666"', "b", ""))
        inner = ink.text(line.text)
        return f"<{tag}>{inner}</{tag.split()[0]}>" if tag else inner
    return ink.prose(line.text, word=word)


def footnote_unit(note: str, ink: Ink) -> str:
    match = FOOTNOTE_MARK.match(note)
    if match is None:
        return ink.text(note)
    number, rest = match.group(1), note[match.end() :].lstrip()
    form = ink.style.footnote_form
    if form == "sup":
        return f"<sup>[{number}]</sup> {ink.text(rest)}"
    if form == "word":
        return (
            f'<a style="mso-footnote-id:ftn{number}" href="#_ftnref{number}" '
            f'name="_ftn{number}"><span class="MsoFootnoteReference">[{number}]</span></a> '
            f'<span lang="EN-US">{ink.text(rest)}</span>'
        )
    return ink.text(note)


# ---- the lines in a paragraph style -------------------------------------------------------


def render_lines(lines: Sequence[Line], ink: Ink, para_style: str) -> str:
    """The body's lines in one paragraph style (see the module docstring)."""
    word = para_style == "word"
    blocks: list[str] = [WORD_HEADER] if word else []
    index = 0
    while index < len(lines):
        line = lines[index]
        group = [line]
        # Runs of list items and of signature lines may share one element.
        while (
            index + len(group) < len(lines)
            and lines[index + len(group)].role == line.role
            and line.role in ("item", "sign", "footnote")
        ):
            group.append(lines[index + len(group)])
        index += len(group)
        blocks.append(render_group(group, ink, para_style))
    nl = ink.style.newline
    return nl.join(b for b in blocks if b)


def render_group(group: list[Line], ink: Ink, para_style: str) -> str:
    role = group[0].role
    word = para_style == "word"
    units = [unit(line, ink, word) for line in group]
    if role == "item" and ink.style.bullets_as_list:
        items = "".join(f"<li>{u}</li>" for u in units)
        return f'<ul style="list-style:none">{items}</ul>'
    if role == "sign" and ink.style.sign_form != "lines":
        return sign_block(units, ink, para_style)
    if role == "footnote" and ink.style.footnote_form in ("word", "div"):
        return footnote_block(units, ink)
    if role == "image":
        if word:  # Word keeps a VML copy of each picture in a conditional comment
            return "".join(word_image(line, ink) for line in group)
        return "".join(image_block(u, ink, para_style) for u in units)
    if role == "notice":
        return "".join(notice_block(u, ink) for u in units)
    if role == "subhead":
        tag = ink.rng.choice(("h5", "h4", "p"))
        return "".join(f"<{tag}>{u}</{tag}>" for u in units)
    return "".join(wrap(u, ink, para_style) for u in units)


def wrap(inner: str, ink: Ink, para_style: str) -> str:
    """One paragraph in `para_style`; a break always ends it."""
    if para_style == "p":
        style = ink.rng.choice(("", ' style="text-align:justify"', ' align="justify"'))
        return f"<p{style}>{inner}</p>"
    if para_style == "word":
        return f"{WORD_P}{WORD_SPAN}{inner}<o:p></o:p></span></p>{WORD_BLANK}"
    if para_style == "div":
        blank = "<div>&nbsp;</div>" if ink.rng.random() < 0.5 else ""
        return f"<div>{inner}</div>{blank}"
    if para_style == "br1":
        return f"{inner}<br />"
    if para_style == "span_br":
        return f'<span style="font-size:10pt;line-height:160%">{inner}</span><br><br>'
    if para_style == "font":
        return f'<font face="Arial" size="2">{inner}</font><br><br>'
    return f"{inner}<br><br>"  # br2


def sign_block(units: list[str], ink: Ink, para_style: str) -> str:
    """Signature lines in one element, separated by <br> (right-aligned, or a bold name)."""
    form = ink.style.sign_form
    if form == "strong":
        units = [f"<strong>{units[0]}</strong>", *units[1:]]
    joined = "<br />".join(units)
    if form == "right":
        return f'<p align="right" style="text-align:right">{joined}</p>'
    if para_style in ("br1", "br2", "span_br", "font"):
        return f"{joined}<br><br>"
    return f"<p>{joined}</p>" if para_style != "div" else f"<div>{joined}</div>"


def footnote_block(units: list[str], ink: Ink) -> str:
    if ink.style.footnote_form == "word":
        notes = "".join(
            f'<div style="mso-element:footnote" id="ftn{n}">'
            f'<p class="MsoFootnoteText">{u}</p></div>'
            for n, u in enumerate(units, start=1)
        )
        return (
            '<div style="mso-element:footnote-list"><br clear="all" />'
            f'<hr align="left" size="1" width="33%" />{notes}</div>'
        )
    return "".join(f'<div style="font-size:11px;color:#666">{u}</div>' for u in units)


def image_block(image: str, ink: Ink, para_style: str) -> str:
    form = ink.style.image_form
    if form == "div":
        return f'<div style="text-align:center">{image}</div>'
    if form == "table":
        return f'<table align="center"><tr><td align="center">{image}</td></tr></table>'
    if form == "bare":
        return f"{image}<br />"
    return f'<p align="center">{image}</p>'


def word_image(line: Line, ink: Ink) -> str:
    """A picture pasted from Word: the VML shape for Word, the <img> for browsers."""
    src = ink.href(line.image.path) if line.image else ""
    return (
        '<p class="MsoNormal" align="center"><span lang="EN-US">'
        '<!--[if gte vml 1]><v:shape id="_x0000_i1025" type="#_x0000_t75">'
        f'<v:imagedata src="{src}" o:title=""/></v:shape><![endif]-->'
        f"<![if !vml]>{ink.image(line.image) if line.image else ''}<![endif]></span></p>"
    )


def notice_block(inner: str, ink: Ink) -> str:
    if ink.rng.random() < 0.5:
        return f'<table border="1" cellpadding="5"><tr><td>{inner}</td></tr></table>'
    return f'<div style="border:1px solid #ccc;padding:5px"><p>{inner}</p></div>'
