"""A local stand-in for Apple's public customer-reviews feed (JSON flavour).

Serves ``/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json`` exactly
as iTunes does: ``{"feed": {"author", "entry", "updated", "rights", "title", "icon", "link",
"id"}}`` where every scalar is wrapped as ``{"label": ...}``; each review entry has ``author``
(``uri``, ``name``, ``label``), ``updated`` (Pacific time with offset), ``im:rating``,
``im:version``, ``id``, ``title``, ``content`` (``attributes.type = text``), ``link``
(rel ``related``), ``im:voteSum``, ``im:contentType`` and ``im:voteCount``. The feed's
``link`` list carries rel ``alternate``, ``self``, ``first``, ``last``, ``previous`` and
``next``; like Apple's, the paging links point at the ``/xml?urlDesc=...`` flavour, so a
client must read the page number out of them rather than follow them. Pages hold 50
reviews, newest first, and stop at page 10. A page past the end has no ``entry`` key; a
page with one review has ``entry`` as an object, not a list (both as Apple does).
``app_entry=True`` puts the app's own metadata entry first on page 1, as the feed did for
years. ``/robots.txt`` serves :attr:`FakeAppStore.robots`.

Reviews come from ``data/samples/appstore/*.json`` (synthetic, see data/samples/README.md).
"""

from __future__ import annotations

import copy
import json
import re
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipelines.paths import DATA_DIR

from .server import FakeService, Request

SAMPLES_DIR = DATA_DIR / "samples" / "appstore"
PAGE_SIZE = 50
MAX_PAGES = 10
PACIFIC = timezone(timedelta(hours=-7))
_PATH = re.compile(
    r"^/(?P<country>[a-z]{2})/rss/customerreviews/(?:page=(?P<page>\d+)/)?id=(?P<app>\d+)"
    r"(?:/sortby=(?P<sort>[a-z]+))?/(?P<fmt>json|xml)$",
    re.IGNORECASE,
)


def load_samples(folder: Path | str = SAMPLES_DIR) -> dict[str, dict]:
    """app id -> sample app (``name``, ``country``, ``reviews`` newest first); fresh copies."""
    apps = {}
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        apps[str(data["app_id"])] = data
    return apps


def _label(value) -> dict:
    return {"label": "" if value is None else str(value)}


