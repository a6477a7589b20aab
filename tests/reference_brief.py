"""Frozen copy of the store-reading parts of ``pipelines/brief.py`` before they streamed
(one row per tagged mention, text included): the reference tests/test_stream.py compares with."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from sqlalchemy import select

from pipelines.brief import QUOTE_COLUMNS, QUOTE_COMPLAINTS, QUOTE_MAX_LEN, QUOTE_MIN_LEN, QUOTE_PRAISE, _public_url
from pipelines.redact import scrub
from pipelines.store import Store, indicators, mentions, sentiments
from pipelines.trends import INDICATORS, _window, choose_model, select_mentions


def _tagged_mentions(store: Store, model: str | None, since, until, source, app) -> pd.DataFrame:
    """One row per (mention, indicator) in range, with the mention's text, time and label."""
    q = (
        select(indicators.c.mention_id, indicators.c.indicator, indicators.c.evidence,
               mentions.c.source, mentions.c.app, mentions.c.kind, mentions.c.author_key, mentions.c.text,
               mentions.c.url, mentions.c.thumbs_up, mentions.c.created_at, mentions.c.fetched_at)
        .join(mentions, mentions.c.id == indicators.c.mention_id)
    )
    with store.engine.connect() as conn:
        df = pd.read_sql(q, conn)
        lab = pd.read_sql(select(sentiments.c.mention_id, sentiments.c.label).where(sentiments.c.model == model),
                          conn) if model else pd.DataFrame(columns=["mention_id", "label"])
    df = df.merge(lab, on="mention_id", how="left")
    df["time"] = pd.to_datetime(df["created_at"]).fillna(pd.to_datetime(df["fetched_at"]))
    return _window(select_mentions(df, source, app), since, until)


def representative_quotes(store: Store, model: str | None = None, since=None, until=None, source=None, app=None,
                          complaints: int = QUOTE_COMPLAINTS, praise: int = QUOTE_PRAISE) -> pd.DataFrame:
    """Quotes per indicator chosen by :data:`QUOTE_RULE`, text scrubbed (columns: ``QUOTE_COLUMNS``)."""
    model = choose_model(store, model)
    df = _tagged_mentions(store, model, since, until, source, app)
    df = df[df["label"].isin(["negative", "positive"])].copy()
    df["text"] = pd.Series([" ".join(scrub(x).split()) for x in df["text"]], index=df.index, dtype=object)
    n = df["text"].map(len)
    df = df[(n >= QUOTE_MIN_LEN) & (n <= QUOTE_MAX_LEN)]
    df["likes"] = pd.to_numeric(df["thumbs_up"], errors="coerce").fillna(0)
    df = df.sort_values(["likes", "time", "mention_id"], ascending=[False, False, True], kind="stable")
    rows = []
    for ind in INDICATORS:
        g = df[df["indicator"] == ind]
        picked: dict[str, list] = {"complaint": [], "praise": []}
        authors, texts = set(), set()
        for stance, label in (("complaint", "negative"), ("praise", "positive")):
            for r in g[g["label"] == label].itertuples(index=False):
                key = r.text.casefold()
                if key in texts or (isinstance(r.author_key, str) and r.author_key in authors):
                    continue
                picked[stance].append(r)
                texts.add(key)
                if isinstance(r.author_key, str):
                    authors.add(r.author_key)
        want_c, want_p = complaints, praise
        # Fill a shortfall on one side from the other, so a card still carries up to five voices.
        if len(picked["praise"]) < want_p:
            want_c += want_p - len(picked["praise"])
        elif len(picked["complaint"]) < want_c:
            want_p += want_c - len(picked["complaint"])
        for stance, want in (("complaint", want_c), ("praise", want_p)):
            for r in picked[stance][:want]:
                rows.append(dict(indicator=ind, stance=stance, text=r.text, source=r.source, app=r.app,
                                 month=f"{r.time:%Y-%m}" if pd.notna(r.time) else "", url=_public_url(r.url),
                                 thumbs_up=int(r.likes),
                                 mention_id=int(r.mention_id)))
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def complaint_phrases(store: Store, model: str | None = None, since=None, until=None, source=None, app=None,
                      top: int = 5) -> pd.DataFrame:
    """Per indicator, the evidence phrases that most often matched in complaints
    (columns: indicator, phrase, complaints)."""
    model = choose_model(store, model)
    df = _tagged_mentions(store, model, since, until, source, app)
    df = df[df["label"] == "negative"]
    rows = []
    for ind in INDICATORS:
        c = Counter()
        for ev in df.loc[df["indicator"] == ind, "evidence"]:
            for phrase in str(ev or "").split(" | "):
                phrase = " ".join(scrub(phrase).lower().split())
                if phrase:
                    c[phrase] += 1
        rows += [dict(indicator=ind, phrase=p, complaints=k) for p, k in c.most_common(top)]
    return pd.DataFrame(rows, columns=["indicator", "phrase", "complaints"])
