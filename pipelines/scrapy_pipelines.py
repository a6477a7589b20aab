"""Scrapy item pipelines: validate, normalise, pseudonymise, de-duplicate, store.

Spiders only parse and yield :class:`scraper.items.MentionItem`; these pipelines (wired in
``scraper/settings.py`` in this order) turn each item into one ``mentions`` row.

Crawl state and run log: :class:`StorePipeline` keeps one crawl-state row per
(source, target, lang, country) and one run-log row per crawl. The state becomes
``complete`` (and its high-water mark moves) only when the spider closed with reason
``finished`` and nothing went wrong: no ERROR log line during the crawl (a request that
failed after its retries, a spider exception, a malformed page the spider reported, a
storage error) and no HTTP error response ignored. Anything else leaves it ``incomplete``
with the first error, so the next crawl walks every page again instead of trusting an
incomplete high-water mark. Items already stored stay stored.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem

from .errors import SuaraError
from .lock import crawl_lock
from .privacy import pseudonymise, scrub_url
from .store import MENTION_FIELDS, Store, UpsertResult, content_hash, is_locked, store_error, to_utc, utcnow

logger = logging.getLogger(__name__)

REQUIRED = ("source", "source_id", "app")
DATE_FIELDS = ("created_at", "updated_at", "reply_at")
TEXT_FIELDS = ("title", "text", "reply_text")
KINDS = ("review", "article", "post", "comment")
# Legacy and regional language codes -> the ISO 639-1 code the rest of Suara uses.
LANG_ALIASES = {"in": "id", "ind": "id", "indonesian": "id", "bahasa": "id", "eng": "en", "english": "en"}


def _spider(pipeline) -> Any:
    return getattr(getattr(pipeline, "crawler", None), "spider", None)


def _where(item) -> str:
    # Logged before the pseudonymising pipeline runs: no user name from a profile permalink.
    return scrub_url(item.get("url"), str(item.get("source") or "")) or "(no url)"


# ---- validate -----------------------------------------------------------------------------------


def validation_problem(item) -> str | None:
    """The first thing wrong with an item, as ``field 'x' ...``; None when it is valid."""
    for name in REQUIRED:
        value = item.get(name)
        if value is None or str(value).strip() == "":
            return f"field {name!r} is missing"
    for name in ("title", "text", "author", "url", "outlet", "lang", "country", "reply_text", "app_version", "kind"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            return f"field {name!r} must be a string, got {type(value).__name__}"
    if not any(isinstance(item.get(n), str) and item.get(n).strip() for n in ("text", "title")):
        return "field 'text' is missing (an item needs a text or a title)"
    kind = item.get("kind")
    if kind is not None and kind not in KINDS:
        return f"field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}"
    for name in ("rating", "thumbs_up"):
        value = item.get(name)
        if value is None or value == "":
            continue
        try:
            num = float(value)
        except (TypeError, ValueError):
            return f"field {name!r} must be a number, got {value!r}"
        if math.isnan(num) or math.isinf(num):
            return f"field {name!r} must be a finite number, got {value!r}"
    for name in DATE_FIELDS:
        value = item.get(name)
        try:
            to_utc(value)
        except Exception:  # pandas raises several types for bad strings
            return f"field {name!r} is not a date or time: {value!r}"
    return None


class _CrawlerAware:
    """A pipeline that keeps its crawler (for stats)."""

    crawler = None

    @classmethod
    def from_crawler(cls, crawler):
        o = cls()
        o.crawler = crawler
        return o


class ValidatePipeline(_CrawlerAware):
    """Drop items that miss a required field or carry a value of the wrong type."""

    def process_item(self, item, spider=None):
        problem = validation_problem(item)
        if problem:
            self.crawler.stats.inc_value("suara/dropped_invalid")
            # DropItem's message is the log line: it names the field and the page.
            raise DropItem(f"invalid {item.get('source') or 'item'} item from {_where(item)}: {problem}")
        return item


# ---- normalise ----------------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def clean_text(value: str | None) -> str | None:
    """NFC, one space between words, paragraphs kept (at most one blank line), ends trimmed."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\u200b", "").replace("\ufeff", "")
    lines = [_SPACES.sub(" ", line).strip() for line in value.split("\n")]
    value = _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    return value or None


def clean_lang(value: str | None) -> str | None:
    """``id-ID``, ``in``, ``ID`` -> ``id``."""
    if not value:
        return None
    code = str(value).strip().lower().replace("_", "-").split("-")[0]
    return LANG_ALIASES.get(code, code) or None


