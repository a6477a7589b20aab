"""Keep running and call the whole job on a schedule (APScheduler).

For those who prefer the system scheduler, the README shows the equivalent crontab line
and a systemd service + timer; both call ``suara run``, which holds the same run lock.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import timezone as tz

from .errors import InputError

log = logging.getLogger("suara.schedule")

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_every(text: str) -> timedelta:
    """``"6h"``, ``"30m"``, ``"1d12h"`` -> a timedelta (at least one minute)."""
    parts = re.findall(r"(\d+)\s*([smhdw])", text.strip().lower())
    if not parts or re.sub(r"(\d+)\s*([smhdw])", "", text.strip().lower()).strip():
        raise InputError(f"--every {text!r} is not an interval like 6h, 30m or 1d12h")
    delta = timedelta()
    for n, unit in parts:
        delta += timedelta(**{_UNITS[unit]: int(n)})
    if delta < timedelta(minutes=1):
        raise InputError(f"--every {text!r} is shorter than one minute")
    return delta


def make_trigger(every: str | None = None, cron: str | None = None, timezone: str = "UTC"):
    """An APScheduler trigger from an interval or a five-field cron expression."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if bool(every) == bool(cron):
        raise InputError("give exactly one of --every INTERVAL or --cron 'EXPR'")
    if every:
        return IntervalTrigger(seconds=int(parse_every(every).total_seconds()), timezone=timezone)
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    except ValueError as exc:
        raise InputError(f"--cron {cron!r} is not a valid cron expression: {exc}") from exc


def run_forever(job: Callable[[], object], every: str | None = None, cron: str | None = None,
                run_now: bool = True, timezone: str = "UTC") -> None:
    """Call ``job`` on the schedule until interrupted; Ctrl-C stops between runs.

    Runs never overlap (one instance at a time; missed runs coalesce into one), and a
    failing run is logged without stopping the schedule.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    trigger = make_trigger(every, cron, timezone)

    def guarded() -> None:
        try:
            job()
        except Exception:  # the next run should still happen
            log.exception("scheduled run failed")

    scheduler = BlockingScheduler(timezone=timezone)
    first = {"next_run_time": datetime.now(tz.utc)} if run_now else {}
    scheduler.add_job(guarded, trigger, id="suara-run", max_instances=1, coalesce=True,
                      misfire_grace_time=3600, **first)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            # wait=True: a run in progress finishes and commits before we exit.
            scheduler.shutdown(wait=True)
