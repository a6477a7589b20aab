"""robots.txt middleware that holds for requests sent while robots.txt is still downloading.

Scrapy 2.13+ (``RobotsTxtMiddleware.robot_parser``) lets every request to a host that arrives
while that host's robots.txt is in flight ``await`` one shared Deferred. The first waiter's
coroutine adapter consumes the result, so the second and later waiters get ``None``, which the
middleware treats as "no robots.txt": their URLs are fetched even when robots.txt disallows
them (scrapy/scrapy PR #6802 replaced the result-preserving callback; its tests do not cover it).
A news crawl sends many article requests to one outlet at once, so it hits this every time.

After the wait this class reads the parser the middleware has stored by then for the host.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxt
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

SCRAPY_PATH = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
PATH = "scraper.robotstxt.RobotsTxtMiddleware"


class RobotsTxtMiddleware(_ScrapyRobotsTxt):
    async def robot_parser(self, request):
        parser = await super().robot_parser(request)
        current = self._parsers.get(urlparse_cached(request).netloc)
        return parser if isinstance(current, Deferred) else current


def use_in(settings) -> None:
    """Swap Scrapy's robots.txt middleware for this one in (still open) crawler settings."""
    from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

    mws = settings.getdict("DOWNLOADER_MIDDLEWARES")
    if PATH in mws:
        return
    base = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    order = base.get(SCRAPY_PATH, 100) if isinstance(base, BaseSettings) else 100
    mws = dict(mws)
    mws[SCRAPY_PATH] = None
    mws[PATH] = order or 100
    # At least "spider" priority, and never below what set the current value (else set() is a no-op).
    priority = max(settings.getpriority("DOWNLOADER_MIDDLEWARES") or 0, SETTINGS_PRIORITIES["spider"])
    settings.set("DOWNLOADER_MIDDLEWARES", mws, priority=priority)
