"""Load reviews that google-play-scraper exported earlier (CSV or JSON) into the store.

Researchers often hold files made with ``pd.DataFrame(reviews_all(app_id)).to_csv(...)``
or ``json.dump(result, f, default=str)``. Their columns are gps's names: reviewId,
userName, userImage, content, score, thumbsUpCount, reviewCreatedVersion, at,
replyContent, repliedAt, appVersion. Rows go through the same upsert (versions on edits)
and the same author pseudonymisation as a crawl; ``userImage`` is never stored.

Times: gps turns Google's UTC epoch seconds into *naive local* datetimes of the machine
that scraped, so a file's ``at`` carries no zone. They are read as UTC unless ``tz``
names the zone the scraping machine ran in (for a laptop in Jakarta: ``Asia/Jakarta``).
Times written with an explicit offset are converted from that offset whatever ``tz`` is.

The whole file is validated before anything is written: one bad row (missing column,
bad date, bad score, bad JSON) is one :class:`InputError` naming the file, row and
column, and nothing from that file is stored.
"""

from __future__ import annotations

import csv
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
import pandas as pd

from scraper.exports import blank as _blank  # one definition of "no value" and of a zone name for every import
from scraper.exports import read_text
from scraper.exports import zone as _zone

from .errors import InputError
from .privacy import pseudonymise
from .store import Store, UpsertResult

SOURCE = "playstore"
REQUIRED = ("reviewId", "content", "score", "at")
# Rows per committed transaction (about a second of write lock on a busy machine), and a pause
# after each: SQLite's busy handler polls a waiting writer only every 100 ms, so a loop that
# commits and at once begins again starves every other writer until the whole file is in.
IMPORT_BATCH = 200
IMPORT_PAUSE = 0.15
OPTIONAL = ("userName", "thumbsUpCount", "reviewCreatedVersion", "replyContent", "repliedAt", "appVersion")


def _read_records(path: Path) -> tuple[list[dict], str]:
    """The file's rows as dicts and its kind (csv/json), by its suffix or else its first character."""
    text = read_text(path)
    suffix = path.suffix.lower()
    kind = {".json": "json", ".csv": "csv"}.get(suffix)
    if kind is None:
        if suffix not in ("", ".txt"):
            raise InputError(f"{path}: unsupported file type {suffix!r}; expected a .csv or .json export")
        kind = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to be a google-play-scraper export") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON array of review objects, got {type(data).__name__}")
        for i, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise InputError(f"{path}: item {i} is a {type(item).__name__}, expected an object")
        return data, kind
    if not text.strip():
        raise InputError(f"{path}: empty file")
    try:
        # Strings only: gps exports hold ids and versions that must not turn into numbers.
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise InputError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
    # A header-only file has no records to take columns from: check the header itself, so a
    # wrong header is an error rather than "0 reviews imported".
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a google-play-scraper export has "
                         f"{', '.join(REQUIRED + OPTIONAL)}")
    return df.to_dict("records"), kind


def _time(value, zone, path: Path, where: str, column: str) -> datetime | None:
    if _blank(value):
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
        if not isinstance(value, str):
            raise ValueError
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{path}: {where}, column {column!r}: not a date and time: {value!r}") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone)
    return ts.astimezone(timezone.utc).replace(tzinfo=None)


def _int(value, path: Path, where: str, column: str, lo: int | None = None, hi: int | None = None) -> int | None:
    if _blank(value):
        return None
    try:
        f = float(value) if not isinstance(value, bool) else math.nan
        if not f.is_integer():
            raise ValueError
        n = int(f)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {where}, column {column!r}: not a whole number: {value!r}") from None
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise InputError(f"{path}: {where}, column {column!r}: {n} is outside {lo}-{hi}")
    return n


def _text(value, path: Path, where: str, column: str) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"{path}: {where}, column {column!r}: expected text, got {type(value).__name__}")
    return value


