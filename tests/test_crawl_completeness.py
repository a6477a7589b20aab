"""Issue 10, "never report a partial crawl as complete": each source against its local fake.

Reddit "more comments" expansion, YouTube replies that fail and are resumed, Play Store token
shapes and the search page's top card (gps #238), App Store malformed feeds and counted entries,
news: one bad GDELT link, exact publication times and GDELT country names.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.errors import CrawlError, InputError
from pipelines.runner import status
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.server import Fault, serve

QUERY = "Tangsel Smart City"


# ---- Reddit ------------------------------------------------------------------------------------------


@pytest.fixture
def reddit_creds(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "test-client")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "test-secret")
    monkeypatch.delenv("SUARA_REDDIT_PUBLIC", raising=False)


def reddit_crawl(base, db_url, **kw):
    return run_spider("reddit", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_REDDIT_URL": base,
                                                               "SUARA_REDDIT_OAUTH_URL": base}, query=QUERY, **kw)


def test_reddit_without_credentials_says_so_before_any_request(db_url, monkeypatch):
    from scraper.fakes.reddit import FakeReddit

    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "SUARA_REDDIT_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeReddit()
    with serve(fake) as base:
        with pytest.raises(InputError, match="REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are not set"):
            reddit_crawl(base, db_url)
        monkeypatch.setenv("SUARA_REDDIT_URL", base)
        res = CliRunner().invoke(cli_app, ["crawl", "reddit", "--query", QUERY, "--db", db_url])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET")
    assert fake.requests == []  # nothing was sent


def test_reddit_more_comments_are_expanded_through_oauth(db_url, reddit_creds):
    from scraper.fakes.reddit import FakeReddit

    fake = FakeReddit(require_oauth=True)
    with serve(fake) as base:
        s = reddit_crawl(base, db_url)
    assert s.ok, s.errors
    store = Store(db_url)
    ids = set(store.mentions_df("reddit").source_id)
    store.close()
    assert {"t1_kx01f", "t1_kx01g", "t1_kx01h"} <= ids  # the three behind the "more" stub of 19ab01
    more = [r for r in fake.requests if r.path == "/api/morechildren"]
    assert len(more) == 1
    assert more[0].arg("link_id") == "t3_19ab01" and more[0].arg("children") == "kx01f,kx01g,kx01h"
    assert more[0].headers["authorization"].startswith("bearer ")


def test_reddit_continue_this_thread_and_the_call_budget(db_url, reddit_creds):
    from scraper.fakes.reddit import FakeReddit

    # Replies below depth 1 become "continue this thread" stubs: kx01b's reply kx01c is behind one.
    fake = FakeReddit(max_depth=1)
    with serve(fake) as base:
        s = reddit_crawl(base, db_url)
        assert s.ok, s.errors
        store = Store(db_url)
        assert "t1_kx01c" in set(store.mentions_df("reddit").source_id)
        focus = [r for r in fake.requests if r.arg("comment")]
        assert [r.arg("comment") for r in focus] == ["kx01b"]

        # With no expansion calls allowed, the crawl is incomplete and says how many it left.
        s2 = reddit_crawl(base, db_url, max_more="0", full="1")
    assert not s2.ok
    assert any("3 more comment(s) of post 19ab01 not fetched" in e for e in s2.errors), s2.errors
    assert store.get_state("reddit", QUERY)["status"] == "incomplete"
    store.close()


def test_reddit_pauses_when_its_rate_limit_window_is_nearly_used(db_url, reddit_creds):
    import time

    from scraper.fakes.reddit import FakeReddit

    fake = FakeReddit(ratelimit=(8, 0.6))  # 8 requests a window; from the 4th answer on, <= 5 are left
    stamps: list[float] = []
    handle = fake.handle

    def timed(req):
        stamps.append(time.monotonic())
        return handle(req)

    fake.handle = timed
    with serve(fake) as base:
        s = reddit_crawl(base, db_url)
    assert s.ok, s.errors
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert max(gaps) >= 0.55  # it waited for the window to reset instead of spending the reserve


def test_reddit_failed_expansion_leaves_the_crawl_incomplete(db_url, reddit_creds):
    from scraper.fakes.reddit import FakeReddit

    fake = FakeReddit()
    with serve(fake) as base:
        fake.inject(*[Fault(status=503, path="/api/morechildren") for _ in range(5)])
        s = reddit_crawl(base, db_url)
    assert not s.ok
    assert any("3 more comment(s) of post 19ab01 not fetched" in e and "HTTP 503" in e for e in s.errors), s.errors


def test_reddit_public_listings_only_on_request(db_url, monkeypatch):
    from scraper.fakes.reddit import FakeReddit

    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeReddit()
    with serve(fake) as base:
        s = reddit_crawl(base, db_url, public="1")
    assert s.ok, s.errors
    assert any(r.path == "/api/morechildren.json" for r in fake.requests)


# ---- YouTube -------------------------------------------------------------------------------------------


def yt_crawl(base, db_url, **kw):
    return run_spider("youtube", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_YOUTUBE_URL": base}, **kw)


def _long_thread(fake):
    """(video id, thread id) of a thread with more replies than the API inlines."""
    from scraper.fakes.youtube import REPLIES_INLINE

    for v in fake.videos:
        for c in v["comments"]:
            if len(c["replies"]) > REPLIES_INLINE:
                return v["videoId"], c["id"]
    raise AssertionError("the samples have no long thread")


def test_youtube_replies_that_fail_are_retried_then_resumed(db_url, monkeypatch):
    from scraper.fakes.youtube import FakeYouTube

    monkeypatch.setenv("YOUTUBE_API_KEY", "test-key")
    fake = FakeYouTube()
    vid, thread = _long_thread(fake)
    store = Store(db_url)
    with serve(fake) as base:
        # Five 503s outlast the downloader's retries (1 + 4 tries): the thread's replies fail for good.
        fake.inject(*[Fault(status=503, path="/youtube/v3/comments", exact=True) for _ in range(5)])
        s1 = yt_crawl(base, db_url, videos=vid)
        assert not s1.ok
        assert any(f"replies of comment thread {thread}" in e for e in s1.errors), s1.errors
        replies = [r for r in fake.requests if r.path == "/youtube/v3/comments"]
        assert len(replies) == 5  # retried
        assert thread not in set(store.mentions_df("youtube").source_id)  # nothing half-stored
        target = f"videos:{vid}"
        assert store.get_state("youtube", target)["status"] == "incomplete"
        assert store.get_gaps("youtube", target)["pending"] == [{"video": vid, "thread": thread}]

        # A crawl stopped early (quota spent on its first call) still owes the thread.
        quota = json.dumps({"error": {"code": 403, "message": "quota", "errors": [
            {"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}]}})
        fake.inject(Fault(status=403, path="/youtube/v3/videos", body=quota, headers={"Content-Type": "application/json"}))
        stopped = yt_crawl(base, db_url, videos=vid)
        assert not stopped.ok and any("quotaExceeded" in e for e in stopped.errors), stopped.errors
        assert store.get_gaps("youtube", target)["pending"] == [{"video": vid, "thread": thread}]

        # Google's transient 400 once, then the next crawl: the thread is asked for first, by id.
        fake.requests.clear()
        fake.inject(Fault(status=400, path="/youtube/v3/comments", exact=True, headers={"Content-Type": "application/json"},
                          body=json.dumps({"error": {"code": 400, "message": "try again", "errors": [
                              {"message": "try again", "domain": "youtube.comment", "reason": "processingFailure"}]}})))
        s2 = yt_crawl(base, db_url, videos=vid)
    assert s2.ok, s2.errors
    by_id = [r for r in fake.requests if r.path == "/youtube/v3/commentThreads" and r.arg("id")]
    assert [r.arg("id") for r in by_id] == [thread]
    df = store.mentions_df("youtube")
    assert thread in set(df.source_id)
    total = sum(1 + len(c["replies"]) for v in fake.videos if v["videoId"] == vid for c in v["comments"])
    owner = {v["videoId"]: v["channelId"] for v in fake.videos}[vid]
    owner_replies = sum(1 for v in fake.videos if v["videoId"] == vid for c in v["comments"]
                        if any(r["authorChannelId"] == owner for r in c["replies"]))
    assert len(df) == total - owner_replies  # each owner's first reply sits on its comment
    assert store.get_gaps("youtube", target)["pending"] == []
    store.close()


# ---- Play Store -----------------------------------------------------------------------------------------


@pytest.fixture
def play(monkeypatch):
    from scraper.fakes.playstore import FakePlayStore

    fake = FakePlayStore.from_samples()
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        monkeypatch.setenv("SUARA_PLAYSTORE_DELAY", "0")
        monkeypatch.setenv("SUARA_PLAYSTORE_WAIT_MIN", "0.01")
        monkeypatch.setenv("SUARA_PLAYSTORE_WAIT_MAX", "0.02")
        yield fake


def _big_app(fake) -> str:
    return max(fake.apps, key=lambda a: len(fake.apps[a]["reviews"]))


@pytest.mark.parametrize("layout", ["object", "moved", "bare"])
def test_playstore_unknown_token_shape_is_an_error_naming_app_and_page(play, db_url, layout):
    from scraper.playstore import crawl_playstore

    app = _big_app(play)
    play.token_layout = layout
    store = Store(db_url)
    with pytest.raises(CrawlError, match=rf"{app} \(id-id\) failed at page 1: unexpected answer shape"):
        crawl_playstore(store, app, page_size=20)
    assert store.get_state("playstore", app, "id", "id")["status"] == "incomplete"
    posts = [r for r in play.requests if r.method == "POST"]
    assert len(posts) == 1  # a shape error is not retried
    store.close()

    res = CliRunner().invoke(cli_app, ["crawl", "playstore", "--app", app, "--page-size", "20", "--db", db_url])
    assert res.exit_code == 3 and f"Play Store crawl of {app}" in res.output and "page 1" in res.output


def test_playstore_gps_end_marker_still_ends_a_crawl(play, db_url):
    from scraper.playstore import crawl_playstore

    app = _big_app(play)
    play.token_layout = "end-list"
    store = Store(db_url)
    r = crawl_playstore(store, app, page_size=20)
    assert r.complete and r.seen == len(play.apps[app]["reviews"]) and r.pages > 1
    store.close()


@pytest.mark.parametrize("layout", ["standard", "moved", "none"])
def test_discover_keeps_the_top_result_when_its_id_moved(play, layout):
    from scraper.playstore import discover

    title = next(a["title"] for a in play.apps.values())
    app_id = next(i for i, a in play.apps.items() if a["title"] == title)
    play.top_layout = layout
    df = discover(title)
    assert df.iloc[0].title == title  # the best match first, not dropped
    if layout == "none":
        assert pd.isna(df.iloc[0].app_id)  # unknown, and shown as such
    else:
        assert df.iloc[0].app_id == app_id


# ---- App Store ------------------------------------------------------------------------------------------


def appstore_crawl(base, db_url, app="1000000002"):
    return run_spider("appstore", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_APPSTORE_URL": base},
                      app=app, country="id")


@pytest.mark.parametrize("body, why", [
    (b'{"feed":{"entry":"x"}}', "'entry' is a str"),
    (b'{"feed":{"entry":[{"id":{"label":"1"},"im:rating":{"label":"5"},"content":{"label":"caf\xe9"}}]}}',
     "not UTF-8"),
    (json.dumps({"feed": {"entry": [{"id": {"label": str(i)}, "im:rating": {"label": "lima"},
                                     "content": {"label": "bagus"}, "updated": {"label": "2024-01-01T00:00:00-07:00"}}
                                    for i in range(3)]}}).encode(), "none of the page's 3 entries"),
])
def test_appstore_malformed_feeds_are_errors(db_url, body, why):
    from scraper.fakes.appstore import FakeAppStore

    fake = FakeAppStore()
    with serve(fake) as base:
        fake.inject(Fault(body=body, path="/rss/customerreviews/", headers={"Content-Type": "application/json"}))
        s = appstore_crawl(base, db_url)
    assert not s.ok and any(why in e for e in s.errors), s.errors
    store = Store(db_url)
    assert store.get_state("appstore", "1000000002", "", "id")["status"] == "incomplete"
    store.close()


def test_appstore_dropped_entries_are_counted_in_summary_and_status(db_url, monkeypatch):
    from scraper.fakes.appstore import FakeAppStore

    fake = FakeAppStore()
    reviews = fake.reviews("1000000002")
    bad = dict(reviews[0], id="999000001", rating="x")
    fake.add_review("1000000002", bad)
    with serve(fake) as base:
        s = appstore_crawl(base, db_url)
        assert s.ok, s.errors  # one bad entry does not void the feed
        assert s.new == len(reviews) - 1
        assert s.skipped == 1 and s.skipped_detail == {"entries whose rating is not a whole number from 1 to 5": 1}
        st = status(db_url)["sources"]
        row = st[st.source == "appstore"].iloc[0]
        assert row.skipped == 1 and "rating is not a whole number" in row.skipped_detail

        monkeypatch.setenv("SUARA_APPSTORE_URL", base)
        monkeypatch.setenv("SUARA_DOWNLOAD_DELAY", "0")
        monkeypatch.setenv("SUARA_AUTOTHROTTLE", "0")
        res = CliRunner().invoke(cli_app, ["crawl", "appstore", "--app", "1000000002", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "skipped 1 malformed entry: 1 entries whose rating is not a whole number" in res.output
    res = CliRunner().invoke(cli_app, ["status", "--db", db_url])
    assert "appstore 1000000002: last crawl skipped 1" in res.output, res.output


# ---- news -------------------------------------------------------------------------------------------------


def news_crawl(base, db_url, **kw):
    settings = {**FAST_SETTINGS, "SUARA_GDELT_URL": base, "SUARA_GDELT_DELAY": 0}
    return run_spider("news", db=db_url, settings_overrides=settings, query=QUERY, since="2024-01-01",
                      feeds="", **kw)


def test_news_one_bad_gdelt_link_is_skipped_and_counted(db_url):
    from scraper.fakes.news import FakeNews

    fake = FakeNews()
    fake.gdelt_extra = [{"url": "javascript:alert(1)", "title": "x", "seendate": "20240115T013000Z"},
                        {"url": "http://", "title": "y"}, "not an object"]
    with serve(fake) as base:
        s = news_crawl(base, db_url)
        fake.gdelt_extra = []
        clean = news_crawl(base, f"{db_url}-clean")
    assert s.ok, s.errors
    assert s.skipped == 3 and s.skipped_detail == {"GDELT entries whose URL is not http(s)": 1,
                                                   "GDELT entries with a malformed URL": 1,
                                                   "GDELT entries that are not objects": 1}
    assert s.new == clean.new > 0  # everything else in the answer was fetched


def test_news_exact_publication_times_and_jakarta_for_naive_ones(db_url):
    from scraper.fakes.news import FakeNews

    fake = FakeNews()
    fake.article("a01")["time_style"] = "naive"  # 2024-01-15T08:00:00 on the page, no zone
    fake.article("a02")["time_style"] = "day"  # 2024-01-22 only; GDELT saw it that day
    with serve(fake) as base:
        s = news_crawl(base, db_url)
    assert s.ok, s.errors
    store = Store(db_url)
    df = store.mentions_df("news").set_index("url")
    store.close()
    by_id = {a["id"]: a for a in fake.articles}

    def created(aid):
        return next(t for u, t in df.created_at.items() if u.endswith(by_id[aid]["path"]))

    assert created("a01") == datetime(2024, 1, 15, 1, 0)  # 08:00 WIB = 01:00 UTC, not 08:00
    assert created("a03") == datetime(2024, 2, 3, 3, 15)  # zoned time kept to the minute
    seen = datetime.strptime(by_id["a02"]["seendate"], "%Y%m%dT%H%M%SZ")
    assert created("a02") == seen  # a day only: GDELT's exact sighting on that day, not midnight


def test_news_time_helpers():
    from scraper.spiders import news as N

    page = ('<html><head><meta property="article:published_time" content="2024-03-05T13:00:00"></head>'
            '<body><article><p>' + "Layanan aduan Tangsel Smart City dibahas warga. " * 5 + '</p></article></body></html>')
    art = N.extract_article(page, "https://warta.example/x")
    assert art["created_at"] == datetime(2024, 3, 5, 6, 0) and art["created_exact"]
    assert N.extract_article(page, "https://warta.example/x", tz="UTC")["created_at"] == datetime(2024, 3, 5, 13, 0)


def test_gdelt_country_names_map_through_a_full_table():
    from scraper.spiders.news import country_code

    assert country_code("Indonesia") == "id" and country_code("United States") == "us"
    assert country_code("Japan") == "jp" and country_code("Netherlands") == "nl"
    assert country_code("South Korea") == "kr" and country_code("Vietnam") == "vn"
    assert country_code("Atlantis") is None and country_code("") is None


def test_run_skips_reddit_without_credentials_and_says_why(tmp_path, monkeypatch):
    from pipelines.runner import crawl_steps
    from pipelines.sources import parse_sources

    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "SUARA_REDDIT_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    cfg = parse_sources({"contact": "peneliti@example.org", "reddit": {"queries": [QUERY]}}, tmp_path / "sources.toml")
    [(step, action)] = [(s, a) for s, a in crawl_steps(cfg, "sqlite://") if s.source == "reddit"]
    assert action is None and step.status == "skipped"
    assert step.detail == "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are not set"
    monkeypatch.setenv("REDDIT_CLIENT_ID", "x")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "y")
    [(step, action)] = [(s, a) for s, a in crawl_steps(cfg, "sqlite://") if s.source == "reddit"]
    assert action is not None and step.status != "skipped"
