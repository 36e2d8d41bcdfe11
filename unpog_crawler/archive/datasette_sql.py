"""The SQL of Datasette's canned queries and dashboard charts over the archive (see `datasette`).

Each is written for a person at a form: a query runs as soon as its page opens, with every
parameter empty, so an empty parameter must give an empty answer, never an error.
"""

from __future__ import annotations

from typing import Any

from unpog_crawler.archive.reads import MAX_PREFIX_TERMS, MAX_SEARCH_CHARS
from unpog_crawler.site import DEFAULT_LINK_BASE, NUMERIC_PARAMS

SEARCH_LIMITS = f"at most {MAX_SEARCH_CHARS} characters and {MAX_PREFIX_TERMS} prefix* terms"
SEARCH_SYNTAX = (
    'FTS5 syntax: words, "a phrase", OR, prefix*; quote a word with - or : in it, "e-government"'
)


def refusal(message: str) -> str:
    """SQL that stops the query with `message`: SQL raises no error of its own, so this one
    reads "JSON path error near '<message>'" (json_extract refuses a path without $)."""
    return f"json_extract('{{}}', '{message}')"


def search_guard() -> str:
    """The `query(q)` CTE of the search queries: what is handed to FTS5 MATCH.

    An empty box (the page as first opened) becomes "", the empty phrase, which matches
    nothing. A half-typed query (an open quote or bracket, a dangling OR) is refused with a
    message instead of FTS5's "syntax error near". FTS5 cannot be stopped once started: a
    query of thousands of terms or many prefix* terms would run for minutes, past Datasette's
    time limit, so those are refused as `unpog search` refuses them.
    """
    incomplete = "search query incomplete: "
    return f"""typed(q, words) AS (SELECT :q, trim(:q, ' ' || char(9, 10, 13))),
query(q) AS (
    SELECT CASE
        WHEN words = '' THEN '""'
        WHEN length(q) > {MAX_SEARCH_CHARS}
          OR length(q) - length(replace(q, '*', '')) > {MAX_PREFIX_TERMS}
            THEN {refusal(f"search query refused: {SEARCH_LIMITS}")}
        WHEN (length(q) - length(replace(q, '"', ''))) % 2 = 1
            THEN {refusal(incomplete + "a quote opens a phrase that is not closed")}
        WHEN length(replace(q, '(', '')) <> length(replace(q, ')', ''))
            THEN {refusal(incomplete + "every ( needs a )")}
        WHEN words IN ('OR', 'AND', 'NOT')
          OR words GLOB 'OR *' OR words GLOB 'AND *' OR words GLOB 'NOT *'
          OR words GLOB '* OR' OR words GLOB '* AND' OR words GLOB '* NOT'
            THEN {refusal(incomplete + "OR, AND and NOT need words on both sides")}
        ELSE q
    END
    FROM typed
)"""


def search_query(fts_table: str, *, ranked: bool, all_versions: bool) -> str:
    score = f", bm25({fts_table}) AS score" if ranked else ""
    order = "score, rowid" if ranked else "rowid DESC"
    crawl = ", v.crawl_id" if all_versions else ""
    final_order = {
        (True, False): "top.score, a.id",
        (False, True): "top.id DESC",
        (True, True): "top.score, a.id, v.version",
    }[(ranked, all_versions)]
    return f"""WITH {search_guard()},
top AS (
    SELECT rowid AS id{score} FROM {fts_table}
    WHERE {fts_table} MATCH (SELECT q FROM query) ORDER BY {order} LIMIT 1000
)
SELECT a.id AS article_id, v.version, v.title, a.url, a.status, v.captured_at{crawl},
       (SELECT snippet({fts_table}, -1, '[', ']', '…', 12) FROM {fts_table}
        WHERE {fts_table} MATCH (SELECT q FROM query) AND rowid = top.id) AS snippet
FROM top
JOIN versions v ON v.id = top.id
JOIN articles a ON a.id = v.article_id
ORDER BY {final_order}
"""


