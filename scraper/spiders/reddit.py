"""Reddit posts and comments that match a query, through Reddit's API (OAuth by default).

``REDDIT_CLIENT_ID=... REDDIT_CLIENT_SECRET=... scrapy crawl reddit -a query="Tangsel Smart City"
[-a subreddit=indonesia] [-a limit=100]``

Reddit has refused unauthenticated ``.json`` access since mid-2026, so the documented path is a
"script" app's credentials (https://www.reddit.com/prefs/apps): the spider first gets an
application-only token (client-credentials grant at ``{SUARA_REDDIT_URL}/api/v1/access_token``)
and sends every request to ``{SUARA_REDDIT_OAUTH_URL}`` with ``Authorization: bearer ...``.
Without both variables the crawl does not start: one line says so before any request.
``-a public=1`` (or ``SUARA_REDDIT_PUBLIC=1``) reads the public JSON listings instead, for a
mirror or a test server that still serves them.

Search is newest first and follows ``data.after`` to the end; on an incremental crawl it stops
at a page that holds only posts already stored unchanged and older than the last crawl. Each
post on the pages walked has its comment tree fetched (a post's comments arrive after it).
"Load more comments" stubs are expanded through ``/api/morechildren`` (at most 100 ids a call,
through the same polite download queue), and "continue this thread" stubs by asking for the
comment's subtree (``?comment=ID``). At most ``max_more`` such calls are made per crawl (default
200, ``-a max_more=N``): when more are needed, or one fails, the crawl ends incomplete and its
error says how many comments were not fetched, so the next crawl walks them again. Besides the
download delay, Reddit's ``x-ratelimit-remaining``/``x-ratelimit-reset`` headers are minded:
with five requests or fewer left in the window the crawl pauses until it resets.
Posts are ``kind=post`` (source_id ``t3_...``), comments ``kind=comment`` (``t1_...``); an edit
(Reddit's ``edited`` time) stores a new version. Deleted and removed comments are skipped.
"""

from __future__ import annotations

import base64
import os
from urllib.parse import urlencode

import scrapy

from pipelines.errors import InputError
from scraper.spiders.base import SuaraSpider, truthy
from scraper.tls import TLSRefused

PUBLIC_URL = "https://www.reddit.com"
GONE = {"[deleted]", "[removed]"}
MORE_BATCH = 100  # ids per /api/morechildren call (Reddit's limit)
DEFAULT_MAX_MORE = 200
RATELIMIT_RESERVE = 5  # requests kept in hand when Reddit's window is nearly used up
RATELIMIT_MAX_WAIT = 600.0  # Reddit's window is ten minutes


# ---- pure parsing helpers --------------------------------------------------------------------------


def parse_listing(data) -> tuple[list[dict], str | None]:
    """(children's ``data`` of kind t3/t1, ``after``) of a Listing; ValueError when it is not one."""
    if not isinstance(data, dict) or data.get("kind") != "Listing" or not isinstance(data.get("data"), dict):
        raise ValueError("not a Reddit Listing")
    children = data["data"].get("children")
    if not isinstance(children, list):
        raise ValueError("Listing has no children list")
    things = [c["data"] for c in children
              if isinstance(c, dict) and c.get("kind") in ("t3", "t1") and isinstance(c.get("data"), dict)]
    return things, data["data"].get("after") or None


