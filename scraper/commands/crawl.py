"""``scrapy crawl``, exiting 3 (like ``suara crawl``) when the crawl errored or did not finish.

Scrapy's own command exits 0 whatever happened to the requests; a scheduler running
``scrapy crawl`` needs to see a failed crawl.
"""

from __future__ import annotations

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        outcome = (crawler.stats.get_stats() if crawler.stats else {}).get("suara/outcome")
        if outcome is not None and not outcome.get("complete"):
            self.exitcode = 3
