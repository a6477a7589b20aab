"""Reddit spider against a local server speaking Reddit's JSON listings (public and OAuth)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.errors import InputError
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.reddit import FakeReddit
from scraper.fakes.server import Fault, serve
from scraper.spiders import reddit as R

QUERY = "Tangsel Smart City"
# Posts whose title+text hold all three words: 19ab01 03 04 05 06 08 09 10 11 (not 02, 07: SIARAN only;
# not 12: floods), and their comments less the [deleted] one.
POSTS = {"19ab01", "19ab03", "19ab04", "19ab05", "19ab06", "19ab08", "19ab09", "19ab10", "19ab11"}
# kx01a-d (4, kx01e is [deleted]), kx01f-h (behind a "more" stub), kx03a-b, kx04a, kx05a-b, kx06a, kx08a,
# kx09a-b, kx10a
COMMENTS = 17


def crawl(base: str, db_url: str, **kw):
    return run_spider("reddit", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_REDDIT_URL": base,
                                                               "SUARA_REDDIT_OAUTH_URL": base}, query=QUERY, **kw)


def searches(fake: FakeReddit) -> list:
    return [r for r in fake.requests if r.path.rstrip("/").endswith(("/search", "/search.json"))]


# ---- parsing (no crawl) ----------------------------------------------------------------------------


def test_listing_comment_tree_and_fields():
    fake = FakeReddit()
    listing = fake._search(_req(q=QUERY, sort="new", limit="100"))
    posts, after = R.parse_listing(listing)
    assert {p["id"] for p in posts} == POSTS and after is None
    with pytest.raises(ValueError, match="not a Reddit Listing"):
        R.parse_listing({"error": 429})
    f = R.post_fields(posts[0])
    assert f["source_id"] == "t3_19ab11" and f["kind"] == "post" and f["updated_at"] is None
    assert f["url"].startswith("https://www.reddit.com/r/tangerang/comments/19ab11/")

    comments, hidden = R.parse_comments_page(fake._comments(fake.post("19ab01")))
    assert [c["id"] for c in comments] == ["kx01a", "kx01b", "kx01c", "kx01d", "kx01e"]  # depth first
    assert hidden == 3  # the "more" stub
    assert R.comment_fields(comments[4]) is None  # [deleted]
    assert R.comment_fields(comments[2])["source_id"] == "t1_kx01c"
    assert R.edited_time(False) is None and R.edited_time(1705400000.0) == 1705400000.0
    with pytest.raises(ValueError):
        R.parse_comments_page({"kind": "Listing"})


def _req(**args):
    from scraper.fakes.server import Request

    return Request("GET", "/search.json", {k: [v] for k, v in args.items()}, b"", {})


def test_bad_arguments_are_one_line(monkeypatch):
    with pytest.raises(InputError, match="limit must be from 1 to 100"):
        run_spider("reddit", query=QUERY, limit="500")
    monkeypatch.setenv("REDDIT_CLIENT_ID", "only-the-id")
    with pytest.raises(InputError, match="REDDIT_CLIENT_SECRET is not set"):
        run_spider("reddit", query=QUERY)


# ---- crawls ------------------------------------------------------------------------------------------


def test_crawl_pagination_retries_incremental_edits_and_malformed(db_url, monkeypatch):
    monkeypatch.setenv("SUARA_REDDIT_PUBLIC", "1")  # the public listings (OAuth: test_oauth_client_credentials)
    fake = FakeReddit(page_cap=4)  # pages of 4, 4, 1 posts
    store = Store(db_url)
    with serve(fake) as base:
        fake.inject(Fault(status=429, path="/search", headers={"Retry-After": "0"}),
                    Fault(status=502, path="/comments/19ab05"))
        s1 = crawl(base, db_url)
        assert s1.ok, s1.errors
        assert s1.new == len(POSTS) + COMMENTS
        df = store.mentions_df("reddit")
        assert set(df[df.kind == "post"].source_id) == {f"t3_{p}" for p in POSTS}
        assert (df.kind == "comment").sum() == COMMENTS and df.source_id.is_unique
        # pagination: the 429, then pages after=None, t3_19ab08, t3_19ab03; raw_json asked every time
        s = searches(fake)
        assert [r.arg("after") for r in s] == [None, None, "t3_19ab08", "t3_19ab03"]
        assert all(r.arg("raw_json") == "1" and r.arg("sort") == "new" for r in s)
        assert len([r for r in fake.requests if r.path == "/comments/19ab05.json"]) == 2  # 502 retried
        assert df.set_index("source_id").loc["t1_kx06a"].text == \
            "Setuju soal ringan & cepat. Tapi transparansi tindak lanjut JAKI lebih jelas <3"
        assert df.author_key.notna().all() and not df.author_key.str.contains("pamulang").any()

        # Second crawl through the CLI, after a post and a comment were edited and a post was added:
        # the newest page is not "known", so it is read; the next one is known and paging stops there.
        fake.requests.clear()
        fake.edit_post("19ab11", "Kalau jadi ada peta aduan terbuka di Tangsel Smart City, mantap. EDIT: sudah rilis!")
        fake.edit_comment("kx10a", "Penghargaan dulu, perbaikan belakangan. (edit: ternyata aduan saya akhirnya beres)")
        fake.add_post({"id": "19ab13", "subreddit": "tangerang", "author": "baru_di_tangsel", "created_utc": 1709900000,
                       "title": "Tangsel Smart City sekarang bisa bayar PBB?", "selftext": "Ada yang sudah coba?",
                       "comments": [{"id": "kx13a", "author": "setu_raya", "body": "Bisa, lewat menu pajak.",
                                     "created_utc": 1709901000, "score": 2, "edited": False, "replies": []}]})
        # ... and one comment page comes back broken: logged with its URL, the rest still stored.
        fake.inject(Fault(body='{"kind": "Listing", "da', path="/comments/19ab09",
                          headers={"Content-Type": "application/json"}))
        for k, v in {"SUARA_REDDIT_URL": base, "SUARA_DOWNLOAD_DELAY": "0", "SUARA_AUTOTHROTTLE": "0"}.items():
            monkeypatch.setenv(k, v)
        res = CliRunner().invoke(cli_app, ["crawl", "reddit", "--query", QUERY, "--db", db_url])
        assert res.exit_code == 3, res.output  # incomplete: one page was malformed
        assert "/comments/19ab09.json" in res.output and "malformed comments of post 19ab09" in res.output
        assert [r.arg("after") for r in searches(fake)] == [None, "t3_19ab09"]
        runs = store.runs_df()
        last = runs.iloc[-1]
        assert (last.status, last.new, last.updated) == ("failed", 2, 2)
        versions = store.versions_df()
        original = FakeReddit()
        assert sorted(versions.text) == sorted([original.post("19ab11")["selftext"], original.comment("kx10a")["body"]])
        assert store.count_mentions("reddit") == len(POSTS) + COMMENTS + 2
        assert store.get_state("reddit", QUERY)["status"] == "incomplete"
    store.close()


def test_oauth_client_credentials(db_url, monkeypatch):
    fake = FakeReddit(require_oauth=True)  # public requests are refused
    monkeypatch.setenv("REDDIT_CLIENT_ID", "test-client")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "test-secret")
    with serve(fake) as base:
        s = crawl(base, db_url)
    assert s.ok, s.errors
    assert s.new == len(POSTS) + COMMENTS
    token = [r for r in fake.requests if r.path == "/api/v1/access_token"]
    assert len(token) == 1 and token[0].method == "POST"
    assert token[0].form()["grant_type"] == ["client_credentials"]
    api = [r for r in fake.requests if r.path != "/api/v1/access_token"]
    assert api and all(r.headers["authorization"].startswith("bearer ") for r in api)
    assert all(not r.path.endswith(".json") for r in api)  # the OAuth host takes plain paths
    assert all("Suara/" in r.headers["user-agent"] for r in fake.requests)