class FakeAppStore(FakeService):
    """``FakeAppStore()`` serves the shipped samples; ``apps=`` or :meth:`add_review` change them."""

    def __init__(self, apps: dict[str, dict] | None = None, *, page_size: int = PAGE_SIZE,
                 app_entry: bool = False, robots: str = "User-agent: *\nDisallow:\n"):
        super().__init__()
        self.apps = copy.deepcopy(apps) if apps is not None else load_samples()
        self.page_size = page_size
        self.app_entry = app_entry
        self.robots = robots
        self.host = "https://itunes.apple.com"  # what the feed's own links say, as Apple's do

    # ---- editing the data (tests) -------------------------------------------------------------

    def reviews(self, app_id: str) -> list[dict]:
        return self.apps[str(app_id)]["reviews"]

    def add_review(self, app_id: str, review: dict) -> None:
        """A new review (newest first)."""
        self.reviews(app_id).insert(0, review)

    def edit_review(self, review_id: str, **changes) -> dict:
        """Edit a review in place; an edit moves its ``updated`` time forward, as on the App Store."""
        for app in self.apps.values():
            for i, r in enumerate(app["reviews"]):
                if r["id"] == str(review_id):
                    r.update(changes)
                    if "updated" not in changes:
                        newest = max(datetime.fromisoformat(x["updated"]) for x in app["reviews"])
                        r["updated"] = (newest + timedelta(minutes=5)).astimezone(PACIFIC).isoformat()
                    app["reviews"].insert(0, app["reviews"].pop(i))  # most recent first
                    return r
        raise KeyError(review_id)

    # ---- wire format ------------------------------------------------------------------------

    def _entry(self, country: str, app_id: str, r: dict) -> dict:
        return {
            "author": {
                "uri": _label(f"{self.host}/{country}/reviews/id{zlib.crc32(r['author'].encode('utf-8'))}"),
                "name": _label(r["author"]),
                "label": "",
            },
            "updated": _label(r["updated"]),
            "im:rating": _label(r["rating"]),
            "im:version": _label(r.get("version", "")),
            "id": _label(r["id"]),
            "title": _label(r.get("title", "")),
            "content": {"label": r.get("content", ""), "attributes": {"type": "text"}},
            "link": {"attributes": {"rel": "related",
                                    "href": f"{self.host}/{country}/review?id={app_id}&type=Purple%20Software"}},
            "im:voteSum": _label(r.get("voteSum", 0)),
            "im:contentType": {"attributes": {"term": "Application", "label": "Aplikasi"}},
            "im:voteCount": _label(r.get("voteCount", 0)),
        }

    def _app_entry(self, country: str, app_id: str, app: dict) -> dict:
        return {
            "im:name": _label(app.get("name", "")),
            "rights": _label("© Pemerintah Kota Tangerang Selatan"),
            "im:price": {"label": "Dapatkan", "attributes": {"amount": "0.00000", "currency": "IDR"}},
            "im:image": [{"label": "https://is1-ssl.mzstatic.com/image/thumb/x/53x53bb.png",
                          "attributes": {"height": "53"}}],
            "im:artist": {"label": "Pemerintah Kota Tangerang Selatan"},
            "title": _label(f"{app.get('name', '')} - Pemerintah Kota Tangerang Selatan"),
            "link": {"attributes": {"rel": "alternate", "type": "text/html",
                                    "href": f"https://apps.apple.com/{country}/app/id{app_id}?uo=2"}},
            "id": {"label": f"https://apps.apple.com/{country}/app/id{app_id}?uo=2",
                   "attributes": {"im:id": app_id, "im:bundleId": f"id.go.tangerangselatankota.{app_id}"}},
            "im:contentType": {"attributes": {"term": "Application", "label": "Aplikasi"}},
            "category": {"attributes": {"im:id": "6012", "term": "Lifestyle", "scheme": "", "label": "Gaya Hidup"}},
            "im:releaseDate": {"label": "2021-03-01T00:00:00-07:00"},
        }

    def page(self, country: str, app_id: str, n: int) -> dict:
        """The feed document of page ``n`` (1-based)."""
        app = self.apps.get(app_id)
        reviews = app["reviews"] if app else []
        pages = max(1, min(MAX_PAGES, -(-len(reviews) // self.page_size)))
        chunk = reviews[(n - 1) * self.page_size : n * self.page_size] if n <= MAX_PAGES else []
        entries = [self._entry(country, app_id, r) for r in chunk]
        if self.app_entry and app and n == 1:
            entries.insert(0, self._app_entry(country, app_id, app))

        def link(rel: str, page: int) -> dict:
            href = (f"{self.host}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/xml"
                    f"?urlDesc=/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json")
            return {"attributes": {"rel": rel, "href": href}}

        json_self = f"{self.host}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json"
        feed: dict = {
            "author": {"name": _label("iTunes Store"), "uri": _label(f"http://www.apple.com/{country}/itunes/")},
        }
        if len(entries) == 1:
            feed["entry"] = entries[0]  # Apple's JSON turns a one-item list into an object
        elif entries:
            feed["entry"] = entries
        feed.update({
            "updated": _label(datetime.now(PACIFIC).replace(microsecond=0).isoformat()),
            "rights": _label("Copyright 2008 Apple Inc."),
            "title": _label("iTunes Store: Ulasan Pelanggan"),
            "icon": _label("http://itunes.apple.com/favicon.ico"),
            "link": [
                {"attributes": {"rel": "alternate", "type": "text/html",
                                "href": f"https://apps.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc={country}&id=1000"}},
                {"attributes": {"rel": "self", "href": json_self}},
                link("first", 1),
                link("last", pages),
                link("previous", max(1, n - 1)),
                link("next", min(pages, n + 1)),
            ],
            "id": _label(json_self),
        })
        return {"feed": feed}

    def handle(self, req: Request):
        if req.path == "/robots.txt":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, self.robots
        m = _PATH.match(req.path)
        if not m:
            return 404, {"Content-Type": "text/html; charset=utf-8"}, "<html><body>Not Found</body></html>"
        page = int(m["page"] or 1)
        if page > MAX_PAGES:
            # Apple answers deeper pages with an error document.
            return 400, {"Content-Type": "text/plain; charset=utf-8"}, "CustomerReviews RSS page depth is limited to 10"
        if m["fmt"].lower() != "json":
            return 501, {"Content-Type": "text/plain; charset=utf-8"}, "this fake serves the JSON flavour only"
        body = json.dumps(self.page(m["country"].lower(), m["app"], page), ensure_ascii=False)
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body
