"""Scrapy settings for unpog-crawler.

The defaults are polite for the live site (https://unpog.org): robots.txt obeyed, one request
at a time with a delay and AutoThrottle, a User-Agent that names the project. Tests, benchmarks
and the demo override them with ``-s NAME=value`` (or ``unpog crawl -s NAME=value``).
"""

from unpog_crawler import __version__

BOT_NAME = "unpog_crawler"
SPIDER_MODULES = ["unpog_crawler.spiders"]
NEWSPIDER_MODULE = "unpog_crawler.spiders"

# --- What to crawl and where to archive it -------------------------------------------------
UNPOG_BASE_URL = "https://unpog.org"
# The Quarterly's list page: its name was not seen on the live site, so it is a setting.
UNPOG_QUARTERLY_LIST_PATH = "/page/sub4_3_list.asp"
UNPOG_ARCHIVE_DB = "archive/unpog.db"
# Ask again for archived articles the lists no longer show: only an article's own page
# can tell "deleted" (no such post, 404) from "merely unlisted".
UNPOG_RECHECK_KNOWN = True
# Re-crawls send If-None-Match / If-Modified-Since from each page's last answer, so an
# unchanged article costs a 304 instead of a download.
UNPOG_CONDITIONAL_REQUESTS = True
# The revisit policy (unpog_crawler/revisit.py, docs/revisit-policy.md): every crawl reads every
# list page and fetches every post it never archived and every archived post the lists no
# longer show; of the archived, listed posts, "adaptive" fetches those likely to have changed
# (list row hints, recent changes, the rotation) and "all" (`unpog crawl --full`) every one.
UNPOG_REVISIT = "adaptive"
UNPOG_REVISIT_MAX_AGE = 14  # days: the longest any listed post goes unverified
# Posts a crawl may re-fetch early: a number, a share ("10%") or "auto" (the rotation + 30%).
UNPOG_REVISIT_BUDGET = "auto"
# Safety net against a paging bug that would link list pages forever.
UNPOG_MAX_LIST_PAGES = 500
# Processes that parse pages beside the crawl's own (unpog_crawler.parse.pool). "auto": one
# when politeness is off (DOWNLOAD_DELAY < 0.25 s) on a multi-core machine, else 0 (inline:
# a polite crawl leaves the core idle between pages).
UNPOG_PARSE_WORKERS = "auto"
# Seconds between commits of the archive during a crawl: each page's writes still land whole
# (a savepoint each), and a crash loses at most this much work, fetched again next time.
# 0: a commit per page. A polite crawl (a page every ~2 s) commits every page either way.
UNPOG_COMMIT_INTERVAL = 1.0
# Seconds a write waits while another process holds the archive's write lock (a `sqlite3`
# session, a VACUUM) before it counts as failed: the page is then an error of the crawl,
# which ends incomplete and removes nothing. The crawl stands still while it waits.
UNPOG_ARCHIVE_BUSY_TIMEOUT = 60.0

# --- Theme, Youth and Publications boards, attachments, sweep (issue 3) --------------------
# Theme BoardIDs the `news` spider crawls: 0004 activity news, 0002 events, 0010 press.
UNPOG_NEWS_BOARDS = "0004,0002,0010"
# Download every attachment and image an article links into archive/files/ (by SHA-256).
UNPOG_DOWNLOAD_FILES = True
UNPOG_FILES_DIR = ""  # empty: files/ beside UNPOG_ARCHIVE_DB (archive/files/)
UNPOG_FILES_MAX_SIZE = 50 * 1024 * 1024  # bytes; a larger file is recorded, not stored
# `-a sweep=1`: after the lists, ask for unknown ids until this many "no such post" in a row.
UNPOG_SWEEP_MAX_MISSES = 20
UNPOG_SWEEP_MAX_REQUESTS = 1000  # per board: a cap on gaps + ids above the highest known

# --- Scheduled runs (`unpog crawl`, see docs/running-on-a-schedule.md) -----------------------
# Each spider's run is logged to <archive dir>/logs/; keep this many files per spider (0: none).
UNPOG_LOG_KEEP = 30
# A live progress line on stderr; `unpog crawl` turns it on when stderr is a terminal.
UNPOG_PROGRESS = False
UNPOG_PROGRESS_INTERVAL = 1.0

