"""unpog-crawler: crawl UNPOG's news pages into a versioned SQLite archive."""

__version__ = "0.1.0"
