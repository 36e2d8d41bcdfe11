"""HTML (and a few binary bodies) for the replica, following docs/assumed-markup.md.

Pages are built from strings on purpose: a classic ASP board emits tag soup with inline
styles, conditional comments and entities, which a template engine would tidy away.
Markup varies deliberately between pages (three view layouts, two prev/next styles, share
box inside or after the body, list context in varying order) so that the parser cannot
lean on one template. `Article.markup_rev` (bumped by `touch_markup`) changes markup and
whitespace only; the words on the page stay the same.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Iterable, Sequence

from unpog_crawler.replica.content import Article, Block, Bullets, IssuePage

PAGE_TITLE = "UNPOG : News &amp; Events - The UNPOG Public Governance Quarterly"
SECTION_HEADING = "The UNPOG Public Governance Quarterly"
LIST_PATH = "sub4_3_list.asp"
VIEW_PATH = "sub4_3_view.asp"
PAGE_SIZE = 5
NO_SUCH_POST = "<script>alert('해당 게시물이 없습니다.'); history.back();</script>"

# Orders in which list context appears in view links (ASP code concatenates them ad hoc).
CONTEXT_ORDERS: tuple[tuple[str, ...], ...] = (
    ("sn", "page", "search", "SearchString"),
    ("page", "sn", "search", "SearchString"),
    ("sn", "Gubun", "page", "SearchString", "search"),
    ("search", "SearchString", "page", "sn"),
)
FOOTNOTE_MARK = re.compile(r"\[(\d+)\]")
WORD_STYLE = "font-size:11.0pt;line-height:150%;font-family:&quot;Times New Roman&quot;,serif"
WORD_HEADER = (
    "<!--[if gte mso 9]><xml><w:WordDocument><w:View>Normal</w:View><w:Zoom>0</w:Zoom>"
    "<w:DoNotOptimizeForBrowser/></w:WordDocument></xml><![endif]-->"
    '<!--[if gte mso 10]><style>table.MsoNormalTable{mso-style-name:"Table Normal";}'
    "</style><![endif]-->"
)


# ---- text ---------------------------------------------------------------------------------


def text(value: str, rev: int = 0) -> str:
    """Escape text for HTML; `rev` picks an equivalent spelling (entities, line breaks)."""
    out = html.escape(value, quote=False)
    if rev % 3 == 2:
        out = out.replace("’", "&rsquo;").replace("“", "&ldquo;").replace("”", "&rdquo;")
    if rev % 2 == 1:
        out = "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in out)
    if rev:
        # A newline where a space was: the same words once whitespace is collapsed.
        out = out.replace(" ", "\n", 1)
    return out


def word_text(value: str, rev: int) -> str:
    """Text as Word pastes it: a non-breaking space after each sentence's full stop."""
    return text(value, rev).replace(". ", ".&nbsp; ")


def marks(escaped: str, layout: str) -> str:
    """Render footnote markers `[n]` the way each layout's editor would."""
    if layout == "div_p":
        return FOOTNOTE_MARK.sub(r"<sup>[\1]</sup>", escaped)
    if layout == "table":
        return FOOTNOTE_MARK.sub(
            r'<a style="mso-footnote-id:ftn\1" href="#_ftn\1" name="_ftnref\1" title="">'
            r'<span class="MsoFootnoteReference"><span lang="EN-US">[\1]</span></span></a>',
            escaped,
        )
    return escaped


def attr(value: str) -> str:
    return html.escape(value, quote=True)


# ---- links --------------------------------------------------------------------------------


def query(params: dict[str, str | int], order: Sequence[str], sep: str = "&amp;") -> str:
    """A query string in the given key order (values are plain ASCII here)."""
    return sep.join(f"{key}={params.get(key, '')}" for key in order)


def view_href(sn: int, page: int, salt: int = 0) -> str:
    """A relative view link with list context; `salt` varies key order and `&` escaping.

    ASP pages print both raw `&` and `&amp;` in attributes; an HTML parser reads both alike.
    """
    order = CONTEXT_ORDERS[(sn + salt) % len(CONTEXT_ORDERS)]
    sep = "&" if salt % 2 == 0 else "&amp;"
    return f"{VIEW_PATH}?{query({'sn': sn, 'page': page}, order, sep)}"


