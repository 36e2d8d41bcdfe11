"""Retries that honour the server's Retry-After (RFC 9110, 10.2.3).

Scrapy's RetryMiddleware retries 503s and friends at once; a server that says how long it
needs (maintenance, overload) should be given that time, up to UNPOG_RETRY_AFTER_MAX.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date; else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, waiting first when the answer carries Retry-After."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.max_wait = crawler.settings.getfloat("UNPOG_RETRY_AFTER_MAX")
        return middleware

    async def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        raw = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(raw.decode("latin-1") if raw else None)
        if isinstance(result, Request) and wait:
            wait = min(wait, self.max_wait)
            logger.info("%s answered %s: retrying in %.0f s", request.url, response.status, wait)
            await asyncio.sleep(wait)
        return result
