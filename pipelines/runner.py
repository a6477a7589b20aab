"""``suara run``: the whole job once, safe to call from cron; and ``suara status``.

One run = crawl every source in the sources config -> analyse new mentions (sentiment and
indicators) -> write the trend files -> triangulate when the config names a survey. A
failing source is recorded and the others go on; the run then ends non-zero and its
summary names the source and the reason. Each crawl checkpoints per page, so a rerun after
any failure continues where the last one stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from .errors import SuaraError
from .lock import LockHeld, RunLock
from .paths import output_dir
from .sources import SourcesConfig, load_sources
from .store import Store, UpsertResult, is_locked, mentions, runs, sentiments, store_error, utcnow

log = logging.getLogger("suara.run")

SUMMARY_COLUMNS = ["step", "source", "target", "status", "new", "updated", "seen", "seconds", "detail"]


@dataclass
class StepResult:
    """One line of a run's summary: a crawl of one target, or an analysis/report step."""

    step: str  # crawl, analyze, tag, trends, triangulate
    source: str = ""
    target: str = ""
    status: str = "ok"  # ok, failed, skipped
    new: int = 0
    updated: int = 0
    seen: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunSummary:
    run_id: int | None
    steps: list[StepResult] = field(default_factory=list)
    out_dir: Path | None = None
    took_over_stale_lock: dict | None = None
    interrupted: int | None = None  # the signal (SIGTERM, SIGINT) that stopped the run, if one did

    @property
    def exit_code(self) -> int:
        """0 ok, 1 a step failed, 128+signal when interrupted (143 SIGTERM, 130 SIGINT)."""
        if self.interrupted:
            return 128 + self.interrupted
        return 0 if self.ok else 1

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.steps], columns=SUMMARY_COLUMNS)

    def error_line(self) -> str:
        if self.interrupted:
            at = next((f"during {x.step} {x.source} {x.target}".replace("  ", " ").strip()
                       for x in self.steps if x.status == "interrupted"), "between steps")
            return (f"run {self.run_id} interrupted by {signal.Signals(self.interrupted).name} {at}; "
                    "remaining steps skipped, what was stored is kept and the next run resumes")
        parts = [f"{s.source or s.step} {s.target}".strip() + f": {s.detail}" for s in self.failed]
        return f"{len(parts)} step(s) failed: " + "; ".join(parts)


def lock_path(store: Store) -> Path:
    """Beside an SQLite file; for a server database, in the output folder, keyed by its URL."""
    from .lock import store_lock_stem

    stem = store_lock_stem(store.engine.url)  # the resolved file: a symlink must not get a second lock
    if stem is not None:
        return stem.with_suffix(".lock")
    key = hashlib.sha256(store.safe_url.encode()).hexdigest()[:12]
    return output_dir() / f"run-{key}.lock"


def _timed(step: StepResult, fn: Callable[[], None]) -> StepResult:
    t0 = time.monotonic()
    try:
        fn()
    except LockHeld as exc:  # a `suara crawl` of this very target is running: it collects it
        step.status, step.detail = "skipped", str(exc)
    except SuaraError as exc:
        # 75 from a crawl subprocess: the target's crawl lock was held, as above.
        step.status, step.detail = ("skipped" if exc.exit_code == 75 else "failed"), str(exc)
    except Exception as exc:  # one broken source must not stop the others
        if is_locked(exc):  # the store stayed locked past the busy timeout: one line, no traceback
            step.status, step.detail = "failed", str(store_error(exc))
        else:
            log.exception("%s %s %s failed", step.step, step.source, step.target)
            step.status, step.detail = "failed", f"{type(exc).__name__}: {exc}"
    except RunInterrupted:
        step.status, step.detail = "interrupted", "stopped by a signal; the crawl resumes from its last checkpoint"
        step.seconds = round(time.monotonic() - t0, 2)
        raise
    step.seconds = round(time.monotonic() - t0, 2)
    return step


