"""All stored mentions as one table: a DataFrame for notebooks, a spreadsheet-safe CSV for people.

The columns are fixed (:data:`EXPORT_COLUMNS`) so scripts that read the file keep working.
Authors appear only as ``author_key`` (the store never holds a name). Times are UTC in
ISO 8601 with a ``Z``. The CSV goes through :func:`pipelines.outputs.write_csv`: UTF-8 with
a BOM, and no text cell starts a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .outputs import write_csv_chunks
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


# Rows per chunk when streaming the table to a file: a few tens of MB of pandas at most.
CHUNK_ROWS = 20_000
# Excel's sheet limit, header row included.
XLSX_MAX_ROWS = 1_048_576


def mentions_frame(store: Store, source: str | None = None) -> pd.DataFrame:
    """Every stored mention (or one source's) with :data:`EXPORT_COLUMNS`, oldest row first."""
    return _format(store.mentions_df(source))


def _mention_chunks(store: Store, source: str | None = None, chunk_rows: int | None = None):
    """The ``mentions`` table in id order, ``chunk_rows`` rows at a time (keyset pagination on
    id, so each query is an index range scan and rows added meanwhile past the end are read too)."""
    from sqlalchemy import select

    from .store import mentions

    size = chunk_rows or CHUNK_ROWS
    last = None
    with store.engine.connect() as conn:
        while True:
            q = select(mentions).order_by(mentions.c.id).limit(size)
            if source:
                q = q.where(mentions.c.source == source)
            if last is not None:
                q = q.where(mentions.c.id > last)
            df = pd.read_sql(q, conn)
            if df.empty:
                return
            last = int(df["id"].iloc[-1])
            yield df
            if len(df) < size:
                return


def iter_mentions_frames(store: Store, source: str | None = None,
                         chunk_rows: int | None = None):
    """:func:`mentions_frame` in consecutive chunks (concatenated, the same rows and values)."""
    for df in _mention_chunks(store, source, chunk_rows):
        yield _format(df)


def _format(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns={"id": "mention_id"})
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
    """Write all mentions (or one source's) to ``path`` as a formula-safe UTF-8-BOM CSV.

    Streamed from the store chunk by chunk, so memory does not grow with the table; the file
    is the one ``write_csv(mentions_frame(store, source), path)`` would write, byte for byte.
    """
    return write_csv_chunks(iter_mentions_frames(store, source), path, EXPORT_COLUMNS)


# ---- with labels, and as a workbook ---------------------------------------------------------------

LABEL_COLUMNS = [
    "sentiment",  # positive / neutral / negative by sentiment_model, empty when not labelled
    "sentiment_model",  # the model's name
    "sentiment_version",  # the model's version (the part after @)
    "p_positive", "p_neutral", "p_negative",
    "indicators",  # indicator keys, "; "-separated, in research order
    "indicator_polarity",  # indicator=complaint|praise|mixed|mention, "; "-separated (the taxonomy's cue)
    "indicator_evidence",  # indicator: matched phrases, "; "-separated
    "taxonomy",  # taxonomy version@fingerprint of the tags
]


def labelled_mentions_frame(store: Store, source: str | None = None, model: str | None = None) -> pd.DataFrame:
    """:func:`mentions_frame` plus :data:`LABEL_COLUMNS`: each mention's sentiment (from ``model``,
    default the one that labelled most) and its indicators with polarity and evidence."""
    from .trends import choose_model

    df = mentions_frame(store, source)
    model = choose_model(store, model)
    with store.engine.connect() as conn:
        return _with_labels(conn, df, model)


def iter_labelled_frames(store: Store, source: str | None = None, model: str | None = None,
                         chunk_rows: int | None = None):
    """:func:`labelled_mentions_frame` in consecutive chunks (the labels and tags of each chunk's
    id range are read with it)."""
    from .trends import choose_model

    model = choose_model(store, model)
    with store.engine.connect() as conn:
        for df in iter_mentions_frames(store, source, chunk_rows):
            yield _with_labels(conn, df, model, int(df["mention_id"].iloc[0]), int(df["mention_id"].iloc[-1]))


def export_labelled_mentions(store: Store, path: str | Path, source: str | None = None,
                             model: str | None = None) -> Path:
    """``suara export --labels``: :func:`labelled_mentions_frame` as a formula-safe CSV, streamed
    in chunks (byte for byte what ``write_csv`` of the whole frame writes)."""
    return write_csv_chunks(iter_labelled_frames(store, source, model), path, EXPORT_COLUMNS + LABEL_COLUMNS)


def _with_labels(conn, df: pd.DataFrame, model: str | None, lo: int | None = None,
                 hi: int | None = None) -> pd.DataFrame:
    """``df`` (mentions_frame rows) plus :data:`LABEL_COLUMNS`; ``lo``/``hi`` bound the ids read."""
    from sqlalchemy import select

    from .store import indicators, sentiments
    from .trends import indicator_order

    lq = select(sentiments.c.mention_id, sentiments.c.label, sentiments.c.p_positive,
                sentiments.c.p_neutral, sentiments.c.p_negative).where(sentiments.c.model == (model or ""))
    tq = select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal,
                indicators.c.evidence, indicators.c.taxonomy)
    if lo is not None:
        lq = lq.where(sentiments.c.mention_id.between(lo, hi))
        tq = tq.where(indicators.c.mention_id.between(lo, hi))
    lab = pd.read_sql(lq, conn)
    tags = pd.read_sql(tq, conn)
    name, _, version = (model or "").partition("@")
    lab = lab.rename(columns={"label": "sentiment"}).assign(sentiment_model=name, sentiment_version=version)
    # indicator_order ranks any two names the same whatever else is in the set, so a chunk's
    # tags sort as the whole table's would.
    order = {k: i for i, k in enumerate(indicator_order(tags["indicator"]))}
    tags = tags.assign(_o=tags["indicator"].map(order)).sort_values(["mention_id", "_o"])
    # One walk over the sorted tags (a groupby with per-group lambdas cost ~40 CPU-s per 100k).
    per_id: dict[int, tuple[list, list, list, set]] = {}
    for mid, ind, sig, ev, tax in zip(tags["mention_id"], tags["indicator"], tags["signal"], tags["evidence"],
                                      tags["taxonomy"]):
        got = per_id.get(mid)
        if got is None:
            got = per_id[mid] = ([], [], [], set())
        got[0].append(ind)
        got[1].append(f"{ind}={sig or 'mention'}")
        got[2].append(f"{ind}: {ev}")
        got[3].add(tax)
    per = pd.DataFrame({
        "mention_id": pd.Series(list(per_id), dtype="int64"),
        "indicators": ["; ".join(g[0]) for g in per_id.values()],
        "indicator_polarity": ["; ".join(g[1]) for g in per_id.values()],
        "indicator_evidence": ["; ".join(g[2]) for g in per_id.values()],
        "taxonomy": [", ".join(sorted(g[3])) for g in per_id.values()],
    })
    out = df.merge(lab, on="mention_id", how="left").merge(per, on="mention_id", how="left")
    for c in ("sentiment_model", "sentiment_version"):
        out[c] = out[c].where(out["sentiment"].notna(), None)
    return out[EXPORT_COLUMNS + LABEL_COLUMNS]


