"""A parser change is not a site change (issue 14, part 4), through real crawls.

The "newer parser" is the real one with its version bumped and one rule changed, in this
process: crawls run in-process and parse inline (UNPOG_PARSE_WORKERS=0), and re-downloading
every page (no conditional requests) gives each article's unchanged bytes to the new rule.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl, query

from unpog_crawler.items import ArticleRecord
from unpog_crawler.parse import article as article_parser
from unpog_crawler.parse import pool as parse_pool

EDITED = "/page/sub4_3_view.asp?sn=72"
OLD = article_parser.PARSER_VERSION  # the parser of the first crawl
NEW = f"{OLD}+test"  # the "newer parser" below
INLINE = {"UNPOG_PARSE_WORKERS": 0}
RECRAWL = {**INLINE, "UNPOG_CONDITIONAL_REQUESTS": False}


@pytest.fixture
def newer_parser(monkeypatch):
    """A newer parser: the same page's paragraphs joined by one line break, not two."""
    original = parse_pool.parse_page

    def parse_page(body, url, headers=None, board=None):
        result, links = original(body, url, headers, board)
        if isinstance(result, ArticleRecord):
            result = dataclasses.replace(result, body_text=result.body_text.replace("\n\n", "\n"))
        return result, links

    def install() -> None:
        monkeypatch.setattr(parse_pool, "parse_page", parse_page)
        monkeypatch.setattr(article_parser, "PARSER_VERSION", NEW)

    return install


def reread_by_v2(db_path: Path) -> set[str]:
    """Articles whose version-1 body the newer parser reads differently."""
    rows = query(db_path, "select url, body_text from versions where version = 1")
    return {url for url, body in rows if "\n\n" in body}


@pytest_twisted.ensureDeferred
async def test_a_new_parser_rederives_versions_and_claims_no_site_change(
    replica, db_path, newer_parser
):
    first = await crawl(replica.base_url, db_path, **INLINE)
    assert query(db_path, "select distinct parser_version from versions") == [(OLD,)]
    affected = reread_by_v2(db_path)
    assert EDITED in affected and len(affected) >= 3
    newer_parser()
    article = replica.site.article(72)
    replica.site.edit(72, body=(*article.body, "A paragraph added after publication."))

    second = await crawl(replica.base_url, db_path, **RECRAWL)

    # The site changed one article: one `changed`, the rest unchanged.
    assert (second["changed"], second["new"], second["removed"]) == (1, 0, 0)
    assert second["unchanged"] == first["new"] - 1
    site_changes = query(
        db_path, "select a.url from changes c join articles a on a.id = c.article_id "
        "where c.kind = 'changed' and c.reason is null",
    )  # fmt: skip
    assert site_changes == [(EDITED,)]
    # Each page v2 reads differently got a re-derived version from crawl 1's capture.
    rederived = query(
        db_path,
        "select v.url, v.version, v.crawl_id, v.parser_version, v.capture_id = one.capture_id, "
        "v.changed_fields, c.kind, c.from_version, c.reason, c.crawl_id "
        "from versions v join versions one on one.article_id = v.article_id "
        "and one.version = 1 join changes c on c.article_id = v.article_id "
        "and c.to_version = v.version where v.rederived = 1 order by v.url",
    )
    assert [row[0] for row in rederived] == sorted(affected)
    for _url, version, crawl_id, parser, same_capture, fields, kind, before, why, by in rederived:
        assert (version, crawl_id, parser, same_capture) == (2, first["id"], NEW, 1)
        assert (json.loads(fields), kind, before, by) == (["body_text"], "changed", 1, first["id"])
        assert why.startswith("re-derived from capture ") and why.endswith(
            f"parser changed from {OLD} to {NEW}"
        )
    # The edit is a version of its own, compared with the re-derived one.
    assert query(
        db_path,
        "select v.version, v.crawl_id, v.rederived, v.parser_version, c.from_version, "
        "v.changed_fields from versions v join changes c on c.article_id = v.article_id "
        "and c.to_version = v.version where v.url = ? and v.version = 3",
        EDITED,
    ) == [(3, second["id"], 0, NEW, 2, '["body_text"]')]
    # Current versions are the pages as v2 reads them.
    assert query(
        db_path,
        "select count(*) from articles a join versions v on v.article_id = a.id "
        f"and v.version = a.current_version where v.parser_version != '{NEW}' and a.url in "
        f"({', '.join('?' * len(affected))})",
        *affected,
    ) == [(0,)]

    third = await crawl(replica.base_url, db_path, **RECRAWL)

    assert (third["changed"], third["new"], third["unchanged"]) == (0, 0, first["new"])
    assert query(db_path, "select count(*) from versions where crawl_id = ?", third["id"]) == [(0,)]


@pytest_twisted.ensureDeferred
async def test_without_a_capture_a_parser_change_is_written_as_such(replica, db_path, newer_parser):
    """WARC capture off: nothing to re-read. The versions are written, their change rows
    saying that the parser changed and that there was no capture to compare."""
    await crawl(replica.base_url, db_path, UNPOG_WARC_ENABLED=False, **INLINE)
    affected = reread_by_v2(db_path)
    newer_parser()

    second = await crawl(replica.base_url, db_path, UNPOG_WARC_ENABLED=False, **RECRAWL)

    assert second["changed"] == len(affected)
    changes = query(
        db_path,
        "select a.url, c.reason, v.rederived, v.parser_version from changes c "
        "join articles a on a.id = c.article_id join versions v on v.article_id = c.article_id "
        "and v.version = c.to_version where c.kind = 'changed' order by a.url",
    )
    assert [row[0] for row in changes] == sorted(affected)
    assert {row[1:] for row in changes} == {
        (f"parser changed from {OLD} to {NEW}; no capture to compare", 0, NEW)
    }