class RunInterrupted(BaseException):
    """SIGTERM or SIGINT during ``suara run``. A BaseException, like KeyboardInterrupt, so that
    the "one failing source does not stop the others" handling does not swallow it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """While a run is going, SIGTERM/SIGINT stop it at the next safe point: after the page (or
    analysis chunk) in progress is committed, or at once while it only waits for a spider's child
    process (which gets one SIGTERM and closes its crawl). The remaining steps are skipped and the
    run is recorded as interrupted. The handler does not raise anywhere else: an exception thrown
    into HTTP or database internals at a random point was seen to be swallowed there and to stall
    the crawl. Only the main thread can own signal handlers; elsewhere (the scheduler's worker)
    this does nothing and the scheduler's own Ctrl-C handling applies."""

    WATCHED = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.old: dict[int, object] = {}
        self.received: int | None = None
        self.interruptible = False  # True only while waiting on a child process

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.WATCHED:
                self.old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame) -> None:
        if self.received is not None:
            return  # a second signal while we record the first: let the cleanup finish
        self.received = signum
        if self.interruptible:
            raise RunInterrupted(signum)

    def check(self, *_progress) -> None:
        """Raise for a signal received since (a safe point; usable as a ``progress`` callback)."""
        if self.received is not None:
            raise RunInterrupted(self.received)

    def reinstall(self) -> None:
        # An in-process Scrapy crawl installs its own handlers; take them back after each step.
        for sig in self.old:
            if signal.getsignal(sig) != self._handle:
                signal.signal(sig, self._handle)

    def __exit__(self, *exc) -> None:
        for sig, old in self.old.items():
            signal.signal(sig, old)


def close_stale_runs(store: Store, holder: dict | None) -> int:
    """Mark runs a killed ``suara run`` left as ``running`` as interrupted (called on takeover of
    its stale lock, so none of them can still be going)."""
    from sqlalchemy import update

    from .lock import crawl_lock
    from .store import crawl_state

    cond = (runs.c.job == "run") & (runs.c.status == "running")
    if holder and isinstance(holder.get("run_id"), int):
        cond = cond & (runs.c.id <= holder["run_id"])
    error = f"killed (pid {holder.get('pid') if holder else '?'}); found by the next run's stale-lock takeover"
    with store.engine.begin() as conn:
        stale = conn.execute(select(runs.c.id, runs.c.started_at).where(cond)).all()
        if not stale:
            return 0
        conn.execute(update(runs).where(runs.c.id.in_([r.id for r in stale])).values(
            status="interrupted", finished_at=utcnow(), error=error))
        # The crawls it was in the middle of: "running" rows since it started whose target no live
        # process holds the crawl lock of (a `suara crawl` started by hand meanwhile holds it).
        crawls = conn.execute(select(runs.c.id, runs.c.source, runs.c.target).where(
            runs.c.job == "crawl", runs.c.status == "running",
            runs.c.started_at >= min(r.started_at for r in stale))).all()
        keys = {(r.source, r.target): [] for r in crawls}
        for k in conn.execute(select(crawl_state.c.source, crawl_state.c.target, crawl_state.c.lang,
                                     crawl_state.c.country)).all():
            if (k.source, k.target) in keys:
                keys[(k.source, k.target)].append((k.lang, k.country))
    dead = []
    for r in crawls:
        locks = [crawl_lock(store, r.source, r.target, lang, country) for lang, country in keys[(r.source, r.target)]]
        try:
            for lk in locks:
                lk.acquire()
            dead.append(r.id)
        except LockHeld:
            pass
        finally:
            for lk in locks:
                lk.release()
    if dead:
        with store.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id.in_(dead)).values(
                status="interrupted", finished_at=utcnow(), error=error))
    return len(stale)


