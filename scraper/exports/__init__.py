"""Readers for the files that social-media export tools write (no network, no store).

Researchers cannot use the closed or paid APIs of X, Instagram and TikTok, so they arrive with
files made by export tools. Each module here reads one family of those files into plain
:class:`Item` records, still carrying the raw author identifiers (needed to recognise the
official account); :mod:`pipelines.social_import` pseudonymises, masks and stores them.

``load(path)`` reads CSV, JSON or JSON lines into *units* (a CSV row, a JSON array item, a JSON
lines line, or a whole JSON document); every format says which units it recognises by their
own columns or keys, so detection never trusts a file name. Formats and the tool versions they
were matched against are listed in docs/social-imports.md.

Every problem is one :class:`~pipelines.errors.InputError` naming the file, the row (or item,
or line) and the field; raw author names never appear in a message.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.errors import InputError

SOURCES = ("x", "instagram", "tiktok", "youtube")
KINDS = ("post", "comment", "reply")


@dataclass
class Item:
    """One post, comment or reply as an export tool wrote it (before pseudonymisation)."""

    source: str
    source_id: str
    kind: str  # post / comment / reply
    text: str
    created_at: datetime  # naive UTC
    where: str  # "row 3", "item 2", "line 5": for messages
    author_id: str | None = None  # the stable identifier the author key is made from
    author_names: frozenset[str] = frozenset()  # every identifier (id, handle), lower-case, no '@'
    parent_id: str | None = None  # the post or comment this one answers
    thread_id: str | None = None  # the post/video/conversation it belongs to
    url: str | None = None
    thumbs_up: int | None = None
    lang: str | None = None


@dataclass
class Loaded:
    path: Path
    kind: str  # csv / json / jsonl
    units: list[tuple[str, dict]]  # (where, record)
    columns: list[str] = field(default_factory=list)  # CSV header, or the keys seen in JSON units


@dataclass
class Format:
    name: str  # e.g. "tweet-harvest"
    source: str  # x / instagram / tiktok / youtube / playstore
    label: str  # what the user reads: "tweet-harvest CSV"
    matches: Callable[[dict], bool]
    parse: Callable[["Context", list[tuple[str, dict]]], list[Item]] | None
    keys: str  # the columns/keys it is recognised by, for the "unknown format" message


class Context:
    """Per-file helpers: where an error is, the zone of naive times."""

    def __init__(self, path: Path, tz: str = "UTC"):
        self.path = path
        self.zone = zone(tz)

    def fail(self, where: str, fld: str | None, problem: str):
        at = f"{where}, field {fld!r}" if fld else where
        raise InputError(f"{self.path}: {at}: {problem}")

    def require(self, rec: dict, where: str, fld: str) -> Any:
        if fld not in rec:
            self.fail(where, fld, "missing")
        value = rec[fld]
        if blank(value):
            self.fail(where, fld, "empty")
        return value

    def ident(self, rec: dict, where: str, fld: str) -> str:
        """A required id: digits and such, never a float (CSV/JSON tools write big ids as strings)."""
        value = self.require(rec, where, fld)
        if isinstance(value, bool) or isinstance(value, float):
            self.fail(where, fld, f"not an id: {value!r}")
        value = str(value).strip()
        if not re.fullmatch(r"[\w.:\-]{1,200}", value):
            self.fail(where, fld, f"not an id: {value[:40]!r}")
        return value

    def text(self, rec: dict, where: str, fld: str, required: bool = False) -> str | None:
        value = rec.get(fld)
        if required and fld not in rec:
            self.fail(where, fld, "missing")
        if blank(value):
            return "" if required else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.fail(where, fld, f"expected text, got {type(value).__name__}")
        return value

    def count(self, rec: dict, where: str, fld: str) -> int | None:
        """A like/vote count; tools write 12, "12", "1.2K" or "1,2 rb"; blank is unknown."""
        value = rec.get(fld)
        if blank(value) or isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return int(value) if math.isfinite(value) and value >= 0 else None
        s = str(value).strip().lower().replace(" ", "")
        m = re.fullmatch(r"(\d+(?:[.,]\d+)?)(k|rb|m|jt)?", s)
        if not m:
            self.fail(where, fld, f"not a count: {s[:20]!r}")
        num = float(m.group(1).replace(",", "."))
        mult = {"k": 1_000, "rb": 1_000, "m": 1_000_000, "jt": 1_000_000}.get(m.group(2) or "", 1)
        if mult == 1 and not num.is_integer():
            # "1.234" without a suffix is a thousands separator, not a fraction of a like
            num = float(m.group(1).replace(",", "").replace(".", ""))
        return int(num * mult)

    def time(self, rec: dict, where: str, fld: str) -> datetime:
        """Epoch seconds (or ms), ISO 8601, or Twitter's ``Wed Oct 10 20:19:24 +0000 2018`` -> naive UTC.

        Naive ISO times are in this file's zone (``tz``); the others carry their own.
        """
        value = self.require(rec, where, fld)
        try:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str) and re.fullmatch(r"\s*\d{9,13}(\.\d+)?\s*", value):
                value = float(value)
            if isinstance(value, (int, float)):
                v = float(value)
                if v > 1e11:  # milliseconds
                    v /= 1000.0
                return datetime.fromtimestamp(v, tz=timezone.utc).replace(tzinfo=None)
            if not isinstance(value, str):
                raise ValueError
            s = value.strip()
            try:
                ts = datetime.strptime(s, "%a %b %d %H:%M:%S %z %Y")
            except ValueError:
                ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except (ValueError, OverflowError, OSError):
            self.fail(where, fld, f"not a date and time: {str(value)[:40]!r}")
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=self.zone)
        return ts.astimezone(timezone.utc).replace(tzinfo=None)


def zone(tz: str):
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {tz!r} (use an IANA name such as UTC or Asia/Jakarta)") from None


def blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and value.strip() == ""
    )


def names(*values) -> frozenset[str]:
    """Identifiers for matching the official account: lower-case, without a leading '@'."""
    out = set()
    for v in values:
        if not blank(v) and isinstance(v, (str, int)):
            out.add(str(v).strip().lstrip("@").lower())
    return frozenset(out)


# ---- reading files ---------------------------------------------------------------------------

SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def read_text(path: Path) -> str:
    """An export file's text (a BOM dropped); unreadable or not UTF-8 is one InputError naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def load(path: str | Path) -> Loaded:
    """Read a CSV, JSON or JSON-lines file into units; the kind comes from the suffix, else the content."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path}: empty file")
    suffix = path.suffix.lower()
    kind = SUFFIXES.get(suffix)
    if kind is None:
        if suffix not in ("", ".txt") and not re.fullmatch(r"\.[\w-]{11}", suffix):
            raise InputError(f"{path}: unsupported file type {suffix!r}; expected .csv, .json or .jsonl")
        kind = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    if kind == "csv":
        return _load_csv(path, text)
    if kind == "json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply to be an export") from None
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data" and text.lstrip().startswith("{"):
                return _load_jsonl(path, text)  # JSON lines saved as .json (youtube-comment-downloader does)
            raise InputError(f"{path}: not valid JSON (truncated?) at line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg}") from None
        return _json_units(path, data)
    return _load_jsonl(path, text)


def _load_csv(path: Path, text: str) -> Loaded:
    # Excel in an Indonesian locale saves CSV with ';' (as tweet-harvest before 2.4.1 did): the
    # header line, which holds no free text, says which separator the file uses.
    head = text.lstrip().split("\n", 1)[0]
    sep = max((",", ";", "\t"), key=head.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    units = []
    for i, r in enumerate(rows[1:], 1):
        if len(r) != len(header):
            raise InputError(f"{path}: row {i}: {len(r)} fields, the header has {len(header)} (truncated or mixed file?)")
        units.append((f"row {i}", dict(zip(header, r))))
    return Loaded(path, "csv", units, header)


def _load_jsonl(path: Path, text: str) -> Loaded:
    units = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            raise InputError(f"{path}: line {n}: JSON nested too deeply to be an export") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: not valid JSON (truncated?) at column {exc.colno}: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}: line {n}: a {type(obj).__name__}, expected a JSON object")
        units.append((f"line {n}", obj))
    return Loaded(path, "jsonl", units, _keys(units))


def _json_units(path: Path, data: Any) -> Loaded:
    if isinstance(data, dict):
        inner = data.get("comments")
        # youtube-comment-downloader --pretty wraps its lines in {"comments": [...]}; a TikTok
        # scraper document also has "comments" but names its video, so it stays one unit.
        if isinstance(inner, list) and not ({"video_url", "caption"} & set(data)):
            data = inner
        else:
            return Loaded(path, "json", [("document", data)], sorted(data))
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON array or object, got {type(data).__name__}")
    units = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InputError(f"{path}: item {i}: a {type(item).__name__}, expected an object")
        units.append((f"item {i}", item))
    return Loaded(path, "json", units, _keys(units))


def _keys(units: list[tuple[str, dict]]) -> list[str]:
    seen: dict[str, None] = {}
    for _, rec in units[:50]:
        for k in rec:
            seen.setdefault(k, None)
    return list(seen)


# ---- the formats ---------------------------------------------------------------------------------


def formats() -> list[Format]:
    """Every known format, in detection order."""
    from . import instagram, tiktok, x, youtube

    return [*x.FORMATS, *instagram.FORMATS, *tiktok.FORMATS, *youtube.FORMATS, PLAYSTORE]


def _gps(rec: dict) -> bool:
    return {"reviewId", "content", "score", "at"} <= set(rec)


# google-play-scraper exports are read by pipelines.importer; listed here so detection knows them.
PLAYSTORE = Format("google-play-scraper", "playstore", "google-play-scraper export", _gps, None,
                   "reviewId, content, score, at")


def sniff_playstore_csv(path: str | Path) -> bool:
    """Whether ``path`` is a comma-separated google-play-scraper CSV, judged by its header and
    first row without reading the whole file (its importer streams it; ``load`` would hold it
    all). False when that cannot be told from the file's start: the caller then loads it."""
    path = Path(path)
    if SUFFIXES.get(path.suffix.lower(), "csv" if path.suffix.lower() in ("", ".txt") else None) != "csv":
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(head) - exc.start > 3:  # not a character cut at the end of the block read
            return False
        text = head[: exc.start].decode("utf-8-sig")
    if text.lstrip()[:1] in ("[", "{"):
        return False
    lines = text.lstrip().split("\n")
    if max((",", ";", "\t"), key=lines[0].count) != ",":
        return False
    buf = io.StringIO(text, newline="")
    rows = []
    try:
        for r in csv.reader(buf, strict=True):
            if any(c.strip() for c in r):
                rows.append(r)
                if len(rows) == 2:
                    break
    except csv.Error:
        return False
    # A header and one whole row: the row must end before the block read does, or the file with it.
    if len(rows) < 2 or (buf.tell() >= len(text) and len(head) == 1 << 20):
        return False
    header = [h.strip() for h in rows[0]]
    if len(rows[1]) != len(header):
        return False
    rec = dict(zip(header, rows[1]))
    return next((f for f in formats() if f.matches(rec)), None) is PLAYSTORE


def detect(loaded: Loaded, source: str | None = None) -> Format:
    """The one format every unit of the file matches; an unknown or mixed file is an InputError."""
    cands = [f for f in formats() if source is None or f.source == source]
    if not loaded.units:
        raise InputError(f"{loaded.path}: no records (only a header or an empty list)")
    first: Format | None = None
    for where, rec in loaded.units:
        fmt = next((f for f in cands if f.matches(rec)), None)
        if fmt is None:
            if first is None:
                found = ", ".join(list(rec)[:20]) or "none"
                known = "; ".join(f"{f.label} ({f.source}: {f.keys})" for f in cands)
                what = f"not a known {source} export" if source else "unknown export format"
                raise InputError(f"{loaded.path}: {what}; found columns/keys: {found}. Known formats: {known}")
            continue  # an incomplete record of the same format: its parser names the missing field
        if first is None:
            first = fmt
        elif fmt is not first:
            raise InputError(f"{loaded.path}: {where}: a {fmt.label} record, but the file began as "
                             f"{first.label}; a file must hold one format")
    return first
