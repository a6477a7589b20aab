"""YouTube spider against a local server speaking the YouTube Data API v3 (search, videos,
commentThreads, comments) with its page tokens, quota and error bodies."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.errors import InputError
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.server import Fault, serve
from scraper.fakes.youtube import FakeYouTube, error
from scraper.spiders import youtube as Y

QUERY = "Tangsel Smart City"
KEY = "test-key"


def crawl(base: str, db_url: str, **kw):
    kw.setdefault("query", QUERY)
    return run_spider("youtube", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_YOUTUBE_URL": base}, **kw)


def sample():
    fake = FakeYouTube()
    lesson, review, award, vlog = fake.videos
    return fake, lesson, review, award, vlog


def expected_items(video: dict) -> tuple[int, int]:
    """(items, owner replies) a crawl must store for one video of the samples."""
    items = replies = 0
    for c in video["comments"]:
        items += 1
        for r in c["replies"]:
            if r["authorChannelId"] == video["channelId"]:
                replies += 1
            else:
                items += 1
    return items, replies


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)


# ---- no key ------------------------------------------------------------------------------------------


def test_without_a_key_the_command_says_so_in_one_line(db_url, monkeypatch):
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    res = CliRunner().invoke(cli_app, ["crawl", "youtube", "--query", QUERY, "--db", db_url])
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: YOUTUBE_API_KEY is not set"), res.output
    with pytest.raises(InputError, match="YOUTUBE_API_KEY is not set"):
        run_spider("youtube", db=db_url, query=QUERY)
    assert Store(db_url).count_mentions() == 0


def test_bad_arguments(key):
    with pytest.raises(InputError, match="video id must be 11 characters"):
        run_spider("youtube", videos="not-a-video-id")
    with pytest.raises(InputError, match="either a query or video ids"):
        run_spider("youtube", query=QUERY, videos="CxqlIOdNKhi")


# ---- parsing (no crawl) ----------------------------------------------------------------------------


def test_error_bodies_and_reply_split():
    _, body = error(400, "API key not valid. Please pass a valid API key.", "badRequest", status="INVALID_ARGUMENT",
                    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}])[1:]
    assert Y.api_error(body) == (400, "keyInvalid", "API key not valid. Please pass a valid API key.")
    quota = FakeYouTube(quota=0).handle(_req("/youtube/v3/search", part="snippet", q="x", key=KEY))
    assert quota[0] == 403 and Y.api_error(quota[2])[1] == "quotaExceeded"
    assert Y.api_error(b"<html>502</html>") == (None, "unknown", "<html>502</html>")

    fake, lesson, *_ = sample()
    status, _, body = fake.handle(_req("/youtube/v3/commentThreads", part="snippet,replies",
                                       videoId=lesson["videoId"], key=KEY, maxResults="100"))
    threads = json.loads(body)["items"]
    top, replies, total = Y.thread_parts(threads[1])
    owner, others = Y.split_replies(replies, lesson["channelId"])
    assert owner["snippet"]["textOriginal"].startswith("Terima kasih laporannya") and others == []
    f = Y.comment_fields(top, lesson["videoId"])
    assert f["source_id"] == lesson["comments"][1]["id"] and f["author"] == lesson["comments"][1]["authorChannelId"]
    assert f["url"] == f"https://www.youtube.com/watch?v={lesson['videoId']}&lc={f['source_id']}"
    assert f["updated_at"] is None  # updatedAt == publishedAt: never edited
    # textDisplay is HTML when textOriginal is absent
    top["snippet"].pop("textOriginal")
    top["snippet"]["textDisplay"] = "Baris satu<br>&quot;dua&quot; <a href=\"http://x\">http://x</a>"
    assert Y.comment_fields(top, "v")["text"] == 'Baris satu\n"dua" http://x'
    _, _, total_long = Y.thread_parts(threads[5])
    assert total_long == 7 and len(threads[5]["replies"]["comments"]) == 5  # the API inlines only some


def _req(path: str, **args):
    from scraper.fakes.server import Request

    return Request("GET", path, {k: [v] for k, v in args.items()}, b"", {})


# ---- crawls ------------------------------------------------------------------------------------------


def test_crawl_search_threads_replies_incremental_and_edits(db_url, key):
    fake, lesson, review, award, vlog = sample()
    fake.page_cap = 10  # 23 threads on the lesson video: pages of 10, 10, 3
    store = Store(db_url)
    n_lesson, r_lesson = expected_items(lesson)
    n_review, r_review = expected_items(review)
    with serve(fake) as base:
        fake.inject(Fault(status=503, path="/youtube/v3/commentThreads"),
                    Fault(status=429, path="/youtube/v3/search", headers={"Retry-After": "0"}))
        s1 = crawl(base, db_url)
        assert s1.ok, s1.errors
        assert s1.new == n_lesson + n_review  # the award video has comments disabled: skipped, not an error
        df = store.mentions_df("youtube")
        assert df.source_id.is_unique and (df.kind == "comment").all() and (df.app == QUERY).all()
        # pagination: every page token of the lesson video followed to the end
        threads = [r for r in fake.requests if r.path == "/youtube/v3/commentThreads"]
        tokens = [r.arg("pageToken") for r in threads if r.arg("videoId") == lesson["videoId"]]
        assert len([t for t in tokens if t]) == 2 and tokens[-1]  # pages 2 and 3 of the lesson video
        assert len(threads) == 3 + 1 + 1 + 1  # lesson 3 pages, review, award, and the retried 503
        # the key travels in Google's header, never in a URL
        assert all(r.arg("key") is None and r.headers["x-goog-api-key"] == KEY for r in fake.requests)
        # owner replies: stored on the comment they answer, not as comments of their own
        replied = df[df.reply_text.notna()].set_index("source_id")
        assert len(replied) == r_lesson + r_review
        long_thread = lesson["comments"][5]  # 7 replies, the owner's last: fetched through comments.list
        assert replied.loc[long_thread["id"]].reply_text.startswith("Terima kasih masukannya")
        assert [r.arg("parentId") for r in fake.requests if r.path == "/youtube/v3/comments"] == [long_thread["id"]]
        owner_ids = {r["id"] for v in (lesson, review) for c in v["comments"] for r in c["replies"]
                     if r["authorChannelId"] == v["channelId"]}
        assert not owner_ids & set(df.source_id)
        first = replied.loc[lesson["comments"][1]["id"]]
        assert str(first.reply_at) == lesson["comments"][1]["replies"][0]["publishedAt"].replace("T", " ").rstrip("Z")
        assert store.get_state("youtube", QUERY)["status"] == "complete"

        # Second crawl after one comment was edited and one was added: one new, one updated (old text kept),
        # nothing stored twice; the lesson video's paging stops at its first page of known threads.
        fake.requests.clear()
        old_text = review["comments"][2]["text"]
        fake.edit_comment(review["comments"][2]["id"], old_text + " (edit: sekarang sudah jauh lebih baik)")
        fake.add_comment(lesson["videoId"], {"id": "UgzNEWcomment0000000004AaABAg", "author": "@warga_baru",
                                             "authorChannelId": "UCnewcommenter000000000a", "text": "Baru coba, lancar!",
                                             "publishedAt": "2024-03-12T01:00:00Z", "updatedAt": "2024-03-12T01:00:00Z"})
        s2 = crawl(base, db_url)
        assert s2.ok, s2.errors
        assert (s2.new, s2.updated) == (1, 1)
        assert store.count_mentions("youtube") == n_lesson + n_review + 1
        versions = store.versions_df()
        assert versions.text.tolist() == [old_text]
        lesson_pages = [r for r in fake.requests
                        if r.path == "/youtube/v3/commentThreads" and r.arg("videoId") == lesson["videoId"]]
        assert len(lesson_pages) == 2  # page 1 (new comment), page 2 known: page 3 not asked for
    store.close()


def test_listed_videos_and_quota_exceeded(db_url, key):
    fake, lesson, review, award, vlog = sample()
    with serve(fake) as base:
        # Listed ids: videos.list gives each video's channel (owner replies), an unknown id is a warning.
        s = crawl(base, db_url, query=None, videos=f"{vlog['videoId']},{award['videoId']},zzzzzzzzzzz")
        assert s.ok, s.errors
        assert s.target == f"videos:{vlog['videoId']},{award['videoId']},zzzzzzzzzzz"
        n_vlog, r_vlog = expected_items(vlog)
        assert s.new == n_vlog
        df = Store(db_url).mentions_df("youtube")
        assert df.reply_text.notna().sum() == r_vlog == 1
        assert not [r for r in fake.requests if r.path == "/youtube/v3/search"]  # no 100-unit search

        # Quota spent after the search: the crawl stops with one clear error, state incomplete.
        fake.quota = fake.quota_used + 100 + 1  # the search and one commentThreads page
        s2 = crawl(base, db_url)
        assert not s2.ok
        assert any("quotaExceeded" in e and "/youtube/v3/commentThreads" in e for e in s2.errors), s2.errors
        assert Store(db_url).count_mentions("youtube") >= n_vlog + s2.new  # nothing stored before is lost
        assert Store(db_url).get_state("youtube", QUERY)["status"] == "incomplete"