def normalise_fields(data: dict) -> dict:
    """The normalised copy of an item's fields (pure function; spiders use it to compare hashes)."""
    out = dict(data)
    for name in TEXT_FIELDS:
        if name in out:
            out[name] = clean_text(out[name])
    if out.get("text") is None:
        out["text"] = ""
    for name in ("author", "app_version", "url", "outlet", "app"):
        if isinstance(out.get(name), str):
            out[name] = out[name].strip() or None
    out["source_id"] = str(out["source_id"]).strip() if out.get("source_id") is not None else None
    for name in DATE_FIELDS:
        if name in out:
            out[name] = to_utc(out[name])
    if "lang" in out:
        out["lang"] = clean_lang(out["lang"])
    if isinstance(out.get("country"), str):
        out["country"] = out["country"].strip().lower() or None
    if out.get("rating") not in (None, ""):
        out["rating"] = float(out["rating"])
    else:
        out["rating"] = None
    if out.get("thumbs_up") not in (None, ""):
        out["thumbs_up"] = int(float(out["thumbs_up"]))
    else:
        out["thumbs_up"] = None
    out["kind"] = out.get("kind") or "review"
    return out


def mention_hash(data: dict) -> str:
    """The content hash the store will compute for this item (after normalisation)."""
    return content_hash(normalise_fields(data))


class NormalisePipeline:
    """UTC times, clean whitespace, ISO language codes, numbers as numbers."""

    def process_item(self, item, spider=None):
        for name, value in normalise_fields(item).items():
            if name in item.fields:
                item[name] = value
        return item


# ---- pseudonymise -------------------------------------------------------------------------------


class PseudonymisePipeline:
    """Replace the author by the keyed hash used by every Suara source; never store the name."""

    def process_item(self, item, spider=None):
        author = item.pop("author", None) if "author" in item else None
        item["author_key"] = pseudonymise(item["source"], author)
        if item.get("url"):
            item["url"] = scrub_url(item["url"], item["source"])
        return item


# ---- de-duplicate -------------------------------------------------------------------------------


class DedupPipeline(_CrawlerAware):
    """Pass each (source, source_id) once per crawl (the same article can come from two feeds)."""

    def __init__(self):
        self.seen: set[tuple[str, str]] = set()

    def process_item(self, item, spider=None):
        key = (item["source"], str(item["source_id"]))
        if key in self.seen:
            self.crawler.stats.inc_value("suara/dropped_duplicate")
            raise DropItem(f"duplicate {key[0]} item {key[1]} from {_where(item)}", log_level="DEBUG")
        self.seen.add(key)
        return item


# ---- store --------------------------------------------------------------------------------------


@dataclass
class CrawlOutcome:
    """What the store pipeline did, as kept in the crawl stats under ``suara/outcome``."""

    source: str = ""
    target: str = ""
    lang: str = ""
    country: str = ""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    batches: int = 0
    complete: bool = False
    reason: str = ""
    run_id: int | None = None
    errors: list[str] = field(default_factory=list)
    skipped: int = 0  # entries the spider skipped as malformed (counted, see SuaraSpider.skip)
    skipped_detail: dict = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return self.new + self.updated + self.unchanged


class _ErrorCollector(logging.Handler):
    """Keeps the ERROR lines logged while a crawl runs: any of them makes the crawl incomplete."""

    def __init__(self, limit: int = 50):
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []
        self.count = 0
        self.limit = limit

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.lines) < self.limit:
            try:
                msg = record.getMessage()
            except Exception:  # a bad format string must not break the crawl
                msg = str(record.msg)
            self.lines.append(msg.strip().splitlines()[0][:500] if msg.strip() else record.levelname)


