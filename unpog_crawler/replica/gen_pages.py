"""Whole pages in a generated template: views, whole-issue pages, list pages, "no such post".

A view page keeps the documented reading order whatever the template: (frame, section
heading), furniture, the article heading, info rows and toolbars, the body (gen_body.py),
footnotes and signature, then the attachment block and a `List` line, the share line and the
social line, then prev/next, buttons, related posts, footer. Nothing of the article follows
the share box. List pages keep the site's link forms: relative view links with list context
in any order, `javascript:goView('N')`/`fnView(N)`, paging links carrying `page=N`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from unpog_crawler.replica import templates
from unpog_crawler.replica.gen_body import Ink, render_lines
from unpog_crawler.replica.gen_frame import SPACER, document, titled_links
from unpog_crawler.replica.generated import WRITERS, TemplateStyle
from unpog_crawler.replica.pagemodel import Link, ViewModel

SOCIAL = (
    ("facebook", "페이스북"),
    ("twitter", "트위터"),
    ("youtube", "유튜브"),
    ("blog", "블로그"),
)
# Orders in which classic ASP code strings list context onto a view link.
CONTEXT_ORDERS = (
    ("id", "page", "search", "SearchString"),
    ("page", "id", "search", "SearchString"),
    ("id", "Gubun", "page", "SearchString", "search"),
    ("search", "SearchString", "page", "id"),
)
TOOL_ACTIONS = {
    "Print": "javascript:window.print();",
    "인쇄": "javascript:window.print();",
    "A+": "javascript:fontSize(1);",
    "A-": "javascript:fontSize(-1);",
    "글자크기 크게": "javascript:fontSize(1);",
    "글자크기 작게": "javascript:fontSize(-1);",
    "E-mail": "javascript:sendMail();",
}


@dataclass(frozen=True)
class Board:
    """What the frame and the links of one board's pages need."""

    page_title: str
    section_heading: str
    view_name: str  # relative file name of view pages, e.g. "sub4_3_view.asp"
    list_name: str
    id_param: str
    board_id: str | None
    crumbs: tuple[str, ...]

    def view_href(self, style: TemplateStyle, ident: int, page: int, salt: int = 0) -> str:
        """A relative view link with list context in one of the ASP orders."""
        order = CONTEXT_ORDERS[(style.list_context_order + salt) % len(CONTEXT_ORDERS)]
        values = {"id": f"{self.id_param}={ident}", "page": f"page={page}"}
        params = [values.get(key, f"{key}=") for key in order]
        if self.board_id:
            params.insert((salt + ident) % 2 * 2, f"BoardID={self.board_id}")
        sep = "&" if style.amp_raw else "&amp;"
        return f"{self.view_name}?{sep.join(params)}"

    def list_href(self, style: TemplateStyle, page: int) -> str:
        params = [f"page={page}"]
        if self.board_id:
            params.insert(page % 2, f"BoardID={self.board_id}")
        if (page + style.list_context_order) % 3 == 0:
            params += ["search=", "SearchString="]
        sep = "&" if style.amp_raw else "&amp;"
        return f"{self.list_name}?{sep.join(params)}"


QUARTERLY = Board(
    templates.PAGE_TITLE.replace("&amp;", "&"),
    templates.SECTION_HEADING,
    "sub4_3_view.asp",
    "sub4_3_list.asp",
    "sn",
    None,
    ("News & Events", "The UNPOG Public Governance Quarterly"),
)


@dataclass(frozen=True)
class Nav:
    """A view's neighbours: (href, title) pairs, and the list page it belongs to."""

    older: tuple[str, str] | None
    newer: tuple[str, str] | None
    others: tuple[tuple[str, str], ...]  # for related-posts and latest-news boxes
    list_href: str


# ---- view pages ---------------------------------------------------------------------------