def _numeric_value(value: str, name: str) -> str:
    """SQL for a parameter's value as the site reads it: ASP reads ids with CInt, so '072'
    and '72' are one page (site.NUMERIC_PARAMS); other values stay as given."""
    numeric = ", ".join(f"'{param}'" for param in sorted(NUMERIC_PARAMS))
    return (
        f"CASE WHEN {name} IN ({numeric}) AND {value} GLOB '[0-9]*' "
        f"AND {value} NOT GLOB '*[^0-9]*' "
        f"THEN coalesce(nullif(ltrim({value}, '0'), ''), '0') ELSE {value} END"
    )


def _split_query(source: str, table: str) -> str:
    """A recursive CTE `table(key, n, pair, rest)` with each `name=value` pair of the query
    strings `source(key, query)`, n counting from 1 (a bounded number: a pasted URL has few)."""
    return f"""{table}(key, n, pair, rest) AS (
    SELECT key, 0, '', query || '&' FROM {source} WHERE query <> ''
    UNION ALL
    SELECT key, n + 1, substr(rest, 1, instr(rest, '&') - 1), substr(rest, instr(rest, '&') + 1)
    FROM {table} WHERE rest <> '' AND n < 50
)"""


def _params(pairs: str) -> str:
    """Lower-cased names and numeric-normalised values of the pairs; the first value of a
    name wins, as in site.canonical_url (SQLite takes the bare columns of the min() row)."""
    name = "lower(trim(substr(pair, 1, instr(pair, '=') - 1)))"
    raw = "trim(substr(pair, instr(pair, '=') + 1))"
    return (
        f"SELECT key, {name} AS name, {_numeric_value(raw, name)} AS value, min(n) "
        f"FROM {pairs} WHERE instr(pair, '=') > 1 GROUP BY key, name"
    )


def article_history() -> str:
    """Every change of one article named by its id or by a URL in any form, as `unpog
    history` takes it: any host or scheme, list parameters (`&page=2`) and zeros (`sn=020`)
    ignored. In SQL: an article matches when the reference's path ends with its path and the
    reference carries each of its identity parameters with the same value."""
    path_of = "CASE WHEN instr({0}, '?') THEN substr({0}, 1, instr({0}, '?') - 1) ELSE {0} END"
    query_of = "CASE WHEN instr({0}, '?') THEN substr({0}, instr({0}, '?') + 1) ELSE '' END"
    return f"""WITH RECURSIVE
ref(text) AS (
    SELECT CASE WHEN instr(trim(:article), '#')
                THEN substr(trim(:article), 1, instr(trim(:article), '#') - 1)
                ELSE trim(:article) END
),
given(key, path, query) AS (
    -- A bare page name ("sub4_3_view.asp?sn=72") is relative to {DEFAULT_LINK_BASE}, as links are.
    SELECT 0, CASE WHEN instr(p, '/') THEN p ELSE '{DEFAULT_LINK_BASE}' || p END, q
    FROM (SELECT lower({path_of.format("text")}) AS p, {query_of.format("text")} AS q FROM ref)
),
candidates(key, query) AS (
    SELECT a.id, {query_of.format("a.url")}
    FROM articles a, given
    WHERE given.path <> ''
      AND substr(given.path, -length({path_of.format("a.url")})) = {path_of.format("a.url")}
),
{_split_query("given", "given_pairs")},
{_split_query("candidates", "wanted_pairs")},
given_params AS ({_params("given_pairs")}),
wanted_params AS ({_params("wanted_pairs")}),
matched(id) AS (
    SELECT id FROM articles WHERE id = :article
    UNION
    SELECT c.key FROM candidates c
    WHERE NOT EXISTS (
        SELECT 1 FROM wanted_params w
        WHERE w.key = c.key AND NOT EXISTS (
            SELECT 1 FROM given_params g WHERE g.name = w.name AND g.value = w.value
        )
    )
)
SELECT c.at, c.kind, COALESCE(c.to_version, c.from_version) AS version, c.crawl_id,
       c.title, c.changed_fields, c.reason, c.article_id, c.url
FROM change_log c
WHERE c.article_id IN (SELECT id FROM matched)
ORDER BY c.at, c.id
"""


# Canned queries whose SQL is long enough to push their form and rows off the first screen:
# Datasette shows their SQL behind a "show" link instead.
LONG_SQL = ("article_history", "search_latest", "search_all_versions", "search_all_versions_ranked")


