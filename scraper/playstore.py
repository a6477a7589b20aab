"""Google Play reviews: a complete, resumable, incremental crawl into the store.

google-play-scraper knows the wire format (the batchexecute request body, the ``)]}'``
response prefix, the positions of each field in a review array, the search page's data
blocks), so Suara reuses exactly those parts. The transport loop is Suara's own, because
the library's ``reviews()`` swallows every exception and returns a truncated list as if
the crawl had finished: Google answers an in-band ``PlayDataError`` (or a
``PlayGatewayError`` when rate limiting) inside an HTTP 200 often enough that crawls
silently stop at a multiple of the page size.

Here every page is fetched over one ``requests.Session`` (the cookie Google sets on the
first answer travels with every later page), each failure is classified (in-band error,
HTTP 429/5xx, time-out, malformed body: retried with exponential backoff and full jitter
by tenacity; anything else fails at once), and each page's reviews are committed together
with the continuation token (:meth:`pipelines.store.Store.save_page`). A crawl killed at
any moment resumes from the last committed page: no duplicate, no gap, and a crawl is
marked complete only when the service said there is no next page (or, incrementally, when
it reached reviews already stored).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

import pandas as pd
import requests
from sqlalchemy import func, select
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from google_play_scraper import Sort
from google_play_scraper.constants.element import ElementSpecs
from google_play_scraper.constants.regex import Regex
from google_play_scraper.constants.request import PLAY_STORE_BASE_URL, Formats
from google_play_scraper.features.reviews import MAX_COUNT_EACH_FETCH

from pipelines import __version__
from pipelines.errors import CrawlError, InputError
from pipelines.privacy import pseudonymise
from pipelines.store import Store, UpsertResult, content_hash, mentions, utcnow
from scraper.trust import ca_bundle, tls_reason

# Importing google_play_scraper replaced the process-wide HTTPS context factory with one that
# checks no certificate (google_play_scraper/utils/request.py). Put the verifying default back.
ssl._create_default_https_context = ssl.create_default_context

SOURCE = "playstore"
DEFAULT_BASE_URL = "https://play.google.com"
# Google serves about 200 reviews per page whatever count is asked for (crawls that stop at a
# multiple of 199 are the symptom users report), so asking for more only makes each retry and
# each checkpoint bigger. gps allows up to 4500 per request.
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = MAX_COUNT_EACH_FETCH

_APP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-+/=.:~]+$")
_IN_BAND_ERRORS = ("PlayGatewayError", "PlayDataError")


# ---- configuration -------------------------------------------------------------------------------


def _env_number(name: str, default: float, kind: type = float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InputError(f"environment variable {name}={raw!r} is not a {kind.__name__}") from None
    if value < minimum:
        raise InputError(f"environment variable {name}={raw!r} must be at least {minimum:g}")
    return value


@dataclass
class ClientConfig:
    """How the client talks to the Play Store; :meth:`from_env` reads the ``SUARA_*`` variables."""

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0  # seconds to wait for an answer
    attempts: int = 6  # tries per request, the first included
    wait_min: float = 2.0  # backoff multiplier: the n-th retry waits up to wait_min * 2**(n-1) ...
    wait_max: float = 60.0  # ... capped here (full jitter: a random wait in [0, cap])
    delay: float = 0.0  # pause between pages
    ca_bundle: str | None = None  # PEM bundle of trusted CAs; None: $SUARA_CA_BUNDLE, config, certifi

    @classmethod
    def from_env(cls, **overrides) -> "ClientConfig":
        base = (os.environ.get("SUARA_PLAYSTORE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", base):
            raise InputError(f"SUARA_PLAYSTORE_URL={base!r} is not an http(s) URL")
        wait_max = _env_number("SUARA_RETRY_WAIT_MAX", 60.0)
        # Be polite to the real service by default; a local mirror or fake needs no pause.
        default_delay = 1.0 if base == DEFAULT_BASE_URL else 0.0
        cfg = cls(
            base_url=base,
            timeout=_env_number("SUARA_HTTP_TIMEOUT", 30.0, minimum=0.001),
            attempts=int(_env_number("SUARA_RETRY_ATTEMPTS", 6, int, minimum=1)),
            wait_min=min(2.0, wait_max),
            wait_max=wait_max,
            delay=_env_number("SUARA_PLAYSTORE_DELAY", default_delay),
        )
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg


# ---- failures ------------------------------------------------------------------------------------


class _Transient(Exception):
    """Worth another try: rate limiting, a server hiccup, a time-out, a cut-off body."""

    def __init__(self, what: str, retry_after: float | None = None):
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


class _Fatal(Exception):
    """Retrying will not help (a 4xx other than 429, a refused argument)."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _Shape(_Fatal):
    """An answer of a shape this client does not know (retrying the same request will not change it)."""


