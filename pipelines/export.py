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
    from sqlalchemy import select

    from .store import indicators, sentiments
    from .trends import choose_model, indicator_order

    df = mentions_frame(store, source)
    model = choose_model(store, model)
    with store.engine.connect() as conn:
        lab = pd.read_sql(select(sentiments.c.mention_id, sentiments.c.label, sentiments.c.p_positive,
                                 sentiments.c.p_neutral, sentiments.c.p_negative)
                          .where(sentiments.c.model == (model or "")), conn)
        tags = pd.read_sql(select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal,
                                  indicators.c.evidence, indicators.c.taxonomy), conn)
    name, _, version = (model or "").partition("@")
    lab = lab.rename(columns={"label": "sentiment"}).assign(sentiment_model=name, sentiment_version=version)
    order = {k: i for i, k in enumerate(indicator_order(tags["indicator"]))}
    tags = tags.assign(_o=tags["indicator"].map(order)).sort_values(["mention_id", "_o"])
    per = tags.groupby("mention_id").agg(
        indicators=("indicator", "; ".join),
        indicator_polarity=("indicator", lambda s: "; ".join(
            f"{i}={tags.loc[j, 'signal'] or 'mention'}" for j, i in s.items())),
        indicator_evidence=("indicator", lambda s: "; ".join(f"{i}: {tags.loc[j, 'evidence']}" for j, i in s.items())),
        taxonomy=("taxonomy", lambda s: ", ".join(sorted(set(s)))),
    ).reset_index()
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

    path = Path(path)
    sheets = {
        "mentions": labelled_mentions_frame(store, source, model) if labels else mentions_frame(store, source),
        "indicators": _indicator_sheet(store, model),
        "codebook": _codebook(),
    }
    wb = Workbook(write_only=True)
    for title, df in sheets.items():
        ws = wb.create_sheet(title)
        safe = safe_frame(df)
        ws.append([str(c) for c in safe.columns])
        for row in safe.itertuples(index=False):
            # openpyxl refuses control characters; NaN/NA become empty cells.
            ws.append([None if (v is None or (not isinstance(v, str) and pd.isna(v)))
                       else ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
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
