"""News spider against a local server speaking GDELT DOC 2.0, RSS 2.0, Atom and article HTML."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from pipelines.errors import InputError
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.news import FakeNews
from scraper.fakes.server import Fault, serve
from scraper.spiders import news as N

REPO = Path(__file__).resolve().parent.parent
QUERY = "Tangsel Smart City"
# What a --since 2024-01-01 crawl for QUERY must store: a01 a02 a03 a08 from GDELT (a02 names the app in
# its text), a04 from the RSS feed only. Not: a05 (Atom, does not mention the query), a06 (robots.txt),
# a07 (English, Singapore: outside sourcelang:indonesian), a09 (2023), a10 (feed story about floods).
EXPECTED = {"a01", "a02", "a03", "a04", "a08"}


def crawl(base: str, db_url: str, **kw):
    settings = {**FAST_SETTINGS, "SUARA_GDELT_URL": base, "SUARA_GDELT_DELAY": 0}
    kw.setdefault("feeds", f"{base}/rss.xml,{base}/atom.xml")
    return run_spider("news", db=db_url, settings_overrides=settings, query=QUERY, since="2024-01-01", **kw)


def stored_ids(store: Store, fake: FakeNews) -> set[str]:
    by_path = {a["path"]: a["id"] for a in fake.articles}
    return {by_path["/" + url.split("/", 3)[3]] for url in store.mentions_df("news").source_id}


def paths(fake: FakeNews, prefix: str = "") -> list[str]:
    return [r.path for r in fake.requests if r.path.startswith(prefix)]


# ---- parsing (no crawl) ----------------------------------------------------------------------------


def test_gdelt_query_and_answers():
    assert N.gdelt_query("Tangsel Smart City") == '"Tangsel Smart City" sourcelang:indonesian'
    assert N.gdelt_query("SIARAN", sourcecountry="ID") == "SIARAN sourcelang:indonesian sourcecountry:ID"
    url = N.gdelt_url("http://x", "q", datetime(2024, 1, 1), datetime(2024, 2, 1, 12), 250)
    assert "mode=ArtList" in url and "format=json" in url and "startdatetime=20240101000000" in url
    assert "enddatetime=20240201120000" in url and "sort=DateDesc" in url and "maxrecords=250" in url
    assert N.parse_gdelt(b"{}") == []  # GDELT's "nothing found"
    with pytest.raises(ValueError, match="phrase is too short"):
        N.parse_gdelt(b"The specified phrase is too short.")
    arts = N.parse_gdelt('{"articles":[{"url":"http://a/1","title":"x\x07y","seendate":"20240115T083000Z"}]}')
    assert arts[0]["url"] == "http://a/1" and N.gdelt_seen(arts[0]["seendate"]) == datetime(2024, 1, 15, 8, 30)
    assert N.country_code("Indonesia") == "id" and N.lang_code("Indonesian") == "id"


def test_article_extraction_drops_page_chrome_and_keeps_metadata():
    fake = FakeNews()
    a = fake.article("a01")
    art = N.extract_article(fake.page(a, "http://outlet.example"), "http://outlet.example" + a["path"])
    assert art["title"] == a["title"]
    assert art["outlet"] == "Warta Tangsel"
    assert art["created_at"] == datetime(2024, 1, 15, 1, 0)  # 08:00 WIB, from the page's own time
    assert art["lang"] == "id"
    assert art["text"].startswith("TANGERANG SELATAN - Pemerintah Kota")
    assert a["paragraphs"][-1] in art["text"]
    for chrome in ("Beranda", "Pedoman Media Siber", "Baca juga", "Bagikan", "Terpopuler", "Advertisement"):
        assert chrome not in art["text"]
    assert N.extract_article(b"<html><body><nav>Beranda</nav></body></html>") is None
    assert N.extract_article(b"") is None


def test_feeds_query_match_and_urls():
    fake = FakeNews()
    rss = N.parse_feed(fake.rss("http://h").encode())
    assert [e["link"] for e in rss][:1] == ["http://h/berita/2024/02/14/genangan-air-di-pondok-aren-surut"]
    assert rss[0]["published"] == datetime(2024, 2, 14, 5, 10)  # RFC 822 +0700 -> UTC
    atom = N.parse_feed(fake.atom("http://h").encode())
    assert len(atom) == 3 and atom[0]["updated"] == datetime(2024, 2, 20, 2, 20)
    with pytest.raises(ValueError, match="not a valid RSS/Atom feed"):
        N.parse_feed(b"<rss><channel><item><title>broken")
    with pytest.raises(ValueError):
        N.parse_feed(b"<html><body>moved</body></html>")
    assert N.mentions_query('"Tangsel Smart City" sourcelang:indonesian', "Aplikasi tangsel smart city baru")
    assert not N.mentions_query("SIARAN Tangsel", "Tangsel Smart City")
    assert N.canonical_url("HTTP://Outlet.example/a?utm_source=x&id=3#top") == "http://outlet.example/a?id=3"
    assert N.article_id("http://o/" + "x" * 300).startswith("sha256:")


def test_bad_arguments_are_one_line():
    with pytest.raises(InputError, match="--since must be a date"):
        run_spider("news", query=QUERY, since="last week")
    with pytest.raises(InputError, match="feed URL must start with http"):
        run_spider("news", query=QUERY, feeds="ftp://x/rss")


# ---- crawls ------------------------------------------------------------------------------------------


def test_crawl_incremental_edits_faults_robots_and_malformed(db_url):
    fake = FakeNews()
    store = Store(db_url)
    with serve(fake) as base:
        # Transient faults on the API and on one article: retried with backoff, nothing lost.
        fake.inject(Fault(status=503, path="/api/v2/doc/doc"),
                    Fault(status=429, path=fake.article("a03")["path"], headers={"Retry-After": "0"}))
        s1 = crawl(base, db_url)
        assert s1.ok, s1.errors
        assert s1.new == len(EXPECTED) and s1.updated == 0
        assert stored_ids(store, fake) == EXPECTED
        assert len(paths(fake, "/api/v2/doc/doc")) == 2  # the 503, then the retry
        assert len(paths(fake, fake.article("a03")["path"])) == 2
        assert paths(fake, "/premium/") == []  # robots.txt: Disallow: /premium/
        assert paths(fake, "/robots.txt") == ["/robots.txt"]
        df = store.mentions_df("news").set_index("source_id")
        assert (df.country == "id").all()
        a03 = df.loc[f"{base}{fake.article('a03')['path']}"]
        assert a03.kind == "article" and a03.app == QUERY and a03.lang == "id" and a03.country == "id"
        assert a03.created_at == datetime(2024, 2, 3, 3, 15) and a03.author_key and "Serpong" not in a03.author_key
        assert a03.title == fake.article("a03")["title"] and a03.text.startswith("PAMULANG - Layanan")
        state = store.get_state("news", QUERY)
        assert state["status"] == "complete" and state["high_water"] == datetime(2024, 3, 5, 6, 0)

        # `scrapy crawl` from the project root stores the same rows as `run_spider` (= `suara crawl`).
        db2 = db_url.replace(".db", "-scrapy.db")
        env = {**os.environ, "SUARA_GDELT_URL": base, "SUARA_GDELT_DELAY": "0", "SUARA_DOWNLOAD_DELAY": "0",
               "SUARA_AUTOTHROTTLE": "0"}
        p = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"query={QUERY}",
                            "-a", "since=2024-01-01", "-a", f"feeds={base}/rss.xml,{base}/atom.xml",
                            "-s", f"SUARA_DB={db2}", "-s", "LOG_LEVEL=WARNING"],
                           cwd=REPO, env=env, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr[-2000:]
        cols = ["source_id", "kind", "app", "author_key", "title", "text", "created_at", "lang", "country"]
        other = Store(db2).mentions_df("news")
        assert df.reset_index()[cols].sort_values("source_id").values.tolist() == \
            other[cols].sort_values("source_id").values.tolist()

        # Second crawl: GDELT is asked only from 2 days before the newest stored article, so only the
        # recent pages are fetched again. An edited story becomes an update (its old text kept as a
        # version), a new one is stored once, and nothing else is stored again.
        fake.requests.clear()
        fake.edit("a08", paragraphs=fake.article("a08")["paragraphs"] + ["Koreksi: penghargaan diberikan tingkat nasional."])
        new = {**fake.article("a08"), "id": "a11", "path": "/kota/2024/03/07/warga-uji-peta-aduan-tangsel-smart-city",
               "title": "Warga Uji Coba Peta Aduan Tangsel Smart City", "published": "2024-03-07T09:00:00+07:00",
               "seendate": "20240307T030000Z", "modified": None}
        fake.add(new)
        s2 = crawl(base, db_url)
        assert s2.ok, s2.errors
        assert (s2.new, s2.updated) == (1, 1)
        gdelt = [r for r in fake.requests if r.path == "/api/v2/doc/doc"]
        assert gdelt[0].arg("startdatetime") == "20240303060000"
        assert not paths(fake, "/berita/2024/01/15/") and not paths(fake, "/kota/2024/02/03/")
        assert store.count_mentions("news") == len(EXPECTED) + 1
        versions = store.versions_df()
        assert len(versions) == 1 and "Koreksi" not in versions.text[0]
        assert "Koreksi: penghargaan" in store.mentions_df("news").set_index("source_id").loc[
            f"{base}{fake.article('a08')['path']}"].text

        # A malformed feed and a page with no article: each logged with its URL and skipped; the rest
        # (the Atom feed, a new article) is still collected and nothing stored before is lost.
        fake.add({**new, "id": "a12", "path": "/kota/2024/03/08/tangsel-smart-city-tambah-layanan",
                  "seendate": "20240308T030000Z", "published": "2024-03-08T09:00:00+07:00",
                  "title": "Tangsel Smart City Tambah Layanan Izin Keramaian"})
        fake.inject(Fault(body="<rss version='2.0'><channel><item><title>rusak", path="/rss.xml"),
                    Fault(body="<html><body><nav>Beranda</nav></body></html>", path="/kota/2024/03/07/",
                          headers={"Content-Type": "text/html; charset=utf-8"}))
        s3 = crawl(base, db_url)
        assert not s3.ok and s3.new == 1
        assert any(f"{base}/rss.xml" in e and "not a valid RSS/Atom feed" in e for e in s3.errors), s3.errors
        assert any(f"{base}/kota/2024/03/07/" in e and "no article text" in e for e in s3.errors), s3.errors
        assert store.count_mentions("news") == len(EXPECTED) + 2
        assert paths(fake, "/atom.xml")
        assert store.get_state("news", QUERY)["status"] == "incomplete"
    store.close()


def test_gdelt_full_window_is_split():
    """ArtList has no paging: a window answered with maxrecords articles is asked again in halves."""
    from scrapy.http import TextResponse
    from scrapy.settings import Settings

    fake = FakeNews()
    spider = N.NewsSpider(query=QUERY, maxrecords="2")
    spider.settings = Settings({"SUARA_GDELT_URL": "http://gdelt"})
    start, end = datetime(2024, 1, 1), datetime(2024, 4, 1)
    url = N.gdelt_url("http://gdelt", N.gdelt_query(QUERY), start, end, 2)
    status, _, body = fake.handle(_request(url))
    out = list(spider.parse_gdelt(TextResponse(url, body=body, encoding="utf-8"), start=start, end=end))
    assert status == 200 and len(out) == 2 and all("/api/v2/doc/doc" in r.url for r in out)
    halves = sorted((r.cb_kwargs["start"], r.cb_kwargs["end"]) for r in out)
    assert halves == [(start, datetime(2024, 2, 15, 12)), (datetime(2024, 2, 15, 12), end)]
    # A window that is not full yields its article pages.
    url = N.gdelt_url("http://gdelt", N.gdelt_query(QUERY), datetime(2024, 1, 20), datetime(2024, 2, 1), 2)
    _, _, body = fake.handle(_request(url))
    out = list(spider.parse_gdelt(TextResponse(url, body=body, encoding="utf-8"), start=start, end=end))
    assert [r.url.split("/", 3)[3] for r in out] == [fake.article("a02")["path"][1:]]


def _request(url: str):
    from urllib.parse import parse_qs, urlsplit

    from scraper.fakes.server import Request

    parts = urlsplit(url)
    return Request("GET", parts.path, parse_qs(parts.query), b"", {"host": parts.netloc})