def view_page(
    style: TemplateStyle, model: ViewModel, board: Board, *, hits: int, nav: Nav
) -> tuple[bytes, str]:
    """A view (or whole-issue) page: its bytes and Content-Type."""
    ink = Ink(style, style.page_rng("view", model.url))
    charset = page_charset(style, model.charset)
    inner = article_region(ink, model, hits=hits, nav=nav)
    crumbs = board.crumbs + ((model.title,) if style.breadcrumb_title else ())
    side = ""
    if style.latest_box == "side" and nav.others:
        side = titled_links(ink, "related", "Latest News", nav.others[:4])
    page = document(
        ink,
        page_title=model.page_title,
        section_heading=model.section_heading,
        charset=charset,
        script_view=(board.view_name, board.id_param),
        inner=inner,
        crumbs=crumbs,
        side_extra=side,
    )
    return finish(style, page, charset)


def article_region(ink: Ink, model: ViewModel, *, hits: int, nav: Nav) -> str:
    """From the heading to the related-posts box (see the module docstring)."""
    style = ink.style
    move_files = model.board == "quarterly" and style.quarterly_files == "block"
    lines = [line for line in model.lines if not (move_files and line.role == "files")]
    moved = [link for line in model.lines if line.role == "files" for link in line.links]
    block_links = (tuple(moved) if move_files else ()) + model.file_block
    body = render_lines(lines, ink, ink.rng.choice(style.para_styles))
    tail = file_block(ink, block_links) if block_links else ""
    if style.list_line:
        tail += f'<p><a href="{nav.list_href}">{ink.rng.choice(("List", "목록"))}</a></p>'
    share = share_box(ink, model) if model.board != "issue" or style.issue_share else ""
    inside = style.share_inside == "always" or (
        style.share_inside == "content" and model.share_inside
    )
    if inside:
        body, tail, share = body + "\n" + tail + share, "", ""
    after = prev_next(ink, nav) + buttons(ink, nav) if model.board != "issue" else ""
    held = after if style.board_holds_prev_next else ""
    after = "" if style.board_holds_prev_next else after
    # A whole-issue page is a static page, not a board post: no writer, date or counter.
    has_info = style.info_place != "none" and model.board != "issue"
    info_html = info(ink, model, hits) if has_info else ""
    tools = toolbar(ink, nav) if style.toolbar_place != "none" else ""
    parts = {
        "before": (tools if style.toolbar_place == "above" else "")
        + (info_html if style.info_place == "before" else ""),
        "heading": heading(ink, model),
        "after": (info_html if style.info_place == "after" else "")
        + (tools if style.toolbar_place == "below" else "")
        + (SPACER if style.spacers else ""),
        "body": body,
        "tail": tail + share,
        "held": held,
    }
    region = layout(ink, parts)
    boxes = ""
    if style.related_box and nav.others:
        boxes += titled_links(ink, "related", ink.rng.choice(("Related posts", "관련 게시물")),
                              nav.others[:3])  # fmt: skip
    if style.latest_box == "after" and nav.others:
        boxes += titled_links(ink, "related", "최근 게시물", nav.others[-3:])
    return "\n".join(p for p in (region, after, boxes) if p)


