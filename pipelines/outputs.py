"""Files people open: spreadsheet-safe CSVs (UTF-8 with BOM, no formula injection).

Every CSV Suara writes goes through :func:`write_csv` so that Excel and LibreOffice read
Indonesian text correctly and a review that starts with ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
import pandas as pd

from .errors import InputError, SuaraError

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
    if path.is_dir():  # else the error would name the temp file, not what the user gave
        raise InputError(f"cannot write {path}: it is a folder; give a file name such as {path / 'mentions.csv'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        # A path the user chose that cannot be written is bad input (exit 2); a full disk is not.
        cls = SuaraError if exc.errno in (errno.ENOSPC, errno.EIO) else InputError
        raise cls(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        safe_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