def crawl_steps(cfg: SourcesConfig, db: str, full: bool = False, log_level: str = "WARNING",
                signals: _Signals | None = None) -> list[tuple[StepResult, Callable[[], None]]]:
    """One (step, action) per configured target, in a stable order. ``signals``: stop points
    for ``suara run`` (after each Play Store page; while waiting for a spider's process)."""
    from scraper.crawl import run_spider

    signals = signals or _Signals()

    plan: list[tuple[StepResult, Callable[[], None]]] = []

    def spider(step: StepResult, name: str, **args) -> Callable[[], None]:
        def go() -> None:
            # In a subprocess: an in-process Scrapy crawl would take over SIGTERM/SIGINT, and the
            # child, stopped with SIGTERM, closes its crawl cleanly (see scraper.crawl).
            signals.interruptible = True
            try:
                s = run_spider(name, db=db, settings_overrides={"LOG_LEVEL": log_level}, config=str(cfg.path),
                               full=full or None, isolate=True, **args)
            finally:
                signals.interruptible = False
            step.new, step.updated, step.seen = s.new, s.updated, s.stored
            step.detail = f"{s.requests} request(s)"
            s.raise_for_status()
        return go

    for app in cfg.playstore:
        step = StepResult("crawl", "playstore", app.id or app.name)
        if not app.id:
            step.status, step.detail = "skipped", f'no id yet: run suara discover "{app.discover}"'
            plan.append((step, None))
            continue

        def go(step=step, app=app) -> None:
            from scraper.playstore import ClientConfig, crawl_playstore
            from scraper.trust import ca_bundle

            store = Store(db)
            try:
                # Stop points: after the page in progress is committed, or before a retry's wait.
                r = crawl_playstore(store, app.id, lang=app.lang, country=app.country, full=full,
                                    config=ClientConfig.from_env(ca_bundle=ca_bundle(config=cfg.path)),
                                    progress=signals.check, on_retry=signals.check)
            finally:
                store.close()
            step.new, step.updated, step.seen = r.new, r.updated, r.seen
            step.detail = f"{r.pages} page(s), {r.requests} request(s)"

        plan.append((step, go))
    for app in cfg.appstore:
        step = StepResult("crawl", "appstore", app.id or app.name)
        if not app.id:
            step.status, step.detail = "skipped", "no id yet: look the app up on apps.apple.com"
            plan.append((step, None))
            continue
        plan.append((step, spider(step, "appstore", app=app.id, country=app.country)))
    since = cfg.news.since.isoformat() if cfg.news.since else None
    for q in cfg.news.queries:
        step = StepResult("crawl", "news", q)
        plan.append((step, spider(step, "news", query=q, since=since)))
    if cfg.news.feeds and not cfg.news.queries:
        step = StepResult("crawl", "news", "feeds")
        plan.append((step, spider(step, "news", query="feeds")))
    for q in cfg.reddit.queries:
        step = StepResult("crawl", "reddit", q)
        from scraper.spiders.reddit import credentials_problem

        problem = credentials_problem()
        if problem:
            # Reddit refuses requests without credentials: skip (and say so) rather than fail forever.
            step.status, step.detail = "skipped", problem.split(":")[0]
            plan.append((step, None))
            continue
        plan.append((step, spider(step, "reddit", query=q)))
    yt = [("query", q) for q in cfg.youtube.queries] + [("video", v) for v in cfg.youtube.video_ids]
    for kind, value in yt:
        step = StepResult("crawl", "youtube", value)
        if not os.environ.get("YOUTUBE_API_KEY"):
            # Opt-in source: without a key the run skips it (and says so) rather than failing forever.
            step.status, step.detail = "skipped", "YOUTUBE_API_KEY is not set"
            plan.append((step, None))
            continue
        plan.append((step, spider(step, "youtube", **{kind: value})))
    if cfg.imports is not None and cfg.imports.folders:
        plan.append(import_step(cfg, db))
    return plan


def import_step(cfg: SourcesConfig, db: str) -> tuple[StepResult, Callable[[], None]]:
    """Import new export files from the folders in ``[imports]`` (skips files imported before)."""
    step = StepResult("import", "exports", ", ".join(f.path.name for f in cfg.imports.folders))

    def go() -> None:
        from .social_import import import_paths

        store = Store(db)
        try:
            results, errors = import_paths(store, cfg.imports)
        finally:
            store.close()
        done = [r for r in results if not r.skipped]
        step.new = sum(r.stored.new for r in done)
        step.updated = sum(r.stored.updated for r in done)
        step.seen = sum(r.stored.seen for r in done)
        step.detail = f"{len(done)} file(s) imported, {len(results) - len(done)} already imported"
        if errors:
            raise SuaraError(f"{len(errors)} file(s) not imported: " + "; ".join(errors))
    return step, go