def layout(ink: Ink, parts: dict[str, str]) -> str:
    """The view's container in the template's layout; `held` sits inside the wrapper."""
    style, name = ink.style, ink.style.name
    before, head, after, body = parts["before"], parts["heading"], parts["after"], parts["body"]
    tail, held = parts["tail"], parts["held"]
    kind = style.view_layout
    cell = style.heading_tag in ("th", "td")
    if kind in ("table", "nested_table"):
        head_row = head if cell else f"<td>{head}</td>"
        rows = [f"<tr><td>{before}</td></tr>" if before else "", f"<tr>{head_row}</tr>"]
        rows.append(f"<tr><td>{after}</td></tr>" if after else "")
        body_row = f"<tr><td{name('body')}>\n{body}\n</td></tr>"
        if kind == "nested_table":
            top = f'<table width="100%">{"".join(rows)}</table>'
            inner = f'<table width="100%">{body_row}</table>'
            rows = [f"<tr><td>{top}</td></tr>", f"<tr><td>{inner}</td></tr>"]
        else:
            rows.append(body_row)
        rows += [f"<tr><td>{x}</td></tr>" for x in (tail, held) if x]
        return f'<table{name("board")} width="100%" cellpadding="0">{"".join(rows)}</table>'
    if cell:
        head = f"<table><tr>{head}</tr></table>"
    if kind == "dl":
        items = [f"<dd>{before}</dd>" if before else "", f"<dt>{head}</dt>"]
        items += [f"<dd>{after}</dd>" if after else "", f"<dd{name('body')}>\n{body}\n</dd>"]
        items += [f"<dd>{x}</dd>" for x in (tail, held) if x]
        return f"<dl{name('board')}>{''.join(items)}</dl>"
    if kind == "mixed":
        top = f"<table>{f'<tr><td>{before}</td></tr>' if before else ''}<tr><td>{head}</td></tr>"
        top += f"<tr><td>{after}</td></tr></table>" if after else "</table>"
        return f"<div{name('board')}>{top}<div{name('body')}>\n{body}\n</div>{tail}{held}</div>"
    return (
        f'<div{name("board")}>{before}<div class="tit_area">{head}{after}</div>'
        f"<div{name('body')}>\n{body}\n</div>{tail}{held}</div>"
    )


def heading(ink: Ink, model: ViewModel) -> str:
    style = ink.style
    text = ink.text(model.title)
    if model.heading_date:
        date = ink.text(model.heading_date)
        text += f' <span class="date">{date}</span>' if style.heading_date_span else f" {date}"
    if model.board == "youth" and style.youth_plain_heading:
        return f"<h3>{text}</h3>"
    tag, attrs = style.heading_tag, style.name("heading")
    if tag == "font":
        return f'<p{attrs}><font size="4" color="#003366"><b>{text}</b></font></p>'
    if tag in ("strong", "b"):
        return f"<div><{tag}{attrs}>{text}</{tag}></div>"
    return f"<{tag}{attrs}>{text}</{tag}>"


def info(ink: Ink, model: ViewModel, hits: int) -> str:
    """Writer, date and view counter: a table row, a dl, one line or a list."""
    style = ink.style
    day = model.list_date.replace("-", ".") if ink.rng.random() < 0.5 else model.list_date
    values = {"writer": ink.rng.choice(WRITERS), "date": day, "hits": str(hits)}
    labels = dict(zip(("writer", "date", "hits"), style.info_labels, strict=True))
    pairs = [(ink.text(labels[f]), ink.text(values[f])) for f in style.info_fields]
    if style.info_form == "cells":
        cells = "".join(f"<th>{label}</th><td>{value}</td>" for label, value in pairs)
        return f"<table{style.name('info')}><tr>{cells}</tr></table>"
    if style.info_form == "dl":
        items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in pairs)
        return f"<dl{style.name('info')}>{items}</dl>"
    if style.info_form == "ul":
        items = "".join(f"<li><span>{label}</span> {value}</li>" for label, value in pairs)
        return f"<ul{style.name('info')}>{items}</ul>"
    line = style.info_sep.join(f"{label} : {value}" for label, value in pairs)
    return f"<p{style.name('info')}>{line}</p>"


def toolbar(ink: Ink, nav: Nav) -> str:
    style = ink.style
    tools = []
    for n, label in enumerate(style.toolbar_items):
        action = TOOL_ACTIONS.get(label, nav.list_href)
        if style.toolbar_form == "buttons":
            onclick = action if action.startswith("javascript:") else f"location.href='{action}'"
            tools.append(f'<button type="button" onclick="{onclick}">{ink.text(label)}</button>')
        elif style.toolbar_form == "images":
            image = f'<img src="/images/btn/btn_tool{n}.gif" alt="{ink.attr(label)}" />'
            tools.append(f'<a href="{action}">{image}</a>')
        else:
            tools.append(f'<a href="{action}">{ink.text(label)}</a>')
    return f"<div{style.name('toolbar')}>{' '.join(tools)}</div>"


