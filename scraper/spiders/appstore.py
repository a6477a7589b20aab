"""App Store reviews from Apple's public customer-reviews feed (JSON).

``{base}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json`` gives up
to 10 pages of 50 reviews, newest first; Apple serves no more than those 500. The feed's
``link`` list says which page is the last (its hrefs point at the XML flavour, so only the page
number is read from them). The crawl stops at the last page, at a page without entries, at page
10, or (incremental) at a page whose reviews are all stored unchanged and older than the
high-water mark of the last complete crawl. A page that is not a valid feed, or that failed
after retries, is logged with its URL and skipped: the following pages are still read, and the
crawl state stays incomplete so the next crawl walks every page again. A feed is not valid
when it is not UTF-8 JSON, when ``feed`` is not an object, when ``entry`` is neither a list nor
an object, or when a page has entries and none of them is a usable review. A single entry that
is malformed (no id, no text, a rating that is not a whole number from 1 to 5) is skipped and
counted: the crawl summary and ``suara status`` say how many and why.

The feed has no developer replies: ``reply_text``/``reply_at`` stay empty for this source.
"""

from __future__ import annotations

import json
import re

import scrapy

from pipelines.errors import InputError
from scraper.spiders.base import SuaraSpider
from scraper.tls import TLSRefused

MAX_PAGES = 10
_PAGE_IN_HREF = re.compile(r"/page=(\d+)/")
_REVIEWER_ID = re.compile(r"/reviews/id(\d+)")