class ServiceFailure(Exception):
    """A request that failed for good: what the service answered and after how many tries."""

    def __init__(self, what: str, attempts: int):
        super().__init__(f"{what} (after {attempts} attempt{'s' if attempts != 1 else ''})")
        self.what = what
        self.attempts = attempts


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- wire format ---------------------------------------------------------------------------------


@dataclass
class ReviewPage:
    reviews: list[dict]  # parsed reviews (see parse_review)
    token: str | None  # continuation token, None on the last page


def _at(source, path):
    for i in path:
        if not isinstance(source, list) or not -len(source) <= i < len(source):
            return None
        source = source[i]
    return source


def _epoch(value, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not epoch seconds: {value!r}")
    # Google sends [seconds, nanos]; the seconds are UTC. (gps turns them into naive local time.)
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):  # e.g. 1e20: a ValueError names it like any bad field
        raise ValueError(f"{what} {value!r} is out of range") from None


def parse_review(item) -> dict:
    """One review array (at google-play-scraper's ``ElementSpecs.Review`` positions) -> dict.

    Times are naive UTC datetimes made from the raw epoch seconds. The profile image
    (``userImage``) is deliberately not read.
    """
    spec = ElementSpecs.Review
    if not isinstance(item, list):
        raise ValueError(f"review is not an array: {_short(repr(item), 40)}")
    rid = _at(item, spec["reviewId"].data_map)
    if not isinstance(rid, str) or not rid:
        raise ValueError(f"review without an id: {_short(repr(item), 40)}")
    score = _at(item, spec["score"].data_map)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValueError(f"review {rid}: score {score!r} is not 1-5")
    content = _at(item, spec["content"].data_map)
    if content is not None and not isinstance(content, str):
        raise ValueError(f"review {rid}: content is not text")
    at = _epoch(_at(item, spec["at"].data_map), f"review {rid}: time")
    if at is None:
        raise ValueError(f"review {rid}: no time")
    reply_text = _at(item, spec["replyContent"].data_map)
    if reply_text is not None and not isinstance(reply_text, str):
        raise ValueError(f"review {rid}: reply is not text")
    thumbs = _at(item, spec["thumbsUpCount"].data_map)
    if thumbs is not None and (isinstance(thumbs, bool) or not isinstance(thumbs, int)):
        raise ValueError(f"review {rid}: thumbs-up count {thumbs!r} is not a number")
    name = _at(item, spec["userName"].data_map)
    version = _at(item, spec["appVersion"].data_map)
    return {
        "review_id": rid,
        "user_name": name if isinstance(name, str) else None,
        "content": content or "",
        "score": score,
        "at": at,
        "thumbs_up": thumbs or 0,
        "reply_text": reply_text or None,
        "reply_at": _epoch(_at(item, spec["repliedAt"].data_map), f"review {rid}: reply time") if reply_text else None,
        "app_version": version if isinstance(version, str) else None,
    }


def _in_band_error(text: str) -> str | None:
    return next((name for name in _IN_BAND_ERRORS if name in text), None)


