"""News articles that mention a query: GDELT DOC 2.0 article lists plus RSS/Atom feeds.

``scrapy crawl news -a query="Tangsel Smart City" [-a since=2024-01-01] [-a feeds=URL,URL]``

1. GDELT DOC 2.0 (``/api/v2/doc/doc?mode=ArtList&format=json``) lists articles that match the
   query in Indonesian-language sources (``sourcelang:indonesian``; ``sourcecountry`` on request)
   seen inside a date window. ArtList has no paging and returns at most ``maxrecords`` (250)
   articles, so a window that comes back full is split in two and asked again, down to one hour.
2. RSS/Atom feeds (from ``-a feeds=`` and the sources config) are read with feedparser; their
   entries are kept when the article text mentions the query.
3. Every article page is fetched (robots.txt obeyed) and trafilatura extracts the main text,
   title, outlet (site name) and language.

Publication time: the page's own metadata (``article:published_time``, JSON-LD
``datePublished``, ``<time datetime>``), else htmldate's reading of the page, keeps the exact
time; only when a page gives nothing but a calendar day is that day used (or GDELT's ``seendate``
when it falls on that day). A time without a zone is taken in the outlet's zone, Asia/Jakarta
(``DEFAULT_TZ``; every source this project reads is Indonesian), and stored as UTC.

One unusable entry (a GDELT row or feed entry whose URL is not ``http(s)://host/...``, e.g.
``javascript:...``) is skipped and counted; the rest of that answer is still fetched. GDELT's
``sourcecountry`` names are mapped to ISO codes with pycountry's full table.

Incremental: after a complete crawl the window starts two days before the newest stored article
(GDELT sees articles after they appear), and older feed entries are not fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy

from pipelines.errors import InputError
from scraper.spiders.base import SuaraSpider, truthy

OVERLAP = timedelta(days=2)
MIN_WINDOW = timedelta(hours=1)
DEFAULT_LOOKBACK = timedelta(days=90)  # GDELT DOC 2.0 searches the last three months
GDELT_LANGS = {"indonesian": "id", "english": "en", "malay": "ms", "javanese": "jv", "sundanese": "su"}
# GDELT's country names that pycountry does not know as such (GDELT uses FIPS 10-4 short names).
GDELT_COUNTRIES = {"south korea": "kr", "north korea": "kp", "russia": "ru", "vietnam": "vn", "iran": "ir",
                   "syria": "sy", "laos": "la", "burma": "mm", "taiwan": "tw", "bolivia": "bo",
                   "venezuela": "ve", "tanzania": "tz", "macedonia": "mk", "moldova": "md", "brunei": "bn",
                   "east timor": "tl", "ivory coast": "ci", "cote d'ivoire": "ci", "czech republic": "cz",
                   "palestine": "ps", "west bank": "ps", "gaza strip": "ps", "vatican city": "va",
                   "micronesia": "fm", "cape verde": "cv", "swaziland": "sz", "turkey": "tr",
                   "democratic republic of the congo": "cd", "republic of the congo": "cg",
                   "congo (kinshasa)": "cd", "congo (brazzaville)": "cg", "the bahamas": "bs",
                   "the gambia": "gm", "kosovo": "xk"}
DEFAULT_TZ = "Asia/Jakarta"  # zone of a publication time given without one (Indonesian outlets)
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|amp$|_ga$)")
_MAX_ID = 255
ALL_ENTRIES = ("*", "feeds")
MIN_ARTICLE_CHARS = 120


# ---- pure parsing helpers (no Scrapy, no network) --------------------------------------------------


def parse_day(value: str | None, what: str = "--since") -> datetime | None:
    """``2024-01-01`` (or a full ISO time) -> naive UTC; InputError naming the option otherwise."""
    if value in (None, ""):
        return None
    try:
        dt = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{what} must be a date like 2024-01-01, got {value!r}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def gdelt_query(query: str, sourcelang: str = "indonesian", sourcecountry: str = "") -> str:
    """The GDELT query string: the user's words (a multi-word query becomes a phrase) plus filters."""
    q = query.strip()
    if " " in q and not any(c in q for c in '"():'):
        q = f'"{q}"'
    parts = [q]
    if sourcelang:
        parts.append(f"sourcelang:{sourcelang}")
    if sourcecountry:
        parts.append(f"sourcecountry:{sourcecountry}")
    return " ".join(parts)


