"""A local stand-in for Reddit's JSON API, public and OAuth, from ``data/samples/reddit/posts.json``.

Routes (the same app plays ``www.reddit.com`` and ``oauth.reddit.com``):

``GET /search.json``, ``GET /search``          search Listing: ``{"kind": "Listing", "data": {"after",
                                               "before", "dist", "children": [{"kind": "t3", "data": {...}}]}}``
                                               with ``q, sort, limit (max 100), after, raw_json``.
``GET /comments/{id}.json``, ``/comments/{id}``  ``[post Listing, comment Listing]``; comments are ``t1``
                                               things whose ``replies`` is ``""`` or a nested Listing,
                                               and long threads end in a ``more`` stub.
``GET /api/morechildren[.json]``               ``api_type=json&link_id=t3_..&children=id,id`` (at most 100)
                                               -> ``{"json": {"errors": [], "data": {"things": [...]}}}``,
                                               the comments behind a ``more`` stub, flat.
``GET /comments/{id}.json?comment=ID``         that comment's subtree ("continue this thread").
``POST /api/v1/access_token``                  client-credentials grant (HTTP Basic client id/secret).
``GET /robots.txt``                            ``Disallow: /`` for unknown crawlers, as Reddit's does.

A request carrying ``Authorization: bearer ...`` is an OAuth-host request and its token must be
one this fake issued. Without ``raw_json=1`` text fields come back HTML-escaped (``&amp;``), as
Reddit's legacy JSON does. A missing or stock library user agent gets 429, as on Reddit.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
import secrets
import time
from pathlib import Path

from pipelines.paths import DATA_DIR

from .server import FakeService, Request

SAMPLES = DATA_DIR / "samples" / "reddit" / "posts.json"
_JSON = {"Content-Type": "application/json; charset=UTF-8"}
_BLOCKED_AGENTS = ("python-requests", "scrapy/", "curl/", "python-urllib")


def load_posts(path: Path | str = SAMPLES) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]


class FakeReddit(FakeService):
    """Reddit search and comments. ``page_cap`` makes the server return fewer items per page
    than asked for (Reddit does this too), which forces pagination with small samples."""

    def __init__(self, posts: list[dict] | None = None, *, page_cap: int | None = None,
                 clients: dict[str, str] | None = None, require_oauth: bool = False,
                 max_depth: int | None = None, ratelimit: tuple[int, float] | None = None) -> None:
        super().__init__()
        self.posts: list[dict] = copy.deepcopy(posts) if posts is not None else load_posts()
        self.page_cap = page_cap
        self.clients = clients if clients is not None else {"test-client": "test-secret"}
        self.require_oauth = require_oauth
        self.tokens: set[str] = set()
        # Replies deeper than this come back as "continue this thread" stubs, as on Reddit.
        self.max_depth = max_depth
        # (requests per window, seconds to the reset) for the x-ratelimit-* headers; Reddit's is 600/600 s.
        self.ratelimit = ratelimit

    # ---- test helpers ------------------------------------------------------------------------

    def post(self, post_id: str) -> dict:
        for p in self.posts:
            if p["id"] == post_id:
                return p
        raise KeyError(post_id)

    def comment(self, comment_id: str) -> dict:
        def walk(items):
            for c in items:
                if c["id"] == comment_id:
                    return c
                found = walk(c["replies"])
                if found:
                    return found
            return None

        for p in self.posts:
            found = walk(p["comments"])
            if found:
                return found
        raise KeyError(comment_id)

    def edit_post(self, post_id: str, selftext: str) -> dict:
        p = self.post(post_id)
        p["selftext"] = selftext
        p["edited"] = float(p["created_utc"] + 3600)
        return p

    def edit_comment(self, comment_id: str, body: str) -> dict:
        c = self.comment(comment_id)
        c["body"] = body
        c["edited"] = float(c["created_utc"] + 1800)
        return c

    def add_post(self, post: dict) -> None:
        post = {"edited": False, "comments": [], "score": 1, **post}
        self.posts.append(post)

    # ---- routing -----------------------------------------------------------------------------

    def handle(self, req: Request):
        if req.path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /\n"
        if req.path == "/api/v1/access_token":
            return self._token(req)
        agent = req.headers.get("user-agent", "").lower()
        if not agent or agent.startswith(_BLOCKED_AGENTS):
            return 429, _JSON, json.dumps({"message": "Too Many Requests", "error": 429}).encode()
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            if auth.split(" ", 1)[1].strip() not in self.tokens:
                return 401, {**_JSON, "www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}, \
                    json.dumps({"message": "Unauthorized", "error": 401}).encode()
        elif self.require_oauth:
            return 403, _JSON, json.dumps({"message": "Forbidden", "error": 403}).encode()
        raw = req.arg("raw_json") == "1"
        path = req.path[:-5] if req.path.endswith(".json") else req.path
        m = re.fullmatch(r"(?:/r/([A-Za-z0-9_]+))?/search/?", path)
        if m:
            sub = m.group(1) if req.arg("restrict_sr") in ("1", "true", "on") else None
            return 200, self._ratelimit(), _dump(self._search(req, sub), raw)
        m = re.fullmatch(r"(?:/r/[^/]+)?/comments/([a-z0-9]+)(?:/[^/]*)?/?", path)
        if m:
            try:
                post = self.post(m.group(1))
            except KeyError:
                return 404, _JSON, json.dumps({"message": "Not Found", "error": 404}).encode()
            return 200, self._ratelimit(), _dump(self._comments(post, focus=req.arg("comment")), raw)
        if path == "/api/morechildren":
            return self._more_children(req, raw)
        return 404, _JSON, json.dumps({"message": "Not Found", "error": 404}).encode()

    def _ratelimit(self) -> dict[str, str]:
        used = len(self.requests)
        if self.ratelimit:
            window, reset = self.ratelimit
            return {**_JSON, "x-ratelimit-used": str(used), "x-ratelimit-remaining": f"{max(0, window - used):.1f}",
                    "x-ratelimit-reset": f"{reset:g}"}
        return {**_JSON, "x-ratelimit-used": str(used), "x-ratelimit-remaining": str(max(0, 600 - used)),
                "x-ratelimit-reset": str(600 - int(time.time()) % 600)}

    def _token(self, req: Request):
        if req.method != "POST":
            return 404, _JSON, json.dumps({"message": "Not Found", "error": 404}).encode()
        auth = req.headers.get("authorization", "")
        try:
            cid, secret = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)
        except Exception:  # noqa: BLE001 - any malformed header is simply unauthorised
            cid, secret = "", None
        if self.clients.get(cid) != secret or not auth.lower().startswith("basic "):
            return 401, _JSON, json.dumps({"message": "Unauthorized", "error": 401}).encode()
        if req.form().get("grant_type", [""])[0] != "client_credentials":
            return 200, _JSON, json.dumps({"error": "unsupported_grant_type"}).encode()
        token = "-" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, _JSON, json.dumps(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}).encode()

    # ---- listings ----------------------------------------------------------------------------

    def _search(self, req: Request, subreddit: str | None = None) -> dict:
        words = [w.lower() for w in re.findall(r"\w+", req.arg("q") or "")]
        hits = [p for p in self.posts
                if words and all(w in (p["title"] + " " + p["selftext"]).lower() for w in words)
                and (subreddit is None or p["subreddit"].lower() == subreddit.lower())]
        sort = req.arg("sort") or "relevance"
        if sort == "new":
            hits.sort(key=lambda p: p["created_utc"], reverse=True)
        elif sort in ("top", "relevance"):
            hits.sort(key=lambda p: p["score"], reverse=True)
        limit = max(1, min(100, int(req.arg("limit") or 25)))
        if self.page_cap:
            limit = min(limit, self.page_cap)
        start = 0
        after = req.arg("after")
        if after:
            names = [f"t3_{p['id']}" for p in hits]
            start = names.index(after) + 1 if after in names else len(hits)
        page = hits[start:start + limit]
        more = start + limit < len(hits)
        return _listing([{"kind": "t3", "data": self._post_data(p)} for p in page],
                        after=f"t3_{page[-1]['id']}" if page and more else None)

    def _post_data(self, p: dict) -> dict:
        permalink = f"/r/{p['subreddit']}/comments/{p['id']}/{_slug(p['title'])}/"
        return {
            "approved_at_utc": None,
            "subreddit": p["subreddit"],
            "selftext": p["selftext"],
            "author_fullname": "t2_" + hashlib.sha1(p["author"].encode()).hexdigest()[:8],
            "title": p["title"],
            "subreddit_name_prefixed": f"r/{p['subreddit']}",
            "name": f"t3_{p['id']}",
            "upvote_ratio": 0.95,
            "ups": p["score"],
            "score": p["score"],
            "num_comments": _count(p["comments"]) + (p.get("more") or {}).get("count", 0),
            "created": float(p["created_utc"]),
            "created_utc": float(p["created_utc"]),
            "edited": p.get("edited", False),
            "is_self": True,
            "over_18": False,
            "link_flair_text": None,
            "author": p["author"],
            "permalink": permalink,
            "url": f"https://www.reddit.com{permalink}",
            "id": p["id"],
            "subreddit_type": "public",
            "selftext_html": f"<!-- SC_OFF --><div class=\"md\"><p>{html.escape(p['selftext'])}</p></div><!-- SC_ON -->",
        }

    def _more_children(self, req: Request, raw: bool):
        link = req.arg("link_id") or ""
        ids = [i for i in (req.arg("children") or "").split(",") if i]
        if req.arg("api_type") != "json" or not link.startswith("t3_") or not ids or len(ids) > 100:
            return 200, _JSON, json.dumps({"json": {"errors": [["BAD_REQUEST", "bad morechildren call", "children"]]}}).encode()
        try:
            post = self.post(link[3:])
        except KeyError:
            return 404, _JSON, json.dumps({"message": "Not Found", "error": 404}).encode()
        hidden = {c["id"]: c for c in ((post.get("more") or {}).get("comments") or [])}
        things = []
        for cid in ids:
            if cid in hidden:
                tree = self._thing(post, hidden[cid], link, 0)
                # morechildren answers flat: each comment once, replies listed after it, no nesting.
                stack = [tree]
                while stack:
                    t = stack.pop(0)
                    rep = t["data"]["replies"]
                    t["data"]["replies"] = ""
                    things.append(t)
                    if rep:
                        stack[:0] = rep["data"]["children"]
        return 200, self._ratelimit(), _dump({"json": {"errors": [], "data": {"things": things}}}, raw)

    def _thing(self, p: dict, c: dict, parent: str, depth: int) -> dict:
        return self._comments(p, _one=(c, parent, depth))

    def _comments(self, p: dict, focus: str | None = None, _one=None):
        post_listing = _listing([{"kind": "t3", "data": self._post_data(p)}], after=None)
        permalink = f"/r/{p['subreddit']}/comments/{p['id']}/{_slug(p['title'])}/"

        def thing(c: dict, parent: str, depth: int, base: int = 0) -> dict:
            if self.max_depth is not None and depth - base >= self.max_depth and c["replies"]:
                replies = [{"kind": "more", "data": {"count": 0, "name": "t1__", "id": "_", "parent_id": f"t1_{c['id']}",
                                                     "depth": depth + 1, "children": []}}]
            else:
                replies = [thing(r, f"t1_{c['id']}", depth + 1, base) for r in c["replies"]]
            return {"kind": "t1", "data": {
                "subreddit": p["subreddit"],
                "id": c["id"],
                "name": f"t1_{c['id']}",
                "author": c["author"],
                "body": c["body"],
                "body_html": f"<div class=\"md\"><p>{html.escape(c['body'])}</p></div>",
                "created": float(c["created_utc"]),
                "created_utc": float(c["created_utc"]),
                "edited": c.get("edited", False),
                "score": c["score"],
                "ups": c["score"],
                "parent_id": parent,
                "link_id": f"t3_{p['id']}",
                "permalink": f"{permalink}{c['id']}/",
                "depth": depth,
                "replies": _listing(replies, after=None) if replies else "",
            }}

        if _one is not None:
            return thing(*_one)
        if focus:
            def find(items, parent, depth):
                for c in items:
                    if c["id"] == focus:
                        return c, parent, depth
                    got = find(c["replies"], f"t1_{c['id']}", depth + 1)
                    if got:
                        return got
                return None

            got = find(p["comments"], f"t3_{p['id']}", 0)
            top = [thing(got[0], got[1], got[2], base=got[2])] if got else []
            return [post_listing, _listing(top, after=None)]
        top = [thing(c, f"t3_{p['id']}", 0) for c in p["comments"]]
        if p.get("more"):
            m = p["more"]
            top.append({"kind": "more", "data": {"count": m["count"], "name": f"t1_{m['id']}", "id": m["id"],
                                                 "parent_id": f"t3_{p['id']}", "depth": 0,
                                                 "children": [c["id"] for c in m.get("comments") or []]
                                                 or m["children"]}})
        return [post_listing, _listing(top, after=None)]


def _count(comments: list[dict]) -> int:
    return sum(1 + _count(c["replies"]) for c in comments)


def _listing(children: list, after: str | None) -> dict:
    return {"kind": "Listing", "data": {"after": after, "dist": len(children) or None, "modhash": "",
                                        "geo_filter": "", "children": children, "before": None}}


def _escape_strings(obj):
    # Reddit's legacy JSON escapes &, < and > in every string unless raw_json=1 is asked for.
    if isinstance(obj, str):
        return obj.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(obj, list):
        return [_escape_strings(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _escape_strings(v) for k, v in obj.items()}
    return obj


def _dump(payload, raw: bool) -> bytes:
    return json.dumps(payload if raw else _escape_strings(payload), ensure_ascii=False).encode()