def parse_reviews_body(text: str) -> ReviewPage:
    """Parse a batchexecute answer to the reviews RPC. Raises ``_Transient`` when it is not one."""
    found = Regex.REVIEWS.findall(text)
    envelope = None
    bad = "envelope is not an array"
    if found:
        try:
            envelope = json.loads(found[0])
        except ValueError as exc:
            bad = f"envelope is not JSON ({exc.msg} at char {exc.pos})"
    else:
        bad = f"no )]}}' prefix, starts {_short(text, 60)!r}"
    entry = None
    if isinstance(envelope, list):
        entry = next((e for e in envelope if isinstance(e, list) and e[:1] == ["wrb.fr"]), None)
        bad = "no wrb.fr entry in the envelope"
        # Look for error names everywhere except inside the payload, where a review may quote them.
        outside = json.dumps([e for e in envelope if e is not entry] + ([entry[:2] + entry[3:]] if entry else []))
        name = _in_band_error(outside)
        if name:
            raise _Transient(f"in-band {name} inside HTTP 200")
    if entry is None:
        name = _in_band_error(text)
        if name:
            raise _Transient(f"in-band {name} inside HTTP 200")
        raise _Transient(f"malformed body: {bad}")
    raw = _at(entry, [2])
    if raw is None:
        # A null payload carries the error in entry[5]: [code, null, [[type_url, ...]]].
        kind = _at(entry, [5, 2, 0, 0])
        detail = kind.rsplit(".", 1)[-1] if isinstance(kind, str) else f"error {_short(json.dumps(entry[5:6]), 60)}"
        raise _Transient(f"in-band {detail} inside HTTP 200 (empty payload)")
    if not isinstance(raw, str):
        raise _Transient("malformed body: payload is not a JSON string")
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise _Transient(f"malformed body: payload is not JSON ({exc.msg} at char {exc.pos})") from None
    if payload in (None, []):
        return ReviewPage([], None)
    if not isinstance(payload, list):
        raise _Transient("malformed body: payload is not an array")
    items = payload[0] or []
    if not isinstance(items, list):
        raise _Transient("malformed body: review list is not an array")
    try:
        reviews = [parse_review(item) for item in items]
    except ValueError as exc:
        raise _Transient(f"malformed body: {exc}") from None
    return ReviewPage(reviews, continuation_token(payload))


def continuation_token(payload: list) -> str | None:
    """The next-page token of a reviews payload; None only when the answer genuinely has none.

    It sits where google-play-scraper reads it, ``payload[-2][-1]``. "No next page" is a payload
    of the reviews alone, a null there, or a list at ``[-2][-1]`` (gps's own end test). Anything
    else (an object, a number, a token-like string elsewhere in the payload) raises ``_Shape``:
    taking an unknown shape for "no next page" would mark a crawl complete after one page.
    """
    if len(payload) < 2:
        return None
    holder = payload[-2]
    if holder is None:
        moved = _token_like(payload[1:])
        if moved:
            raise _Shape(f"unexpected answer shape: no token at [-2][-1] but a token-like string elsewhere "
                         f"({_short(moved, 24)!r})")
        return None
    if not isinstance(holder, list) or not holder:
        raise _Shape(f"unexpected answer shape: the token holder at [-2] is {_kind(holder)}, not an array")
    token = holder[-1]
    if isinstance(token, list) or (token is None and not _token_like(holder)):
        return None
    if not isinstance(token, str):
        raise _Shape(f"unexpected answer shape: the continuation token is {_kind(token)}, not text")
    if not token or not _TOKEN.match(token):
        raise _Shape(f"unexpected answer shape: odd continuation token {_short(token, 40)!r}")
    return token


