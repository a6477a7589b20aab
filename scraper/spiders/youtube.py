"""Comments on YouTube videos that match a query or that are listed, via the YouTube Data API v3.

``YOUTUBE_API_KEY=... scrapy crawl youtube -a query="Tangsel Smart City" [-a max_videos=50]``
``YOUTUBE_API_KEY=... scrapy crawl youtube -a videos=VIDEO_ID,VIDEO_ID``

``search`` (``type=video``, 100 quota units a page) finds the videos and gives each one's
channel; for listed ids ``videos`` (1 unit) gives the channel. ``commentThreads``
(``part=snippet,replies``, 100 threads a page, 1 unit) is followed through ``nextPageToken``;
on an incremental crawl a video's paging stops at a page of threads already stored unchanged.
A thread whose replies the API did not all inline gets them from ``comments`` (``parentId``).
When that call fails (after the downloader's retries on 429/5xx, and a few more of its own for
Google's transient ``processingFailure``/``backendError``), nothing of the thread is stored, the
crawl ends incomplete naming the thread, and the next crawl asks for that thread first
(``commentThreads?id=``), whether or not its incremental walk would reach it again.

Each top-level comment is one ``kind=comment`` item. A reply by the video's own channel (the
channel owner, typically the city's account) is stored in that comment's ``reply_text`` /
``reply_at`` (the first such reply); other replies are comments of their own.

Without ``YOUTUBE_API_KEY`` the crawl does not start (one line, non-zero exit). A spent quota or
a rejected key stops the crawl with an error; a video with comments turned off is skipped.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlencode

import scrapy
from scrapy.exceptions import CloseSpider

from pipelines.errors import InputError
from scraper.spiders.base import SuaraSpider
from scraper.tls import TLSRefused

KEY_ENV = "YOUTUBE_API_KEY"
NO_KEY = (f"{KEY_ENV} is not set: create a YouTube Data API v3 key (Google Cloud console, "
          f"APIs & Services > Credentials) and export {KEY_ENV}=...")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
API_STATUSES = [400, 401, 403, 404]
#: Reasons Google gives for a failure that a later try may not repeat.
TRANSIENT = {"processingFailure", "backendError", "internalError"}
REPLY_TRIES = 3
#: Errors after which no further request can succeed today.
FATAL = {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "keyInvalid", "badRequest", "forbidden",
         "accessNotConfigured", "ipRefererBlocked", "keyExpired"}


# ---- pure parsing helpers --------------------------------------------------------------------------


def api_error(body: bytes | str) -> tuple[int | None, str, str]:
    """(code, reason, message) of a Google API error body; reason ``unknown`` when unparseable."""
    try:
        err = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        return None, "unknown", (body[:200].decode("utf-8", "replace") if isinstance(body, bytes) else body[:200])
    errors = err.get("errors") or [{}]
    reason = errors[0].get("reason") or "unknown"
    for d in err.get("details") or []:
        if isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID":
            reason = "keyInvalid"
    message = re.sub(r"<[^>]+>", "", err.get("message") or errors[0].get("message") or "")
    return err.get("code"), reason, message


def split_ids(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return [str(v) for v in value if v]


def comment_fields(c: dict, video_id: str) -> dict | None:
    """MentionItem fields of one ``youtube#comment`` resource; None when it has no text."""
    s = c.get("snippet") or {}
    text = s.get("textOriginal")
    if text is None:  # textDisplay is HTML unless textFormat=plainText was asked for
        text = re.sub(r"<br\s*/?>", "\n", s.get("textDisplay") or "")
        text = re.sub(r"<[^>]+>", "", text)
        import html

        text = html.unescape(text)
    if not c.get("id") or not text.strip():
        return None
    published, updated = s.get("publishedAt"), s.get("updatedAt")
    return {
        "source_id": c["id"],
        "kind": "comment",
        "author": (s.get("authorChannelId") or {}).get("value") or s.get("authorDisplayName"),
        "text": text,
        "created_at": published,
        "updated_at": updated if updated and updated != published else None,
        "thumbs_up": s.get("likeCount"),
        "url": f"https://www.youtube.com/watch?v={video_id}&lc={c['id']}",
    }


def channel_of(c: dict) -> str | None:
    return ((c.get("snippet") or {}).get("authorChannelId") or {}).get("value")


