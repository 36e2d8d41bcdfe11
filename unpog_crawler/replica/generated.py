"""Template styles for the replica: every markup choice of one generated site, from a seed.

Nobody has seen the live site's HTML, so the replica can also serve its content through
templates the parser was never written against. `TemplateStyle.from_seed(seed)` draws every
choice from `random.Random(seed)`: the same seed always gives the same template. The choices
are the ones classic ASP board software (Korean boards, UN office sites) varies: layout
(tables, nested tables, divs, definition lists), heading element, paragraph markup (Word
pastes, `<br>` runs, fonts), info rows in English or Korean, breadcrumbs, toolbars, share
boxes, prev/next boxes, related-post boxes, footers, charsets, upper-case tags, CRLF, and
class names: mostly random, sometimes the replica's familiar names on the wrong elements.

The documented reading order of a view page never changes (docs/generated-templates.md):
furniture, section heading, furniture, article heading, info rows/toolbars, body, footnotes
and signature, attachment block, share line + social line, then anything. Rendering lives in
`gen_body.py` (the article's lines) and `gen_pages.py` (frames, furniture, whole pages).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Names the default templates use (docs/assumed-markup.md): a generated template puts some of
# them on elements that do not hold what the name says, never on the element it names.
FAMILIAR_NAMES = (
    "board_view",
    "view_content",
    "view_title",
    "share_box",
    "subject",
    "info",
    "sns",
    "prev_next",
    "sub_title",
    "view_file",
    "btn_list",
    "contents",
    "content",
    "quarterly_issue",
)
# Elements of a page that get a class/id, and where decoys may go (a role -> its wrong names).
ROLES = (
    "wrap",
    "header",
    "gnb",
    "lnb",
    "content",
    "section",
    "location",
    "board",
    "heading",
    "info",
    "toolbar",
    "body",
    "files",
    "share",
    "share_line",
    "sns",
    "prev_next",
    "buttons",
    "related",
    "footer",
    "list",
    "paging",
    "issue",
)
DECOYS: dict[str, tuple[str, ...]] = {
    # The wrapper of the whole view (info rows, body, prev/next): not the article's text.
    "board": ("view_content", "contents", "share_box"),
    "content": ("board_view", "view_content", "contents"),
    "wrap": ("board_view", "contents", "content"),
    "location": ("view_title", "subject"),
    "toolbar": ("view_title", "share_box", "info"),
    "related": ("view_content", "share_box", "board_view", "quarterly_issue"),
    "lnb": ("contents", "view_content"),
    "section": ("subject", "view_title"),
    "info": ("view_title", "subject"),
    "prev_next": ("view_file", "share_box"),
    "gnb": ("sns",),
    "buttons": ("view_file", "prev_next"),
    "footer": ("share_box", "info"),
}
_NAME_PARTS = (
    "bbs", "brd", "board", "tb", "bd", "vw", "read", "post", "art", "news", "nt", "con",
    "cont", "txt", "area", "box", "wrap", "inner", "data", "detail", "tit", "memo", "sec",
    "top", "bot", "mid", "col", "lst", "itm", "grp", "blk", "skin", "basic", "dtl", "page",
)  # fmt: skip

WRITERS = ("UNPOG", "admin", "관리자", "Administrator", "UNPOG Secretariat")
INFO_LABELS = {
    "en": (("Writer", "Date", "Hit"), ("Writer", "Date", "Hits"), ("Name", "Date", "Views")),
    "ko": (
        ("작성자", "등록일", "조회"),
        ("작성자", "작성일", "조회수"),
        ("글쓴이", "등록일", "조회수"),
    ),
}
PREV_NEXT_LABELS = (
    ("Prev", "Next"),
    ("PREV", "NEXT"),
    ("Previous post", "Next post"),
    ("이전글", "다음글"),
    ("▲ 이전글", "▼ 다음글"),
)
NO_POST_TEXTS = (
    ("There is no previous post.", "There is no next post."),
    ("No previous post", "No next post"),
    ("이전글이 없습니다.", "다음글이 없습니다."),
    ("-", "-"),
)
TOOLBAR_ITEMS = (
    ("Print", "List"),
    ("인쇄", "목록"),
    ("Print", "A+", "A-"),
    ("글자크기 크게", "글자크기 작게", "인쇄"),
    ("List", "Print", "E-mail"),
)
NO_SUCH_POST_MESSAGES = (
    "해당 게시물이 없습니다.",
    "존재하지 않는 게시물입니다.",
    "The post does not exist.",
)
PARA_STYLES = ("p", "word", "br2", "br1", "div", "span_br", "font")
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "th", "td", "strong", "b", "font")


@dataclass(frozen=True)
class TemplateStyle:
    """Every markup choice of one generated template (see the module docstring)."""

    seed: int
    names: dict[str, str] = field(compare=False, repr=False)  # role -> ' class="x"' or ''
    # page
    doctype: str = "xhtml"  # "xhtml" | "html4" | "html5" | "none"
    upper: bool = False  # upper-case tags and attribute names
    newline: str = "\n"
    charset: str = "utf-8"  # "utf-8" | "euc-kr"
    charset_in: str = "both"  # where the charset is declared: "both" | "meta" | "header"
    meta_html5: bool = False  # <meta charset=...> rather than http-equiv
    frame: str = "div"  # "div" | "table": the site's layout around the content
    skip_links: bool = False
    banner: str = "none"  # "none" | "header" | "footer"
    side_menu: str = "before"  # "before" | "after" | "none"
    latest_box: str = "none"  # "none" | "side" | "after": other posts' titles as links
    related_box: bool = False  # a related-posts box after the share box
    breadcrumb: str = "before"  # "none" | "before" | "after" (the section heading)
    breadcrumb_title: bool = False  # the breadcrumb ends with the article's title
    breadcrumb_sep: str = "&gt;"
    section_tag: str = "h3"
    footer_form: str = "div"  # "div" | "table" | "address"
    spacers: bool = False  # spacer gifs in the layout
    decoys: bool = False  # familiar class names on the wrong elements
    # view
    view_layout: str = "div"  # "table" | "nested_table" | "div" | "dl" | "mixed"
    heading_tag: str = "h4"  # h1-h6 | th | td | strong | b | font
    heading_date_span: bool = False  # dated boards: the date in its own <span>
    info_place: str = "after"  # "before" | "after" | "none" (the heading)
    info_form: str = "cells"  # "cells" | "dl" | "line" | "ul"
    info_labels: tuple[str, str, str] = ("Writer", "Date", "Hit")
    info_fields: tuple[str, ...] = ("writer", "date", "hits")
    info_sep: str = " | "
    toolbar_place: str = "none"  # "none" | "above" | "below" (the heading)
    toolbar_form: str = "links"  # "links" | "buttons" | "images"
    toolbar_items: tuple[str, ...] = ("Print", "List")
    para_styles: tuple[str, ...] = ("p",)  # how bodies mark paragraphs (one per article)
    bullets_as_list: bool = True  # bullet items as <ul><li> (else one line each)
    footnote_form: str = "p"  # "p" | "sup" | "word" | "div"
    marker_form: str = "sup"  # how [n] markers print in the body: "plain" | "sup" | "word"
    sign_form: str = "lines"  # "lines" | "grouped" | "right" | "strong"
    image_form: str = "p"  # "p" | "div" | "bare" | "table"
    link_prefix: str = "/"  # "/" or "../": how image and download hrefs start
    amp_raw: bool = False  # '&' rather than '&amp;' in hrefs
    entities: str = "plain"  # "plain" | "named" | "numeric"
    nbsp_sentences: bool = False  # "&nbsp; " after full stops (Word)
    inline_tags: bool = False  # a word here and there in <b>/<span style>
    quarterly_files: str = "inline"  # "inline" (after the first paragraph) | "block"
    file_block_form: str = "ul"  # "ul" | "table" | "dl" | "p"
    file_block_label: str = "Attachments"
    list_line: bool = False  # a "List" link line between the body's end and the share box
    share_inside: str = "content"  # share box in the body container: "content" | "always" | "never"
    share_line_tag: str = "p"  # p | div | span | td | strong | dt
    social_form: str = "ul"  # "ul" | "line" | "spaced" | "piped"
    social_icons: bool = False
    social_rss: bool = True  # False: no RSS link on this template
    board_holds_prev_next: bool = False  # the view wrapper also holds prev/next and buttons
    prev_next_form: str = "table"  # "table" | "ul" | "div" | "dl" | "p"
    prev_next_labels: tuple[str, str] = ("Prev", "Next")
    prev_next_titles: bool = True  # the neighbours' titles as links (else the labels link)
    no_post_texts: tuple[str, str] = ("There is no previous post.", "There is no next post.")
    list_button: str = "link"  # "link" | "image" | "button" | "none"
    youth_plain_heading: bool = False  # Youth views: the heading a bare <hN> with no box
    issue_share: bool = True  # whole-issue pages end with a share box too
    no_such_post: str = NO_SUCH_POST_MESSAGES[0]
    # list pages
    list_form: str = "table"  # "table" | "ul" | "div" | "dl"
    list_context_order: int = 0  # which key order list context takes in view links
    paging_form: str = "links"  # "links" | "images" | "table" | "brackets"
    paging_current_link: bool = True
    # content shape (drawn per article from `content_rate`; see pagemodel.vary_article)
    content_rate: float = 0.0

    @classmethod
    def from_seed(cls, seed: int) -> TemplateStyle:
        """The template `seed` names: every choice comes from `random.Random(seed)`."""
        rng = random.Random(seed)
        choice = rng.choice

        def chance(p: float) -> bool:
            return rng.random() < p

        decoys = chance(0.35)
        names = _names(rng, decoys)
        lang = choice(("en", "ko"))
        charset = "euc-kr" if chance(0.3) else "utf-8"
        styles = rng.sample(PARA_STYLES, rng.randint(1, 3))
        return cls(
            seed=seed,
            names=names,
            doctype=choice(("xhtml", "html4", "html5", "none")),
            upper=chance(0.15),
            newline="\r\n" if chance(0.4) else "\n",
            charset=charset,
            charset_in=choice(("both", "meta", "header")),
            meta_html5=chance(0.3),
            frame=choice(("div", "table")),
            skip_links=chance(0.4),
            banner=choice(("none", "header", "footer")),
            side_menu=choice(("before", "after", "none")),
            latest_box=choice(("none", "side", "after")),
            related_box=chance(0.4),
            breadcrumb=choice(("none", "before", "after")),
            breadcrumb_title=chance(0.3),
            breadcrumb_sep=choice(("&gt;", "›", "&gt;&gt;", "/")),
            section_tag=choice(("h2", "h3", "div", "td", "p")),
            footer_form=choice(("div", "table", "address")),
            spacers=chance(0.4),
            decoys=decoys,
            view_layout=choice(("table", "nested_table", "div", "dl", "mixed")),
            heading_tag=choice(HEADING_TAGS),
            heading_date_span=chance(0.4),
            info_place=choice(("before", "after", "after", "none")),
            info_form=choice(("cells", "dl", "line", "ul")),
            info_labels=choice(INFO_LABELS[lang]),
            info_fields=tuple(f for f in ("writer", "date", "hits") if chance(0.75)) or ("hits",),
            info_sep=choice((" | ", " / ", "  ", " · ")),
            toolbar_place=choice(("none", "above", "below")),
            toolbar_form=choice(("links", "buttons", "images")),
            toolbar_items=choice(TOOLBAR_ITEMS),
            para_styles=tuple(styles),
            bullets_as_list=chance(0.6),
            footnote_form=choice(("p", "sup", "word", "div")),
            marker_form=choice(("plain", "sup", "word")),
            sign_form=choice(("lines", "grouped", "right", "strong")),
            image_form=choice(("p", "div", "bare", "table")),
            link_prefix=choice(("/", "../")),
            amp_raw=chance(0.5),
            entities=choice(("plain", "named", "numeric")),
            nbsp_sentences=chance(0.3),
            inline_tags=chance(0.4),
            quarterly_files=choice(("inline", "block")),
            file_block_form=choice(("ul", "table", "dl", "p")),
            file_block_label=choice(("Attachments", "첨부파일", "File", "Download")),
            list_line=chance(0.25),
            share_inside=choice(("content", "always", "never")),
            share_line_tag=choice(("p", "div", "span", "td", "strong", "dt")),
            social_form=choice(("ul", "line", "spaced", "piped")),
            social_icons=chance(0.4),
            social_rss=chance(0.8),
            board_holds_prev_next=chance(0.4),
            prev_next_form=choice(("table", "ul", "div", "dl", "p")),
            prev_next_labels=choice(PREV_NEXT_LABELS),
            prev_next_titles=chance(0.7),
            no_post_texts=choice(NO_POST_TEXTS),
            list_button=choice(("link", "image", "button", "none")),
            youth_plain_heading=chance(0.4),
            issue_share=chance(0.7),
            no_such_post=choice(NO_SUCH_POST_MESSAGES),
            list_form=choice(("table", "ul", "div", "dl")),
            list_context_order=rng.randrange(4),
            paging_form=choice(("links", "images", "table", "brackets")),
            paging_current_link=chance(0.5),
            content_rate=choice((0.0, 0.3, 0.6)),
        )

    def name(self, role: str) -> str:
        """The ` class="..."`/` id="..."` attributes of an element in `role` ('' for none)."""
        return self.names.get(role, "")

    def page_rng(self, *key: object) -> random.Random:
        """A generator for one page's small choices: the same page renders the same way."""
        return random.Random(f"{self.seed}:" + ":".join(str(k) for k in key))


