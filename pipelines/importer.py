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

A CSV export is read twice as a stream, never whole: pass 1 validates every row and keeps
per row only its byte span, its time and a 64-bit hash of its id (about 24 bytes a row);
pass 2 reads the rows back by their spans in the order they are written (oldest first, as
before). A JSON export is parsed whole (``json.loads``), so its memory grows with the file.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
import time
from array import array
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from scraper.exports import blank as _blank  # one definition of "no value" and of a zone name for every import
from scraper.exports import read_text
from scraper.exports import zone as _zone

from .errors import InputError
from .privacy import pseudonymiser
from .store import Store, UpsertResult

SOURCE = "playstore"
REQUIRED = ("reviewId", "content", "score", "at")
OPTIONAL = ("userName", "thumbsUpCount", "reviewCreatedVersion", "replyContent", "repliedAt", "appVersion")
# Write transactions end after about this much work, then pause: SQLite's busy handler lets a
# waiting writer retry at most 100 ms apart (its back-off reaches 100 ms after ~230 ms of waiting),
# so a pause a little longer than that always contains one of its retries. A concurrent crawl or
# analysis thus waits at most about a second for its turn (what busy_timeout_ms assumes of every
# writer), and the import spends ~90% of its time writing (the old 200 rows per transaction and
# 0.15 s pause after each spent most of a large import asleep).
IMPORT_TXN_SECONDS = 1.0
IMPORT_PAUSE = 0.11
IMPORT_CHUNK = 500  # rows per upsert call (one existing-row query and one multi-row INSERT)
_TIE_SLICE = 1 << 18  # rows compared at a time when looking for equal times
_READ_GAP = 1 << 13  # rows whose spans lie this close together are read with one pread
_UTC_KEYS = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"}
_EPOCH = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)