def file_block(ink: Ink, links: Sequence[Link]) -> str:
    """Attachments between the body and the share box: an icon, the link, a size."""
    style = ink.style
    icon = '<img src="/images/icon/ico_pdf.gif" alt="pdf" /> '
    entries = [f"{icon}{ink.download(link)} ({ink.rng.randint(80, 900)}KB)" for link in links]
    if ink.rng.random() < 0.4:  # a download button after each name, to the same file
        button = '<img src="/images/btn/btn_down.gif" alt="Download" />'
        entries = [
            f'{entry} <a href="{ink.href(link.path)}">{button}</a>'
            for entry, link in zip(entries, links, strict=True)
        ]
    label = ink.text(style.file_block_label)
    if style.file_block_form == "table":
        rows = "".join(f"<tr><th>{label}</th><td>{e}</td></tr>" for e in entries)
        return f"<table{style.name('files')}>{rows}</table>"
    if style.file_block_form == "dl":
        return f"<dl{style.name('files')}><dt>{label}</dt><dd>{'<br />'.join(entries)}</dd></dl>"
    if style.file_block_form == "p":
        return f"<p{style.name('files')}>{label} : {', '.join(entries)}</p>"
    items = "".join(f"<li>{e}</li>" for e in entries)
    return f"<div{style.name('files')}><strong>{label}</strong><ul>{items}</ul></div>"


def share_box(ink: Ink, model: ViewModel) -> str:
    """The share line `UNPOG : <title>`, then the social line (RSS sometimes missing)."""
    style = ink.style
    line = ink.rng.choice(("UNPOG : ", "UNPOG&nbsp;: ", "UNPOG :&nbsp;")) + ink.text(model.title)
    social = social_links(ink, rss=style.social_rss and model.share_rss)
    tag, attrs = style.share_line_tag, style.name("share_line")
    if tag == "td":
        return (
            f"<table{style.name('share')}><tr><td{attrs}>{line}</td></tr>"
            f"<tr><td>{social}</td></tr></table>"
        )
    if tag == "dt":
        return f"<dl{style.name('share')}><dt{attrs}>{line}</dt><dd>{social}</dd></dl>"
    if tag in ("span", "strong"):
        return f"<div{style.name('share')}><{tag}{attrs}>{line}</{tag}><br />{social}</div>"
    return f"<div{style.name('share')}><{tag}{attrs}>{line}</{tag}>{social}</div>"


def social_links(ink: Ink, rss: bool) -> str:
    style = ink.style
    links = []
    for key, label in (*SOCIAL, *((("rss", "RSS"),) if rss else ())):
        href = "/rss/rss.asp" if key == "rss" else f"javascript:shareSns('{key}');"
        icon = f'<img src="/images/sns/sns_{key}.gif" alt="" /> ' if style.social_icons else ""
        links.append(f'<a href="{href}">{icon}{ink.text(label)}</a>')
    if style.social_form == "ul":
        return f"<ul{style.name('sns')}>{''.join(f'<li>{a}</li>' for a in links)}</ul>"
    sep = {"line": " ", "spaced": "&nbsp;&nbsp;", "piped": " | "}[style.social_form]
    return f"<p{style.name('sns')}>{sep.join(links)}</p>"