def edited_time(value) -> float | None:
    """Reddit's ``edited``: ``false`` or the epoch seconds of the last edit."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def post_fields(d: dict) -> dict | None:
    """MentionItem fields of one post (``t3`` data); None when it has neither title nor id."""
    if not d.get("id") or not (d.get("title") or d.get("selftext")):
        return None
    text = d.get("selftext") or ""
    if text.strip() in GONE:
        text = ""
    author = d.get("author")
    return {
        "source_id": d.get("name") or f"t3_{d['id']}",
        "kind": "post",
        "author": None if author in GONE else author,
        "title": d.get("title"),
        "text": text,
        "created_at": d.get("created_utc"),
        "updated_at": edited_time(d.get("edited")),
        "url": PUBLIC_URL + d["permalink"] if d.get("permalink") else d.get("url"),
        "thumbs_up": d.get("score"),
    }


def comment_fields(d: dict) -> dict | None:
    """MentionItem fields of one comment (``t1`` data); None for deleted or removed ones."""
    body = d.get("body")
    if not d.get("id") or not isinstance(body, str) or body.strip() in GONE or not body.strip():
        return None
    author = d.get("author")
    return {
        "source_id": d.get("name") or f"t1_{d['id']}",
        "kind": "comment",
        "author": None if author in GONE else author,
        "text": body,
        "created_at": d.get("created_utc"),
        "updated_at": edited_time(d.get("edited")),
        "url": PUBLIC_URL + d["permalink"] if d.get("permalink") else None,
        "thumbs_up": d.get("score"),
    }


def walk_comments(listing) -> tuple[list[dict], int]:
    """All comments of a comment Listing, depth first, and how many hide behind ``more`` stubs."""
    out, stubs = walk_tree(listing)
    return out, sum(hidden_count(m) for m in stubs)


def hidden_count(stub: dict) -> int:
    """Comments one ``more`` stub stands for (a "continue this thread" stub says 0: count it as 1)."""
    try:
        n = int(stub.get("count") or 0)
    except (TypeError, ValueError):
        n = 0
    return max(n, len(stub.get("children") or []), 1)


def walk_tree(listing) -> tuple[list[dict], list[dict]]:
    """(comment data depth first, the ``data`` of every ``more`` stub) of a comment Listing."""
    out: list[dict] = []
    stubs: list[dict] = []

    def walk(node) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            return
        for child in node["data"].get("children") or []:
            if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
                continue
            if child.get("kind") == "more":
                stubs.append(child["data"])
            elif child.get("kind") == "t1":
                out.append(child["data"])
                walk(child["data"].get("replies"))  # "" when there are none

    walk(listing)
    return out, stubs


def parse_more_children(data) -> tuple[list[dict], list[dict]]:
    """``/api/morechildren`` -> (comment data, further ``more`` stubs); ValueError for another shape.

    The answer is ``{"json": {"errors": [], "data": {"things": [...]}}}`` with the comments flat
    (each names its ``parent_id``); long branches come back as ``more`` things again.
    """
    body = data.get("json") if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise ValueError("not a morechildren answer (no 'json' object)")
    if body.get("errors"):
        raise ValueError(f"Reddit reported {body['errors']!r}")
    things = (body.get("data") or {}).get("things")
    if not isinstance(things, list):
        raise ValueError("morechildren answer has no things list")
    return walk_tree({"data": {"children": things}})


def parse_comments_page(data) -> tuple[list[dict], int]:
    """``/comments/{id}.json`` -> (comment data, count hidden behind ``more``)."""
    comments, stubs = parse_comments_tree(data)
    return comments, sum(hidden_count(m) for m in stubs)


def parse_comments_tree(data) -> tuple[list[dict], list[dict]]:
    """``/comments/{id}.json`` -> (comment data, ``more`` stubs); ValueError for another shape."""
    if not isinstance(data, list) or len(data) < 2:
        raise ValueError("not a [post, comments] pair of Listings")
    parse_listing(data[1])  # shape check
    return walk_tree(data[1])


def credentials_problem(public: bool = False) -> str | None:
    """The one line to say when Reddit cannot be crawled for lack of credentials (None when it can)."""
    cid, secret = os.environ.get("REDDIT_CLIENT_ID", "").strip(), os.environ.get("REDDIT_CLIENT_SECRET", "").strip()
    if bool(cid) != bool(secret):
        missing = "REDDIT_CLIENT_SECRET" if cid else "REDDIT_CLIENT_ID"
        return f"{missing} is not set: set both REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (a Reddit script app)"
    if not cid and not (public or truthy(os.environ.get("SUARA_REDDIT_PUBLIC", ""))):
        return ("REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are not set: Reddit refuses API access without "
                "them; create a 'script' app at https://www.reddit.com/prefs/apps and export both")
    return None


# ---- the spider ---------------------------------------------------------------------------------------


class RedditSpider(SuaraSpider):
    """Reddit search (newest first) + each post's comment tree."""

    name = "reddit"
    source = "reddit"
    target_arg = "query"
    base_url_setting = "SUARA_REDDIT_URL"

    def __init__(self, *args, subreddit=None, limit="100", public=None, max_more=str(DEFAULT_MAX_MORE), **kwargs):
        self._check_own(subreddit=subreddit, limit=limit, public=public, max_more=max_more)
        super().__init__(*args, **kwargs)
        self.subreddit = (subreddit or "").strip().removeprefix("r/") or None
        self.limit = int(limit)
        self.max_more = int(max_more)
        self.more_calls = 0
        self.token: str | None = None
        self.client_id = os.environ.get("REDDIT_CLIENT_ID", "").strip()
        self.client_secret = os.environ.get("REDDIT_CLIENT_SECRET", "").strip()

    @classmethod
    def _check_own(cls, subreddit=None, limit="100", public=None, max_more=str(DEFAULT_MAX_MORE), **_):
        try:
            n = int(limit)
        except (TypeError, ValueError):
            raise InputError(f"limit must be a number from 1 to 100, got {limit!r}") from None
        if not 1 <= n <= 100:
            raise InputError(f"limit must be from 1 to 100 (Reddit's page size), got {n}")
        if subreddit and not str(subreddit).removeprefix("r/").replace("_", "").isalnum():
            raise InputError(f"subreddit must be a name like indonesia, got {subreddit!r}")
        try:
            if int(max_more) < 0:
                raise ValueError
        except (TypeError, ValueError):
            raise InputError(f"max_more must be a whole number of 0 or more, got {max_more!r}") from None
        problem = credentials_problem(truthy(public))
        if problem:
            raise InputError(problem)

    @classmethod
    def check_args(cls, **kwargs) -> None:
        cls._check_own(**kwargs)
        super().check_args(**{k: v for k, v in kwargs.items() if k not in ("subreddit", "limit", "public", "max_more")})

    # ---- URLs ----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Where listings are read: the OAuth host once a token is held, else the public host."""
        if self.token:
            name = "SUARA_REDDIT_OAUTH_URL"
            url = self.settings.get(name) or ""
            env = os.environ.get(name)
            from scrapy.settings import SETTINGS_PRIORITIES

            if env and self.settings.getpriority(name) <= SETTINGS_PRIORITIES["project"]:
                url = env
            return url.rstrip("/")
        return self.base_url

    def _meta(self) -> dict:
        # A documented JSON API, not web pages: robots.txt (which bars all crawlers) is not the rule here.
        return {"dont_obey_robotstxt": True}

    def _headers(self) -> dict:
        return {"Authorization": f"bearer {self.token}"} if self.token else {}

    def search_request(self, after: str | None = None) -> scrapy.Request:
        params = {"q": self.target, "sort": "new", "limit": str(self.limit), "t": "all", "type": "link",
                  "raw_json": "1"}
        if after:
            params["after"] = after
        path = "/search"
        if self.subreddit:
            path = f"/r/{self.subreddit}/search"
            params["restrict_sr"] = "1"
        suffix = "" if self.token else ".json"
        return scrapy.Request(f"{self.api_url}{path}{suffix}?{urlencode(params)}", callback=self.parse_search,
                              errback=self.failed, headers=self._headers(), meta=self._meta(), dont_filter=True)

    # ---- callbacks ---------------------------------------------------------------------------

    async def start(self):
        if self.client_id and self.client_secret:
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            yield scrapy.FormRequest(
                f"{self.base_url}/api/v1/access_token", formdata={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"}, callback=self.parse_token, errback=self.failed,
                meta=self._meta(), dont_filter=True)
        else:
            yield self.search_request()

    def parse_token(self, response):
        try:
            data = response.json()
        except ValueError:
            self.page_error(response, "token answer is not JSON")
            return
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            err = data.get("error") if isinstance(data, dict) else None
            self.page_error(response, f"no access token in the answer ({err or 'unknown error'}); "
                                      "check REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET")
            return
        self.token = token
        self.logger.info("reddit: using OAuth (application-only token)")
        yield self.search_request()

    def mind_ratelimit(self, response) -> None:
        """Reddit's ``x-ratelimit-*`` headers: when few requests are left in the window, pause until it resets."""
        try:
            left = float(response.headers.get("x-ratelimit-remaining", b"").decode() or "nan")
            reset = float(response.headers.get("x-ratelimit-reset", b"").decode() or "nan")
        except ValueError:
            return
        engine = getattr(self.crawler, "engine", None)
        if not left == left or not reset == reset or left > RATELIMIT_RESERVE or engine is None or engine.paused:
            return
        wait = min(max(reset, 0.0), RATELIMIT_MAX_WAIT)
        self.logger.info("reddit: %d request(s) left in the rate-limit window; waiting %.0f s", left, wait)
        from twisted.internet import reactor

        engine.pause()
        reactor.callLater(wait, engine.unpause)

    def parse_search(self, response):
        self.mind_ratelimit(response)
        try:
            posts, after = parse_listing(response.json())
        except ValueError as exc:
            self.page_error(response, f"malformed search listing: {exc}")
            return
        pairs = [(d, self.mention(**f)) for d in posts if (f := post_fields(d))]
        items = [it for _, it in pairs]
        known = self.page_is_known(items)
        for d, it in pairs:
            yield it
            yield scrapy.Request(
                self.comments_url(d["id"]),
                callback=self.parse_comments, errback=self.failed, headers=self._headers(), meta=self._meta(),
                cb_kwargs={"post_id": d["id"]})
        if known:
            self.logger.info("reddit: page of %d known posts; stopping (incremental)", len(items))
            return
        if after:
            yield self.search_request(after)

    def comments_url(self, post_id: str, focus: str | None = None) -> str:
        params = {"raw_json": "1", "limit": "500", "sort": "new"}
        if focus:
            params["comment"] = focus
        return f"{self.api_url}/comments/{post_id}{'' if self.token else '.json'}?" + urlencode(params)

    def parse_comments(self, response, post_id: str):
        self.mind_ratelimit(response)
        try:
            comments, stubs = parse_comments_tree(response.json())
        except ValueError as exc:
            self.page_error(response, f"malformed comments of post {post_id}: {exc}")
            return
        yield from self._comment_items(comments)
        yield from self._expand(post_id, stubs)

    def _comment_items(self, comments: list[dict]):
        for d in comments:
            fields = comment_fields(d)
            if fields:
                yield self.mention(**fields)

    def _expand(self, post_id: str, stubs: list[dict]):
        """Requests for the comments behind ``more`` stubs, within the per-crawl call budget."""
        ids: list[str] = []
        for stub in stubs:
            children = [str(c) for c in stub.get("children") or [] if c]
            if children:
                ids.extend(children)
                continue
            parent = str(stub.get("parent_id") or "")
            if parent.startswith("t1_"):  # "continue this thread": ask for that comment's subtree
                if self._spend(post_id, hidden_count(stub)):
                    yield scrapy.Request(self.comments_url(post_id, parent[3:]), callback=self.parse_comments,
                                         errback=self.more_failed, headers=self._headers(), meta=self._meta(),
                                         cb_kwargs={"post_id": post_id}, dont_filter=True)
            elif hidden_count(stub) and stub.get("count"):
                self.page_error(self.comments_url(post_id), f"a 'more' stub of post {post_id} names no comments "
                                                             f"({hidden_count(stub)} not fetched)")
        for i in range(0, len(ids), MORE_BATCH):
            batch = ids[i:i + MORE_BATCH]
            if not self._spend(post_id, len(ids) - i):
                return
            params = {"api_type": "json", "link_id": f"t3_{post_id}", "children": ",".join(batch), "sort": "new",
                      "limit_children": "false", "raw_json": "1"}
            yield scrapy.Request(
                f"{self.api_url}/api/morechildren{'' if self.token else '.json'}?{urlencode(params)}",
                callback=self.parse_more, errback=self.more_failed, headers=self._headers(), meta=self._meta(),
                cb_kwargs={"post_id": post_id, "count": len(batch)}, dont_filter=True)

    def _spend(self, post_id: str, hidden: int) -> bool:
        """Take one expansion call from the budget; when it is spent the crawl ends incomplete, saying how many."""
        if self.more_calls >= self.max_more:
            self.page_error(self.comments_url(post_id),
                            f"{hidden} more comment(s) of post {post_id} not fetched: the limit of {self.max_more} "
                            "expansion calls per crawl is reached (raise it with -a max_more=N)")
            return False
        self.more_calls += 1
        return True

    def parse_more(self, response, post_id: str, count: int):
        self.mind_ratelimit(response)
        try:
            comments, stubs = parse_more_children(response.json())
        except ValueError as exc:
            self.page_error(response, f"malformed morechildren answer for post {post_id} "
                                      f"({count} comment(s) not fetched): {exc}")
            return
        yield from self._comment_items(comments)
        yield from self._expand(post_id, stubs)

    def more_failed(self, failure):
        """Errback of an expansion call: the crawl ends incomplete, naming how many comments it lost."""
        count = failure.request.cb_kwargs.get("count")
        post_id = failure.request.cb_kwargs.get("post_id")
        response = getattr(failure.value, "response", None)
        what = f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.page_error(failure.request.url, f"{what}; {count or 'some'} more comment(s) of post {post_id} not fetched")

    def failed(self, failure):
        """Errback: a request that failed for good (after retries) is one ERROR line with its URL."""
        if failure.check(TLSRefused):  # scraper.tls logged it once for the host; nothing more to fetch there
            return
        response = getattr(failure.value, "response", None)
        what = f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        if response is not None and response.status in (401, 403):
            what += " (Reddit refused: check the user agent contact and REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET)"
        self.page_error(failure.request.url, what)