def canned_queries() -> dict[str, dict[str, Any]]:
    queries = _canned_queries()
    for name in LONG_SQL:
        queries[name]["hide_sql"] = True
    return queries


def _canned_queries() -> dict[str, dict[str, Any]]:
    return {
        "article_history": {
            "title": "Article history",
            "description": (
                "Every change of one article, oldest first. Give its archive id, or its URL in "
                "any form: canonical (/page/sub4_3_view.asp?sn=72), on any host, or as copied "
                "from a list page of the site (…&page=2)."
            ),
            "sql": article_history(),
        },
        "changes_between": {
            "title": "Changes between two dates",
            "description": (
                "What the crawls found from :since to :until (ISO dates or date-times, UTC, "
                "both included)."
            ),
            "sql": """SELECT at, kind, crawl_id, article_id, title, url, from_version, to_version,
       changed_fields, reason
FROM change_log
WHERE at >= :since AND substr(at, 1, length(:until)) <= :until
ORDER BY at, id
""",
        },
        "search_latest": {
            "title": "Search the latest text",
            "description": (
                f"Full-text search ({SEARCH_SYNTAX}) over the latest version of every article, "
                f"best match first. A query has {SEARCH_LIMITS}."
            ),
            "sql": search_query("latest_fts", ranked=True, all_versions=False),
        },
        "search_all_versions": {
            "title": "Search every text ever published",
            "description": (
                f"Full-text search ({SEARCH_SYNTAX}) over every version of every article, most "
                "recently archived first: a history of the words. The 1,000 newest matches; "
                f"search_all_versions_ranked ranks them instead. A query has {SEARCH_LIMITS}."
            ),
            "sql": search_query("versions_fts", ranked=False, all_versions=True),
        },
        "search_all_versions_ranked": {
            "title": "Search every text ever published, best match first",
            "description": (
                f"Full-text search ({SEARCH_SYNTAX}) over every version of every article, the "
                "1,000 best matches first. A word found in most texts takes a moment, as each "
                f"of its matches is scored. A query has {SEARCH_LIMITS}."
            ),
            "sql": search_query("versions_fts", ranked=True, all_versions=True),
        },
        "as_of": {
            "title": "The archive as of a date",
            "description": (
                "The latest version of every article captured on or before :moment (an ISO "
                "date, meaning its end, or a date-time; UTC), with each article's status then, "
                "by article id. Datasette shows the first 1,000 rows; to read on, give :after "
                "the last article_id shown."
            ),
            "sql": """WITH m(at) AS (
    SELECT CASE WHEN length(:moment) = 10 THEN :moment || 'T23:59:59+00:00' ELSE :moment END
)
SELECT a.id AS article_id, a.url, v.version, v.captured_at,
       COALESCE((SELECT CASE c.kind WHEN 'removed' THEN 'removed' ELSE 'live' END
                 FROM changes c WHERE c.article_id = a.id AND c.at <= m.at
                 ORDER BY c.at DESC, c.id DESC LIMIT 1), 'live') AS status,
       v.section, v.kind, v.title, a.issue, v.body_text
FROM m, articles a
JOIN versions v ON v.id = (
    SELECT w.id FROM versions w
    WHERE w.article_id = a.id AND w.captured_at <= m.at
    ORDER BY w.captured_at DESC, w.version DESC LIMIT 1
)
WHERE a.id > CAST(:after AS INTEGER)
ORDER BY a.id
""",
        },
        "removed": {
            "title": "Removed articles",
            "description": "Articles gone from the site, most recently removed first.",
            "sql": """SELECT article_id, title, url, section, kind, issue, first_seen, last_seen,
       last_version, removed_at, removed_by_crawl_id, reason
FROM removed_articles
ORDER BY removed_at DESC, article_id
""",
        },
    }


# An axis label: the date at midnight, else the date and the time (UTC).
DAY_OR_TIME = (
    "utchours(datum.value) + utcminutes(datum.value) == 0 "
    "? utcFormat(datum.value, '%Y-%m-%d') : utcFormat(datum.value, '%Y-%m-%d %H:%M')"
)