def list_href(page: int) -> str:
    # Odd pages carry empty search context, even pages only the page number.
    if page % 2:
        return f"{LIST_PATH}?page={page}&amp;search=&amp;SearchString="
    return f"{LIST_PATH}?page={page}"


def list_row_href(article: Article, page: int) -> str:
    if article.list_link == "goView":
        return f"javascript:goView('{article.sn}')"
    if article.list_link == "fnView":
        return f"javascript:fnView({article.sn})"
    return view_href(article.sn, page, salt=1)


# ---- frame --------------------------------------------------------------------------------

HEAD_STYLE = """<style type="text/css">
body{margin:0;font-family:Arial,sans-serif;font-size:12px;color:#333}
#header{background:#005b9f}.gnb li{display:inline-block;padding:0 12px}
#lnb{float:left;width:200px}#content{margin-left:220px}
.board_list{width:100%;border-collapse:collapse}.paging a.on{font-weight:bold}
</style>"""
HEAD_SCRIPT = """<script type="text/javascript">
//<![CDATA[
function goView(sn) {
  location.href = "sub4_3_view.asp?sn=" + sn + "&page=1&search=&SearchString=";
}
function fnView(sn) { document.location = "sub4_3_view.asp?page=1&sn=" + sn; }
function shareSns(kind) {
  window.open("/common/share.asp?kind=" + kind + "&url=" + escape(location.href));
}
//]]>
</script>"""
HEADER = """<div id="header">
<h1 class="logo"><a href="/"><img src="/upload/common/logo.png" alt="UNPOG" /></a></h1>
<ul class="gnb">
<li><a href="/page/sub1_1.asp">About UNPOG</a>
 <ul><li><a href="/page/sub1_1.asp">Overview</a></li>
 <li><a href="/page/sub1_3.asp">Staff</a></li></ul></li>
<li><a href="/page/sub3_1_list.asp?BoardID=0004">Theme</a>
 <ul><li><a href="/page/sub3_1_list.asp?BoardID=0004">Capacity Development</a></li></ul></li>
<li><a href="/page/sub4_3_list.asp">News &amp; Events</a>
 <ul><li><a href="/page/sub4_1_list.asp">Youth Engagement</a></li>
 <li><a href="/page/sub4_3_list.asp">The UNPOG Public Governance Quarterly</a></li></ul></li>
<li><a href="/page/sub5_1_list.asp?BoardID=0007">Knowledge Platform</a></li>
</ul>
</div>"""
LNB = """<div id="lnb">
<h2>News &amp; Events</h2>
<ul>
<li><a href="sub4_1_list.asp">Youth Engagement</a></li>
<li><a href="sub4_2_tab_introduction.asp?tb_Symposium_sn=3">Regional Symposium</a></li>
<li class="on"><a href="sub4_3_list.asp">The UNPOG Public Governance Quarterly</a></li>
</ul>
</div>"""
FOOTER = """<div id="footer">
<p class="addr">United Nations Project Office on Governance (UNPOG),
6F G-Tower, 175 Art center-daero, Yeonsu-gu, Incheon 22004, Republic of Korea</p>
<p class="tel">Tel : +82-32-822-9088 &nbsp; Fax : +82-32-822-9089</p>
<p class="copy">Copyright &copy; UNPOG. All Rights Reserved.</p>
</div>"""


def frame(inner: str, charset: str = "utf-8", rev: int = 0) -> str:
    """The page around the content: doctype, head, menus, section heading, footer."""
    indent = "\n" + "\t" * (rev % 3)  # markup-only variation
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n<head>\n'
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />\n'
        f"<title>{PAGE_TITLE}</title>\n{HEAD_STYLE}\n{HEAD_SCRIPT}\n</head>\n<body>\n"
        f'<div id="wrap">\n{HEADER}\n<div id="container">\n{LNB}\n<div id="content">\n'
        '<div class="location">Home &gt; News &amp; Events &gt; The UNPOG Public Governance '
        "Quarterly</div>\n"
        f'<h3 class="sub_title">{SECTION_HEADING}</h3>{indent}{inner}\n'
        f"</div>\n</div>\n{FOOTER}\n</div>\n</body>\n</html>\n"
    )


# ---- view page: body blocks per layout ----------------------------------------------------


