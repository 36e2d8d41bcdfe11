"""Polite defaults for the live site, and every one of them overridable like any setting."""

from __future__ import annotations

import pytest
from scrapy.utils.conf import build_component_list

from unpog_crawler import health
from unpog_crawler.cli.crawl import project_settings
from unpog_crawler.pipelines import RECORDED_SETTINGS


def test_defaults_are_polite_to_the_live_site():
    settings = project_settings({})

    assert settings.get("UNPOG_BASE_URL") == "https://unpog.org"
    assert settings.get("UNPOG_ARCHIVE_DB") == "archive/unpog.db"
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getbool("RETRY_ENABLED") and settings.getint("RETRY_TIMES") >= 1
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 50 * 1024 * 1024
    assert "unpog-crawler" in settings.get("USER_AGENT")
    assert "http" in settings.get("USER_AGENT")  # names where to learn about the bot


@pytest.mark.parametrize(
    ("name", "value"),
    [("DOWNLOAD_DELAY", "0"), ("UNPOG_BASE_URL", "http://127.0.0.1:8000"), ("ROBOTSTXT_OBEY", "0")],
)
def test_command_line_settings_override_the_defaults(name, value):
    assert project_settings({name: value}).get(name) == value


def test_spider_middlewares_with_nothing_to_catch_are_off():
    settings = project_settings({})
    enabled = build_component_list(settings.getwithbase("SPIDER_MIDDLEWARES"))

    assert "scrapy.spidermiddlewares.depth.DepthMiddleware" not in enabled
    assert "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware" not in enabled
    assert "scrapy.spidermiddlewares.httperror.HttpErrorMiddleware" in enabled
    assert "scrapy.spidermiddlewares.referer.RefererMiddleware" in enabled


def test_the_revisit_policy_is_on_by_default_and_recorded_on_each_crawl_row():
    settings = project_settings({})

    assert settings.get("UNPOG_REVISIT") == "adaptive"
    assert float(settings.get("UNPOG_REVISIT_MAX_AGE")) == 14
    assert settings.get("UNPOG_REVISIT_BUDGET") == "auto"
    assert {"UNPOG_REVISIT", "UNPOG_REVISIT_MAX_AGE", "UNPOG_REVISIT_BUDGET"} <= set(
        RECORDED_SETTINGS
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("UNPOG_REVISIT", "some"), ("UNPOG_REVISIT_MAX_AGE", "1e9"), ("UNPOG_REVISIT_BUDGET", "-3")],
)
def test_bad_revisit_settings_are_refused_before_the_crawl(name, value):
    with pytest.raises(health.BadSetting, match=f"^bad setting {name}="):
        health.check_settings(project_settings({name: value}))