def read_reviews(path: str | Path, app_id: str, tz: str = "UTC", lang: str | None = None,
                 country: str | None = None) -> list[dict]:
    """Validate a gps export and turn it into ``mentions`` rows; raises InputError on the first problem."""
    path = Path(path)
    zone = _zone(tz)
    if not app_id or not str(app_id).strip():
        raise InputError("an app id is required (--app)")
    records, kind = _read_records(path)
    if records:
        columns = set().union(*(r.keys() for r in records))
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a google-play-scraper export has "
                             f"{', '.join(REQUIRED + OPTIONAL)}")
    rows = []
    for i, rec in enumerate(records, 1):
        where = f"row {i}" if kind == "csv" else f"item {i}"
        for col in REQUIRED:
            if col not in rec:
                raise InputError(f"{path}: {where}: missing column {col!r}")
        rid = _text(rec["reviewId"], path, where, "reviewId")
        if not rid:
            raise InputError(f"{path}: {where}, column 'reviewId': empty")
        score = _int(rec["score"], path, where, "score", 1, 5)
        if score is None:
            raise InputError(f"{path}: {where}, column 'score': empty")
        at = _time(rec["at"], zone, path, where, "at")
        if at is None:
            raise InputError(f"{path}: {where}, column 'at': empty")
        reply = _text(rec.get("replyContent"), path, where, "replyContent")
        version = _text(rec.get("appVersion"), path, where, "appVersion") or _text(
            rec.get("reviewCreatedVersion"), path, where, "reviewCreatedVersion"
        )
        rows.append({
            "source": SOURCE,
            "source_id": rid,
            "app": app_id,
            "kind": "review",
            "author_key": pseudonymise(SOURCE, _text(rec.get("userName"), path, where, "userName")),
            "text": _text(rec["content"], path, where, "content") or "",
            "rating": float(score),
            "created_at": at,
            "updated_at": at,
            "url": f"https://play.google.com/store/apps/details?id={app_id}&reviewId={rid}",
            "lang": lang,
            "country": country,
            "reply_text": reply,
            "reply_at": _time(rec.get("repliedAt"), zone, path, where, "repliedAt") if reply else None,
            "thumbs_up": _int(rec.get("thumbsUpCount"), path, where, "thumbsUpCount", 0),
            "app_version": version,
        })
    return rows


def import_reviews(store: Store, path: str | Path, app_id: str, tz: str = "UTC", lang: str | None = None,
                   country: str | None = None) -> UpsertResult:
    """Import a google-play-scraper export for ``app_id``.

    The whole file is validated first (one bad row: nothing stored), then written in
    transactions of :data:`IMPORT_BATCH` rows so other commands can write in between; a
    crash part-way leaves whole batches, and importing the file again completes it.

    A file that holds the same review more than once (merged scrapes) keeps each
    distinct text as a version, oldest first.
    """
    rows = read_reviews(path, app_id, tz=tz, lang=lang, country=country)
    run_id = store.start_run("import", SOURCE, app_id)
    # Oldest first, and one occurrence of an id per batch, so an edit chain becomes versions.
    rows.sort(key=lambda r: (r["created_at"], r["source_id"]))
    batches: list[list[dict]] = []
    seen: dict[str, int] = {}
    for row in rows:
        n = seen.get(row["source_id"], 0)
        seen[row["source_id"]] = n + 1
        if n == len(batches):
            batches.append([])
        batches[n].append(row)
    result = UpsertResult()
    try:
        for batch in batches:
            # Bounded transactions: one big one held the write lock for the whole file and made
            # concurrent crawls time out. The file was validated above, and a rerun after a crash
            # is idempotent, so committing batch by batch loses nothing.
            for chunk in range(0, len(batch), IMPORT_BATCH):
                if result.seen and store.dialect == "sqlite":
                    time.sleep(IMPORT_PAUSE)
                with store.engine.begin() as conn:
                    result += store.upsert_mentions(batch[chunk : chunk + IMPORT_BATCH], conn)
    except BaseException as exc:
        store.finish_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    store.finish_run(run_id, "ok", result)
    return result
