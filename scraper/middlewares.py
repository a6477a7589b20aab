"""Downloader middleware: retries on 429/5xx and network errors with backoff.

Scrapy's own RetryMiddleware puts the retry back in the queue at once, which hammers a
service that has just said "too many requests". This one waits first: ``Retry-After``
(seconds or an HTTP date) when the server sends it, capped at ``SUARA_RETRY_MAX_DELAY``;
otherwise ``SUARA_RETRY_BACKOFF * 2**attempt`` seconds with +-25 % jitter. The wait is a
non-blocking reactor timer, so other requests go on meanwhile.
"""

from __future__ import annotations

import logging
import random
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("SUARA_RETRY_BACKOFF", 2.0)
        self.max_delay = settings.getfloat("SUARA_RETRY_MAX_DELAY", 120.0)

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        base = self.backoff * (2 ** (attempt - 1))
        return min(base * random.uniform(0.75, 1.25), self.max_delay)

    async def _wait(self, request, delay: float) -> None:
        if delay > 0:
            from twisted.internet import reactor  # the one Scrapy installed; importing early would pick another

            logger.info("retrying %s in %.1f s", request.url, delay)
            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        attempt = retry.meta.get("retry_times", 1)
        await self._wait(request, self.delay_for(attempt, retry_after_seconds(response.headers.get("Retry-After"))))
        return retry

    async def process_exception(self, request, exception, spider=None):
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._wait(request, self.delay_for(retry.meta.get("retry_times", 1)))
        return retry