def prev_next(ink: Ink, nav: Nav) -> str:
    style = ink.style
    entries = []
    for item, label, missing in (
        (nav.older, style.prev_next_labels[0], style.no_post_texts[0]),
        (nav.newer, style.prev_next_labels[1], style.no_post_texts[1]),
    ):
        if item is None:
            link = ink.text(missing)
        else:
            shown = item[1] if style.prev_next_titles else label
            link = f'<a href="{item[0]}">{ink.text(shown)}</a>'
        entries.append((ink.text(label), link, item is None or style.prev_next_titles))
    if ink.rng.random() < 0.3:
        entries.reverse()  # "다음글" above "이전글", as many Korean boards print them
    form, attrs = style.prev_next_form, style.name("prev_next")
    if form == "table":
        rows = "".join(f"<tr><th>{lab}</th><td>{link}</td></tr>" for lab, link, _ in entries)
        return f"<table{attrs}>{rows}</table>"
    if form == "dl":
        items = "".join(f"<dt>{lab}</dt><dd>{link}</dd>" for lab, link, _ in entries)
        return f"<dl{attrs}>{items}</dl>"
    texts = [f"{lab} : {link}" if labelled else link for lab, link, labelled in entries]
    if form == "ul":
        return f"<ul{attrs}>{''.join(f'<li>{t}</li>' for t in texts)}</ul>"
    if form == "div":
        return f"<div{attrs}>{''.join(f'<div>{t}</div>' for t in texts)}</div>"
    return f"<p{attrs}>{'<br />'.join(texts)}</p>"


def buttons(ink: Ink, nav: Nav) -> str:
    style = ink.style
    label = ink.rng.choice(("List", "목록", "LIST"))
    if style.list_button == "none":
        return ""
    if style.list_button == "image":
        button = (
            f'<a href="{nav.list_href}"><img src="/images/btn/btn_list.gif" alt="{label}" /></a>'
        )
    elif style.list_button == "button":
        button = (
            f'<input type="button" value="{label}" onclick="location.href=\'{nav.list_href}\'" />'
        )
    else:
        button = f'<a href="{nav.list_href}">{ink.text(label)}</a>'
    return f"<div{style.name('buttons')}>{button}</div>"


# ---- list pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int
    title: str
    href: str
    date: str
    hits: int


def list_page(
    style: TemplateStyle,
    board: Board,
    rows: Sequence[Row],
    *,
    page: int,
    pages: int,
    total: int,
    extra: str = "",
) -> tuple[bytes, str]:
    """One list page (rows newest first), with paging to every page and `extra` above."""
    ink = Ink(style, style.page_rng("list", board.list_name, board.board_id, page))
    korean = style.info_labels[0] in ("작성자", "글쓴이")
    heads = ("번호", "제목", "등록일", "조회") if korean else ("No", "Title", "Date", "Hit")
    empty = "등록된 게시물이 없습니다." if korean else "There are no posts."
    form, attrs = style.list_form, style.name("list")
    cells = [(str(r.number), f'<a href="{r.href}">{ink.text(r.title)}</a>', r.date, str(r.hits))
             for r in rows]  # fmt: skip
    if form == "table":
        head = "".join(f"<th>{h}</th>" for h in heads)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
        body = body or f'<tr><td colspan="4">{empty}</td></tr>'
        listing = f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    elif form == "dl":
        items = "".join(f"<dt>{c[1]}</dt><dd>{c[2]} | {c[3]}</dd>" for c in cells)
        listing = f"<dl{attrs}>{items or f'<dd>{empty}</dd>'}</dl>"
    elif form == "ul":
        items = "".join(
            f'<li><span class="num">{c[0]}</span> {c[1]} <span>{c[2]}</span></li>' for c in cells
        )
        listing = f"<ul{attrs}>{items or f'<li>{empty}</li>'}</ul>"
    else:
        items = "".join(f"<div><p>{c[1]}</p><p>{c[2]}</p></div>" for c in cells)
        listing = f"<div{attrs}>{items or f'<p>{empty}</p>'}</div>"
    counts = f'<p class="total">Total {total} / Page {page}</p>'
    inner = "\n".join(p for p in (extra, counts, listing, paging(ink, board, page, pages)) if p)
    charset = page_charset(style, "utf-8")
    html = document(
        ink,
        page_title=board.page_title,
        section_heading=board.section_heading,
        charset=charset,
        script_view=(board.view_name, board.id_param),
        inner=inner,
        crumbs=board.crumbs,
    )
    return finish(style, html, charset)


