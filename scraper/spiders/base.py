"""The base class of every Suara spider.

A spider subclasses :class:`SuaraSpider`, sets ``name``, ``source``, ``target_arg`` and
``base_url_setting``, and yields :class:`~scraper.items.MentionItem` (best through
:meth:`SuaraSpider.mention`). It never writes to the database: the item pipelines store
items and keep crawl state. A crawl is marked complete when the spider finishes with no
ERROR logged, so a spider reports a page it could not use with :meth:`page_error` (logs
an ERROR naming the URL, skips that page, and leaves the crawl state incomplete) and
simply stops following pages when it has reached the end (or known, older items).

An entry that is malformed on its own (a feed entry with a non-numeric rating, a GDELT row
whose URL is ``javascript:...``) is skipped with :meth:`SuaraSpider.skip`: counted, shown in the
crawl summary and ``suara status``, and the rest of the page is still used. Work a crawl could
not finish (e.g. a YouTube thread whose replies failed) is handed to :meth:`SuaraSpider.leave_pending`
and comes back, in the next crawl, from :attr:`SuaraSpider.previous_pending`.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, ClassVar

import scrapy
from scrapy.settings import SETTINGS_PRIORITIES

from pipelines.errors import InputError
from scraper.items import MentionItem

_TRUE = {"1", "true", "yes", "on", "y"}


def truthy(value: Any) -> bool:
    """Spider arguments arrive as strings from ``scrapy crawl -a full=1``."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