def _codebook() -> pd.DataFrame:
    """The taxonomy in use: key, name, definition (what a coder reads), version."""
    from nlp.indicators import get_tagger

    tax = get_tagger().taxonomy
    return pd.DataFrame([dict(indicator=k, name=tax.name(k), definition=tax.definitions.get(k, ""),
                              taxonomy=tax.id) for k in tax.names],
                        columns=["indicator", "name", "definition", "taxonomy"])


def _indicator_sheet(store: Store, model: str | None) -> pd.DataFrame:
    """Per indicator: tagged mentions, complaint/praise cues, and review favourability with its interval."""
    from .tagging import indicator_summary
    from .trends import choose_model
    from .triangulate import review_side

    summ = indicator_summary(store)
    rev = review_side(store, None, choose_model(store, model))
    return summ.merge(rev, on="indicator", how="left")


def export_workbook(store: Store, path: str | Path, source: str | None = None, model: str | None = None,
                    labels: bool = True) -> Path:
    """An ``.xlsx`` workbook: ``mentions`` (with labels), ``indicators`` (per-indicator summary)
    and ``codebook``. Text stays Unicode (Indonesian intact); a cell that would start a formula
    gets a leading ``'`` as in the CSV; written to a temporary file and moved into place."""
    import os
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from .errors import SuaraError
    from .outputs import safe_frame

    from .errors import InputError

    path = Path(path)
    n = store.count_mentions(source)
    if n + 1 > XLSX_MAX_ROWS:  # checked first: nothing is written
        raise InputError(f"{n:,} mentions do not fit in one Excel sheet (at most {XLSX_MAX_ROWS - 1:,} rows "
                         f"under the header): export CSV instead (suara export --out FILE.csv)")
    sheets = {
        # Streamed: the write-only workbook spools rows to a temporary file as they come.
        "mentions": iter_labelled_frames(store, source, model) if labels else iter_mentions_frames(store, source),
        "indicators": [_indicator_sheet(store, model)],
        "codebook": [_codebook()],
    }
    wb = Workbook(write_only=True)
    for title, frames in sheets.items():
        ws = wb.create_sheet(title)
        header = False
        for df in frames:
            safe = safe_frame(df)
            if not header:
                ws.append([str(c) for c in safe.columns])
                header = True
            for row in safe.itertuples(index=False):
                # openpyxl refuses control characters; NaN/NA become empty cells.
                ws.append([None if (v is None or (not isinstance(v, str) and pd.isna(v)))
                           else ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        if not header:  # an empty store: the header alone, as before
            ws.append([str(c) for c in safe_frame(pd.DataFrame(columns=EXPORT_COLUMNS + (
                LABEL_COLUMNS if labels else []))).columns])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SuaraError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
