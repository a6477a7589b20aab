"""The Scrapy side of Suara: item pipelines, retries, robots.txt, the runner."""

from __future__ import annotations

from datetime import datetime

import pytest
from scrapy.exceptions import DropItem

from pipelines.errors import InputError
from pipelines.scrapy_pipelines import (
    DedupPipeline,
    PseudonymisePipeline,
    ValidatePipeline,
    clean_lang,
    clean_text,
    mention_hash,
    normalise_fields,
    validation_problem,
)
from pipelines.store import Store, content_hash
from scraper.crawl import FAST_SETTINGS, CrawlSummary, run_spider
from scraper.fakes.server import serve
from scraper.items import MentionItem
from scraper.middlewares import BackoffRetryMiddleware, retry_after_seconds

from scrapy_probe import FakeSite, ProbeSpider


def _item(**kw) -> MentionItem:
    base = dict(source="news", source_id="a1", app="SIARAN Tangsel", text="Bagus", url="http://x/a1")
    base.update(kw)
    return MentionItem(**{k: v for k, v in base.items() if v is not None})


class _Stats:
    def __init__(self):
        self.values = {}

    def inc_value(self, key, n=1):
        self.values[key] = self.values.get(key, 0) + n


class _Crawler:
    stats = _Stats()


def _pipe(cls):
    p = cls()
    p.crawler = _Crawler()
    return p


# ---- item pipelines (no crawl) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"source_id": None}, "field 'source_id' is missing"),
        ({"source_id": "  "}, "field 'source_id' is missing"),
        ({"app": None}, "field 'app' is missing"),
        ({"text": None}, "field 'text' is missing"),
        ({"rating": "lima"}, "field 'rating' must be a number"),
        ({"created_at": "kemarin sore"}, "field 'created_at' is not a date"),
        ({"kind": "tweet"}, "field 'kind' must be one of"),
        ({"text": 5}, "field 'text' must be a string"),
    ],
)
def test_validation_names_the_field(changes, problem):
    assert problem in validation_problem(_item(**changes))


def test_validate_pipeline_drops_with_field_and_url():
    with pytest.raises(DropItem) as exc:
        _pipe(ValidatePipeline).process_item(_item(source_id=None, url="http://site/p/9"))
    assert str(exc.value) == "invalid news item from http://site/p/9: field 'source_id' is missing"
    # A title alone is enough (an article whose body could not be extracted).
    assert validation_problem(_item(text=None, title="Judul")) is None


def test_normalise_times_whitespace_language():
    out = normalise_fields(
        {"source_id": 12, "text": " Aplikasi\u00a0 lambat\r\n\r\n\r\n  sekali ", "title": "  Judul  ",
         "created_at": "2024-05-01T10:00:00+07:00", "updated_at": 1714532400, "lang": "in-ID",
         "country": " ID ", "rating": "4", "thumbs_up": "3"}
    )
    assert out["text"] == "Aplikasi lambat\n\nsekali"
    assert out["title"] == "Judul"
    assert out["created_at"] == datetime(2024, 5, 1, 3, 0)
    assert out["updated_at"] == datetime(2024, 5, 1, 3, 0)
    assert (out["lang"], out["country"], out["rating"], out["thumbs_up"], out["source_id"]) == ("id", "id", 4.0, 3, "12")
    assert clean_lang("EN_us") == "en" and clean_text("   ") is None


def test_mention_hash_matches_store_hash(store):
    item = _item(text="  Bagus   sekali ", rating="5")
    row = normalise_fields(dict(item))
    row["author_key"] = None
    store.upsert_mentions([{k: v for k, v in row.items() if k != "author"}])
    assert store.known_hashes("news", ["a1"])["a1"] == mention_hash(dict(item)) == content_hash(row)


def test_pseudonymise_drops_author_and_dedup_passes_once():
    item = PseudonymisePipeline().process_item(_item(author="Budi Santoso"))
    assert "author" not in item and len(item["author_key"]) == 24
    assert PseudonymisePipeline().process_item(_item(author="Budi Santoso"))["author_key"] == item["author_key"]
    dedup = _pipe(DedupPipeline)
    dedup.process_item(_item())
    with pytest.raises(DropItem):
        dedup.process_item(_item(text="lagi"))
    dedup.process_item(_item(source_id="a2"))


def test_retry_after_and_backoff():
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    from scrapy.settings import Settings

    mw = BackoffRetryMiddleware(Settings({"RETRY_ENABLED": True, "RETRY_TIMES": 3, "RETRY_HTTP_CODES": [429],
                                          "RETRY_PRIORITY_ADJUST": -1, "RETRY_EXCEPTIONS": [],
                                          "SUARA_RETRY_BACKOFF": 2.0, "SUARA_RETRY_MAX_DELAY": 10}))
    assert 1.5 <= mw.delay_for(1) <= 2.5 and 6 <= mw.delay_for(3) <= 10
    assert mw.delay_for(5) == 10  # capped
    assert mw.delay_for(1, retry_after=30) == 10 and mw.delay_for(1, retry_after=3) == 3


# ---- runner ------------------------------------------------------------------------------------


def test_unknown_spider_and_missing_target_are_input_errors(db_url):
    with pytest.raises(InputError, match="unknown spider 'nope'.*appstore"):
        run_spider("nope", db=db_url)
    with pytest.raises(InputError, match="needs a target: -a app="):
        run_spider("appstore", db=db_url)
    with pytest.raises(InputError, match="digits"):
        run_spider("appstore", db=db_url, app="com.example")


def test_summary_error_line():
    s = CrawlSummary(spider="news", target="q", errors=["boom at http://x"], complete=False)
    assert s.error_line() == "crawl of news q stored nothing: boom at http://x"
    s.new = 3
    assert "incomplete (3 item(s) stored" in s.error_line()


# ---- a real crawl of a web-page spider -------------------------------------------------------------


def test_web_spider_obeys_robots_and_pipeline_rejects_invalid_item(db_url, capfd):
    site = FakeSite()
    with serve(site) as base:
        s = run_spider(ProbeSpider, db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_PROBE_URL": base},
                       query="SIARAN Tangsel")
    paths = [r.path for r in site.requests]
    assert paths[0] == "/robots.txt"
    assert "/private/secret.html" not in paths  # disallowed: never fetched
    assert "/pages/bad.html" in paths
    assert (s.new, s.dropped, s.ok) == (2, 1, True)  # a dropped item is a warning, not a failed crawl
    err = capfd.readouterr().err
    assert f"invalid probe item from {base}/pages/bad.html: field 'source_id' is missing" in err
    # The user agent names Suara and the contact from the sources config.
    ua = site.requests[-1].headers["user-agent"]
    assert ua.startswith("Suara/") and "contact: suara-operator@example.org" in ua

    store = Store(db_url)
    df = store.mentions_df()
    assert sorted(df["text"]) == ["Aduan jalan rusak belum ditanggapi.", "Warga memuji layanan SIARAN."]
    assert df["author_key"].notna().all() and "author" not in df.columns
    assert str(df["created_at"].iloc[0]) == "2024-06-01 01:00:00"
    state = store.get_state("probe", "SIARAN Tangsel")
    assert state["status"] == "complete" and state["high_water"] == datetime(2024, 6, 1, 1, 0)
    runs = store.runs_df()
    assert list(runs["status"]) == ["ok"] and int(runs["new"].iloc[0]) == 2
    store.close()