def _bars(x: str, y: str, color: str) -> dict[str, Any]:
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": x, "type": "ordinal"},
            "y": {"field": y, "type": "quantitative"},
            "color": {"field": color, "type": "nominal"},
        },
        "usermeta": {"embedOptions": {"renderer": "svg"}},
    }


def _metric(title: str, query: str) -> dict[str, Any]:
    return {
        "title": title,
        "library": "metric",
        "query": query,
        "display": {"field": "n", "prefix": "", "suffix": ""},
    }


def dashboard_charts() -> dict[str, dict[str, Any]]:
    """The dashboard's charts (datasette-dashboards), without their database: `datasette`
    adds it. Charts draw as SVG, so their labels are text a browser test can read."""
    year = (
        "COALESCE(substr(v.published, 1, 4), substr(v.event_start, 1, 4), "
        "CASE WHEN a.issue GLOB '[12][0-9][0-9][0-9]*' THEN substr(a.issue, 1, 4) END, "
        "substr(a.first_seen, 1, 4))"
    )
    return {
        "live-articles": _metric(
            "Live articles", "SELECT COUNT(*) AS n FROM articles WHERE status = 'live'\n"
        ),
        "versions": _metric("Versions archived", "SELECT COUNT(*) AS n FROM versions\n"),
        "last-crawls": {
            "title": "Last crawl of each spider",
            "library": "table",
            "query": (
                "SELECT id AS crawl, spider, status, CASE complete WHEN 1 THEN 'complete' "
                "ELSE 'incomplete' END AS listing, replace(substr(started_at, 1, 16), 'T', ' ') "
                "AS started, errors, parse_failures AS failures\n"
                "FROM crawls WHERE id IN (SELECT MAX(id) FROM crawls GROUP BY spider) "
                "ORDER BY id\n"
            ),
            "display": None,
        },
        "articles-per-year": {
            "title": (
                "Articles per year and section (publication year, else event year, else issue "
                "year, else year first captured)"
            ),
            "library": "vega-lite",
            "query": (
                f"SELECT {year} AS year, a.section, COUNT(*) AS articles\n"
                "FROM articles a JOIN versions v ON v.article_id = a.id "
                "AND v.version = a.current_version\n"
                "GROUP BY year, a.section ORDER BY year\n"
            ),
            "display": _bars("year", "articles", "section"),
        },
        "changes-per-crawl": {
            "title": "Changes per crawl, by kind",
            "library": "vega-lite",
            "query": (
                "SELECT c.crawl_id AS crawl, c.kind, COUNT(*) AS changes\n"
                "FROM changes c GROUP BY c.crawl_id, c.kind ORDER BY c.crawl_id\n"
            ),
            "display": _bars("crawl", "changes", "kind"),
        },
        "crawl-health": {
            "title": "Crawl health over time: pages, errors and parse failures, per spider",
            "library": "vega-lite",
            "query": (
                "SELECT id AS crawl, spider, started_at, 'pages' AS measure, pages AS value "
                "FROM crawls\n"
                "UNION ALL SELECT id, spider, started_at, 'errors', errors FROM crawls\n"
                "UNION ALL SELECT id, spider, started_at, 'parse failures', parse_failures "
                "FROM crawls\n"
                "ORDER BY started_at\n"
            ),
            "display": {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {
                        "field": "started_at",
                        "type": "temporal",
                        "title": "crawl started (UTC)",
                        # Whole days: ticks never fall between crawls a second apart, where
                        # the axis printed milliseconds (".900") instead of dates.
                        "scale": {"type": "utc", "nice": "day"},
                        "axis": {"labelExpr": DAY_OR_TIME, "labelAngle": -30},
                    },
                    "y": {"field": "value", "type": "quantitative", "title": "count"},
                    "color": {"field": "measure", "type": "nominal"},
                    "detail": {"field": "spider", "type": "nominal"},
                    "tooltip": [
                        {"field": "crawl", "type": "ordinal"},
                        {"field": "spider", "type": "nominal"},
                        {"field": "started_at", "type": "nominal"},
                        {"field": "measure", "type": "nominal"},
                        {"field": "value", "type": "quantitative"},
                    ],
                },
                "usermeta": {"embedOptions": {"renderer": "svg"}},
            },
        },
    }
