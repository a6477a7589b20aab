"""Run a Suara spider from Python (and so from ``suara crawl``) and get a summary back.

Twisted's reactor cannot be restarted in one process, so :func:`run_spider` runs the crawl
in this process with ``CrawlerProcess`` only when this process has never had a reactor (the
``suara crawl`` command, a fresh script). Otherwise (a second crawl in the same process,
``suara run`` crawling several sources, a test session, a notebook whose asyncio loop is
already running) it runs the same crawl in a fresh Python subprocess (``python -m
scraper.crawl``) that writes its summary to a JSON file. Both paths go through the same
settings, spider and item pipelines; ``isolate=True``/``False`` forces one of them.

``scrapy crawl SPIDER -a ...`` from the repository root uses the same settings and
pipelines, so it stores the same result.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pipelines.errors import CrawlError, InputError, SuaraError
from pipelines.scrapy_pipelines import CrawlOutcome

SETTINGS_MODULE = "scraper.settings"

#: Overrides that make a crawl against a local server fast (tests, demo). Not polite on the web.
FAST_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "SUARA_RETRY_BACKOFF": 0.05,
    "SUARA_RETRY_MAX_DELAY": 0.5,
    "DOWNLOAD_TIMEOUT": 10,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
}


@dataclass
class CrawlSummary(CrawlOutcome):
    """What one crawl did: the store pipeline's outcome plus the crawl's own figures.

    ``ok`` is False when it errored or could not finish.
    """

    spider: str = ""
    dropped: int = 0
    requests: int = 0
    responses: int = 0
    elapsed_s: float = 0.0
    isolated: bool = False

    @property
    def ok(self) -> bool:
        return self.complete and not self.errors

    def error_line(self) -> str:
        """One line saying why the crawl is not ok."""
        what = f"{self.spider} {self.target}".strip()
        first = self.errors[0] if self.errors else f"stopped early ({self.reason or 'unknown reason'})"
        more = f" (+{len(self.errors) - 1} more error(s))" if len(self.errors) > 1 else ""
        if self.stored == 0:
            return f"crawl of {what} stored nothing: {first}{more}"
        return f"crawl of {what} is incomplete ({self.stored} item(s) stored, state left incomplete): {first}{more}"

    def raise_for_status(self) -> "CrawlSummary":
        """Raise CrawlError (exit 3) when the crawl errored or could not finish."""
        if not self.ok:
            raise CrawlError(self.error_line())
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CrawlSummary":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def project_settings(db: str | None = None, overrides: dict | None = None, config: str | None = None):
    """The Scrapy settings of the Suara project with Suara's overrides applied."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    if db:
        settings.set("SUARA_DB", db, priority="cmdline")
    if config:
        settings.set("SUARA_CONFIG", str(config), priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def spider_class(name_or_class, settings=None):
    """Spider class for a name (``appstore``), a ``module:Class`` path, or a class."""
    if isinstance(name_or_class, type):
        return name_or_class
    if ":" in str(name_or_class):
        import importlib

        mod, _, qual = str(name_or_class).partition(":")
        obj: Any = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
        return obj
    # Fast path: spider "x" lives in scraper/spiders/x.py; importing only that module keeps a
    # crawl's start-up from importing every spider's dependencies (trafilatura, feedparser...).
    import importlib

    import scrapy

    if re.fullmatch(r"[a-z_][a-z0-9_]*", str(name_or_class)):
        try:
            mod = importlib.import_module(f"scraper.spiders.{name_or_class}")
        except ImportError:
            mod = None
        for obj in vars(mod).values() if mod else ():
            if isinstance(obj, type) and issubclass(obj, scrapy.Spider) and getattr(obj, "name", None) == name_or_class:
                return obj
    from scrapy.spiderloader import get_spider_loader

    loader = get_spider_loader(settings or project_settings())
    try:
        return loader.load(name_or_class)
    except KeyError:
        raise InputError(
            f"unknown spider {name_or_class!r}; spiders: {', '.join(sorted(loader.list()))}"
        ) from None


def _reactor_used() -> bool:
    if "twisted.internet.reactor" in sys.modules:
        return True
    try:
        import asyncio

        asyncio.get_running_loop()
        return True  # e.g. a Jupyter kernel: its loop is busy
    except RuntimeError:
        return False


def run_spider(
    spider,
    db: str | None = None,
    settings_overrides: dict | None = None,
    *,
    config: str | Path | None = None,
    isolate: bool | None = None,
    on_item=None,
    **spider_args,
) -> CrawlSummary:
    """Crawl with one spider into the store and return what happened.

    ``spider``: a spider name (``"appstore"``), ``"module:Class"`` or a spider class.
    ``db``: database URL (default ``$SUARA_DB`` or the default file). ``settings_overrides``:
    Scrapy settings (e.g. :data:`FAST_SETTINGS`). ``config``: sources file for the contact in
    the user agent. ``spider_args``: the spider's arguments (``app=..., country=...``).
    ``on_item``: called with each stored item (in-process runs only; for progress display).

    Never raises for a failed crawl: check ``summary.ok`` or call ``raise_for_status()``.
    Raises InputError for an unknown spider or bad arguments.
    """
    settings = project_settings(db, settings_overrides, config)
    cls = spider_class(spider, settings)
    args = {k: v for k, v in spider_args.items() if v is not None}
    if config:
        args["config"] = str(config)
    check = getattr(cls, "check_args", None)
    if check:
        check(**args)
    from scraper.trust import CA_SETTING, ca_bundle

    ca_bundle(settings.get(CA_SETTING), settings.get("SUARA_CONFIG") or None)  # a bad bundle: one line, before any request
    if isolate is None:
        isolate = _reactor_used() or threading.current_thread() is not threading.main_thread()
    if isolate:
        if isinstance(spider, type) and cls.__module__ == "__main__":
            raise InputError(f"spider class {cls.__name__} must live in an importable module to run in a subprocess")
        return _run_subprocess(spider if not isinstance(spider, type) else f"{cls.__module__}:{cls.__qualname__}",
                               db, settings_overrides, config, args)
    return _run_in_process(cls, settings, args, on_item)


def _summary_from(crawler, spider_name: str, args: dict, started: float) -> CrawlSummary:
    stats = crawler.stats.get_stats() if crawler.stats else {}
    o = stats.get("suara/outcome") or {}
    s = CrawlSummary(spider=spider_name, elapsed_s=round(time.monotonic() - started, 2))
    for f in fields(CrawlOutcome):
        if f.name in o:
            setattr(s, f.name, o[f.name])
    if not o:
        s.target = str(args.get(getattr(crawler.spidercls, "target_arg", "target"), ""))
        s.reason = stats.get("finish_reason", "") or ""
        s.errors = ["the crawl did not run to its end (see the log above)"]
    s.dropped = int(stats.get("item_dropped_count", 0) or 0) - int(stats.get("suara/dropped_duplicate", 0) or 0)
    s.requests = int(stats.get("downloader/request_count", 0) or 0)
    s.responses = int(stats.get("downloader/response_count", 0) or 0)
    return s


def _run_in_process(cls, settings, args: dict, on_item=None) -> CrawlSummary:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    started = time.monotonic()
    if cls.__module__.startswith("scraper.spiders."):
        settings.set("SPIDER_MODULES", [cls.__module__], priority="cmdline")  # see spider_class()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(cls)
    if on_item is not None:
        crawler.signals.connect(lambda item, **_: on_item(item), signal=signals.item_scraped, weak=False)
    failures: list[BaseException] = []
    d = process.crawl(crawler, **args)
    d.addErrback(lambda f: failures.append(f.value))
    process.start()
    if failures:
        exc = failures[0]
        if isinstance(exc, SuaraError):
            raise exc
        raise CrawlError(f"crawl of {cls.name} could not start: {type(exc).__name__}: {exc}") from exc
    return _summary_from(crawler, cls.name, args, started)


def _run_subprocess(spider: str, db, overrides, config, args: dict) -> CrawlSummary:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="suara-crawl-") as tmp:
        out = Path(tmp) / "summary.json"
        spec = {"spider": spider, "db": db, "overrides": overrides or {}, "config": str(config) if config else None,
                "args": args, "out": str(out)}
        env = dict(os.environ)
        # The child must import what this process can (a spider class defined in a test module).
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
        env.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
        # Own session: a Ctrl-C at the terminal reaches only us, and we pass on exactly one SIGTERM
        # (a second one would make Scrapy stop without closing the crawl).
        proc = subprocess.Popen([sys.executable, "-m", "scraper.crawl", json.dumps(spec, default=str)], env=env,
                                start_new_session=True)
        try:
            proc.wait()
        except BaseException:  # we are being stopped (suara run got SIGTERM/SIGINT)
            _stop_child(proc)
            raise
        if not out.exists():
            raise CrawlError(f"crawl of {spider} failed to run (subprocess exit {proc.returncode}); see the log above")
        data = json.loads(out.read_text())
    if "error" in data:
        cls = {"InputError": InputError, "CrawlError": CrawlError}.get(data.get("type"), SuaraError)
        err = cls(data["error"])
        err.exit_code = data.get("exit_code", err.exit_code)  # e.g. 75 when the target's crawl lock is held
        raise err
    summary = CrawlSummary.from_dict(data)
    summary.isolated = True
    summary.elapsed_s = round(time.monotonic() - started, 2)
    return summary


def _stop_child(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM: Scrapy stops gracefully, stores what it fetched and records the crawl as
    incomplete (it resumes next time); a child that does not stop in ``grace`` s is killed."""
    import signal

    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except BaseException:
        proc.kill()
        raise


def _child(spec_json: str) -> int:
    spec = json.loads(spec_json)
    out = Path(spec["out"])
    try:
        args = dict(spec.get("args", {}))
        args.pop("config", None)  # run_spider adds it back from ``config``
        s = run_spider(spec["spider"], spec.get("db"), spec.get("overrides"), config=spec.get("config"),
                       isolate=False, **args)
        out.write_text(json.dumps(s.to_dict(), default=str))
        return 0
    except SuaraError as exc:
        out.write_text(json.dumps({"error": str(exc), "type": type(exc).__name__, "exit_code": exc.exit_code}))
        return exc.exit_code


if __name__ == "__main__":
    logging.captureWarnings(True)
    sys.exit(_child(sys.argv[1]))
