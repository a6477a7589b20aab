"""A local Play Store: the batchexecute reviews RPC and the search page, in Google's formats.

It answers exactly what google-play-scraper parses (and so what :mod:`scraper.playstore`
parses): ``)]}'`` + a blank line, then the envelope
``[["wrb.fr","oCPfdb","<payload as a JSON string>",null,null,null,"generic"],["di",..],..]``
whose payload is ``[[review, ...], [null, "<next token>"], null]``: reviews at the
``ElementSpecs.Review`` positions, newest first, the next-page token at ``[-2][-1]`` (no
token on the last page). It honours the requested count and token, sets a session cookie
on the first answer, and serves ``/store/search`` pages with ``AF_initDataCallback`` data
blocks at the positions gps's search parser reads.

Sample reviews come from ``data/samples/playstore/*.json`` (synthetic, see the README
there) or are passed in; tests add, edit and reply to reviews while it runs. Faults are
injected with :meth:`FakeService.inject`; :func:`play_data_error_body` and
:func:`play_gateway_error_body` are the in-band errors Google sends inside an HTTP 200.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from pipelines.paths import DATA_DIR

from .server import FakeService, Request

SAMPLES_DIR = DATA_DIR / "samples" / "playstore"
RPC_REVIEWS = "oCPfdb"
PREFIX = ")]}'\n\n"


def _envelope(rpc: str, payload: str | None, error: list | None = None) -> str:
    entry = ["wrb.fr", rpc, payload, None, None, error, "generic"]
    return PREFIX + json.dumps([entry, ["di", 27], ["af.httprm", 26, "-1954651307460734612", 9]],
                               separators=(",", ":"))


def play_data_error_body() -> str:
    """The in-band error that makes gps's reviews() stop early (an HTTP 200 with no payload)."""
    return _envelope(RPC_REVIEWS, None, [5, None, [[
        "type.googleapis.com/wireless.android.finsky.boq.web.data.store.error.PlayDataError", [1]]]])


def play_gateway_error_body() -> str:
    """Google's rate-limit answer inside an HTTP 200."""
    return _envelope(RPC_REVIEWS, None, [8, None, [[
        "type.googleapis.com/com.google.play.gateway.proto.PlayGatewayError", [None, 2]]]])


def to_epoch(value) -> int:
    """ISO string (UTC if no zone), datetime (naive = UTC) or epoch seconds -> epoch seconds."""
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