def _kind(value) -> str:
    return {dict: "an object", str: "text", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _token_like(values, depth: int = 0) -> str | None:
    """A string that looks like a continuation token (long, token alphabet) among nested values."""
    for v in values:
        if isinstance(v, str) and len(v) >= 16 and _TOKEN.match(v):
            return v
        if isinstance(v, list) and depth < 2:
            found = _token_like(v, depth + 1)
            if found:
                return found
        if isinstance(v, dict) and depth < 2:
            found = _token_like(list(v.values()), depth + 1)
            if found:
                return found
    return None


def parse_search_page(html: str) -> list[dict]:
    """Apps listed on a Play Store search page (google-play-scraper's positions)."""
    dataset: dict = {}
    for script in Regex.SCRIPT.findall(html):
        keys, values = Regex.KEY.findall(script), Regex.VALUE.findall(script)
        if keys and values:
            try:
                dataset[keys[0]] = json.loads(values[0])
            except ValueError:
                continue
    sections = _at(dataset.get("ds:4"), [0, 1])
    if not isinstance(sections, list):
        raise _Transient("malformed search page: no ds:4 data block with results")
    found: list = []
    top = _at(sections, [0, 23, 16])
    listed: list = []
    for section in sections:
        apps = _at(section, [22, 0])
        if isinstance(apps, list):
            listed = [_search_item(a, ElementSpecs.SearchResult) for a in apps]
            break
    if isinstance(top, list):
        best = _search_item(top, ElementSpecs.SearchResultOnTop)
        if not _APP_ID.match(str(best["app_id"] or "")):
            # gps #238: on some pages the top card no longer holds its id at [11][0][0] (gps then
            # returns appId None and callers drop the best match). Find it elsewhere in the card,
            # else by its title among the listed apps; keep the card even when both fail.
            best["app_id"] = _app_id_in(top) or next(
                (r["app_id"] for r in listed if best["title"] and r["title"] == best["title"]), None)
        found.append(best)
    found.extend(listed)
    seen: set = set()
    out = []
    for row in found:
        app_id = row["app_id"]
        if app_id is None and row is found[0] and row["title"]:
            out.append(row)  # the best match, id unknown: shown rather than silently dropped
        elif isinstance(app_id, str) and app_id not in seen:
            seen.add(app_id)
            out.append(row)
    return out


_DETAILS_ID = re.compile(r"details\?id=([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)")


def _app_id_in(card, depth: int = 0) -> str | None:
    """An app id anywhere in a search card: an ``[id, 7]`` pair (Play's app key) or a details link."""
    if depth > 12:
        return None
    values = list(card.values()) if isinstance(card, dict) else card if isinstance(card, list) else []
    if (isinstance(card, list) and len(card) == 2 and card[1] == 7 and isinstance(card[0], str)
            and _APP_ID.match(card[0])):
        return card[0]
    for v in values:
        if isinstance(v, str):
            m = _DETAILS_ID.search(v)
            if m:
                return m.group(1)
        elif isinstance(v, (list, dict)):
            found = _app_id_in(v, depth + 1)
            if found:
                return found
    return None


def _search_item(item, spec) -> dict:
    def get(key):
        return spec[key].extract_content(item)

    return {
        "app_id": get("appId"),
        "title": get("title"),
        "developer": get("developer"),
        "score": get("score"),
        "genre": get("genre"),
        "installs": get("installs"),
    }


# ---- transport -----------------------------------------------------------------------------------


class PlayStoreClient:
    """One cookie session to one Play Store base URL, with retries."""

    def __init__(self, config: ClientConfig | None = None, on_retry: Callable[[str, int, float], None] | None = None):
        self.config = config or ClientConfig.from_env()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"suara/{__version__} (+research; python-requests)"
        self.on_retry = on_retry
        self.requests = 0  # HTTP requests sent, retries included
        self.verify = self.config.ca_bundle or ca_bundle()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "PlayStoreClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _url(self, full_url: str) -> str:
        # gps builds URLs on the real host; swap in the configured base (mirror, fake).
        return self.config.base_url + full_url[len(PLAY_STORE_BASE_URL) :]

    def _send(self, method: str, url: str, **kw) -> requests.Response:
        self.requests += 1
        try:
            # verify= per request: a path here is not overridden by $REQUESTS_CA_BUNDLE.
            resp = self.session.request(method, url, timeout=self.config.timeout, verify=self.verify, **kw)
        except requests.Timeout:
            raise _Transient(f"no answer within {self.config.timeout:g}s") from None
        except requests.exceptions.SSLError as exc:
            # Before ConnectionError (its parent): a certificate does not get better on a retry.
            raise _Fatal(f"TLS: {urlsplit(url).netloc} refused: {tls_reason(exc)} "
                         f"(for a private CA set SUARA_CA_BUNDLE to its PEM bundle)") from None
        except requests.ConnectionError as exc:
            reason = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
            raise _Transient(f"connection failed: {reason.group(1) if reason else type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            retry_after = resp.headers.get("Retry-After")
            ra = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
            raise _Transient(f"HTTP {resp.status_code} {resp.reason}", retry_after=ra)
        if resp.status_code != 200:
            raise _Fatal(f"HTTP {resp.status_code} {resp.reason}: {_short(resp.text, 80)!r}")
        return resp

    def _wait(self, retry_state) -> float:
        base = wait_random_exponential(multiplier=self.config.wait_min, max=self.config.wait_max)(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return max(base, min(exc.retry_after, self.config.wait_max))
        return base

    def _retrying(self, call: Callable[[], object]):
        def before_sleep(rs) -> None:
            if self.on_retry is not None:
                exc = rs.outcome.exception()
                self.on_retry(getattr(exc, "what", str(exc)), rs.attempt_number, rs.next_action.sleep)

        retrying = Retrying(
            stop=stop_after_attempt(self.config.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(call)
        except (_Transient, _Fatal) as exc:
            raise ServiceFailure(exc.what, retrying.statistics.get("attempt_number", 1)) from None

    def reviews_page(self, app_id: str, lang: str, country: str, count: int, token: str | None) -> ReviewPage:
        """Fetch and parse one page of reviews, newest first."""
        url = self._url(Formats.Reviews.build(lang=lang, country=country))
        body = Formats.Reviews.build_body(
            app_id, Sort.NEWEST.value, count, "null", "null", quote(token, safe="") if token else None
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}

        def call() -> ReviewPage:
            resp = self._send("POST", url, data=body, headers=headers)
            try:
                text = resp.content.decode("utf-8")
            except UnicodeDecodeError:
                raise _Transient("malformed body: not UTF-8") from None
            return parse_reviews_body(text)

        return self._retrying(call)

    def search(self, query: str, lang: str, country: str) -> list[dict]:
        """Apps a Play Store search lists for ``query``."""
        q = quote(query)

        def call() -> list[dict]:
            try:
                resp = self._send("GET", self._url(Formats.Searchresults.build(query=q, lang=lang, country=country)))
            except _Fatal as exc:
                if not exc.what.startswith("HTTP 404"):
                    raise
                # As gps does: some country/language pairs only answer without gl.
                resp = self._send("GET", self._url(Formats.Searchresults.fallback_build(query=q, lang=lang)))
            return parse_search_page(resp.text)

        return self._retrying(call)


# ---- the crawl -----------------------------------------------------------------------------------


@dataclass
class PageDone:
    """Sent to the ``progress`` callback after each page is committed."""

    app_id: str
    page: int  # page number within this crawl (continues across a resume)
    reviews: int  # reviews on this page
    total: int  # reviews seen by this run so far
    new: int  # new reviews stored by this run so far
    updated: int  # edited reviews stored by this run so far
    last: bool  # the crawl ends with this page


@dataclass
class CrawlResult:
    """What one :func:`crawl_playstore` call did."""

    app_id: str
    lang: str
    country: str
    full: bool
    resumed: bool  # continued an interrupted crawl from its stored token
    complete: bool  # the crawl state is now complete
    stopped: str  # "end" (no next page), "caught-up" (reached stored reviews), "limit"
    pages: int = 0  # pages fetched by this run
    requests: int = 0  # HTTP requests sent, retries included
    counts: UpsertResult = field(default_factory=UpsertResult)

    @property
    def seen(self) -> int:
        return self.counts.seen

    @property
    def new(self) -> int:
        return self.counts.new

    @property
    def updated(self) -> int:
        return self.counts.updated

    def summary(self) -> str:
        how = {"end": "complete", "caught-up": "complete (caught up)", "limit": "stopped at --limit, resumable"}
        return (
            f"{self.app_id} ({self.lang}-{self.country}): {how[self.stopped]}{', resumed' if self.resumed else ''}; "
            f"{self.pages} page(s), {self.requests} request(s), {self.seen} review(s) seen, "
            f"{self.new} new, {self.updated} updated"
        )


def review_url(app_id: str, review_id: str) -> str:
    # Always the public address: a mirror or test server's URL would not outlive the crawl.
    return f"{DEFAULT_BASE_URL}/store/apps/details?id={quote(app_id)}&reviewId={quote(review_id, safe='')}"


def review_row(review: dict, app_id: str, lang: str, country: str) -> dict:
    """A parsed review -> a ``mentions`` row (author pseudonymised, no profile image)."""
    return {
        "source": SOURCE,
        "source_id": review["review_id"],
        "app": app_id,
        "kind": "review",
        "author_key": pseudonymise(SOURCE, review.get("user_name")),
        "title": None,
        "text": review.get("content") or "",
        "rating": float(review["score"]) if review.get("score") is not None else None,
        # Google gives one time per review: the latest edit's. The store versions the older text.
        "created_at": review["at"],
        "updated_at": review["at"],
        "url": review_url(app_id, review["review_id"]),
        "lang": lang or None,
        "country": country or None,
        "reply_text": review.get("reply_text"),
        "reply_at": review.get("reply_at"),
        "thumbs_up": review.get("thumbs_up"),
        "app_version": review.get("app_version"),
    }


def _reached_stored(store: Store, rows: list[dict], high_water: datetime) -> bool:
    """Has this (newest-first) page reached the part of the list stored by earlier crawls?

    True when some review on it is already stored unchanged and not newer than the
    high-water mark, and so is every review after it on the page. New reviews sit above
    that point, so a run after a few new reviews stops on its first page.
    """
    if not rows:
        return False
    known = store.known_hashes(SOURCE, [r["source_id"] for r in rows])
    flags = [known.get(r["source_id"]) == content_hash(r) and r["created_at"] <= high_water for r in rows]
    if True not in flags:
        return False
    return all(flags[flags.index(True) :])


def _stored(store: Store, app_id: str) -> int:
    q = select(func.count()).select_from(mentions).where(mentions.c.source == SOURCE, mentions.c.app == app_id)
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def _validate(app_id: str, lang: str, country: str, page_size: int, limit: int | None) -> None:
    if not isinstance(app_id, str) or not _APP_ID.match(app_id):
        raise InputError(f"not a Play Store app id: {app_id!r} (expected e.g. com.example.app)")
    for name, value in (("language", lang), ("country", country)):
        if not isinstance(value, str) or not _LOCALE.match(value):
            raise InputError(f"not a {name} code: {value!r} (expected e.g. id)")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"page size {page_size} must be between 1 and {MAX_PAGE_SIZE}")
    if limit is not None and limit < 1:
        raise InputError(f"limit {limit} must be at least 1")


def _crawl_playstore(
    store: Store,
    app_id: str,
    lang: str = "id",
    country: str = "id",
    full: bool = False,
    limit: int | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Callable[[PageDone], None] | None = None,
    on_retry: Callable[[str, int, float], None] | None = None,
    config: ClientConfig | None = None,
    restart: bool = False,
) -> CrawlResult:
    """Collect the public reviews of one app into ``store``; returns what this run did.

    Incremental by default: newest first, stopping at the first page that reaches reviews
    already stored unchanged and not newer than the last complete crawl's high-water mark
    (a first crawl walks every page). ``full=True`` walks every page. An interrupted crawl
    (failure, kill, ``limit``) resumes from its stored continuation token. Raises
    :class:`CrawlError` with one line when a page cannot be fetched; what was stored stays
    and the crawl state stays incomplete. ``restart=True`` drops a stored continuation token
    and starts from the newest page (for a token the service no longer accepts); stored
    reviews are kept and nothing is duplicated.
    """
    _validate(app_id, lang, country, page_size, limit)
    cfg = config or ClientConfig.from_env()
    key = (SOURCE, app_id, lang, country)
    state = store.get_state(*key) or {}
    high_water = state.get("high_water")
    token = state.get("token") if state.get("status") != "complete" and not restart else None
    resumed = token is not None
    pending = state.get("pending_high_water") if resumed else None
    page_no = int(state.get("pages") or 0) if resumed else 0
    if not resumed:
        store.put_state(
            *key, status="incomplete", token=None, pending_high_water=None, pages=0, seen=0, new=0,
            updated=0, started_at=utcnow(), completed_at=None, last_error=None,
        )
    result = CrawlResult(app_id, lang, country, full, resumed, complete=False, stopped="end")
    run_id = store.start_run("crawl", SOURCE, app_id)
    client = PlayStoreClient(cfg, on_retry=on_retry)
    try:
        while True:
            page_no += 1
            count = page_size if limit is None else min(page_size, limit - result.seen)
            try:
                page = client.reviews_page(app_id, lang, country, count, token)
            except ServiceFailure as exc:
                raise CrawlError(
                    f"Play Store crawl of {app_id} ({lang}-{country}) failed at page {page_no}: {exc}; "
                    f"the {_stored(store, app_id)} review(s) stored so far are kept and the next run resumes here"
                ) from None
            finally:
                result.requests = client.requests
            if page.token is not None and page.token == token:
                raise CrawlError(
                    f"Play Store crawl of {app_id} ({lang}-{country}) failed at page {page_no}: "
                    f"the service returned the same continuation token again"
                )
            rows = [review_row(r, app_id, lang, country) for r in page.reviews]
            newest = max((r["created_at"] for r in rows), default=None)
            if newest is not None and (pending is None or newest > pending):
                pending = newest
            caught_up = not full and high_water is not None and _reached_stored(store, rows, high_water)
            last = page.token is None or caught_up
            if last:
                hw = max((d for d in (high_water, pending) if d is not None), default=None)
                values = dict(
                    status="complete", token=None, pending_high_water=None, high_water=hw,
                    completed_at=utcnow(), last_error=None,
                )
            else:
                values = dict(status="incomplete", token=page.token, pending_high_water=pending)
            # The page's reviews and the checkpoint commit together: a kill leaves both or neither.
            result.counts += store.save_page(*key, rows, **values)
            result.pages += 1
            token = page.token
            hit_limit = limit is not None and result.seen >= limit and not last
            if progress is not None:
                progress(PageDone(app_id, page_no, len(rows), result.seen, result.new, result.updated,
                                  last or hit_limit))
            if last:
                result.complete = True
                result.stopped = "caught-up" if caught_up and page.token is not None else "end"
                break
            if hit_limit:
                result.stopped = "limit"
                break
            if cfg.delay:
                time.sleep(cfg.delay)
    except CrawlError as exc:
        store.put_state(*key, last_error=str(exc))
        store.finish_run(run_id, "failed", result.counts, error=str(exc))
        raise
    except BaseException as exc:  # a kill (Ctrl-C) or a failing callback: record it, keep the checkpoint
        store.finish_run(run_id, "failed", result.counts, error=f"interrupted: {type(exc).__name__}: {exc}")
        raise
    finally:
        client.close()
    store.finish_run(run_id, "ok" if result.complete else "partial", result.counts)
    return result


def crawl_playstore(store: Store, app_id: str, lang: str = "id", country: str = "id", *args, **kwargs) -> CrawlResult:
    # One crawl per target at a time (pipelines.lock.crawl_lock): two at once would both reset
    # and add to the same crawl-state counters. A second one raises LockHeld (exit 75).
    from pipelines.lock import crawl_lock

    with crawl_lock(store, SOURCE, app_id, lang, country):
        return _crawl_playstore(store, app_id, lang, country, *args, **kwargs)


crawl_playstore.__doc__ = _crawl_playstore.__doc__


# ---- discovery -----------------------------------------------------------------------------------


def discover(query: str, lang: str = "id", country: str = "id", limit: int = 30,
             config: ClientConfig | None = None) -> pd.DataFrame:
    """Search the Play Store: a DataFrame of app_id, title, developer, score, genre, installs."""
    if not query or not query.strip():
        raise InputError("search query is empty")
    for name, value in (("language", lang), ("country", country)):
        if not _LOCALE.match(value):
            raise InputError(f"not a {name} code: {value!r} (expected e.g. id)")
    with PlayStoreClient(config or ClientConfig.from_env()) as client:
        try:
            apps = client.search(query.strip(), lang, country)
        except ServiceFailure as exc:
            raise CrawlError(f"Play Store search for {query!r} failed: {exc}") from None
    cols = ["app_id", "title", "developer", "score", "genre", "installs"]
    return pd.DataFrame(apps[:limit], columns=cols)