def body_lines(article: Article) -> list[tuple[str, str]]:
    """The body in reading order as (role, text) pairs, independent of layout.

    Roles: "lead" (event line, repeated names), "para", "item" (a list item), "image",
    "file", "rule", "footnote", "sign". Images and files follow the first paragraph.
    """
    lines: list[tuple[str, str]] = []
    if article.repeat_heading:
        lines.append(("lead", article.title))
    if article.event:
        lines.append(("lead", article.event.line))
        if article.event.repeat_name:
            lines.append(("lead", article.title))
    for index, block in enumerate(article.body):
        lines.extend(block_lines(block))
        if index == 0:
            lines.extend(("image", str(i)) for i in range(len(article.images)))
            lines.extend(("file", str(i)) for i in range(len(article.attachments)))
    if article.rule and article.footnotes:
        lines.append(("rule", "____________________"))
    notes = [("footnote", note) for note in article.footnotes]
    signs = [("sign", line) for line in article.authors]
    lines.extend(signs + notes if article.authors_first else notes + signs)
    return lines


def block_lines(block: Block) -> list[tuple[str, str]]:
    if isinstance(block, Bullets):
        return [("item", item) for item in block.items]
    return [("para", block)]


def table_body(article: Article) -> str:
    """Word-pasted paragraphs: MsoNormal, spans with lang/style, <o:p>, footnote list.

    Word puts footnotes (and the rule above them) last, after the signature lines.
    """
    rev = article.markup_rev
    out = [WORD_HEADER]
    notes: list[str] = []
    for role, value in body_lines(article):
        if role == "rule":
            notes.append(f'<p class="MsoNormal">{text(value)}</p>')
        elif role == "image":
            image = article.images[int(value)]
            out.append(
                f'<p class="MsoNormal" align="center" style="text-align:center"><span lang="EN-US">'
                f'<img width="480" src="{attr(image.src)}" alt="{attr(image.alt)}" /></span></p>'
            )
        elif role == "file":
            item = article.attachments[int(value)]
            out.append(
                f'<p class="MsoNormal"><a href="{attr(item.href)}">{text(item.file)}</a></p>'
            )
        elif role == "footnote":
            notes.append(word_footnote(value, rev))
        else:
            words = marks(word_text(value, rev), "table")
            if role == "lead":
                words = f"<b>{words}</b>"
            # Signatures are right-aligned in Word; prose is justified.
            align = "right" if role == "sign" else "justify"
            out.append(
                f'<p class="MsoNormal" style="margin-bottom:0pt;text-align:{align}">'
                f'<span lang="EN-US" style="{WORD_STYLE}">{words}<o:p></o:p></span></p>'
            )
            if role == "para":
                out.append('<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>')
    if notes:
        out.append(
            '<div style="mso-element:footnote-list"><br clear="all" />'
            '<hr align="left" size="1" width="33%" />' + "".join(notes) + "</div>"
        )
    return ("\n" if rev % 2 == 0 else "\r\n").join(out)


def word_footnote(note: str, rev: int) -> str:
    """A Word footnote; `note` starts with its marker, e.g. "[2] See ..."."""
    match = FOOTNOTE_MARK.match(note)
    number = match.group(1) if match else "0"
    rest = note[match.end() :].lstrip() if match else note
    return (
        f'<div style="mso-element:footnote" id="ftn{number}"><p class="MsoFootnoteText">'
        f'<a style="mso-footnote-id:ftn{number}" href="#_ftnref{number}" name="_ftn{number}">'
        f'<span class="MsoFootnoteReference">[{number}]</span></a> '
        f'<span lang="EN-US">{text(rest, rev)}</span></p></div>'
    )


def div_br_body(article: Article) -> str:
    """Text separated by <br>: a blank line between blocks, one <br> inside the sign block."""
    rev = article.markup_rev
    br = "<br />" if rev % 2 else "<br>"
    parts: list[str] = []
    for role, value in body_lines(article):
        if role == "image":
            image = article.images[int(value)]
            piece = f'<img src="{attr(image.src)}" alt="{attr(image.alt)}" border="0">'
        elif role == "file":
            item = article.attachments[int(value)]
            piece = f'<a href="{attr(item.href)}">{text(item.file)}</a>'
        else:
            piece = text(value, rev).replace("  ", " &nbsp;")
        if role == "sign" and parts and parts[-1][0] == "sign":
            parts[-1] = ("sign", parts[-1][1] + br + piece)
        else:
            parts.append((role, piece))
    return (br + br + "\n").join(piece for _, piece in parts)


