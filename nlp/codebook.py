"""Hand-coded reviews in the codebook format, and the polarity rules shared by tags and codes.

A coded file is a CSV with ``text`` and at least one of ``sentiment`` and ``indicators``;
``id``, ``rating`` (stars), ``date`` and ``reply`` are kept when present. ``indicators`` is
``key:polarity;...`` with polarity ``-`` (complaint about that aspect), ``+`` (praise) or
``0`` (mentioned without judgement), e.g. ``kemudahan_akses:-;penanggapan:-``; empty = none.
This is the format of ``../shared/labels/*.csv`` and of docs/indicators.md's codebook.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from pathlib import Path

import pandas as pd

from .errors import InputError

INDICATOR_KEYS = (
    "sosialisasi", "kemudahan_akses", "keterhubungan", "kemudahan_aspirasi", "transparansi", "penanggapan",
)
POLARITY_MARKS = {"-": "complaint", "+": "praise", "0": "mention"}
MARK_OF = {v: k for k, v in POLARITY_MARKS.items()}
SENTIMENTS = ("positive", "neutral", "negative")
_SENT_ALIASES = {
    "positive": "positive", "pos": "positive", "positif": "positive",
    "neutral": "neutral", "neu": "neutral", "netral": "neutral",
    "negative": "negative", "neg": "negative", "negatif": "negative",
}


def parse_codes(value: str | None, where: str = "indicators") -> dict[str, str]:
    """``"kemudahan_akses:-;penanggapan:+"`` -> ``{"kemudahan_akses": "-", "penanggapan": "+"}``.

    A key without a mark is taken as ``0`` (mentioned). Unknown keys and marks raise one
    :class:`InputError` naming ``where`` and the value.
    """
    out: dict[str, str] = {}
    for part in (value or "").split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, mark = part.partition(":")
        key = key.strip().lower().replace(" ", "_")
        mark = mark.strip() or "0"
        if key not in INDICATOR_KEYS:
            raise InputError(f"{where}: unknown indicator {key!r} (known: {', '.join(INDICATOR_KEYS)})")
        if mark not in POLARITY_MARKS:
            raise InputError(f"{where}: bad polarity {mark!r} for {key} (use - for complaint, + for praise, 0 for mention)")
        out[key] = mark
    return out


def format_codes(codes: dict[str, str]) -> str:
    return ";".join(f"{k}:{codes[k]}" for k in INDICATOR_KEYS if k in codes)


def tag_polarity(signal: str | None, sentiment: str | None) -> str:
    """The polarity mark of one indicator tag.

    The rule's own cue wins (complaint ``-``, praise ``+``; ``mixed`` counts as ``-``: codebook
    rule 19, the complaint is what the study measures). A tag whose rule only names the aspect
    takes the review's sentiment: negative ``-``, positive ``+``, neutral or unknown ``0``.
    """
    if signal in ("complaint", "mixed"):
        return "-"
    if signal == "praise":
        return "+"
    return {"negative": "-", "positive": "+"}.get(sentiment or "", "0")


def read_utf8(path: Path) -> str:
    """A text file's contents (a BOM is dropped); unreadable or non-UTF-8 is one :class:`InputError`."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def fold_of(key: str, folds: int = 5) -> int:
    """A stable fold number for a row id (sha1, so it never depends on file order or Python's hash seed)."""
    return int(hashlib.sha1(str(key).encode("utf-8")).hexdigest(), 16) % folds


def read_coded(path: str | Path) -> pd.DataFrame:
    """Read a coded CSV into ``id, text, rating, sentiment, codes, line``.

    ``codes`` is a dict key -> mark (``-``/``+``/``0``); ``sentiment`` is canonical or None when
    the file has no sentiment column; ``rating`` is a float or NaN. Any bad cell raises one
    :class:`InputError` naming the file, line and value; nothing is returned from a bad file.
    """
    path = Path(path)
    raw = read_utf8(path)
    try:
        reader = csv.DictReader(io.StringIO(raw))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        if "text" not in header or not {"sentiment", "indicators"} & set(header):
            raise InputError(
                f"{path}: not a coded file: needs columns text and sentiment and/or indicators "
                f"(found: {', '.join(header) or 'nothing'})"
            )
        rows = []
        for n, row in enumerate(reader, start=1):
            line = reader.line_num
            if None in row:
                raise InputError(f"{path}:{line}: more fields than the header has")
            text = (row.get("text") or "").strip()
            if not text:
                raise InputError(f"{path}:{line}: text: empty")
            sentiment = None
            if "sentiment" in header:
                value = (row.get("sentiment") or "").strip()
                sentiment = _SENT_ALIASES.get(value.lower())
                if sentiment is None:
                    raise InputError(f"{path}:{line}: sentiment: unknown label {value!r} (use {', '.join(SENTIMENTS)})")
            codes = parse_codes(row.get("indicators"), f"{path}:{line}: indicators") if "indicators" in header else None
            rating = math.nan
            if (row.get("rating") or "").strip():
                try:
                    rating = float(row["rating"])
                except ValueError:
                    raise InputError(f"{path}:{line}: rating: not a number: {row['rating']!r}") from None
                if not 1 <= rating <= 5:
                    raise InputError(f"{path}:{line}: rating: {row['rating']!r} is not 1..5 stars")
            rows.append(dict(id=(row.get("id") or "").strip() or f"row{n}", text=text, rating=rating,
                             sentiment=sentiment, codes=codes, line=line))
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV file: {exc}") from exc
    if not rows:
        raise InputError(f"{path}: no coded rows")
    return pd.DataFrame(rows, columns=["id", "text", "rating", "sentiment", "codes", "line"])