def _names(rng: random.Random, decoys: bool) -> dict[str, str]:
    """Random class/id names per role (some none); with `decoys`, familiar names misplaced."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for role in ROLES:
        kind = rng.choice(("none", "class", "class", "id", "both"))
        if kind == "none":
            names[role] = ""
            continue
        cls, ident = _fresh(rng, used), _fresh(rng, used)
        names[role] = {
            "class": f' class="{cls}"',
            "id": f' id="{ident}"',
            "both": f' id="{ident}" class="{cls}"',
        }[kind]
    if decoys:
        for role in rng.sample(sorted(DECOYS), rng.randint(2, 4)):
            wrong = rng.choice(DECOYS[role])
            attr = "id" if wrong in ("contents", "content") else "class"
            names[role] = f' {attr}="{wrong}"'
    return names


def _fresh(rng: random.Random, used: set[str]) -> str:
    """A random board-ish class name ('bbs_read2', 'txtArea'), never a familiar one."""
    while True:
        first, second = rng.sample(_NAME_PARTS, 2)
        joiner = rng.choice(("_", "-", "", "_"))
        name = first + joiner + (second.capitalize() if joiner == "" else second)
        if rng.random() < 0.3:
            name += str(rng.randint(1, 9))
        if name not in used and name not in FAMILIAR_NAMES:
            used.add(name)
            return name