def div_p_body(article: Article) -> str:
    """Editor markup: <p>, <ul><li>, <strong>, <sup>, images, attachment links."""
    rev = article.markup_rev
    out: list[str] = []
    signs: list[str] = []
    items: list[str] = []
    for role, value in body_lines(article):
        if role != "item" and items:
            out.append('<ul class="list">\n' + "\n".join(items) + "\n</ul>")
            items = []
        if role != "sign" and signs:
            out.append('<p class="sign">' + "<br />".join(signs) + "</p>")
            signs = []
        escaped = marks(text(value, rev), "div_p")
        if role == "item":
            items.append(f"<li>{escaped}</li>")
        elif role == "sign":
            signs.append(escaped)
        elif role == "image":
            image = article.images[int(value)]
            out.append(
                f'<div class="img"><img src="{attr(image.src)}" alt="{attr(image.alt)}" /></div>'
            )
        elif role == "file":
            item = article.attachments[int(value)]
            out.append(
                f'<div class="file"><a href="{attr(item.href)}" target="_blank">'
                f"{text(item.file)}</a></div>"
            )
        elif role == "lead":
            out.append(f"<p><strong>{escaped}</strong></p>")
        elif role == "footnote":
            out.append(f'<p class="footnote" style="font-size:11px">{escaped}</p>')
        else:
            style = ' style="text-align:justify"' if rev else ""
            out.append(f"<p{style}>{escaped}</p>")
    if items:
        out.append('<ul class="list">\n' + "\n".join(items) + "\n</ul>")
    if signs:
        out.append('<p class="sign">' + "<br />".join(signs) + "</p>")
    return ("\n" + " " * (rev % 4)).join(out)


# ---- view page: furniture -----------------------------------------------------------------


def share_box(article: Article) -> str:
    links = [
        ("facebook", "페이스북"),
        ("twitter", "트위터"),
        ("youtube", "유튜브"),
        ("blog", "블로그"),
    ]
    items = [
        f"<li><a href=\"javascript:shareSns('{key}')\">{label}</a></li>" for key, label in links
    ]
    if article.share_rss:
        items.append('<li><a href="/rss/rss.asp" target="_blank">RSS</a></li>')
    return (
        f'<div class="share_box"><p class="share_title">UNPOG : {text(article.title)}</p>\n'
        f'<ul class="sns">{"".join(items)}</ul></div>'
    )


def prev_next(article: Article, older: Article | None, newer: Article | None, page: int) -> str:
    def link(other: Article | None, missing: str) -> str:
        if other is None:
            return missing
        return f'<a href="{view_href(other.sn, page, salt=2)}">{text(other.title)}</a>'

    prev_link = link(older, "There is no previous post.")
    next_link = link(newer, "There is no next post.")
    if article.layout == "div_p":
        return (
            '<ul class="prev_next">'
            f'<li class="prev"><span>Prev</span> {prev_link}</li>'
            f'<li class="next"><span>Next</span> {next_link}</li></ul>'
        )
    return (
        '<table class="prev_next" summary="previous and next posts">'
        f"<tr><th>Prev</th><td>{prev_link}</td></tr>"
        f"<tr><th>Next</th><td>{next_link}</td></tr></table>"
    )


def view_page(
    article: Article,
    *,
    hits: int,
    older: Article | None,
    newer: Article | None,
    page: int,
) -> str:
    """An article view page, in the article's layout and charset."""
    share = share_box(article)
    inside = "\n" + share if article.share_inside else ""
    outside = "" if article.share_inside else share + "\n"
    title = text(article.title)
    if article.layout == "table":
        board = (
            '<table class="board_view" summary="post view" cellpadding="0" cellspacing="0">\n'
            f'<tr><th class="subject">{title}</th></tr>\n'
            f'<tr><td class="info">Hit : {hits}</td></tr>\n'
            f'<tr><td class="view_content" id="contents">\n{article.raw_html}'
            f"{table_body(article)}{inside}\n"
            "</td></tr>\n</table>"
        )
    else:
        body = div_br_body(article) if article.layout == "div_br" else div_p_body(article)
        board = (
            '<div class="board_view">\n'
            f'<div class="view_title"><h4>{title}</h4><span class="hit">Views {hits}</span></div>\n'
            f'<div class="view_content">\n{article.raw_html}{body}{inside}\n</div>\n</div>'
        )
    inner = (
        f"{board}\n{outside}{prev_next(article, older, newer, page)}\n"
        f'<div class="btn_area"><a class="btn_list" href="{LIST_PATH}?page={page}">List</a></div>'
    )
    return frame(inner, article.charset, article.markup_rev)


