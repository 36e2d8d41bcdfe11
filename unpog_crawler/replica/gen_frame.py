"""The frame of a generated page: head, header menu, side menu, breadcrumb, footer.

Everything here is furniture: none of its text or images belongs to an article. The links
are the default frame's (replica/templates.py HEADER), so a crawl of a generated template
follows the same paths as a crawl of today's.
"""

from __future__ import annotations

from collections.abc import Sequence

from unpog_crawler.replica.gen_body import Ink

DOCTYPES = {
    "xhtml": '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    "html4": '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">',
    "html5": "<!DOCTYPE html>",
    "none": "",
}
MENU = (
    ("/page/sub1_1.asp", "About UNPOG"),
    ("/page/sub3_1_list.asp?BoardID=0004", "Theme"),
    ("/page/sub4_3_list.asp", "News &amp; Events"),
    ("/page/sub5_1_list.asp?BoardID=0007", "Knowledge Platform"),
)
SIDE_MENU = (
    ("sub4_1_list.asp", "Youth Engagement"),
    ("sub4_2_tab_introduction.asp?tb_Symposium_sn=3", "Regional Symposium"),
    ("sub4_3_list.asp", "The UNPOG Public Governance Quarterly"),
)
SCRIPT = """<script type="text/javascript">
function goView(sn) { location.href = "{view}?{key}=" + sn + "&page=1"; }
function fnView(sn) { document.location = "{view}?page=1&{key}=" + sn; }
function shareSns(kind) { window.open("/common/share.asp?kind=" + kind); }
function fontSize(step) { document.body.style.fontSize = (12 + step) + "px"; }
</script>"""
STYLE = """<style type="text/css">
body{margin:0;font-family:Gulim,Arial,sans-serif;font-size:12px}
a{color:#333;text-decoration:none}img{border:0}
</style>"""
FOOTER_LINES = (
    "United Nations Project Office on Governance (UNPOG)",
    "6F G-Tower, 175 Art center-daero, Yeonsu-gu, Incheon 22004, Republic of Korea",
    "(22004) 인천광역시 연수구 아트센터대로 175 G-Tower 6층",
    "Tel : +82-32-822-9088 \xa0 Fax : +82-32-822-9089",
    "Copyright © UNPOG. All Rights Reserved.",
)
SPACER = '<img src="/images/common/blank.gif" width="1" height="10" alt="" />'


def document(
    ink: Ink,
    *,
    page_title: str,
    section_heading: str,
    charset: str,
    script_view: tuple[str, str],
    inner: str,
    crumbs: Sequence[str] = (),
    side_extra: str = "",
) -> str:
    """A whole page around `inner` (the content area's own part)."""
    style, nl = ink.style, ink.style.newline
    head = [f"<title>{ink.text(page_title)}</title>", STYLE, script(*script_view)]
    if style.charset_in != "header":
        if style.meta_html5:
            head.insert(0, f'<meta charset="{charset}">')
        else:
            head.insert(
                0, f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />'
            )
    side = (side_menu(ink) if style.side_menu != "none" else "") + side_extra
    content = nl.join(
        part
        for part in (
            breadcrumb(ink, crumbs) if style.breadcrumb == "before" else "",
            section(ink, section_heading),
            breadcrumb(ink, crumbs) if style.breadcrumb == "after" else "",
            inner,
        )
        if part
    )
    content = f"<div{style.name('content')}>{nl}{content}{nl}</div>"
    if style.frame == "table":
        cells = [f'<td width="200" valign="top">{side}</td>'] if side else []
        cells.append(f'<td valign="top">{content}</td>')
        if side and style.side_menu == "after":
            cells.reverse()
        middle = (
            f'<table width="960" cellpadding="0" cellspacing="0"><tr>{"".join(cells)}</tr></table>'
        )
    else:
        before = side if style.side_menu != "after" else ""
        after = side if style.side_menu == "after" else ""
        middle = nl.join(p for p in (before, content, after) if p)
    body = nl.join(
        p
        for p in (
            skip_links(ink) if style.skip_links else "",
            header(ink),
            banner() if style.banner == "header" else "",
            SPACER if style.spacers else "",
            middle,
            footer(ink),
            banner() if style.banner == "footer" else "",
        )
        if p
    )
    lang = ' xmlns="http://www.w3.org/1999/xhtml" lang="en"' if style.doctype == "xhtml" else ""
    return (
        f"{DOCTYPES[style.doctype]}{nl}<html{lang}>{nl}<head>{nl}{nl.join(head)}{nl}</head>{nl}"
        f"<body>{nl}<div{style.name('wrap')}>{nl}{body}{nl}</div>{nl}</body>{nl}</html>{nl}"
    )