# --- Crawl health (unpog_crawler.health) ---------------------------------------------------
# A crawl that breaks one of these ends "degraded": it removes nothing, and exits non-zero.
UNPOG_HEALTH_MIN_ARTICLES = 1  # fewer articles read than this: the site or parser is broken
UNPOG_HEALTH_MAX_PARSE_FAILURE_SHARE = 0.2  # of fetched pages ("no such post" not counted)
UNPOG_HEALTH_MAX_LISTED_DROP = 0.5  # fall in listed articles vs the previous complete crawl
UNPOG_HEALTH_MAX_ERRORS = 10  # pages that could not be fetched
UNPOG_HEALTH_MAX_REMOVED_SHARE = 0.5  # of live articles, removed by one crawl
# What the articles read say about the parser, whatever the markup (issue 14): shares of a
# board's bodies (or articles) above which the crawl is degraded.
UNPOG_HEALTH_MAX_BOILERPLATE_SHARE = 0.25  # one short line (numbers masked) in many bodies
UNPOG_HEALTH_MAX_FOREIGN_TITLE_SHARE = 0.2  # bodies holding another article's title as a line
UNPOG_HEALTH_MAX_LANDMARKS_MISSING_SHARE = 0.0  # articles without their share line or heading
UNPOG_HEALTH_MAX_REPEATED_IMAGE_SHARE = 0.5  # one image on many pages of a board

# --- Politeness -----------------------------------------------------------------------------
USER_AGENT = (
    f"unpog-crawler/{__version__} (+https://github.com/unpog-crawler/unpog-crawler; "
    "archives UNPOG's public news pages)"
)
ROBOTSTXT_OBEY = True
# robots.txt as RFC 9309 reads it (middlewares.RobotsRulesMiddleware): read up to this many
# bytes; one that answers 5xx or cannot be fetched means "crawl nothing now", 4xx "no rules".
UNPOG_ROBOTS_MAX_SIZE = 512 * 1024
CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Outputs of one page processed at a time. Scrapy starts this many tasks for every page a
# callback yields anything from (default 100); a page here yields one record, archived
# synchronously, so 100 only cost more CPU than the rest of the page (issue 6).
CONCURRENT_ITEMS = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%: no machine-regular beat
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A server's Retry-After is honoured before a retry, up to this many seconds.
UNPOG_RETRY_AFTER_MAX = 120.0
# Article pages are small; anything far larger is not an article page.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# Response header sections larger than these fail the request (middlewares.py): Twisted
# keeps every header line, and DOWNLOAD_MAXSIZE caps only the body.
UNPOG_MAX_RESPONSE_HEADERS = 100  # header lines (Apache's LimitRequestFields)
UNPOG_MAX_RESPONSE_HEADER_BYTES = 64 * 1024
DOWNLOAD_HANDLERS = {
    "http": "unpog_crawler.middlewares.BoundedHTTPDownloadHandler",
    "https": "unpog_crawler.middlewares.BoundedHTTPDownloadHandler",
}
# Redirects are followed, but only on UNPOG_BASE_URL's scheme, host and port
# (middlewares.SameOriginMiddleware; Scrapy's OffsiteMiddleware compares host names only).
REDIRECT_MAX_TIMES = 5
HTTPCACHE_ENABLED = False
COOKIES_ENABLED = False

# Every request the spiders make is a URL that site.py built from a known pattern, and
# paging is bounded by UNPOG_MAX_LIST_PAGES: Scrapy's depth tracking and URL length guard
# have nothing to catch, and each wraps every callback output (10% of the crawl process's
# CPU with politeness off, bench/RESULTS.md).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}

# --- Pipeline ---------------------------------------------------------------------------------
ITEM_PIPELINES = {
    # Downloads an article's files before the archive records it (issue 3; off with
    # UNPOG_DOWNLOAD_FILES=0).
    "unpog_crawler.pipelines.ArchiveFilesPipeline": 200,
    "unpog_crawler.pipelines.ArchivePipeline": 300,
}

# --- Archival capture (WARC, issue 7) --------------------------------------------------------
# Every HTTP exchange goes into gzipped WARC 1.1 files, indexed in the archive's `captures`
# table. 950 puts the middleware next to the downloader: it sees requests as sent (with
# Accept-Encoding) and bodies as received, before HttpCompressionMiddleware (590) decodes them.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "unpog_crawler.middlewares.SameOriginMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "unpog_crawler.middlewares.RobotsRulesMiddleware": 100,
    "unpog_crawler.middlewares.WarcCaptureMiddleware": 950,
    # Scrapy's retries, but waiting as long as a server's Retry-After asks (RetryAfterMiddleware).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "unpog_crawler.middlewares.RetryAfterMiddleware": 550,
    # Before the site's first answer, no answer at all means it cannot be reached: stop at
    # once rather than retry every page (reach.py). Next to the retries, to see each failure.
    "unpog_crawler.reach.FirstContactMiddleware": 560,
}
UNPOG_WARC_ENABLED = True
UNPOG_WARC_DIR = ""  # empty: warc/ beside UNPOG_ARCHIVE_DB (archive/warc/)
UNPOG_WARC_MAX_SIZE = 1024**3  # bytes; a crawl's next record starts a new file past this

# Two extensions open loopback ports on every crawl; an unattended archiver needs neither.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