def gdelt_url(base: str, query: str, start: datetime, end: datetime, maxrecords: int = 250) -> str:
    params = {
        "query": query,
        "mode": "ArtList",
        "format": "json",
        "maxrecords": str(maxrecords),
        "startdatetime": start.strftime("%Y%m%d%H%M%S"),
        "enddatetime": end.strftime("%Y%m%d%H%M%S"),
        "sort": "DateDesc",
    }
    return f"{base}/api/v2/doc/doc?{urlencode(params)}"


def parse_gdelt(body: bytes | str) -> list[dict]:
    """Articles of a GDELT ArtList JSON answer. ``{}`` means none.

    Raises ValueError with GDELT's own sentence when the answer is not JSON (GDELT reports a
    bad query or a rate limit as a short HTML/text message with status 200).
    """
    arts, _ = gdelt_entries(body)
    return arts


def url_problem(url) -> str | None:
    """Why an article link cannot be fetched (a counted reason), or None for an http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip():
        return "entries without a URL"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "entries with a malformed URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "entries whose URL is not http(s)"
    if not parts.hostname or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return "entries with a malformed URL"
    return None


def gdelt_entries(body: bytes | str) -> tuple[list[dict], dict[str, int]]:
    """(usable articles, {reason: count} of the entries left out) of a GDELT ArtList answer."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text, strict=False)  # GDELT titles sometimes hold raw control characters
    except ValueError:
        msg = re.sub(r"<[^>]+>", " ", text)
        msg = " ".join(msg.split())[:200] or "empty answer"
        raise ValueError(f"GDELT answered with a message instead of JSON: {msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"GDELT answered JSON of type {type(data).__name__}, not an object")
    arts = data.get("articles", [])
    if not isinstance(arts, list):
        raise ValueError("GDELT 'articles' is not a list")
    good: list[dict] = []
    bad: dict[str, int] = {}
    for a in arts:
        why = "GDELT entries that are not objects" if not isinstance(a, dict) else url_problem(a.get("url"))
        if why:
            why = why if why.startswith("GDELT") else "GDELT " + why
            bad[why] = bad.get(why, 0) + 1
        else:
            good.append(a)
    return good, bad


def gdelt_seen(value: str | None) -> datetime | None:
    """GDELT ``seendate`` (``20240115T083000Z``) -> naive UTC."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None


def canonical_url(url: str) -> str:
    """Article identity: no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def article_id(url: str) -> str:
    """The article's source_id: its canonical URL (hashed only when too long for the column)."""
    url = canonical_url(url)
    return url if len(url) <= _MAX_ID else "sha256:" + hashlib.sha256(url.encode()).hexdigest()


def query_terms(query: str) -> list[str]:
    """Words an article must contain to match a query (GDELT operators left out)."""
    q = re.sub(r"\b\w+:(\"[^\"]*\"|\S+)", " ", query)
    return [w for w in re.findall(r"\w+", q.lower()) if w not in ("or", "and")]


def mentions_query(query: str, *texts: str | None) -> bool:
    """True when every word of the query occurs in the texts (case-insensitive)."""
    hay = " ".join(t for t in texts if t).lower()
    words = query_terms(query)
    return bool(words) and all(re.search(rf"\b{re.escape(w)}", hay) for w in words)


def parse_feed(body: bytes) -> list[dict]:
    """Entries of an RSS or Atom document: ``link, title, published, updated`` (naive UTC).

    Raises ValueError when the document is not a usable feed: feedparser flags it as malformed
    and finds no entry with a link (feedparser reads many slightly broken real feeds; those
    with usable entries are kept).
    """
    import feedparser

    fp = feedparser.parse(body)
    out = []
    for e in fp.entries:
        link = e.get("link")
        if not link:
            continue
        out.append({
            "link": link,
            "title": e.get("title"),
            # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with a warning
            "published": _struct(dict.get(e, "published_parsed")),
            "updated": _struct(dict.get(e, "updated_parsed")),
        })
    if fp.bozo and not out:
        raise ValueError(f"not a valid RSS/Atom feed: {fp.get('bozo_exception') or 'unreadable'}")
    if not out and not fp.get("version"):
        raise ValueError("not an RSS/Atom feed (no channel, no entries)")
    return out


def _struct(value) -> datetime | None:
    if not value:
        return None
    return datetime(*value[:6])  # feedparser gives UTC struct_time


def extract_article(html: str | bytes, url: str | None = None, tz: str = DEFAULT_TZ) -> dict | None:
    """Main text, title, outlet, author, publication/modification time and language of a page.

    trafilatura does the extraction, but its date is a calendar day: the exact time comes from
    the page's metadata (``article:published_time``, JSON-LD ``datePublished``, ``<time
    datetime>``), else from htmldate; a time without a zone is taken in ``tz``. ``created_exact``
    is False when only a day was found (then ``created_at`` is that day's local midnight, in UTC).
    Returns None when the page holds no article text (under ``MIN_ARTICLE_CHARS``).
    """
    import trafilatura
    from lxml import html as lxml_html

    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if not html or not html.strip():
        return None
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None or not (doc.text or "").strip():
        return None
    text = doc.text.strip()
    title = (doc.title or "").strip() or None
    if title:  # trafilatura keeps the <h1> as the first line of the text
        lines = text.split("\n")
        if lines and lines[0].strip() == title:
            text = "\n".join(lines[1:]).strip()
    if len(text) < MIN_ARTICLE_CHARS:  # a menu or a cookie notice is not an article
        return None
    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        tree = None
    zone = ZoneInfo(tz)
    published = _page_time(tree, ("article:published_time", "datePublished", "pubdate"), zone)
    modified = _page_time(tree, ("article:modified_time", "dateModified"), zone)
    if published is None:
        published = _htmldate_time(html, zone)
    exact = published is not None
    created: Any = published
    if published is None and doc.date:
        midnight = datetime.fromisoformat(doc.date[:10]).replace(tzinfo=zone)
        created = (midnight, midnight.astimezone(timezone.utc).replace(tzinfo=None))
    lang = None
    if tree is not None:
        lang = (tree.get("lang") or tree.get("xml:lang") or "").strip() or None
    return {
        "title": title,
        "text": text,
        "outlet": (doc.sitename or "").strip() or None,
        "author": (doc.author or "").strip() or None,
        "created_at": _as_utc(created),
        "created_exact": exact,
        "updated_at": _as_utc(modified),
        "lang": lang or doc.language,
        "url": doc.url or url,
    }


def _page_time(tree, names: tuple[str, ...], zone=None) -> tuple[datetime, datetime] | None:
    """(local time, naive UTC) of the first parseable time the page declares under one of ``names``.

    A time without a zone is taken in ``zone`` (the outlet's; UTC when None). A bare date is not
    a time and is passed over here (trafilatura and htmldate give the day).
    """
    if tree is None:
        return None
    values: list[str] = []
    for n in names:
        values += tree.xpath(f'//meta[@property="{n}" or @name="{n}" or @itemprop="{n}"]/@content')
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            ld = json.loads(script)
        except ValueError:
            continue
        for obj in ld if isinstance(ld, list) else [ld]:
            if isinstance(obj, dict):
                values += [obj[n] for n in names if isinstance(obj.get(n), str)]
    if "article:published_time" in names:
        values += tree.xpath("//time/@datetime")
    for v in values:
        v = v.strip()
        if len(v) <= 10:  # "2024-01-15": a day, not a time
            continue
        try:
            local = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            continue
        return _zoned(local, zone)
    return None


def _zoned(local: datetime, zone) -> tuple[datetime, datetime]:
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone or timezone.utc)
    return local, local.astimezone(timezone.utc).replace(tzinfo=None)