def split_replies(replies: list[dict], owner: str | None) -> tuple[dict | None, list[dict]]:
    """(the owner's first reply, the other replies) of one thread."""
    owner_replies = [r for r in replies if owner and channel_of(r) == owner]
    others = [r for r in replies if not (owner and channel_of(r) == owner)]
    first = min(owner_replies, key=lambda r: (r.get("snippet") or {}).get("publishedAt") or "", default=None)
    return first, others


def thread_parts(thread: dict) -> tuple[dict, list[dict], int]:
    """(top-level comment, inline replies, total reply count) of a ``youtube#commentThread``."""
    sn = thread.get("snippet") or {}
    top = sn.get("topLevelComment") or {}
    replies = (thread.get("replies") or {}).get("comments") or []
    return top, replies, int(sn.get("totalReplyCount") or 0)


# ---- the spider ---------------------------------------------------------------------------------------


class YouTubeSpider(SuaraSpider):
    """search / videos -> commentThreads (-> comments) -> one item per comment."""

    name = "youtube"
    source = "youtube"
    target_arg = "query"
    base_url_setting = "SUARA_YOUTUBE_URL"

    def __init__(self, *args, videos=None, video=None, max_videos="50", order="relevance", **kwargs):
        videos = split_ids(videos) + split_ids(video)  # `video` as `suara run` passes one id
        kwargs = self._target_from_videos(videos, kwargs)
        self._check_own(videos=videos, max_videos=max_videos, order=order)
        super().__init__(*args, **kwargs)
        self.video_ids = split_ids(videos)
        self.max_videos = int(max_videos)
        self.order = order
        self.key = os.environ.get(KEY_ENV, "").strip()
        self.channels: dict[str, str] = {}  # video id -> its channel id
        self.videos_seen = 0

    @staticmethod
    def _target_from_videos(videos, kwargs: dict) -> dict:
        """Listed videos without a query: the crawl target (and the ``app`` of items) names them."""
        kwargs = dict(kwargs)
        if not kwargs.get("query") and not kwargs.get("target") and split_ids(videos):
            kwargs["query"] = "videos:" + ",".join(split_ids(videos))
        return kwargs

    @classmethod
    def _check_own(cls, videos=None, max_videos="50", order="relevance", **_):
        if not os.environ.get(KEY_ENV, "").strip():
            raise InputError(NO_KEY)
        for v in split_ids(videos):
            if not VIDEO_ID.match(v):
                raise InputError(f"video id must be 11 characters of A-Z a-z 0-9 _ -, got {v!r}")
        try:
            n = int(max_videos)
        except (TypeError, ValueError):
            raise InputError(f"max_videos must be a number, got {max_videos!r}") from None
        if n < 1:
            raise InputError(f"max_videos must be at least 1, got {n}")
        if order not in ("relevance", "date", "viewCount", "rating"):
            raise InputError(f"order must be relevance, date, viewCount or rating, got {order!r}")

    @classmethod
    def check_args(cls, **kwargs) -> None:
        kwargs = dict(kwargs)
        kwargs["videos"] = split_ids(kwargs.get("videos")) + split_ids(kwargs.pop("video", None))
        own = ("videos", "max_videos", "order")
        cls._check_own(**{k: v for k, v in kwargs.items() if k in own})
        if kwargs.get("query") and split_ids(kwargs.get("videos")):
            raise InputError("give either a query or video ids, not both")
        rest = cls._target_from_videos(kwargs.get("videos"), {k: v for k, v in kwargs.items() if k not in own})
        super().check_args(**rest)

    # ---- requests ------------------------------------------------------------------------------

    def api(self, method: str, callback, cb_kwargs: dict | None = None, **params) -> scrapy.Request:
        return scrapy.Request(
            f"{self.base_url}/youtube/v3/{method}?{urlencode(params)}",
            # The key goes in Google's header, not in ?key=, so no URL in a log line or run log holds it.
            headers={"X-Goog-Api-Key": self.key},
            callback=callback, errback=self.failed, cb_kwargs=cb_kwargs or {},
            # A documented JSON API: robots.txt governs web pages, not API calls.
            meta={"dont_obey_robotstxt": True, "handle_httpstatus_list": API_STATUSES},
            dont_filter=True,
        )

    def search(self, page_token: str | None = None) -> scrapy.Request:
        params = {"part": "snippet", "q": self.target, "type": "video", "order": self.order,
                  "maxResults": str(min(50, self.max_videos))}
        if self.lang:
            params["relevanceLanguage"] = self.lang
        if self.country:
            params["regionCode"] = self.country.upper()
        if page_token:
            params["pageToken"] = page_token
        return self.api("search", self.parse_search, **params)

    def threads(self, video_id: str, page_token: str | None = None) -> scrapy.Request:
        params = {"part": "snippet,replies", "videoId": video_id, "maxResults": "100", "order": "time",
                  "textFormat": "plainText"}
        if page_token:
            params["pageToken"] = page_token
        return self.api("commentThreads", self.parse_threads, {"video_id": video_id}, **params)

    async def start(self):
        # Threads whose replies the last crawl could not fetch come first.
        resume = [w for w in self.previous_pending if isinstance(w, dict) and w.get("video") and w.get("thread")]
        if resume:
            self.logger.info("youtube: resuming %d thread(s) the last crawl could not finish", len(resume))
            for w in resume:  # still owed until done: a crawl stopped early must not forget them
                self.leave_pending({"video": str(w["video"]), "thread": str(w["thread"])})
            vids = list(dict.fromkeys(str(w["video"]) for w in resume))
            yield self.api("videos", self.parse_resume_videos, {"threads": resume}, part="snippet", id=",".join(vids))
        if self.video_ids:
            for i in range(0, len(self.video_ids), 50):
                chunk = self.video_ids[i:i + 50]
                yield self.api("videos", self.parse_videos, {"asked": chunk}, part="snippet", id=",".join(chunk))
        else:
            yield self.search()

    # ---- callbacks ---------------------------------------------------------------------------

    def _json(self, response) -> dict | None:
        """The JSON body, or None after reporting an API error / malformed body."""
        if response.status >= 400:
            self.api_failure(response)
            return None
        try:
            data = response.json()
        except ValueError as exc:
            self.page_error(response, f"not JSON: {exc}")
            return None
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            self.page_error(response, "JSON without an items list")
            return None
        return data

    def api_failure(self, response) -> None:
        code, reason, message = api_error(response.body)
        if reason in ("commentsDisabled", "videoNotFound"):
            self.logger.warning("youtube: %s (%s): %s", reason, _redact(response.url), message)
            return
        url = _redact(response.url)
        hint = ""
        if reason in ("keyInvalid", "forbidden", "keyExpired", "accessNotConfigured"):
            hint = f" ({KEY_ENV} rejected: check the key and that the YouTube Data API v3 is enabled for it)"
        elif reason in ("quotaExceeded", "dailyLimitExceeded"):
            hint = " (the key's daily quota is spent; it resets at midnight Pacific time)"
        self.page_error(url, f"HTTP {response.status} {reason}: {message}{hint}")
        if reason in FATAL:
            raise CloseSpider(f"youtube_{reason}")

    def parse_search(self, response):
        data = self._json(response)
        if data is None:
            return
        for it in data.get("items", []):
            vid = ((it.get("id") or {}).get("videoId"))
            if not vid or vid in self.channels or self.videos_seen >= self.max_videos:
                continue
            self.channels[vid] = (it.get("snippet") or {}).get("channelId") or ""
            self.videos_seen += 1
            yield self.threads(vid)
        token = data.get("nextPageToken")
        if token and self.videos_seen < self.max_videos:
            yield self.search(token)

    def parse_videos(self, response, asked: list[str]):
        data = self._json(response)
        if data is None:
            return
        for it in data.get("items", []):
            vid = it.get("id")
            if vid:
                self.channels[vid] = (it.get("snippet") or {}).get("channelId") or ""
        for vid in asked:
            if vid in self.channels:
                yield self.threads(vid)
            else:
                self.logger.warning("youtube: video %s not found (private, deleted or a wrong id)", vid)

    def parse_resume_videos(self, response, threads: list[dict]):
        data = self._json(response)
        if data is None:
            for w in threads:
                self.leave_pending(w)
            return
        for it in data.get("items", []):
            if it.get("id"):
                self.channels.setdefault(it["id"], (it.get("snippet") or {}).get("channelId") or "")
        for w in threads:
            if w["video"] not in self.channels:
                self.logger.warning("youtube: video %s of a thread to resume is gone", w["video"])
                self.done_pending(w)
                continue
            yield self.api("commentThreads", self.parse_threads, {"video_id": w["video"], "resumed": w["thread"]},
                           part="snippet,replies", id=w["thread"], textFormat="plainText")

    def replies_request(self, video_id: str, top: dict, got: list, page_token: str | None = None,
                        tries: int = 0) -> scrapy.Request:
        params = {"part": "snippet", "parentId": top["source_id"], "maxResults": "100", "textFormat": "plainText"}
        if page_token:
            params["pageToken"] = page_token
        req = self.api("comments", self.parse_replies, {"video_id": video_id, "top": top, "got": got}, **params)
        req.meta["suara_tries"] = tries
        return req.replace(errback=self.replies_failed)

    def _replies_lost(self, url: str, video_id: str, top: dict, why: str) -> None:
        """A thread whose replies could not all be read: nothing of it is stored now, the next crawl resumes it."""
        self.leave_pending({"video": video_id, "thread": top["source_id"]})
        self.page_error(url, f"replies of comment thread {top['source_id']} (video {video_id}) could not be read "
                             f"({why}); the thread is left for the next crawl")

    def replies_failed(self, failure):
        kw = failure.request.cb_kwargs
        response = getattr(failure.value, "response", None)
        what = f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self._replies_lost(_redact(failure.request.url), kw["video_id"], kw["top"], what)

    def parse_threads(self, response, video_id: str, resumed: str | None = None):
        data = self._json(response)
        if data is None:
            return
        if resumed and not any(t.get("id") == resumed for t in data.get("items", [])):
            self.logger.warning("youtube: thread %s to resume is gone", resumed)
            self.done_pending({"video": video_id, "thread": resumed})
        owner = self.channels.get(video_id)
        tops: list = []
        pending: list = []
        for thread in data.get("items", []):
            top, replies, total = thread_parts(thread)
            fields = comment_fields(top, video_id)
            if fields is None:
                continue
            if total > len(replies):
                pending.append((fields, top["id"]))  # the rest of the replies first
                continue
            first, others = split_replies(replies, owner)
            tops.append(self._with_reply(fields, first))
            tops.extend(self.mention(**f) for r in others if (f := comment_fields(r, video_id)))
            self.done_pending({"video": video_id, "thread": top["id"]})
        known = self.page_is_known(tops) and not pending
        yield from tops
        for fields, parent in pending:
            yield self.replies_request(video_id, fields, [])
        token = data.get("nextPageToken")
        if resumed:
            return  # one thread asked by id: no paging
        if token and not known:
            yield self.threads(video_id, token)
        elif token:
            self.logger.info("youtube: video %s: page of known comments; stopping (incremental)", video_id)

    def parse_replies(self, response, video_id: str, top: dict, got: list):
        if response.status >= 400:
            code, reason, message = api_error(response.body)
            tries = response.meta.get("suara_tries", 0) + 1
            if reason == "commentNotFound":  # the thread was deleted since it was listed
                self.logger.warning("youtube: thread %s was deleted meanwhile; skipped", top["source_id"])
                self.done_pending({"video": video_id, "thread": top["source_id"]})
                return
            if reason in TRANSIENT and tries < REPLY_TRIES:
                self.logger.info("youtube: %s for the replies of %s; trying again", reason, top["source_id"])
                yield response.request.replace(dont_filter=True, meta={**response.request.meta, "suara_tries": tries})
                return
            self.leave_pending({"video": video_id, "thread": top["source_id"]})
            self.api_failure(response)  # the ERROR line (and a stop when the quota is spent)
            return
        data = self._json(response)
        if data is None:  # _json logged the ERROR
            self.leave_pending({"video": video_id, "thread": top["source_id"]})
            return
        got = got + data.get("items", [])
        token = data.get("nextPageToken")
        if token:
            yield self.replies_request(video_id, top, got, token)
            return
        first, others = split_replies(got, self.channels.get(video_id))
        self.done_pending({"video": video_id, "thread": top["source_id"]})
        yield self._with_reply(top, first)
        for r in others:
            f = comment_fields(r, video_id)
            if f:
                yield self.mention(**f)

    def _with_reply(self, fields: dict, reply: dict | None):
        if reply is not None:
            s = reply.get("snippet") or {}
            fields = {**fields, "reply_text": s.get("textOriginal") or s.get("textDisplay"),
                      "reply_at": s.get("publishedAt")}
        return self.mention(**fields)

    def failed(self, failure):
        """Errback: a request that failed for good (after retries on 429/5xx) is one ERROR line."""
        if failure.check(TLSRefused):  # scraper.tls logged it once for the host; nothing more to fetch there
            return
        response = getattr(failure.value, "response", None)
        what = f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.page_error(_redact(failure.request.url), what)


def _redact(url: str) -> str:
    """The URL without an API key, should one have been put in it."""
    return re.sub(r"([?&]key=)[^&]*", r"\1***", url)