def _cannot_read(path: Path, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot read ({exc.strerror or exc})")


def _kind(path: Path) -> str:
    """csv or json, by the suffix or else the first character of the file."""
    suffix = path.suffix.lower()
    kind = {".json": "json", ".csv": "csv"}.get(suffix)
    if kind is not None:
        return kind
    if suffix not in ("", ".txt"):
        raise InputError(f"{path}: unsupported file type {suffix!r}; expected a .csv or .json export")
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    return "json" if head.decode("utf-8-sig", "ignore").lstrip()[:1] in ("[", "{") else "csv"


def _missing_columns(path: Path, missing: list[str]) -> InputError:
    return InputError(f"{path}: missing column(s) {', '.join(missing)}; a google-play-scraper export has "
                      f"{', '.join(REQUIRED + OPTIONAL)}")


# ---- field parsing (the same rules for CSV strings and JSON values) ---------------------------------


def _time(value, zone, path: Path, where: str, column: str, utc: bool = False) -> datetime | None:
    if value.__class__ is str:
        s = value.strip()
        if not s:
            return None
        try:
            ts = datetime.fromisoformat(s.replace("Z", "+00:00") if "Z" in s else s)
        except ValueError:
            raise InputError(f"{path}: {where}, column {column!r}: not a date and time: {value!r}") from None
        if ts.tzinfo is None:
            if utc:  # gps's naive "YYYY-MM-DD HH:MM:SS" read as UTC: already the stored form
                return ts
            ts = ts.replace(tzinfo=zone)
        try:
            return ts.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            raise InputError(f"{path}: {where}, column {column!r}: not a date and time: {value!r}") from None
    if _blank(value):
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
        raise ValueError
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{path}: {where}, column {column!r}: not a date and time: {value!r}") from None


def _int(value, path: Path, where: str, column: str, lo: int | None = None, hi: int | None = None) -> int | None:
    n = None
    if value.__class__ is str:
        try:
            n = int(value)  # "5": the common case, without the float round trip
        except ValueError:
            if not value or value.isspace():
                return None
    elif _blank(value):
        return None
    if n is None:
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
    if value.__class__ is str:
        return value if value and not value.isspace() else None
    if _blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{path}: {where}, column {column!r}: expected text, got {type(value).__name__}")


class _Rows:
    """Turns validated records of one file into ``mentions`` rows."""

    def __init__(self, path: Path, app_id: str, tz: str, lang: str | None, country: str | None):
        self.path = path
        self.zone = _zone(tz)
        self.utc = getattr(self.zone, "key", None) in _UTC_KEYS
        self.app_id, self.lang, self.country = app_id, lang, country
        self.url = f"https://play.google.com/store/apps/details?id={app_id}&reviewId="
        self._author: Callable[[str | None], str | None] | None = None

    def check(self, rec: dict, where: str) -> tuple[str, datetime]:
        """Validate a record (raises InputError on the first problem); its id and time."""
        return self.row(rec, where, keyed=False)  # type: ignore[return-value]

    def row(self, rec: dict, where: str, keyed: bool = True) -> dict | tuple[str, datetime]:
        """The ``mentions`` row of a record, or with ``keyed=False`` only (id, time) after the same checks.

        The checks run in the order they always ran, so a row with two problems names the same one."""
        path, zone, utc = self.path, self.zone, self.utc
        for col in REQUIRED:
            if col not in rec:
                raise InputError(f"{path}: {where}: missing column {col!r}")
        get = rec.get
        rid = _text(rec["reviewId"], path, where, "reviewId")
        if not rid:
            raise InputError(f"{path}: {where}, column 'reviewId': empty")
        score = _int(rec["score"], path, where, "score", 1, 5)
        if score is None:
            raise InputError(f"{path}: {where}, column 'score': empty")
        at = _time(rec["at"], zone, path, where, "at", utc)
        if at is None:
            raise InputError(f"{path}: {where}, column 'at': empty")
        reply = _text(get("replyContent"), path, where, "replyContent")
        version = _text(get("appVersion"), path, where, "appVersion") or _text(
            get("reviewCreatedVersion"), path, where, "reviewCreatedVersion")
        author = _text(get("userName"), path, where, "userName")
        text = _text(rec["content"], path, where, "content")
        reply_at = _time(get("repliedAt"), zone, path, where, "repliedAt", utc) if reply else None
        thumbs = get("thumbsUpCount")
        thumbs = _int(thumbs, path, where, "thumbsUpCount", 0) if thumbs is not None else None
        if not keyed:
            return rid, at
        if self._author is None:
            self._author = pseudonymiser(SOURCE)  # the key file is read only when rows are written
        return {
            "source": SOURCE,
            "source_id": rid,
            "app": self.app_id,
            "kind": "review",
            "author_key": self._author(author),
            "text": text or "",
            "rating": float(score),
            "created_at": at,
            "updated_at": at,
            "url": self.url + rid,
            "lang": self.lang,
            "country": self.country,
            "reply_text": reply,
            "reply_at": reply_at,
            "thumbs_up": thumbs,
            "app_version": version,
        }


# ---- reading a file: pass 1 (validate and index), pass 2 (records back by index) --------------------


class _Source:
    """A validated export: per row its time and id hash, and its records read back on demand."""

    kind = "csv"
    times: np.ndarray | None  # int64 microseconds since 1970 (naive UTC) of each row's ``at``
    hashes: np.ndarray  # int64 hash of each row's reviewId (only to find repeated ids)

    def __len__(self) -> int:
        return len(self.hashes)

    def records(self, rows: np.ndarray) -> list[dict]:
        raise NotImplementedError

    def where(self, i: int) -> str:
        return f"row {i + 1}" if self.kind == "csv" else f"item {i + 1}"

    def close(self) -> None:
        pass


def _us(ts: datetime) -> int:
    return (ts - _EPOCH) // _ONE_US


class _JsonSource(_Source):
    """A JSON array, parsed whole: the standard library has no streaming JSON reader."""

    kind = "json"

    def __init__(self, path: Path, conv: _Rows):
        text = read_text(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to be a google-play-scraper export") from None
        del text
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON array of review objects, got {type(data).__name__}")
        for i, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise InputError(f"{path}: item {i} is a {type(item).__name__}, expected an object")
        if data:
            columns = set().union(*(r.keys() for r in data))
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise _missing_columns(path, missing)
        self.data = data
        times, hashes = array("q"), array("q")
        for i, rec in enumerate(data, 1):
            rid, at = conv.check(rec, f"item {i}")
            times.append(_us(at))
            hashes.append(hash(rid))
        self.times = np.frombuffer(times, dtype=np.int64) if times else np.zeros(0, np.int64)
        self.hashes = np.frombuffer(hashes, dtype=np.int64) if hashes else np.zeros(0, np.int64)

    def records(self, rows: np.ndarray) -> list[dict]:
        return [self.data[i] for i in rows.tolist()]


class _CsvSource(_Source):
    """A CSV export read as a stream: pass 1 validates and keeps each row's byte span."""

    def __init__(self, path: Path, conv: _Rows):
        self.path = path
        try:
            self.fh = open(path, "rb")
        except OSError as exc:
            raise _cannot_read(path, exc) from None
        try:
            self._scan(conv)
        except BaseException:
            self.fh.close()
            raise

    def _lines(self, pos: list[int]) -> Iterator[str]:
        """The file's lines decoded, ``pos[0]`` the byte offset after the last one given out."""
        offset, bom = 0, 0
        for raw in self.fh:
            if offset == 0 and raw.startswith(codecs.BOM_UTF8):
                bom = 3
                raw_text = raw[3:]
            else:
                raw_text = raw
            try:
                line = raw_text.decode("utf-8")
            except UnicodeDecodeError as exc:
                # The byte number counts from after a BOM, as decoding the whole file with utf-8-sig did.
                at = offset + exc.start + (len(raw) - len(raw_text)) - bom
                raise InputError(f"{self.path}: not UTF-8 text (byte {at})") from None
            offset += len(raw)
            pos[0] = offset
            yield line

    def _scan(self, conv: _Rows) -> None:
        path = self.path
        pos = [0]
        # Strings only, as pandas' dtype=str read them: ids and versions must not turn into numbers.
        reader = csv.reader(self._lines(pos), strict=True)
        # Offsets in 4 bytes while the file allows (a 10M-row export is ~1.5 GB): ~24 bytes a row in all.
        wide = os.fstat(self.fh.fileno()).st_size >= 1 << 32
        starts, lens, times, hashes = array("q" if wide else "I"), array("I"), array("q"), array("q")
        try:
            header = None
            for fields in reader:
                if fields and any(f.strip() for f in fields):
                    header = fields
                    break
            if header is None:
                raise InputError(f"{path}: empty file")
            # A header-only file has no records to take columns from: check the header itself, so a
            # wrong header is an error rather than "0 reviews imported".
            index: dict[str, int] = {}
            for j, name in enumerate(header):
                index.setdefault(name, j)  # a repeated column: the first one, as pandas reads it
            missing = [c for c in REQUIRED if c not in index]
            if missing:
                raise _missing_columns(path, missing)
            self.columns = [(c, index[c]) for c in REQUIRED + OPTIONAL if c in index]
            self.width = width = len(header)
            columns = self.columns
            start = pos[0]
            n = 0
            check = conv.check
            for fields in reader:
                end = pos[0]
                if not fields:  # a blank line, skipped as pandas skipped it
                    start = end
                    continue
                n += 1
                if len(fields) != width:
                    raise InputError(f"{path}: row {n}: {len(fields)} fields, the header has {width} "
                                     f"(truncated or mixed file?)")
                rid, at = check({c: fields[j] for c, j in columns}, f"row {n}")
                starts.append(start)
                lens.append(end - start)
                times.append(_us(at))
                hashes.append(hash(rid))
                start = end
        except csv.Error as exc:
            raise InputError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
        st = os.fstat(self.fh.fileno())
        self.stamp = (st.st_size, st.st_mtime_ns)
        as_np = lambda a, t: np.frombuffer(a, dtype=t) if len(a) else np.zeros(0, t)  # noqa: E731
        self.starts, self.lens = as_np(starts, np.int64 if wide else np.uint32), as_np(lens, np.uint32)
        self.times, self.hashes = as_np(times, np.int64), as_np(hashes, np.int64)

    def records(self, rows: np.ndarray) -> list[dict]:
        """The records of these rows (data row indices), in that order, read back by their byte spans."""
        st = os.fstat(self.fh.fileno())
        if (st.st_size, st.st_mtime_ns) != self.stamp:
            raise InputError(f"{self.path}: the file changed while it was being imported; import it again")
        fd = self.fh.fileno()
        out: list[dict | None] = [None] * len(rows)
        by_pos = np.argsort(rows, kind="stable")
        ordered = rows[by_pos]
        starts = self.starts[ordered].astype(np.int64)
        ends = (starts + self.lens[ordered]).tolist()
        starts = starts.tolist()
        slots = by_pos.tolist()
        columns, width = self.columns, self.width
        k, m = 0, len(ordered)
        while k < m:
            # Rows close together in the file (a file already in time order, or newest first as gps
            # writes it) come back with one read; rows scattered by the sort are read one by one.
            lo = starts[k]  # never 0, where a BOM could be: the header comes first
            j = k + 1
            while j < m and starts[j] - ends[j - 1] <= _READ_GAP and ends[j] - lo <= (1 << 24):
                j += 1
            blob = os.pread(fd, ends[j - 1] - lo, lo)
            # Each text is exactly one record (quoted newlines included), so one reader parses them all.
            texts = [blob[s - lo:e - lo].decode("utf-8") for s, e in zip(starts[k:j], ends[k:j])]
            for t, fields in zip(slots[k:j], csv.reader(texts, strict=True)):
                if len(fields) != width:  # the same bytes as pass 1 read: only a changed file gets here
                    raise InputError(f"{self.path}: the file changed while it was being imported; import it again")
                out[t] = {c: fields[jj] for c, jj in columns}
            k = j
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.fh.close()


def _open(path: str | Path, app_id: str, tz: str, lang: str | None, country: str | None) -> tuple[_Rows, _Source]:
    """The row converter and the validated (pass 1) source of an export; InputError on bad input."""
    path = Path(path)
    if not app_id or not str(app_id).strip():
        _zone(tz)  # a bad zone is named first, as before
        raise InputError("an app id is required (--app)")
    conv = _Rows(path, app_id, tz, lang, country)
    return conv, (_JsonSource if _kind(path) == "json" else _CsvSource)(path, conv)


def _write_order(src: _Source) -> list[np.ndarray]:
    """Row indices to write, as batches: each batch oldest first by (time, reviewId), one
    occurrence of an id per batch (first occurrences, then second ones, ...), as the whole-file
    sort did; so an id repeated in a merged file becomes versions, oldest first."""
    n = len(src)
    if n == 0:
        return []
    times = src.times
    order = np.argsort(times, kind="stable")
    if n < 1 << 31:
        order = order.astype(np.int32)  # half the memory of the indices kept for writing
    # Neighbours in time order with equal times, compared a slice at a time (no sorted copy of all).
    step = _TIE_SLICE
    tied = np.concatenate([np.zeros(0, np.int64)] + [
        np.flatnonzero(np.diff(times[order[i:i + step + 1]]) == 0) + i for i in range(0, n - 1, step)
    ])
    if len(tied):
        # Equal times are ordered by reviewId: read back only the ids of tied rows.
        in_run = np.zeros(n, dtype=bool)
        in_run[tied] = True
        in_run[tied + 1] = True
        pos = np.flatnonzero(in_run)
        ids = {}
        for chunk in range(0, len(pos), 10_000):
            rows = order[pos[chunk:chunk + 10_000]]
            for r, rec in zip(rows.tolist(), src.records(rows)):
                ids[r] = str(rec["reviewId"]) if not isinstance(rec["reviewId"], str) else rec["reviewId"]
        # Equal times lie side by side in ``order``, so a run is a stretch of ``pos`` with one time.
        for run in np.split(pos, np.flatnonzero(np.diff(times[order[pos]]) != 0) + 1):
            order[run] = sorted(order[run].tolist(), key=ids.__getitem__)
        del ids, in_run, pos
    del tied, times
    src.times = None  # not needed any more: its memory goes to the sort of the id hashes
    # Repeated ids, found by their 64-bit hashes: a collision only puts a row in a later batch.
    h = src.hashes
    hs = np.sort(h)
    dup_values = np.unique(hs[1:][hs[1:] == hs[:-1]])
    del hs
    if not len(dup_values):
        return [order]
    rank = np.empty(n, dtype=order.dtype)
    rank[order] = np.arange(n, dtype=order.dtype)
    dup = np.flatnonzero(np.isin(h, dup_values))
    by = dup[np.lexsort((rank[dup], h[dup]))]  # grouped by id hash, oldest first within a group
    first = np.r_[True, h[by][1:] != h[by][:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(by)), 0))
    occurrence = np.zeros(n, dtype=np.int32)
    occurrence[by] = np.arange(len(by)) - group_start
    occ_sorted = occurrence[order]
    return [order[occ_sorted == k] for k in range(int(occurrence.max()) + 1)]


def read_reviews(path: str | Path, app_id: str, tz: str = "UTC", lang: str | None = None,
                 country: str | None = None) -> list[dict]:
    """Validate a gps export and turn it into ``mentions`` rows; raises InputError on the first problem.

    All rows in memory: for large files :func:`import_reviews` streams instead."""
    conv, src = _open(path, app_id, tz, lang, country)
    try:
        rows = np.arange(len(src))
        return [conv.row(rec, src.where(i)) for i, rec in zip(rows.tolist(), src.records(rows))]
    finally:
        src.close()


def import_reviews(store: Store, path: str | Path, app_id: str, tz: str = "UTC", lang: str | None = None,
                   country: str | None = None) -> UpsertResult:
    """Import a google-play-scraper export for ``app_id``.

    The whole file is validated first (one bad row: nothing stored), then written in
    transactions of about :data:`IMPORT_TXN_SECONDS` of work with a short pause between them,
    so other commands can write in between; a crash part-way leaves whole transactions, and
    importing the file again completes it.

    A file that holds the same review more than once (merged scrapes) keeps each
    distinct text as a version, oldest first.
    """
    conv, src = _open(path, app_id, tz, lang, country)
    try:
        batches = _write_order(src)
        run_id = store.start_run("import", SOURCE, app_id)
        result = UpsertResult()
        try:
            _write(store, src, conv, batches, result)
        except BaseException as exc:
            store.finish_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
    finally:
        src.close()
    store.finish_run(run_id, "ok", result)
    return result


def _chunks(src: _Source, conv: _Rows, batches: list[np.ndarray]) -> Iterator[list[dict]]:
    for batch in batches:
        # A chunk never spans two batches: one upsert keeps only the last row of a repeated id.
        for k in range(0, len(batch), IMPORT_CHUNK):
            rows = batch[k:k + IMPORT_CHUNK]
            yield [conv.row(rec, src.where(i)) for i, rec in zip(rows.tolist(), src.records(rows))]


def _write(store: Store, src: _Source, conv: _Rows, batches: list[np.ndarray], result: UpsertResult) -> None:
    # Bounded transactions: one big one held the write lock for the whole file and made concurrent
    # crawls time out. The file was validated above, and a rerun after a crash is idempotent, so
    # committing part by part loses nothing.
    chunks = _chunks(src, conv, batches)
    pending = next(chunks, None)
    while pending is not None:
        with store.engine.begin() as conn:
            began = time.monotonic()
            while pending is not None:
                result += store.upsert_mentions(pending, conn)
                pending = next(chunks, None)
                if time.monotonic() - began >= IMPORT_TXN_SECONDS:
                    break
        if pending is not None and store.dialect == "sqlite":
            time.sleep(IMPORT_PAUSE)