class SuaraSpider(scrapy.Spider):
    """Common arguments, base URL, user agent and read-only crawl state.

    Arguments (``-a NAME=VALUE`` or keyword arguments of ``run_spider``):
    ``<target_arg>`` (e.g. ``app`` or ``query``; also accepted as ``target``), ``lang``,
    ``country``, ``full`` (walk every page, ignore the high-water mark) and ``config``
    (a sources file; its ``contact`` goes into the user agent).
    """

    #: Value of the ``source`` column (appstore, news, reddit, youtube).
    source: ClassVar[str] = ""
    #: Name of the spider argument that holds the crawl target.
    target_arg: ClassVar[str] = "app"
    #: Scrapy setting (and environment variable) holding the base URL.
    base_url_setting: ClassVar[str] = ""
    default_lang: ClassVar[str] = ""
    default_country: ClassVar[str] = ""

    def __init__(self, *args, **kwargs):
        target, lang, country, full, config = self.parse_args(kwargs)
        super().__init__(*args, **kwargs)
        self.target: str = target
        self.lang: str = lang
        self.country: str = country
        self.full: bool = full
        self.config_path: str | None = config
        self._state: dict | None = None

    @classmethod
    def parse_args(cls, kwargs: dict) -> tuple[str, str, str, bool, str | None]:
        """Pop and check the common arguments; raises InputError naming the missing one."""
        target = kwargs.pop(cls.target_arg, None)
        alt = kwargs.pop("target", None)
        target = target if target not in (None, "") else alt
        if target is None or str(target).strip() == "":
            raise InputError(f"spider {cls.name!r} needs a target: -a {cls.target_arg}=...")
        lang = str(kwargs.pop("lang", None) or cls.default_lang or "").strip().lower()
        country = str(kwargs.pop("country", None) or cls.default_country or "").strip().lower()
        full = truthy(kwargs.pop("full", False))
        config = kwargs.pop("config", None) or None
        return str(target).strip(), lang, country, full, config

    @classmethod
    def check_args(cls, **kwargs) -> None:
        """Raise InputError for bad arguments before a crawl starts (used by run_spider)."""
        cls.parse_args(dict(kwargs))

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Settings are still open here (Scrapy >= 2.11); "spider" priority keeps -s USER_AGENT=... on top.
        # Open the store once up front: a bad --db URL is one clear error before any request.
        from pipelines.store import Store

        Store(spider.db_url).close()
        from scraper.trust import CA_SETTING, ca_bundle

        ca_bundle(crawler.settings.get(CA_SETTING), spider.config_path or crawler.settings.get("SUARA_CONFIG") or None)
        ua = None if crawler.settings.frozen else spider._user_agent()
        if ua:
            crawler.settings.set("USER_AGENT", ua, priority="spider")
        return spider

    # ---- settings ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The service root, without a trailing slash.

        A value given on the command line (``-s``) or by ``run_spider`` wins; otherwise the
        environment variable named like the setting, then the project default.
        """
        name = self.base_url_setting
        if not name:
            raise NotImplementedError(f"{type(self).__name__} sets no base_url_setting")
        url = self.settings.get(name) or ""
        env = os.environ.get(name)
        if env and self.settings.getpriority(name) <= SETTINGS_PRIORITIES["project"]:
            url = env
        if not url:
            raise InputError(f"setting {name} (base URL of {self.name}) is empty")
        return url.rstrip("/")

    def _user_agent(self) -> str | None:
        """Suara's user agent with the contact from $SUARA_CONTACT or the sources config."""
        from pipelines.sources import contact_for, user_agent

        contact = contact_for(self.config_path or self.settings.get("SUARA_CONFIG") or None)
        return user_agent(contact) if contact else None

    @property
    def db_url(self) -> str | None:
        settings = getattr(self, "settings", None)  # None for a spider built without a crawler (unit tests)
        return (settings.get("SUARA_DB") if settings is not None else None) or None

    # ---- read-only crawl state ----------------------------------------------------------------

    @property
    def state(self) -> dict:
        """This target's crawl-state row as it was when the crawl started ({} if none)."""
        if self._state is None:
            from pipelines.store import Store

            store = Store(self.db_url)
            try:
                self._state = store.get_state(self.source, self.target, self.lang, self.country) or {}
            finally:
                store.close()
        return self._state

    @property
    def high_water(self) -> datetime | None:
        """Newest item time of the last *complete* crawl; None on a first or ``full`` crawl."""
        if self.full:
            return None
        return self.state.get("high_water")

    def page_is_known(self, items: list[MentionItem]) -> bool:
        """True when every item is older than the high-water mark and stored unchanged.

        Spiders that list newest first stop paginating at such a page (incremental crawl).
        An empty page is not "known": the spider decides on its own that the list ended.
        """
        high = self.high_water
        if high is None or not items:
            return False
        from pipelines.scrapy_pipelines import mention_hash, normalise_fields
        from pipelines.store import Store

        for it in items:
            when = normalise_fields({"source_id": it.get("source_id"), "updated_at": it.get("updated_at"),
                                     "created_at": it.get("created_at")})
            t = when.get("updated_at") or when.get("created_at")
            if t is None or t > high:
                return False
        store = Store(self.db_url)
        try:
            known = store.known_hashes(self.source, [str(it["source_id"]) for it in items])
        finally:
            store.close()
        return all(known.get(str(it["source_id"])) == mention_hash(dict(it)) for it in items)

    # ---- helpers for spiders ----------------------------------------------------------------------

    def mention(self, **fields) -> MentionItem:
        """A MentionItem with source, app (the target), lang and country filled in."""
        base = {"source": self.source, "app": self.target}
        if self.lang:
            base["lang"] = self.lang
        if self.country:
            base["country"] = self.country
        base.update({k: v for k, v in fields.items() if v is not None})
        return MentionItem(**base)

    def skip(self, what: str, count: int = 1) -> None:
        """Count ``count`` entries skipped as malformed (``what`` says why; no personal data in it)."""
        if count <= 0:
            return
        stats = self.crawler.stats if getattr(self, "crawler", None) else None
        if stats is not None:
            stats.inc_value("suara/skipped", count)
            detail = dict(stats.get_value("suara/skipped_detail") or {})
            detail[what] = detail.get(what, 0) + count
            stats.set_value("suara/skipped_detail", detail)
        self.logger.warning("%s: skipped %d %s", self.name, count, what)

    def leave_pending(self, work: dict) -> None:
        """Record work (ids only) this crawl could not finish; the next crawl gets it back first."""
        stats = self.crawler.stats if getattr(self, "crawler", None) else None
        if stats is not None:
            pending = list(stats.get_value("suara/pending") or [])
            if work not in pending:
                pending.append(work)
            stats.set_value("suara/pending", pending)

    def done_pending(self, work: dict) -> None:
        """Work recorded with :meth:`leave_pending` (e.g. carried over from the last crawl) is done."""
        stats = self.crawler.stats if getattr(self, "crawler", None) else None
        if stats is not None:
            pending = [w for w in stats.get_value("suara/pending") or [] if w != work]
            stats.set_value("suara/pending", pending)

    @property
    def previous_pending(self) -> list:
        """Work the previous crawl of this target left unfinished (see :meth:`leave_pending`)."""
        if getattr(self, "_previous_pending", None) is None:
            from pipelines.store import Store

            store = Store(self.db_url)
            try:
                self._previous_pending = store.get_gaps(self.source, self.target, self.lang, self.country)["pending"]
            finally:
                store.close()
        return self._previous_pending

    def page_error(self, response_or_url, problem: str) -> None:
        """Report a page that could not be used: one ERROR line with its URL; the crawl ends incomplete."""
        url = getattr(response_or_url, "url", response_or_url)
        self.logger.error("%s: skipped page %s: %s", self.name, url, problem)
