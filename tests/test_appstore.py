"""App Store spider against a local server speaking Apple's customer-reviews JSON feed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from scrapy.http import TextResponse
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.appstore import FakeAppStore, load_samples
from scraper.fakes.server import Fault, serve
from scraper.spiders.appstore import AppStoreSpider, page_of_link

REPO = Path(__file__).resolve().parent.parent
BIG = "1000000001"  # 130 synthetic reviews: pages of 50, 50, 30
SMALL = "1000000002"  # 14 reviews: one page


def crawl(base: str, db_url: str, app_id: str = BIG, **kw):
    return run_spider("appstore", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_APPSTORE_URL": base},
                      app=app_id, country="id", **kw)


def page_paths(fake) -> list[str]:
    return [r.path for r in fake.requests if "/rss/customerreviews/" in r.path]


# ---- parsing the real feed shape (no crawl) --------------------------------------------------------


def _spider(db_url) -> AppStoreSpider:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(AppStoreSpider, {"SUARA_APPSTORE_URL": "http://fake", "SUARA_DB": db_url})
    return AppStoreSpider.from_crawler(crawler, app="id1000000002", country="id")


def test_parse_page_skips_app_entry_and_handles_single_entry_object(db_url):
    fake = FakeAppStore(app_entry=True, page_size=13)
    doc = fake.page("id", SMALL, 1)
    assert "im:name" in doc["feed"]["entry"][0]  # the app's own entry first, as the feed had it
    assert page_of_link(doc["feed"]["link"], "last") == 2
    assert "/xml?urlDesc=" in doc["feed"]["link"][3]["attributes"]["href"]

    spider = _spider(db_url)
    assert spider.target == SMALL  # "id" prefix accepted
    url = "http://fake/id/rss/customerreviews/page=1/id=1000000002/sortby=mostrecent/json"
    resp = TextResponse(url, body=json.dumps(doc).encode(), encoding="utf-8")
    out = list(spider.parse_page(resp, page=1))
    items = [o for o in out if not hasattr(o, "callback")]
    requests = [o for o in out if hasattr(o, "callback")]
    assert len(items) == 13 and all(i["kind"] == "review" for i in items)
    assert requests[0].url.endswith("page=2/id=1000000002/sortby=mostrecent/json")
    first = load_samples()[SMALL]["reviews"][0]
    it = items[0]
    assert (it["source_id"], it["title"], it["text"], it["rating"], it["app_version"], it["updated_at"]) == (
        first["id"], first["title"], first["content"], str(first["rating"]), first["version"], first["updated"])
    assert it["author"].startswith("id")  # reviewer id from the author uri, pseudonymised later

    doc2 = fake.page("id", SMALL, 2)
    assert isinstance(doc2["feed"]["entry"], dict)  # one review: an object, not a list
    resp2 = TextResponse(url.replace("page=1", "page=2"), body=json.dumps(doc2).encode(), encoding="utf-8")
    out2 = list(spider.parse_page(resp2, page=2))
    assert len(out2) == 1 and out2[0]["source_id"] == load_samples()[SMALL]["reviews"][13]["id"]
    # Past the end: no entry key, no request.
    resp3 = TextResponse(url.replace("page=1", "page=3"), body=json.dumps(fake.page("id", SMALL, 3)).encode(),
                         encoding="utf-8")
    assert list(spider.parse_page(resp3, page=3)) == []


# ---- crawls ------------------------------------------------------------------------------------------


def test_full_then_repeat_then_new_and_edited(db_url):
    fake = FakeAppStore(app_entry=True)
    with serve(fake) as base:
        s1 = crawl(base, db_url)
        assert (s1.new, s1.updated, s1.ok) == (130, 0, True)
        # Pagination followed to the last page the feed names, and no further.
        assert page_paths(fake) == [f"/id/rss/customerreviews/page={n}/id={BIG}/sortby=mostrecent/json"
                                    for n in (1, 2, 3)]
        store = Store(db_url)
        df = store.mentions_df("appstore")
        assert len(df) == 130 and df["source_id"].is_unique
        assert df["author_key"].notna().all() and df["country"].eq("id").all()
        row = df[df["source_id"] == "11912345678"].iloc[0]
        assert row["created_at"] == datetime(2025, 5, 18, 17, 0)  # 10:00 -07:00 in UTC
        state = store.get_state("appstore", BIG, "", "id")
        assert state["status"] == "complete" and state["high_water"] == datetime(2025, 5, 18, 17, 0)

        # Nothing new: one request, nothing stored twice.
        fake.requests.clear()
        s2 = crawl(base, db_url)
        assert (s2.new, s2.updated, s2.ok) == (0, 0, True) and len(page_paths(fake)) == 1
        assert store.count_mentions("appstore") == 130

        # Two new reviews and an edit: stored once each, the old text kept as a version.
        for i, text in enumerate(["Sekarang login pakai OTP lancar.", "Fitur lapor banjir sangat membantu."]):
            fake.add_review(BIG, {"id": f"1192000000{i}", "author": f"Warga {i}", "rating": 5, "title": "Baik",
                                  "content": text, "version": "2.5.0", "updated": f"2025-05-2{i}T08:00:00-07:00"})
        old = df[df["source_id"] == "11912345678"].iloc[0]["text"]
        fake.edit_review("11912345678", content="Update: setelah versi baru, malah sering keluar sendiri.", rating=2)
        fake.requests.clear()
        s3 = crawl(base, db_url)
        assert (s3.new, s3.updated, s3.ok) == (2, 1, True)
        assert store.count_mentions("appstore") == 132
        versions = store.versions_df()
        assert list(versions["text"]) == [old]
        cur = store.mentions_df("appstore").set_index("source_id").loc["11912345678"]
        assert cur["text"].startswith("Update:") and cur["rating"] == 2.0
        runs = store.runs_df()
        assert list(runs["status"]) == ["ok"] * 3 and list(runs["new"]) == [130, 0, 2]
        store.close()


def test_429_and_5xx_are_retried(db_url):
    fake = FakeAppStore()
    fake.inject(Fault(status=429, headers={"Retry-After": "0"}, path="page=2/"),
                Fault(status=503, path="page=2/"), Fault(status=500, path="page=3/"))
    with serve(fake) as base:
        s = crawl(base, db_url)
    assert (s.new, s.ok) == (130, True)
    paths = page_paths(fake)
    assert sum("page=2/" in p for p in paths) == 3 and sum("page=3/" in p for p in paths) == 2


def test_malformed_page_is_logged_and_skipped(db_url):
    fake = FakeAppStore()
    fake.inject(Fault(body="<html><body>Service sementara tidak tersedia</body></html>", path="page=2/"))
    with serve(fake) as base:
        s = crawl(base, db_url)
        bad = f"{base}/id/rss/customerreviews/page=2/id={BIG}/sortby=mostrecent/json"
        # Pages 1 and 3 are kept; the error names page 2's URL; the crawl is not complete.
        assert (s.new, s.complete) == (80, False)
        assert len(s.errors) == 1 and bad in s.errors[0] and "not an App Store review feed" in s.errors[0]
        store = Store(db_url)
        state = store.get_state("appstore", BIG, "", "id")
        assert state["status"] == "incomplete" and bad in state["last_error"] and state["high_water"] is None
        assert store.runs_df()["status"].tolist() == ["failed"]
        # The next crawl walks every page again (no high-water mark yet) and fills the gap.
        s2 = crawl(base, db_url)
        assert (s2.new, s2.unchanged, s2.ok) == (50, 80, True)
        assert store.get_state("appstore", BIG, "", "id")["status"] == "complete"
        store.close()


def test_cli_exits_non_zero_when_every_request_fails(db_url, monkeypatch):
    fake = FakeAppStore()
    fake.inject(*[Fault(status=503) for _ in range(5)])  # the first try and its 4 retries
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_APPSTORE_URL", base)
        monkeypatch.setenv("SUARA_RETRY_BACKOFF", "0.01")  # settings read it from the environment
        monkeypatch.setenv("SUARA_DOWNLOAD_DELAY", "0")
        res = CliRunner().invoke(cli_app, ["crawl", "appstore", "--app", BIG, "--db", db_url])
    assert res.exit_code == 3, res.output
    assert "stored nothing" in res.output and "page=1" in res.output
    assert len(page_paths(fake)) == 5  # retried, then gave up; no page 2 of an unknown length
    store = Store(db_url)
    assert store.count_mentions() == 0
    assert store.get_state("appstore", BIG, "", "id")["status"] == "incomplete"
    store.close()


def _table(db_url: str):
    store = Store(db_url)
    df = store.mentions_df().drop(columns=["id", "fetched_at"]).sort_values("source_id").reset_index(drop=True)
    state = store.get_state("appstore", SMALL, "", "id")
    store.close()
    return df, state


def test_scrapy_crawl_and_suara_crawl_store_the_same(tmp_path):
    fake = FakeAppStore()
    db1, db2 = f"sqlite:///{tmp_path / 'scrapy.db'}", f"sqlite:///{tmp_path / 'suara.db'}"
    with serve(fake) as base:
        env = {**os.environ, "SUARA_APPSTORE_URL": base, "SUARA_DOWNLOAD_DELAY": "0", "SUARA_AUTOTHROTTLE": "0"}
        fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING"]
        r1 = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "appstore", "-a", f"app={SMALL}",
                             "-a", "country=id", "-s", f"SUARA_DB={db1}", *fast],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r1.returncode == 0, r1.stderr[-2000:]
        suara = shutil.which("suara") or str(Path(sys.executable).parent / "suara")
        r2 = subprocess.run([suara, "crawl", "appstore", "--app", SMALL, "--country", "id", "--db", db2],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert r2.returncode == 0, r2.stderr[-2000:]
        assert "14" in r2.stdout and "complete" in r2.stdout
        # `scrapy crawl` exits non-zero too when the crawl fails.
        fake.inject(*[Fault(status=500) for _ in range(5)])
        r3 = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "appstore", "-a", "app=1000000003",
                             "-s", f"SUARA_DB={db1}", "-s", "SUARA_RETRY_BACKOFF=0.01", *fast],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r3.returncode == 3, r3.stderr[-2000:]
        r4 = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "appstore", "-a", "app=abc", *fast],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r4.returncode == 2 and r4.stderr.strip().splitlines()[-1] == (
            "error: App Store app id must be digits (as in apps.apple.com/.../id123456789), got 'abc'")
    df1, st1 = _table(db1)
    df2, st2 = _table(db2)
    assert len(df1) == 14
    assert df1.equals(df2)  # same rows, same pseudonymous authors, same hashes
    assert (st1["status"], st1["high_water"], st1["new"]) == (st2["status"], st2["high_water"], st2["new"])