def script(view_path: str, key: str) -> str:
    return SCRIPT.replace("{view}", view_path).replace("{key}", key)


def skip_links(ink: Ink) -> str:
    label = ink.rng.choice(("Skip to content", "본문 바로가기", "Go to main contents"))
    return f'<div class="skip"><a href="#container">{ink.text(label)}</a></div>'


def header(ink: Ink) -> str:
    style = ink.style
    logo = '<a href="/"><img src="/upload/common/logo.png" alt="UNPOG" /></a>'
    if ink.rng.random() < 0.5:
        items = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in MENU)
        menu = f"<ul{style.name('gnb')}>{items}</ul>"
    else:
        cells = "".join(f'<td><a href="{href}">{label}</a></td>' for href, label in MENU)
        menu = f"<table{style.name('gnb')}><tr>{cells}</tr></table>"
    top = '<div class="top_link"><a href="/">Home</a> | <a href="/page/sitemap.asp">Sitemap</a>'
    top += ' | <a href="/kor/">한국어</a></div>'
    return f"<div{style.name('header')}><h1>{logo}</h1>{top}{menu}</div>"


def banner() -> str:
    return (
        '<div class="bnr"><a href="https://www.un.org/development/desa/" target="_blank">'
        '<img src="/upload/banner/un_desa.jpg" alt="UN DESA" /></a></div>'
    )


def side_menu(ink: Ink) -> str:
    items = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in SIDE_MENU)
    return f"<div{ink.style.name('lnb')}><h2>News &amp; Events</h2><ul>{items}</ul></div>"


def section(ink: Ink, heading: str) -> str:
    tag = ink.style.section_tag
    text = ink.text(heading)
    if tag == "td":
        return f"<table><tr><td{ink.style.name('section')}><b>{text}</b></td></tr></table>"
    return f"<{tag}{ink.style.name('section')}>{text}</{tag}>"


def breadcrumb(ink: Ink, crumbs: Sequence[str]) -> str:
    """Home > News & Events > ... (ending, on some templates, in the article's title)."""
    sep = f" {ink.style.breadcrumb_sep} "
    parts = ['<a href="/">Home</a>'] + [ink.text(c) for c in crumbs]
    if ink.rng.random() < 0.3:
        items = "".join(f"<li>{p}</li>" for p in parts)
        return f"<ul{ink.style.name('location')}>{items}</ul>"
    return f"<div{ink.style.name('location')}>{sep.join(parts)}</div>"


def footer(ink: Ink) -> str:
    style = ink.style
    lines = [ink.text(line) for line in FOOTER_LINES]
    if ink.rng.random() < 0.5:
        lines = [lines[0], lines[1], lines[3], lines[4]]
    family = (
        '<select name="family"><option>Family Site</option><option>UN DESA</option>'
        "<option>UN ESCAP</option></select>"
    )
    if style.footer_form == "table":
        rows = "".join(f"<tr><td>{line}</td></tr>" for line in lines)
        return f"<table{style.name('footer')}>{rows}</table>{family}"
    if style.footer_form == "address":
        return f"<div{style.name('footer')}><address>{'<br />'.join(lines)}</address></div>"
    paragraphs = "".join(f"<p>{line}</p>" for line in lines)
    return f"<div{style.name('footer')}>{paragraphs}{family}</div>"


def titled_links(ink: Ink, role: str, heading: str, links: Sequence[tuple[str, str]]) -> str:
    """A related-posts or latest-news box: other posts' titles as links."""
    items = "".join(f'<li><a href="{href}">{ink.text(title)}</a></li>' for href, title in links)
    return f"<div{ink.style.name(role)}><h4>{ink.text(heading)}</h4><ul>{items}</ul></div>"
