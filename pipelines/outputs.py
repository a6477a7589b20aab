"""Files people open: spreadsheet-safe CSVs (UTF-8 with BOM, no formula injection).

Every CSV Suara writes goes through :func:`write_csv` so that Excel and LibreOffice read
Indonesian text correctly and a review that starts with ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import os
from pathlib import Path
import pandas as pd

from .safefile import atomic_file

# OWASP's list: a cell starting with one of these may be run as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix a formula-like string with an apostrophe so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as a formula-safe UTF-8-with-BOM CSV, atomically.

    Numbers stay numbers (a negative net sentiment is a number, not a formula); only
    text cells are neutralised. Provenance (such as the sentiment model) goes in a
    column, so the file stays one clean table.
    """
    path = Path(path)
    with atomic_file(path) as fh:
        safe_frame(df).to_csv(fh, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def write_csv_chunks(frames, path: str | os.PathLike, columns: list[str] | None = None) -> Path:
    """:func:`write_csv` of the concatenation of ``frames`` (DataFrames with the same columns),
    written one frame at a time so a large table never sits in memory whole.

    Each frame gets the same guard and formatting, and the header (with the BOM) comes once,
    so the file equals ``write_csv(pd.concat(frames), path)``. With no frames the file is the
    header of ``columns``. Atomic as :func:`write_csv`: a failure part-way leaves ``path`` as it was.
    """
    path = Path(path)
    with atomic_file(path) as fh:
        first = True
        for df in frames:
            safe_frame(df).to_csv(fh, index=False, header=first, encoding="utf-8-sig" if first else "utf-8",
                                  lineterminator="\r\n")
            first = False
        if first:
            safe_frame(pd.DataFrame(columns=columns or [])).to_csv(fh, index=False, encoding="utf-8-sig",
                                                                     lineterminator="\r\n")
    return path
