"""A local stand-in for the YouTube Data API v3, from ``data/samples/youtube/videos.json``.

Routes (under ``/youtube/v3``, as on ``https://www.googleapis.com``):

``search``          ``part=snippet&q=...&type=video&maxResults (0-50, default 5)&order&pageToken``
                    -> ``youtube#searchListResponse`` with ``items[].id.videoId`` and ``nextPageToken``.
``videos``          ``part=snippet&id=ID,ID`` -> ``youtube#videoListResponse`` (the channel of a video).
``commentThreads``  ``part=snippet,replies&videoId=...&maxResults (1-100, default 20)&pageToken``
                    -> ``youtube#commentThreadListResponse``; each thread has
                    ``snippet.topLevelComment.snippet`` and, when answered, ``replies.comments``
                    (at most 5 here, as the API returns only a subset of a long thread).
``commentThreads``  also ``id=THREAD,THREAD`` (instead of ``videoId``): those threads, no paging.
``comments``        ``part=snippet&parentId=...`` -> every reply of one thread.

The key is read from ``key=`` or the ``X-Goog-Api-Key`` header (Google accepts both).
Errors use Google's JSON error shape: no key -> 403 ``forbidden`` ("The request is missing a
valid API key."), a wrong key -> 400 ``badRequest`` / ``API_KEY_INVALID``, quota spent -> 403
``quotaExceeded``, comments off -> 403 ``commentsDisabled``, unknown video -> 404
``videoNotFound``. Quota is counted per call like the real service (search 100, others 1).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
from pathlib import Path

from pipelines.paths import DATA_DIR

from .server import FakeService, Request

SAMPLES = DATA_DIR / "samples" / "youtube" / "videos.json"
_JSON = {"Content-Type": "application/json; charset=UTF-8"}
COST = {"search": 100, "videos": 1, "commentThreads": 1, "comments": 1}
REPLIES_INLINE = 5


def load_videos(path: Path | str = SAMPLES) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _etag(obj) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).digest()).decode()[:27]


def _token(kind: str, offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([kind, offset, scope]).encode()).decode().rstrip("=")


def _untoken(token: str, kind: str, scope: str) -> int | None:
    try:
        k, offset, s = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except Exception:  # noqa: BLE001 - any garbage token is simply invalid
        return None
    return offset if k == kind and s == scope and isinstance(offset, int) else None


def error(code: int, message: str, reason: str, domain: str = "global", status: str | None = None,
          details: list | None = None) -> tuple[int, dict[str, str], bytes]:
    """A response in the Google API error format."""
    body: dict = {"error": {"code": code, "message": message,
                            "errors": [{"message": message, "domain": domain, "reason": reason}]}}
    if status:
        body["error"]["status"] = status
    if details:
        body["error"]["details"] = details
    return code, _JSON, json.dumps(body).encode()


def _html_display(text: str) -> str:
    # textDisplay is HTML: escaped text, <br> for newlines, links wrapped in <a>.
    out = html.escape(text, quote=True).replace("\n", "<br>")
    return re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', out)


class FakeYouTube(FakeService):
    """YouTube Data API v3. ``keys``: accepted API keys; ``quota``: units left today;
    ``page_cap``: fewer items per page than asked for, to force pagination with small samples."""

    def __init__(self, videos: list[dict] | None = None, *, keys: set[str] | None = None,
                 quota: int = 10_000, page_cap: int | None = None) -> None:
        super().__init__()
        self.videos: list[dict] = copy.deepcopy(videos) if videos is not None else load_videos()
        self.keys = keys if keys is not None else {"test-key"}
        self.quota = quota
        self.quota_used = 0
        self.page_cap = page_cap

    # ---- test helpers ------------------------------------------------------------------------

    def video(self, video_id: str) -> dict:
        for v in self.videos:
            if v["videoId"] == video_id:
                return v
        raise KeyError(video_id)

    def comment(self, comment_id: str) -> dict:
        for v in self.videos:
            for c in v["comments"]:
                if c["id"] == comment_id:
                    return c
                for r in c["replies"]:
                    if r["id"] == comment_id:
                        return r
        raise KeyError(comment_id)

    def edit_comment(self, comment_id: str, text: str, updated_at: str = "2024-03-10T10:00:00Z") -> dict:
        c = self.comment(comment_id)
        c["text"] = text
        c["updatedAt"] = updated_at
        return c

    def add_comment(self, video_id: str, comment: dict) -> None:
        """Newest first, as the API orders threads by time."""
        self.video(video_id)["comments"].insert(0, {"likeCount": 0, "replies": [], **comment})

    # ---- routing -----------------------------------------------------------------------------

    def handle(self, req: Request):
        m = re.fullmatch(r"/youtube/v3/(search|videos|commentThreads|comments)", req.path)
        if not m:
            return error(404, "Not Found", "notFound")
        method = m.group(1)
        key = req.arg("key") or req.headers.get("x-goog-api-key")
        if not key:
            return error(403, "The request is missing a valid API key.", "forbidden", status="PERMISSION_DENIED")
        if key not in self.keys:
            return error(400, "API key not valid. Please pass a valid API key.", "badRequest",
                         status="INVALID_ARGUMENT",
                         details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                   "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}])
        if self.quota_used + COST[method] > self.quota:
            return error(403, "The request cannot be completed because you have exceeded your "
                              "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                         "quotaExceeded", domain="youtube.quota")
        if not req.arg("part"):
            return error(400, "No filter selected. Expected one of: id, myRating, chart", "missingRequiredParameter",
                         domain="youtube.parameter")
        self.quota_used += COST[method]
        return getattr(self, "_" + method)(req)

    def _page(self, req: Request, items: list, kind: str, scope: str, default: int, cap: int):
        size = int(req.arg("maxResults") or default)
        if not 0 <= size <= cap:
            return None, None, error(400, f"Invalid value '{size}'. Values must be within the range: [1, {cap}]",
                                     "invalidParameter", domain="youtube.parameter")
        if self.page_cap:
            size = min(size, self.page_cap)
        start = 0
        token = req.arg("pageToken")
        if token:
            start = _untoken(token, kind, scope)
            if start is None:
                return None, None, error(400, "The request specifies an invalid page token.", "invalidPageToken",
                                         domain="youtube.parameter")
        page = items[start:start + size]
        nxt = _token(kind, start + size, scope) if start + size < len(items) else None
        return page, nxt, None

    def _search(self, req: Request):
        words = [w.lower() for w in re.findall(r"\w+", req.arg("q") or "")]
        hits = [v for v in self.videos if all(w in (v["title"] + " " + v["description"]).lower() for w in words)]
        if (req.arg("order") or "relevance") == "date":
            hits.sort(key=lambda v: v["publishedAt"], reverse=True)
        page, nxt, err = self._page(req, hits, "search", req.arg("q") or "", 5, 50)
        if err:
            return err
        items = [{
            "kind": "youtube#searchResult",
            "etag": _etag(v["videoId"]),
            "id": {"kind": "youtube#video", "videoId": v["videoId"]},
            "snippet": self._video_snippet(v) | {"publishTime": v["publishedAt"]},
        } for v in page]
        body = {"kind": "youtube#searchListResponse", "etag": _etag(items), "regionCode": "ID",
                "pageInfo": {"totalResults": len(hits), "resultsPerPage": len(items)}, "items": items}
        if nxt:
            body["nextPageToken"] = nxt
        return 200, _JSON, json.dumps(body, ensure_ascii=False).encode()

    def _video_snippet(self, v: dict) -> dict:
        return {
            "publishedAt": v["publishedAt"],
            "channelId": v["channelId"],
            "title": v["title"],
            "description": v["description"],
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{v['videoId']}/default.jpg",
                                       "width": 120, "height": 90}},
            "channelTitle": v["channelTitle"],
            "liveBroadcastContent": "none",
        }

    def _videos(self, req: Request):
        ids = [i for i in (req.arg("id") or "").split(",") if i]
        items = []
        for vid in ids:
            try:
                v = self.video(vid)
            except KeyError:
                continue  # unknown ids are left out, not an error
            items.append({"kind": "youtube#video", "etag": _etag(vid), "id": vid, "snippet": self._video_snippet(v)})
        body = {"kind": "youtube#videoListResponse", "etag": _etag(items),
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}, "items": items}
        return 200, _JSON, json.dumps(body, ensure_ascii=False).encode()

    def _comment(self, c: dict, v: dict, parent: str | None, plain: bool) -> dict:
        snippet = {
            "channelId": v["channelId"],
            "videoId": v["videoId"],
            "textDisplay": c["text"] if plain else _html_display(c["text"]),
            "textOriginal": c["text"],
            "authorDisplayName": c["author"],
            "authorProfileImageUrl": "https://yt3.ggpht.com/ytc/default-user=s48-c-k-c0x00ffffff-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/{c['author']}",
            "authorChannelId": {"value": c["authorChannelId"]},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": c["likeCount"],
            "publishedAt": c["publishedAt"],
            "updatedAt": c["updatedAt"],
        }
        if parent:
            snippet["parentId"] = parent
        return {"kind": "youtube#comment", "etag": _etag(c), "id": c["id"], "snippet": snippet}

    def _commentThreads(self, req: Request):
        vid = req.arg("videoId")
        if req.arg("id") and not vid:
            return self._threads_by_id(req)
        if not vid:
            return error(400, "No filter selected. Expected one of: allThreadsRelatedToChannelId, id, videoId",
                         "missingRequiredParameter", domain="youtube.parameter")
        try:
            v = self.video(vid)
        except KeyError:
            return error(404, "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">"
                              "videoId</a></code> parameter could not be found.", "videoNotFound",
                         domain="youtube.commentThread")
        if v.get("commentsDisabled"):
            return error(403, "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">"
                              "videoId</a></code> parameter has disabled comments.", "commentsDisabled",
                         domain="youtube.commentThread")
        page, nxt, err = self._page(req, v["comments"], "threads", vid, 20, 100)
        if err:
            return err
        return self._threads_body(req, v, page, nxt)

    def _threads_by_id(self, req: Request):
        """``commentThreads?id=ID,ID``: those threads (ids of no thread are left out), no paging."""
        ids = [i for i in (req.arg("id") or "").split(",") if i]
        for v in self.videos:
            page = [c for c in v["comments"] if c["id"] in ids]
            if page:
                return self._threads_body(req, v, page, None)
        return self._threads_body(req, {"channelId": "", "videoId": ""}, [], None)

    def _threads_body(self, req: Request, v: dict, page: list, nxt: str | None):
        vid = v["videoId"]
        plain = req.arg("textFormat") == "plainText"
        want_replies = "replies" in (req.arg("part") or "")
        items = []
        for c in page:
            thread = {
                "kind": "youtube#commentThread",
                "etag": _etag(c),
                "id": c["id"],
                "snippet": {"channelId": v["channelId"], "videoId": vid,
                            "topLevelComment": self._comment(c, v, None, plain),
                            "canReply": True, "totalReplyCount": len(c["replies"]), "isPublic": True},
            }
            if want_replies and c["replies"]:
                # The API returns only some replies inline; comments.list has them all.
                thread["replies"] = {"comments": [self._comment(r, v, c["id"], plain)
                                                  for r in c["replies"][:REPLIES_INLINE]]}
            items.append(thread)
        body = {"kind": "youtube#commentThreadListResponse", "etag": _etag(items),
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}, "items": items}
        if nxt:
            body["nextPageToken"] = nxt
        return 200, _JSON, json.dumps(body, ensure_ascii=False).encode()

    def _comments(self, req: Request):
        parent = req.arg("parentId")
        if not parent:
            return error(400, "No filter selected. Expected one of: id, parentId", "missingRequiredParameter",
                         domain="youtube.parameter")
        for v in self.videos:
            for c in v["comments"]:
                if c["id"] == parent:
                    page, nxt, err = self._page(req, c["replies"], "replies", parent, 20, 100)
                    if err:
                        return err
                    plain = req.arg("textFormat") == "plainText"
                    items = [self._comment(r, v, parent, plain) for r in page]
                    body = {"kind": "youtube#commentListResponse", "etag": _etag(items), "items": items}
                    if nxt:
                        body["nextPageToken"] = nxt
                    return 200, _JSON, json.dumps(body, ensure_ascii=False).encode()
        return error(404, "The comment identified by the <code>parentId</code> parameter could not be found.",
                     "commentNotFound", domain="youtube.comment")