def _htmldate_time(html: str, zone) -> tuple[datetime, datetime] | None:
    """htmldate's publication time of the page, when it finds one with a time of day."""
    try:
        from htmldate import find_date

        found = find_date(html, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=True, extensive_search=False)
    except Exception:  # noqa: BLE001 - htmldate raises many types on odd markup; the day is the fallback
        return None
    if not found:
        return None
    try:
        when = datetime.strptime(found, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            when = datetime.strptime(found, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
    if when.tzinfo is None and (when.hour, when.minute, when.second) == (0, 0, 0):
        return None  # a day only
    return _zoned(when, zone)


def _as_utc(pair) -> datetime | None:
    if not pair:
        return None
    return pair[1] if pair[1] is not None else pair[0]


@lru_cache(maxsize=512)
def country_code(name: str | None) -> str | None:
    """GDELT's ``sourcecountry`` name (``Indonesia``, ``United States``...) -> ISO 3166 alpha-2, lower case."""
    if not name or not name.strip():
        return None
    key = name.strip().lower()
    if key in GDELT_COUNTRIES:
        return GDELT_COUNTRIES[key]
    import pycountry

    try:
        return pycountry.countries.lookup(name.strip()).alpha_2.lower()
    except LookupError:
        return None


def lang_code(name: str | None) -> str | None:
    if not name:
        return None
    return GDELT_LANGS.get(name.strip().lower())


def split_list(value) -> list[str]:
    """``-a feeds=URL,URL`` or a Python list -> list of strings."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return [str(v) for v in value if v]


# ---- the spider ---------------------------------------------------------------------------------------


class NewsSpider(SuaraSpider):
    """GDELT + RSS/Atom feeds -> article pages -> trafilatura. One item per article."""

    name = "news"
    source = "news"
    target_arg = "query"
    base_url_setting = "SUARA_GDELT_URL"
    #: Article links come from GDELT and feeds: only http(s) on public hosts (scraper/urlguard.py).
    public_urls_only = True

    def __init__(self, *args, since=None, until=None, feeds=None, gdelt="1", sourcelang="indonesian",
                 sourcecountry="", maxrecords="250", **kwargs):
        self._check_own(since=since, until=until, maxrecords=maxrecords)
        super().__init__(*args, **kwargs)
        self.since = parse_day(since)
        self.until = parse_day(until, "--until")
        self.feeds = split_list(feeds)
        # Query "*" (or "feeds", as `suara run` names a feeds-only crawl): every feed entry, no GDELT.
        self.all_entries = self.target in ALL_ENTRIES
        self.use_gdelt = truthy(gdelt) and not self.all_entries
        self.sourcelang = sourcelang or ""
        self.sourcecountry = sourcecountry or ""
        self.maxrecords = int(maxrecords)

    @classmethod
    def _check_own(cls, since=None, until=None, maxrecords="250", feeds=None, **_):
        parse_day(since)
        parse_day(until, "--until")
        try:
            n = int(maxrecords)
        except (TypeError, ValueError):
            raise InputError(f"maxrecords must be a number from 1 to 250, got {maxrecords!r}") from None
        if not 1 <= n <= 250:
            raise InputError(f"maxrecords must be from 1 to 250, got {n}")
        for f in split_list(feeds):
            if not re.match(r"^https?://", f):
                raise InputError(f"feed URL must start with http:// or https://, got {f!r}")

    @classmethod
    def check_args(cls, **kwargs) -> None:
        cls._check_own(**kwargs)
        own = ("since", "until", "feeds", "gdelt", "sourcelang", "sourcecountry", "maxrecords")
        super().check_args(**{k: v for k, v in kwargs.items() if k not in own})

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # GDELT asks for one request every 5 s: its own download slot with that delay.
        slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
        delay = crawler.settings.getfloat("SUARA_GDELT_DELAY", float(os.environ.get("SUARA_GDELT_DELAY") or 5.0))
        slots.setdefault("gdelt", {"concurrency": 1, "delay": delay})
        crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        from scraper.robotstxt import use_in

        use_in(crawler.settings)  # robots.txt must hold for the many article requests sent at once
        return spider

    # ---- window ------------------------------------------------------------------------------

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """[start, end] of the GDELT search: --since, narrowed by the last complete crawl."""
        end = self.until or now or datetime.now(timezone.utc).replace(tzinfo=None)
        start = self.since or end - DEFAULT_LOOKBACK
        if self.high_water is not None:
            start = max(start, self.high_water - OVERLAP)
        return start, end

    def config_feeds(self) -> list[str]:
        """News feeds listed in the sources config (``[news] feeds``), when it has any."""
        try:
            from pipelines.sources import load_sources
        except ImportError:
            return []
        try:
            cfg = load_sources(self.config_path or self.settings.get("SUARA_CONFIG") or None)
        except Exception as exc:  # noqa: BLE001 - a config problem must not stop the explicit feeds
            self.logger.warning("news: sources config not read (%s); using -a feeds only", exc)
            return []
        news = getattr(cfg, "news", None)
        feeds = getattr(news, "feeds", None) if news is not None else None
        if feeds is None and isinstance(cfg, dict):
            feeds = (cfg.get("news") or {}).get("feeds")
        return split_list(feeds or [])

    async def start(self):
        if self.use_gdelt:
            start, end = self.window()
            yield self.gdelt_request(start, end)
        for url in dict.fromkeys(self.feeds + self.config_feeds()):
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.failed,
                                 meta={"handle_httpstatus_list": [404, 410]})

    def gdelt_request(self, start: datetime, end: datetime) -> scrapy.Request:
        q = gdelt_query(self.target, self.sourcelang, self.sourcecountry)
        return scrapy.Request(
            gdelt_url(self.base_url, q, start, end, self.maxrecords),
            callback=self.parse_gdelt,
            errback=self.failed,
            cb_kwargs={"start": start, "end": end},
            # An API, not a web page: robots.txt is for crawlers of pages.
            meta={"dont_obey_robotstxt": True, "download_slot": "gdelt"},
            dont_filter=True,
        )

    # ---- callbacks ---------------------------------------------------------------------------

    def parse_gdelt(self, response, start: datetime, end: datetime):
        try:
            arts, bad = gdelt_entries(response.body)
        except ValueError as exc:
            self.page_error(response, str(exc))
            return
        listed = len(arts) + sum(bad.values())  # bad rows fill GDELT's maxrecords too
        if listed >= self.maxrecords and end - start > MIN_WINDOW:
            # A full answer may hide older articles: ask for both halves instead.
            mid = start + (end - start) / 2
            self.logger.info("news: GDELT window %s..%s is full (%d); splitting", start, end, listed)
            yield self.gdelt_request(mid, end)
            yield self.gdelt_request(start, mid)
            return
        if listed >= self.maxrecords:
            self.logger.warning("news: GDELT window %s..%s still holds %d+ articles; older ones in it are not listed",
                                start, end, listed)
        for why, n in bad.items():  # counted once, in the answer that is used
            self.skip(why, n)
        for a in arts:
            yield scrapy.Request(
                a["url"], callback=self.parse_article, errback=self.failed,
                cb_kwargs={"hint": {"seen": gdelt_seen(a.get("seendate")), "lang": lang_code(a.get("language")),
                                    "country": country_code(a.get("sourcecountry")), "title": a.get("title"),
                                    "from_feed": False}},
                meta={"handle_httpstatus_list": [404, 410]},
            )

    def parse_feed(self, response):
        if response.status in (404, 410):
            self.page_error(response, f"feed not found (HTTP {response.status})")
            return
        try:
            entries = parse_feed(response.body)
        except ValueError as exc:
            self.page_error(response, str(exc))
            return
        since = self.since
        if self.high_water is not None:
            since = max(d for d in (since, self.high_water - OVERLAP) if d is not None)
        for e in entries:
            when = e["updated"] or e["published"]
            if since is not None and when is not None and when < since:
                continue
            link = response.urljoin(e["link"]) if isinstance(e.get("link"), str) else None
            why = url_problem(link)
            if why:
                self.skip("feed " + why)
                continue
            yield scrapy.Request(
                link, callback=self.parse_article, errback=self.failed,
                cb_kwargs={"hint": {"seen": e["published"], "lang": None, "country": None, "title": e["title"],
                                    "from_feed": True}},
                meta={"handle_httpstatus_list": [404, 410]},
            )

    def parse_article(self, response, hint: dict):
        if response.status in (404, 410):
            # Newsrooms take stories down; GDELT keeps listing them. Not a crawl failure.
            self.logger.warning("news: article gone (HTTP %s): %s", response.status, response.url)
            return
        ctype = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        if ctype and "html" not in ctype and "xml" not in ctype:
            self.page_error(response, f"not an HTML page ({ctype})")
            return
        try:
            art = extract_article(response.body, response.url)
        except Exception as exc:  # noqa: BLE001 - lxml/trafilatura raise many types on broken markup
            self.page_error(response, f"article could not be parsed: {type(exc).__name__}: {exc}")
            return
        if art is None:
            self.page_error(response, "no article text found in the page")
            return
        if hint.get("from_feed") and not self.all_entries and not mentions_query(self.target, art["title"], art["text"]):
            self.logger.debug("news: %s does not mention %r; skipped", response.url, self.target)
            return
        created = art["created_at"] or hint.get("seen")
        seen = hint.get("seen")
        if art["created_at"] and not art.get("created_exact") and seen is not None:
            # Only a day from the page: GDELT's first sighting is exact, and on that (local) day it is better.
            if art["created_at"] <= seen < art["created_at"] + timedelta(days=1):
                created = seen
        lang = art["lang"] or hint.get("lang")
        updated = art["updated_at"] if art["updated_at"] and art["updated_at"] != created else None
        yield self.mention(
            source_id=article_id(response.url),
            kind="article",
            # The outlet is an organisation and is kept; a byline is a person and is hashed.
            outlet=art["outlet"],
            author=art["author"],
            title=art["title"] or hint.get("title"),
            text=art["text"],
            created_at=created,
            updated_at=updated,
            url=canonical_url(response.url),
            lang=lang,
            # GDELT names the outlet's country; an article met first in a feed has none, and an
            # Indonesian-language outlet is taken to be Indonesian (the same for both, whichever came first).
            country=hint.get("country") or ("id" if (lang or "").lower().startswith(("id", "in")) else None),
        )

    def failed(self, failure):
        """Errback: a request that failed for good (after retries) is one ERROR line with its URL."""
        from scrapy.exceptions import IgnoreRequest

        request = failure.request
        if failure.check(IgnoreRequest):  # robots.txt said no: polite, not an error
            self.logger.info("news: not fetched (%s): %s", failure.getErrorMessage(), request.url)
            return
        response = getattr(failure.value, "response", None)
        what = f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.page_error(request.url, what)