class StorePipeline:
    """Upsert items into the store in batches; keep crawl state and the run log.

    The database URL is the ``SUARA_DB`` setting, else ``$SUARA_DB``, else the default file.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.db_url = crawler.settings.get("SUARA_DB") or None
        self.batch_size = max(1, crawler.settings.getint("SUARA_STORE_BATCH", 200))
        self.buffer: list[dict] = []
        self.pending_high: datetime | None = None
        self.result = UpsertResult()
        self.outcome = CrawlOutcome()
        self.store: Store | None = None
        self.collector = _ErrorCollector()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _key(self) -> tuple[str, str, str, str]:
        o = self.outcome
        return o.source, o.target, o.lang, o.country

    def open_spider(self, spider=None):
        spider = spider or _spider(self)
        source = getattr(spider, "source", "") or spider.name
        target = getattr(spider, "target", None)
        if not target:
            raise SuaraError(f"spider {spider.name!r} has no target (the app id or query it crawls)")
        self.outcome = CrawlOutcome(
            source=source,
            target=str(target),
            lang=getattr(spider, "lang", "") or "",
            country=getattr(spider, "country", "") or "",
        )
        store = Store(self.db_url)
        try:
            # One crawl per target at a time: two would both reset and add to its counters.
            # Refused (LockHeld, exit 75) before touching the state the other crawl is writing.
            self.lock = crawl_lock(store, *self._key()).acquire()
        except BaseException:
            store.close()
            raise
        self.store = store
        logging.getLogger().addHandler(self.collector)
        self.outcome.run_id = self.store.start_run("crawl", source, str(target))
        self.store.put_state(
            *self._key(),
            status="incomplete",
            started_at=utcnow(),
            pending_high_water=None,
            token=None,
            last_error=None,
            pages=0,
            seen=0,
            new=0,
            updated=0,
        )

    def process_item(self, item, spider=None):
        row = {k: item.get(k) for k in MENTION_FIELDS if k in item}
        row.setdefault("lang", self.outcome.lang or None)
        row.setdefault("country", self.outcome.country or None)
        self.buffer.append(row)
        when = row.get("updated_at") or row.get("created_at")
        if when is not None and (self.pending_high is None or when > self.pending_high):
            self.pending_high = when
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer or self.store is None:
            return
        rows, self.buffer = self.buffer, []
        try:
            res = self.store.save_page(*self._key(), rows, pending_high_water=self.pending_high)
        except Exception as exc:
            if not is_locked(exc):
                raise
            # The batch was rolled back and the crawl stays incomplete (the next one fetches it
            # again). One clear line becomes the crawl's error instead of a traceback with items.
            logger.error("%s", store_error(exc))
            return
        self.result += res
        self.outcome.batches += 1
        stats = self.crawler.stats
        stats.inc_value("suara/new", res.new)
        stats.inc_value("suara/updated", res.updated)
        stats.inc_value("suara/unchanged", res.unchanged)

    def close_spider(self, spider=None):
        try:
            self.flush()
        except Exception:
            # Logged as an ERROR by the collector below too: the crawl ends incomplete.
            logger.exception("could not store the last %d items", len(self.buffer))
            self.buffer = []

    def spider_closed(self, spider, reason):
        logging.getLogger().removeHandler(self.collector)
        if self.store is None:
            return
        o = self.outcome
        o.new, o.updated, o.unchanged = self.result.new, self.result.updated, self.result.unchanged
        o.reason = reason
        o.errors = list(self.collector.lines)
        stats = self.crawler.stats
        ignored = stats.get_value("httperror/response_ignored_count", 0) or 0
        if ignored and not o.errors:
            o.errors.append(f"{ignored} request(s) answered with an HTTP error status")
        if reason != "finished" and not o.errors:
            o.errors.append(f"crawl stopped early ({reason})")
        o.complete = reason == "finished" and not o.errors
        o.skipped = int(stats.get_value("suara/skipped", 0) or 0)
        o.skipped_detail = dict(stats.get_value("suara/skipped_detail") or {})
        try:
            self.store.put_gaps(*self._key(), skipped=o.skipped, detail=_skip_text(o.skipped_detail),
                                pending=list(stats.get_value("suara/pending") or []))
            state = self.store.get_state(*self._key()) or {}
            if o.complete:
                old = state.get("high_water")
                new_high = max([d for d in (old, self.pending_high) if d is not None], default=None)
                self.store.put_state(
                    *self._key(),
                    status="complete",
                    high_water=new_high,
                    pending_high_water=None,
                    completed_at=utcnow(),
                    last_error=None,
                )
                self.store.finish_run(o.run_id, "ok", self.result)
            else:
                first = o.errors[0]
                self.store.put_state(*self._key(), status="incomplete", last_error=first)
                self.store.finish_run(o.run_id, "failed", self.result, error=first)
        finally:
            self.store.close()
            if getattr(self, "lock", None) is not None:
                self.lock.release()
            stats.set_value("suara/outcome", asdict(o))
        logger.info(
            "%s %s: %d new, %d updated, %d unchanged; %s",
            o.source,
            o.target,
            o.new,
            o.updated,
            o.unchanged,
            "complete" if o.complete else f"INCOMPLETE ({len(o.errors)} error(s): {o.errors[0]})",
        )


def _skip_text(detail: dict) -> str | None:
    """``{"entries with a bad rating": 3}`` -> ``"3 entries with a bad rating"`` (for ``suara status``)."""
    return "; ".join(f"{n} {what}" for what, n in sorted(detail.items())) or None