def paging(ink: Ink, board: Board, page: int, pages: int) -> str:
    style = ink.style

    def link(number: int, text: str) -> str:
        return f'<a href="{board.list_href(style, number)}">{text}</a>'

    numbers = [
        link(n, str(n)) if n != page or style.paging_current_link else f"<strong>{n}</strong>"
        for n in range(1, pages + 1)
    ]
    if style.paging_form == "brackets":
        numbers = [f"[{n}]" for n in numbers]
    ends = ("처음", "이전", "다음", "마지막")
    if style.paging_form == "images":
        first, prev, nxt, last = (
            f'<img src="/images/btn/page_{n}.gif" alt="{label}" />' for n, label in enumerate(ends)
        )
    else:
        first, prev, nxt, last = ("&lt;&lt;", "&lt;", "&gt;", "&gt;&gt;")
    items = [
        link(1, first),
        link(max(1, page - 1), prev),
        *numbers,
        link(min(pages, page + 1), nxt),
        link(pages, last),
    ]
    if style.paging_form == "table":
        cells = "".join(f"<td>{item}</td>" for item in items)
        return f"<table{style.name('paging')}><tr>{cells}</tr></table>"
    return f"<div{style.name('paging')}>{' '.join(items)}</div>"


def no_such_post(style: TemplateStyle) -> tuple[bytes, str]:
    """HTTP 200 with a page that only runs an alert and goes back."""
    charset = page_charset(style, "utf-8")
    script = f"<script>alert('{style.no_such_post}'); history.back();</script>"
    if style.seed % 2 or style.charset_in == "meta":  # never an undeclared charset
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        script = f"<html><head>{meta}</head><body>{script}</body></html>"
    return finish(style, script, charset)


# ---- bytes --------------------------------------------------------------------------------


def page_charset(style: TemplateStyle, content_charset: str) -> str:
    return "euc-kr" if "euc-kr" in (style.charset, content_charset) else "utf-8"


def finish(style: TemplateStyle, page: str, charset: str) -> tuple[bytes, str]:
    """The page's bytes (CRLF, upper-case tags as the template says) and Content-Type."""
    if style.upper:
        page = upper_tags(page)
    page = page.replace("\r\n", "\n").replace("\n", style.newline)
    declared = style.charset_in != "meta"
    content_type = f"text/html; charset={charset}" if declared else "text/html"
    return templates.encode(page, charset), content_type


_PROTECTED = re.compile(r"(<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>)", re.S | re.I)
_TAG = re.compile(r"<(/?)([A-Za-z][\w:]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>")
_ATTR = re.compile(r"""([^\s=/>"']+)(\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?""")


def upper_tags(page: str) -> str:
    """Tag and attribute names in upper case, as old editors wrote them (not in comments,
    script or style bodies, nor in attribute values)."""

    def upper(match: re.Match[str]) -> str:
        attrs = _ATTR.sub(lambda m: m.group(1).upper() + (m.group(2) or ""), match.group(3))
        return f"<{match.group(1)}{match.group(2).upper()}{attrs}>"

    pieces = _PROTECTED.split(page)
    for index in range(0, len(pieces), 2):
        pieces[index] = _TAG.sub(upper, pieces[index])
    for index in range(1, len(pieces), 2):
        if not pieces[index].startswith("<!--"):
            end = pieces[index].index(">") + 1
            close = pieces[index].rindex("</")
            head, middle, tail = (
                pieces[index][:end],
                pieces[index][end:close],
                pieces[index][close:],
            )
            pieces[index] = _TAG.sub(upper, head) + middle + tail.upper()
    return "".join(pieces)