class FakePlayStore(FakeService):
    """The reviews RPC and search page of one or more apps.

    ``apps`` maps an app id to ``{"title", "developer", "genre", "score", "installs",
    "reviews": [...]}``; each review uses google-play-scraper's export names (reviewId,
    userName, content, score, thumbsUpCount, at, replyContent, repliedAt, appVersion) with
    times as ISO strings or epoch seconds.
    """

    def __init__(self, apps: dict[str, dict] | None = None) -> None:
        super().__init__()
        self._data_lock = threading.RLock()
        self.apps: dict[str, dict] = {}
        self._serial = 0
        # Where the next-page token goes: "standard" ([-2] = [null, token]), or a shape a client
        # must not take for "no next page": "object", "moved" (at [-1], [-2] null), "bare" (text
        # at [-2]); "end-list" ends with gps's last-page marker, a list at [-2][-1].
        self.token_layout = "standard"
        # Search: where the top card ("best match") carries its app id: "standard" ([11][0][0], as
        # gps reads it), "moved" (Google's newer layout, gps issue #238: [11] is gone) or "none".
        self.top_layout = "standard"
        for app_id, app in (apps or {}).items():
            self.add_app(app_id, **{k: v for k, v in app.items() if k != "app_id" and not k.startswith("_")})

    # ---- data ---------------------------------------------------------------------------------

    @classmethod
    def from_samples(cls, app_id: str | None = None, samples_dir: Path | None = None) -> "FakePlayStore":
        """The shipped synthetic samples: every sample app, or only ``app_id``."""
        return cls(load_samples(app_id, samples_dir))

    def add_app(self, app_id: str, title: str = "", developer: str = "", genre: str = "Tools",
                score: float | None = None, installs: str = "1.000+", reviews=()) -> None:
        with self._data_lock:
            self.apps[app_id] = {"title": title or app_id, "developer": developer, "genre": genre,
                                 "score": score, "installs": installs, "reviews": {}}
            for r in reviews:
                self.add_review(app_id, **r)

    def add_review(self, app_id: str, content: str = "", score: int = 5, at=None, reviewId: str | None = None,
                   userName: str = "Pengguna Google", thumbsUpCount: int = 0, appVersion: str | None = None,
                   replyContent: str | None = None, repliedAt=None, reviewCreatedVersion: str | None = None,
                   userImage: str | None = None) -> str:
        """Add one review (``at`` defaults to now); returns its id."""
        with self._data_lock:
            self._serial += 1
            rid = reviewId or f"gp:AOqpTO{secrets.token_urlsafe(30)}{self._serial}"
            self.apps[app_id]["reviews"][rid] = {
                "reviewId": rid,
                "userName": userName,
                # A profile picture URL, as Google sends it; Suara must never store it.
                "userImage": userImage or f"https://play-lh.googleusercontent.com/a-/fake{self._serial}",
                "content": content,
                "score": int(score),
                "thumbsUpCount": int(thumbsUpCount or 0),
                "at": to_epoch(at if at is not None else datetime.now(timezone.utc)),
                "nanos": (self._serial * 7919 % 1000) * 1_000_000,
                "appVersion": appVersion or reviewCreatedVersion,
                "replyContent": replyContent,
                "repliedAt": to_epoch(repliedAt) if repliedAt is not None else None,
            }
            return rid

    def edit_review(self, app_id: str, review_id: str, content: str | None = None, score: int | None = None,
                    at=None) -> None:
        """An author edits a review: new text, new time (it moves to the top of 'newest')."""
        with self._data_lock:
            r = self.apps[app_id]["reviews"][review_id]
            if content is not None:
                r["content"] = content
            if score is not None:
                r["score"] = int(score)
            r["at"] = to_epoch(at if at is not None else datetime.now(timezone.utc))

    def reply(self, app_id: str, review_id: str, text: str, at=None) -> None:
        """The developer replies (the review keeps its place and time)."""
        with self._data_lock:
            r = self.apps[app_id]["reviews"][review_id]
            r["replyContent"] = text
            r["repliedAt"] = to_epoch(at if at is not None else datetime.now(timezone.utc))

    def newest_first(self, app_id: str) -> list[dict]:
        with self._data_lock:
            app = self.apps.get(app_id)
            reviews = list(app["reviews"].values()) if app else []
        return sorted(reviews, key=lambda r: (r["at"], r["reviewId"]), reverse=True)

    @property
    def review_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/data/batchexecute")]

    # ---- wire format --------------------------------------------------------------------------

    @staticmethod
    def review_array(r: dict) -> list:
        """One review at google-play-scraper's ``ElementSpecs.Review`` positions."""
        reply = None
        if r.get("replyContent"):
            reply = [None, r["replyContent"], [r["repliedAt"], 0] if r.get("repliedAt") else None]
        return [
            r["reviewId"],  # 0
            [r["userName"], [None, 2, None, [None, None, r["userImage"]]]],  # 1: name, picture
            r["score"],  # 2
            None,  # 3
            r["content"],  # 4
            [r["at"], r["nanos"]],  # 5: seconds (UTC) and nanoseconds
            r["thumbsUpCount"],  # 6
            reply,  # 7: developer reply [null, text, [seconds, nanos]]
            None,  # 8
            None,  # 9
            r["appVersion"],  # 10
            None,  # 11
            None,  # 12
        ]

    @staticmethod
    def _token(r: dict) -> str:
        # A cursor after the last review served, so new reviews arriving mid-crawl shift nothing.
        raw = json.dumps([r["at"], r["reviewId"]], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _cursor(token: str) -> tuple[int, str]:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, rid = json.loads(raw)
        return int(at), str(rid)

    def reviews_body(self, app_id: str, count: int, token: str | None) -> str:
        reviews = self.newest_first(app_id)
        if token:
            cursor = self._cursor(token)
            reviews = [r for r in reviews if (r["at"], r["reviewId"]) < cursor]
        page, rest = reviews[:count], reviews[count:]
        tok = self._token(page[-1]) if page and rest else None
        nxt = [None, tok] if tok else None
        payload = [[self.review_array(r) for r in page], nxt, None] if page else []
        layout = self.token_layout
        if page and layout == "end-list":  # gps's end test: a list at [-2][-1] on the last page
            payload[1] = nxt or [None, [None, 0]]
        elif tok and layout == "object":  # the token wrapped in an object
            payload[1] = [None, {"token": tok}]
        elif tok and layout == "moved":  # the holder one place later: [-2] is null
            payload[1], payload[2] = None, [None, tok]
        elif tok and layout == "bare":  # the token itself at [-2]
            payload[1] = tok
        return _envelope(RPC_REVIEWS, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    def search_page(self, query: str) -> str:
        words = [w for w in query.lower().split() if w]
        scored = []
        with self._data_lock:
            apps = list(self.apps.items())
        for app_id, app in apps:
            hay = f"{app_id} {app['title']} {app['developer']}".lower()
            hits = sum(w in hay for w in words)
            if hits:
                scored.append((-hits, app["title"], app_id, app))
        scored.sort()
        top = next((s for s in scored if s[3]["title"].lower() == query.strip().lower()), None)
        listed = [s for s in scored if s is not top]
        apps_json = [self._search_item(app_id, app) for _, _, app_id, app in listed]
        if top is not None:
            # Google shows an exact match as a big card above the list (gps: [0][1][0][23][16]).
            first = [None] * 23 + [[None] * 16 + [self._top_card(top[2], top[3])]]
            sections = [first, [None] * 22 + [[apps_json]]]
        else:
            sections = [[None] * 22 + [[apps_json]]]
        ds4 = [[None, sections]]
        blocks = [
            ("ds:0", [[None, "id"], None]),  # an unrelated block, as on the real page
            ("ds:4", ds4),
        ]
        scripts = "".join(
            f"<script class=\"{key}\" nonce=\"fake\">AF_initDataCallback({{key: '{key}', hash: '{i}', "
            f"data:{json.dumps(data, ensure_ascii=False)}, sideChannel: {{}}}});</script>"
            for i, (key, data) in enumerate(blocks, 1)
        )
        return (f"<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(query)} - Aplikasi Android di Google Play</title></head>"
                f"<body>{scripts}</body></html>")

    @staticmethod
    def _search_item(app_id: str, app: dict) -> list:
        inner = [None] * 16
        inner[0] = [app_id, 7]
        inner[1] = [None, 2, [512, 512], [None, None, f"https://play-lh.googleusercontent.com/icon-{app_id}"]]
        inner[2] = []
        inner[3] = app["title"]
        inner[4] = [f"{app['score'] or 0:.1f}", app["score"]]
        inner[5] = app["genre"]
        inner[8] = [None, [[0, "IDR"]]]
        inner[13] = [None, f"Aplikasi {app['title']}"]
        inner[14] = app["developer"]
        inner[15] = app["installs"]
        return [inner]

    @staticmethod
    def _top_item(app_id: str, app: dict) -> list:
        detail = [None] * 80
        detail[0] = [app["title"]]
        detail[13] = [app["installs"]]
        detail[51] = [[f"{app['score'] or 0:.1f}", app["score"]]]
        detail[68] = [app["developer"]]
        detail[79] = [[[app["genre"], None, app["genre"].upper()]]]
        item = [None] * 12
        item[2] = detail
        item[11] = [[app_id, 7]]
        return item

    def _top_card(self, app_id: str, app: dict) -> list:
        item = self._top_item(app_id, app)
        if self.top_layout == "moved":
            # As reported in gps #238: [11] is empty; the id is only in the card's details link
            # and in an [id, 7] pair further in.
            item[11] = None
            item[3] = {"12": [[app_id, 7]]}
            item[2][10] = [None, [None, None, f"/store/apps/details?id={app_id}"]]
        elif self.top_layout == "none":
            item[11] = None
        return item

    # ---- HTTP ---------------------------------------------------------------------------------

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if "nid=" not in req.headers.get("cookie", "").lower():
            headers["Set-Cookie"] = f"NID={secrets.token_hex(8)}; Path=/; HttpOnly"
        if req.method == "POST" and req.path == "/_/PlayStoreUi/data/batchexecute":
            parsed = self._parse_reviews_request(req)
            if parsed is None:
                return 400, {"Content-Type": "text/html"}, "<html><body>Error 400 (Bad Request)</body></html>"
            app_id, count, token = parsed
            try:
                body = self.reviews_body(app_id, count, token)
            except (ValueError, TypeError):  # an unreadable token
                return 400, {"Content-Type": "text/html"}, "<html><body>Error 400 (Bad Request)</body></html>"
            return 200, headers, body
        if req.method == "GET" and req.path == "/store/search":
            headers["Content-Type"] = "text/html; charset=utf-8"
            return 200, headers, self.search_page(req.arg("q", "") or "")
        return 404, {"Content-Type": "text/html"}, "<html><body>Error 404 (Not Found)</body></html>"

    @staticmethod
    def _parse_reviews_request(req: Request) -> tuple[str, int, str | None] | None:
        try:
            freq = json.loads(parse_qs(req.body.decode("utf-8"))["f.req"][0])
            rpc = next(c for c in freq[0] if c[0] == RPC_REVIEWS)
            inner = json.loads(rpc[1])
            paging = inner[1][2]
            count = int(paging[0])
            token = paging[2] if len(paging) > 2 else None
            app_id = inner[2][0]
        except (KeyError, IndexError, TypeError, ValueError, StopIteration, UnicodeDecodeError):
            return None
        if not isinstance(app_id, str) or count < 1:
            return None
        return app_id, count, token


def load_samples(app_id: str | None = None, samples_dir: Path | None = None) -> dict[str, dict]:
    """The sample apps in ``data/samples/playstore/*.json`` (one app per file)."""
    folder = Path(samples_dir) if samples_dir else SAMPLES_DIR
    apps: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if app_id is None or data["app_id"] == app_id:
            apps[data["app_id"]] = data
    if app_id is not None and app_id not in apps:
        raise KeyError(f"no sample app {app_id!r} in {folder}")
    return apps