# ---- list, issue and other pages ----------------------------------------------------------


def list_page(
    rows: Sequence[Article],
    *,
    page: int,
    total: int,
    hits: dict[int, int],
    issue_pages: Iterable[IssuePage] = (),
) -> str:
    """One list page: `rows` are this page's articles, newest first; `total` all live ones."""
    pages = max(1, -(-total // PAGE_SIZE))
    body_rows = []
    for offset, article in enumerate(rows):
        number = total - (page - 1) * PAGE_SIZE - offset
        body_rows.append(
            f'<tr><td class="num">{number}</td><td class="tl">'
            f'<a href="{list_row_href(article, page)}">{text(article.title)}</a></td>'
            f"<td>{article.date}</td><td>{hits.get(article.sn, article.hits)}</td></tr>"
        )
    if not body_rows:
        body_rows.append('<tr><td colspan="4" class="no_data">There are no posts.</td></tr>')
    banner = ""
    if page == 1:
        banner = "".join(
            f'<div class="issue_banner"><a href="{issue.slug}.asp">'
            f"{text(issue.heading)}</a></div>\n"
            for issue in issue_pages
        )
    inner = (
        f"{banner}"
        f'<div class="board_top"><span class="total">Total <strong>{total}</strong> '
        f"(page {page}/{pages})</span></div>\n"
        '<table class="board_list" summary="list of posts">\n'
        "<thead><tr><th>No</th><th>Title</th><th>Date</th><th>Hit</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(body_rows) + "\n</tbody></table>\n" + paging(page, pages)
    )
    return frame(inner)


def paging(page: int, pages: int) -> str:
    links = [f'<a href="{list_href(1)}" class="first">&lt;&lt;</a>']
    for number in range(1, pages + 1):
        on = ' class="on"' if number == page else ""
        links.append(f'<a href="{list_href(number)}"{on}>{number}</a>')
    links.append(f'<a href="{list_href(pages)}" class="last">&gt;&gt;</a>')
    return '<div class="paging">' + " ".join(links) + "</div>"


def issue_page(issue: IssuePage) -> str:
    sections = "".join(
        f"<h5>{text(section.heading)}</h5>"
        + "".join(f"<p>{text(p)}</p>" for p in section.paragraphs)
        for section in issue.sections
    )
    inner = f'<div class="quarterly_issue"><h4>{text(issue.heading)}</h4>\n{sections}</div>'
    return frame(inner)


def home_page() -> str:
    return frame(f'<p><a href="/page/{LIST_PATH}">{SECTION_HEADING}</a></p>')


def error_page(status: int, reason: str) -> str:
    return (
        f"<html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{status} {reason}</h1></body></html>\n"
    )


ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\nDisallow: /common/share.asp\n"


# ---- binary bodies ------------------------------------------------------------------------


def png_bytes() -> bytes:
    """A valid 1x1 PNG (one blue pixel), built rather than stored: no package data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x1f\x6f\xb2")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A valid 8x8 grey baseline JPEG: one block whose only coefficient (DC) is zero."""
    quant = b"\xff\xdb\x00\x43\x00" + b"\x01" * 64
    frame_header = b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00"
    # One-symbol Huffman tables: DC category 0 and AC end-of-block, each coded as bit "0".
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"
    huffman = b"\xff\xc4\x00\x14\x00" + one_code + b"\xff\xc4\x00\x14\x10" + one_code
    scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    data = b"\x3f"  # bits 0 (DC) 0 (EOB), padded with ones
    return b"\xff\xd8" + quant + frame_header + huffman + scan + data + b"\xff\xd9"


def pdf_bytes(title: str) -> bytes:
    """A small one-page PDF with correct xref offsets."""
    safe = re.sub(r"[^A-Za-z0-9 ._-]", "", title)[:60] or "document"
    stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encode(page: str, charset: str) -> bytes:
    """Page bytes in its charset; characters the charset lacks become numeric references."""
    return page.encode("euc_kr" if charset == "euc-kr" else charset, "xmlcharrefreplace")
