"""All stored mentions as one table: a DataFrame for notebooks, a spreadsheet-safe CSV for people.

The columns are fixed (:data:`EXPORT_COLUMNS`) so scripts that read the file keep working.
Authors appear only as ``author_key`` (the store never holds a name). Times are UTC in
ISO 8601 with a ``Z``. The CSV goes through :func:`pipelines.outputs.write_csv`: UTF-8 with
a BOM, and no text cell starts a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .outputs import write_csv
from .store import Store

EXPORT_COLUMNS = [
    "mention_id",  # the store's row id (joins with sentiments and indicators)
    "source",  # playstore, appstore, news, reddit, youtube, ...
    "source_id",  # the source's own id of the item
    "app",  # app id, or the query that found the item
    "kind",  # review, article, post, comment
    "author_key",  # pseudonymous author key (keyed hash); never a name
    "title",
    "text",
    "rating",  # 1-5 for app reviews, empty elsewhere
    "created_at",  # UTC, ISO 8601
    "updated_at",  # UTC, ISO 8601
    "url",
    "outlet",  # news: the publishing outlet
    "lang",
    "country",
    "reply_text",  # developer's reply
    "reply_at",  # UTC, ISO 8601
    "thumbs_up",
    "app_version",
    "fetched_at",  # UTC, when Suara last fetched it
    "content_hash",  # changes whenever title, text, rating or reply change
]
_TIMES = ("created_at", "updated_at", "reply_at", "fetched_at")


def mentions_frame(store: Store, source: str | None = None) -> pd.DataFrame:
    """Every stored mention (or one source's) with :data:`EXPORT_COLUMNS`, oldest row first."""
    df = store.mentions_df(source).rename(columns={"id": "mention_id"})
    for col in EXPORT_COLUMNS:
        if col not in df.columns:
            df[col] = None
    df = df[EXPORT_COLUMNS].copy()
    for col in _TIMES:
        ts = pd.to_datetime(df[col], errors="coerce")
        df[col] = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(ts.notna(), None)
    for col in ("mention_id", "thumbs_up"):
        df[col] = df[col].astype("Int64")
    return df


def export_mentions(store: Store, path: str | Path, source: str | None = None) -> Path:
    """Write all mentions (or one source's) to ``path`` as a formula-safe UTF-8-BOM CSV."""
    return write_csv(mentions_frame(store, source), path)
