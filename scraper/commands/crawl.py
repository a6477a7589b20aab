"""``scrapy crawl`` that exits like ``suara crawl``: 3 when the crawl errored or did not finish,
2 with one ``error: ...`` line for bad arguments or config.

Scrapy's own command exits 0 whatever happened to the requests; a scheduler running
``scrapy crawl`` needs to see a failed crawl.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from pipelines.errors import SuaraError


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        crawler = self._create_crawler(args[0])
        failures: list[BaseException] = []
        d = self.crawler_process.crawl(crawler, **opts.spargs)
        if hasattr(d, "addErrback"):  # CrawlerProcess: a Deferred
            d.addErrback(lambda f: failures.append(f.value))
        else:  # AsyncCrawlerProcess (Scrapy >= 2.14): an asyncio Task
            d.add_done_callback(lambda t: None if t.cancelled() or t.exception() is None
                                else failures.append(t.exception()))
        self.crawler_process.start()
        if failures:
            exc = failures[0]
            if isinstance(exc, SuaraError):
                print(f"error: {exc}", file=sys.stderr)
                self.exitcode = exc.exit_code
            else:
                print(f"error: crawl could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
                self.exitcode = 1
            return
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        outcome = (crawler.stats.get_stats() if crawler.stats else {}).get("suara/outcome")
        if outcome is not None and not outcome.get("complete"):
            self.exitcode = 3
