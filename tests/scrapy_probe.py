"""A tiny web-page spider and its fake site, for the Scrapy framework tests.

It uses the base class as a web-page spider would (robots.txt obeyed, links followed) and
yields one deliberately invalid item, so the tests see the item pipelines reject it.
"""

from __future__ import annotations

import re

import scrapy

from scraper.fakes.server import FakeService, Request
from scraper.spiders.base import SuaraSpider

ROBOTS = "User-agent: *\nDisallow: /private/\n"

PAGES = {
    "/pages/index.html": '<html><body><p>Warga memuji  layanan   SIARAN.</p>'
                         '<a href="/pages/a.html">a</a> <a href="/private/secret.html">s</a>'
                         ' <a href="/pages/bad.html">b</a></body></html>',
    "/pages/a.html": "<html><body><p>Aduan\tjalan rusak belum ditanggapi.</p></body></html>",
    "/pages/bad.html": '<html><body data-invalid="1"><p>Halaman tanpa id.</p></body></html>',
    "/private/secret.html": "<html><body><p>Jangan dirayapi.</p></body></html>",
}


class FakeSite(FakeService):
    def __init__(self, robots: str = ROBOTS):
        super().__init__()
        self.robots = robots

    def handle(self, req: Request):
        if req.path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, self.robots
        if req.path in PAGES:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, PAGES[req.path]
        return 404, {"Content-Type": "text/html"}, "<html>not found</html>"


class ProbeSpider(SuaraSpider):
    name = "probe"
    source = "probe"
    target_arg = "query"
    base_url_setting = "SUARA_PROBE_URL"

    async def start(self):
        yield scrapy.Request(f"{self.base_url}/pages/index.html")

    def parse(self, response):
        invalid = response.css("body::attr(data-invalid)").get()
        yield self.mention(
            source_id=None if invalid else re.sub(r"\W", "-", response.url.split("/", 3)[-1]),
            kind="article",
            author="Penulis Contoh",
            text=" ".join(response.css("p::text").getall()),
            created_at="2024-06-01T08:00:00+07:00",
            url=response.url,
        )
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)