def _label(obj, *path):
    """``entry["im:rating"]["label"]`` without KeyErrors: None when any step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def page_of_link(links, rel: str) -> int | None:
    """The page number in the feed link with this ``rel`` (``first``/``last``/``next``...)."""
    if isinstance(links, dict):
        links = [links]
    for link in links or []:
        attrs = _label(link, "attributes") or {}
        if attrs.get("rel") == rel:
            m = _PAGE_IN_HREF.search(attrs.get("href", ""))
            if m:
                return int(m.group(1))
    return None


def review_problem(e) -> str | None:
    """Why one feed entry is not a usable review (a counted reason), or None when it is one."""
    if not isinstance(e, dict):
        return "entries that are not objects"
    if not isinstance(_label(e, "id", "label"), str) or not _label(e, "id", "label").strip():
        return "entries without an id"
    rating = _label(e, "im:rating", "label")
    if not (isinstance(rating, (str, int)) and not isinstance(rating, bool) and str(rating).strip().isdigit()
            and 1 <= int(str(rating).strip()) <= 5):
        return "entries whose rating is not a whole number from 1 to 5"
    text = _label(e, "content", "label")
    if text is not None and not isinstance(text, str):
        return "entries whose text is not a string"
    if not (text or "").strip() and not str(_label(e, "title", "label") or "").strip():
        return "entries without review text"
    if not isinstance(_label(e, "updated", "label"), str):
        return "entries without a time"
    return None


class AppStoreSpider(SuaraSpider):
    name = "appstore"
    source = "appstore"
    target_arg = "app"
    base_url_setting = "SUARA_APPSTORE_URL"
    default_country = "id"
    # A documented public JSON feed meant for programs, not a web page: robots.txt rules for
    # crawlers of itunes.apple.com's HTML pages don't apply to it.
    custom_settings = {"ROBOTSTXT_OBEY": False}

    @classmethod
    def parse_args(cls, kwargs):
        target, lang, country, full, config = super().parse_args(kwargs)
        app_id = target[2:] if target.lower().startswith("id") else target
        if not app_id.isdigit():
            raise InputError(f"App Store app id must be digits (as in apps.apple.com/.../id123456789), got {target!r}")
        if not re.fullmatch(r"[a-z]{2}", country):
            raise InputError(f"App Store country must be two letters (e.g. id), got {country!r}")
        return app_id, lang, country, full, config

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_page = MAX_PAGES  # until a page's `last` link says otherwise
        self.last_known = False

    def page_url(self, page: int) -> str:
        return f"{self.base_url}/{self.country}/rss/customerreviews/page={page}/id={self.target}/sortby=mostrecent/json"

    def page_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(self.page_url(page), callback=self.parse_page, errback=self.page_failed,
                              cb_kwargs={"page": page}, dont_filter=True)

    async def start(self):
        yield self.page_request(1)

    def start_requests(self):  # Scrapy < 2.13
        yield self.page_request(1)

    def next_page(self, page: int, after_error: bool = False):
        # After a failed or malformed page, go on only when an earlier page said how many there are
        # (a failing first page usually means a wrong app id: don't hammer ten pages of it).
        if after_error and not self.last_known:
            return
        if page < min(self.last_page, MAX_PAGES):
            yield self.page_request(page + 1)

    def page_failed(self, failure):
        if failure.check(TLSRefused):  # scraper.tls logged it once for the host; nothing more to fetch there
            return
        request = failure.request
        page = request.cb_kwargs.get("page", MAX_PAGES)
        response = getattr(failure.value, "response", None)
        why = f"HTTP {response.status}" if response is not None else f"{type(failure.value).__name__}: {failure.value}"
        self.page_error(request.url, f"request failed ({why})")
        yield from self.next_page(page, after_error=True)

    def parse_page(self, response, page: int):
        try:
            feed = json.loads(response.body.decode("utf-8"))["feed"]
            if not isinstance(feed, dict):
                raise TypeError("'feed' is not an object")
            entries = feed.get("entry")
            if entries is not None and not isinstance(entries, (list, dict)):
                raise TypeError(f"'entry' is a {type(entries).__name__}, not a list of reviews")
        except UnicodeDecodeError as exc:
            self.page_error(response, f"not an App Store review feed (not UTF-8: {exc.reason} at byte {exc.start})")
            yield from self.next_page(page, after_error=True)
            return
        except (ValueError, KeyError, TypeError) as exc:
            self.page_error(response, f"not an App Store review feed ({type(exc).__name__}: {exc})")
            yield from self.next_page(page, after_error=True)
            return
        last = page_of_link(feed.get("link"), "last")
        if last:
            self.last_page, self.last_known = min(MAX_PAGES, last), True
        entries = entries or []
        if isinstance(entries, dict):
            entries = [entries]  # Apple's JSON turns a one-entry list into an object
        # The app's own metadata entry (page 1, older feeds) has no rating: not a review.
        reviews = [e for e in entries if not (isinstance(e, dict) and "im:rating" not in e and "im:name" in e)]
        items = []
        for e in reviews:
            problem = review_problem(e)
            if problem:
                self.skip(problem)
            else:
                items.append(self.review_item(e, response))
        if reviews and not items:
            self.page_error(response, f"none of the page's {len(reviews)} entries is a usable review")
            yield from self.next_page(page, after_error=True)
            return
        if not items:
            self.logger.info("%s: page %d has no reviews: end of feed", self.target, page)
            return
        known = self.page_is_known(items)
        yield from items
        if known:
            self.logger.info("%s: page %d holds only known reviews: incremental crawl stops", self.target, page)
            return
        yield from self.next_page(page)

    def review_item(self, e: dict, response):
        author_uri = _label(e, "author", "uri", "label") or ""
        reviewer = _REVIEWER_ID.search(author_uri)
        # The reviewer id is stable where the display name is not; both are pseudonymised.
        author = f"id{reviewer.group(1)}" if reviewer else _label(e, "author", "name", "label")
        updated = _label(e, "updated", "label")
        return self.mention(
            source_id=_label(e, "id", "label"),
            kind="review",
            author=author,
            title=_label(e, "title", "label"),
            text=_label(e, "content", "label"),
            rating=_label(e, "im:rating", "label"),
            created_at=updated,  # the feed gives one time: when the review was last written
            updated_at=updated,
            app_version=_label(e, "im:version", "label") or None,
            thumbs_up=_label(e, "im:voteSum", "label"),
            url=_label(e, "link", "attributes", "href") or response.url,
        )