def run_once(
    config: str | Path | None = None,
    db: str | None = None,
    out: str | Path | None = None,
    *,
    full: bool = False,
    model: str | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> RunSummary:
    """Do the whole job once under the run lock; returns the summary (never raises for a failed source).

    Raises ``LockHeld`` when another run holds the lock and ``InputError`` for a bad config.
    """
    cfg = load_sources(config)
    store = Store(db)
    out_dir = Path(out) if out else output_dir() / "reports"
    summary = RunSummary(run_id=None, out_dir=out_dir)
    lock = RunLock(lock_path(store))
    lock.acquire()
    signals = _Signals()
    try:
        signals.__enter__()
        summary.took_over_stale_lock = lock.stale_holder
        if lock.stale_holder:
            log.warning("took over a stale run lock left by %s", lock.stale_holder)
            close_stale_runs(store, lock.stale_holder)
        summary.run_id = store.start_run("run", None, str(cfg.path))
        lock.note(run_id=summary.run_id)

        def record(step: StepResult, action: Callable[[], None] | None) -> None:
            signals.check()
            if action is not None:
                try:
                    _timed(step, action)
                finally:
                    summary.steps.append(step)
                    signals.reinstall()
            else:
                summary.steps.append(step)
            signals.check()
            log.info("%s %s %s: %s %s", step.step, step.source, step.target, step.status, step.detail)
            if on_step:
                on_step(step)

        for step, action in crawl_steps(cfg, store.url, full=full, signals=signals):
            record(step, action)

        from .analysis import analyze_sentiment, calibration_texts
        from .tagging import tag_indicators

        chosen = model or cfg.analysis.model
        s_step = StepResult("analyze", target=chosen)

        def analyze() -> None:
            import warnings

            from nlp.sentiment import FallbackWarning, load_classifier

            # The step's line names the model once; auto's fallback is not printed a second time.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FallbackWarning)
                clf = load_classifier(
                    chosen, labels=cfg.analysis.labels, precision=cfg.analysis.precision,
                    calibration_texts=(calibration_texts(store) or None) if cfg.analysis.precision == "auto" else None)
            res = analyze_sentiment(store, model=clf, progress=signals.check)  # stops after a chunk
            s_step.new = int(getattr(res, "labelled", 0) or 0)
            s_step.detail = res.model + (" (fallback: IndoBERT did not load)" if res.fallback else "")

        record(s_step, analyze)
        t_step = StepResult("tag", target="indicators")

        def tag() -> None:
            t_step.new = int(tag_indicators(store, progress=signals.check) or 0)

        record(t_step, tag)
        if store.count_mentions():
            from .trends import write_trends

            tri: dict = {}
            if cfg.survey:
                from .triangulate import load_survey, triangulate, write_triangulation

                def triangulation() -> None:
                    survey = load_survey(cfg.survey.file)
                    write_triangulation(store, survey, out_dir, window=cfg.survey.window)
                    # Kept for report.html, so one page carries trends and the survey comparison.
                    tri["frame"] = triangulate(store, survey, window=cfg.survey.window)

                record(StepResult("triangulate", target=str(cfg.survey.file)), triangulation)
            tr_step = StepResult("trends", target=str(out_dir))
            from .brief import app_names_from_config

            record(tr_step, lambda: write_trends(store, out_dir, period=cfg.trends.period,
                                                 triangulation=tri.get("frame"), lang=cfg.trends.lang,
                                                 app_names=app_names_from_config(cfg)))
        else:
            record(StepResult("trends", status="skipped", detail="the store has no mentions yet"), None)
        signals.check()
        new = sum(s.new for s in summary.steps if s.step == "crawl")
        upd = sum(s.updated for s in summary.steps if s.step == "crawl")
        seen = sum(s.seen for s in summary.steps if s.step == "crawl")
        store.finish_run(
            summary.run_id,
            "ok" if summary.ok else "failed",
            UpsertResult(new=new, updated=upd, unchanged=max(seen - new - upd, 0)),
            error=None if summary.ok else summary.error_line(),
        )
    except RunInterrupted as exc:
        summary.interrupted = exc.signum
        if summary.run_id is not None:
            store.finish_run(summary.run_id, "interrupted", error=summary.error_line())
        log.warning("%s", summary.error_line())
    except BaseException as exc:
        if summary.run_id is not None:
            store.finish_run(summary.run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        signals.__exit__()
        lock.release()
        store.close()
    return summary


# ---- status ----------------------------------------------------------------------------------------

STATUS_COLUMNS = ["source", "target", "lang", "country", "state", "last_complete", "last_error",
                  "mentions", "waiting_analysis", "skipped", "skipped_detail"]


def status(db: "str | Store | None" = None) -> dict:
    """Per source: last successful crawl, what is incomplete, mentions waiting for analysis;
    and the last run's outcome. Returns ``{"sources": DataFrame, "last_run": dict | None}``.

    ``db`` is a :class:`Store` or a URL. A URL naming an SQLite file that does not exist is an
    ``InputError``: status reads a store, it never creates an empty one.
    """
    own = not isinstance(db, Store)
    if own:
        from sqlalchemy.engine import make_url

        from .errors import InputError
        from .paths import default_db_url

        url = db or default_db_url()
        try:
            u = make_url(url)
        except Exception:
            u = None
        if u is not None and u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") \
                and not Path(u.database).exists():
            raise InputError(f"no store at {u.database}: run `suara run` or `suara demo` first, or give --db URL")
    store = Store(db) if own else db
    try:
        st = store.states()
        gaps = store.table("crawl_gaps")
        skipped = {(g["source"], g["target"], g["lang"], g["country"]): (g["skipped"], g["detail"] or "")
                   for g in gaps.to_dict("records")}
        with store.engine.connect() as conn:
            per = conn.execute(
                select(mentions.c.source, mentions.c.app, func.count()).group_by(mentions.c.source, mentions.c.app)
            ).all()
            labelled = select(sentiments.c.mention_id).where(sentiments.c.content_hash == mentions.c.content_hash)
            waiting = conn.execute(
                select(mentions.c.source, mentions.c.app, func.count())
                .where(~mentions.c.id.in_(labelled))
                .group_by(mentions.c.source, mentions.c.app)
            ).all()
            last = conn.execute(
                select(runs).where(runs.c.job == "run").order_by(runs.c.id.desc()).limit(1)
            ).mappings().first()
        counts = {(s, a): n for s, a, n in per}
        wait = {(s, a): n for s, a, n in waiting}
        rows = []
        for r in st.to_dict("records"):
            key = (r["source"], r["target"])
            rows.append(dict(
                source=r["source"], target=r["target"], lang=r["lang"], country=r["country"],
                state=r["status"] + (" (resumable)" if r["status"] != "complete" and r.get("token") else ""),
                last_complete=r["completed_at"], last_error=r["last_error"] or "",
                mentions=counts.pop(key, 0), waiting_analysis=wait.pop(key, 0),
                **dict(zip(("skipped", "skipped_detail"),
                           skipped.get((r["source"], r["target"], r["lang"], r["country"]), (0, "")))),
            ))
        for (s, a), n in counts.items():  # imported mentions have no crawl state
            rows.append(dict(source=s, target=a, lang="", country="", state="imported", last_complete=None,
                             last_error="", mentions=n, waiting_analysis=wait.get((s, a), 0),
                             skipped=0, skipped_detail=""))
        return {"sources": pd.DataFrame(rows, columns=STATUS_COLUMNS), "last_run": dict(last) if last else None,
                "store": store.safe_url}
    finally:
        if own:
            store.close()


def describe_run(last_run: dict | None) -> str:
    """How the last run ended, in words."""
    if not last_run:
        return "no run yet"
    if last_run["status"] == "running":
        return f"run {last_run['id']} started {last_run['started_at']:%Y-%m-%d %H:%M} UTC and has not finished (running, or killed)"
    took = ""
    if last_run["finished_at"]:
        took = f" in {(last_run['finished_at'] - last_run['started_at']).total_seconds():.0f}s"
    err = f": {last_run['error']}" if last_run.get("error") else ""
    return (f"run {last_run['id']} {last_run['status']} at {last_run['finished_at']:%Y-%m-%d %H:%M} UTC{took}, "
            f"{last_run['new']} new, {last_run['updated']} updated{err}")
