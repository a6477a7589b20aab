"""Frozen copy of ``pipelines.triangulate.review_side`` before it read the store in chunks."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
from sqlalchemy import select

from nlp.codebook import tag_polarity
from pipelines.errors import InputError
from pipelines.store import Store, indicators, mentions, sentiments
from pipelines.trends import INDICATORS, canonical_indicator, select_mentions, wilson
from pipelines.triangulate import BASES, parse_window


def review_side(store: Store, window=None, model: str | None = None, source=None, app=None,
                basis: str = "polarity") -> pd.DataFrame:
    """Per indicator: labelled mentions, those not unfavourable, favourability and its Wilson interval.

    ``source``/``app`` (a name or a list) keep only those mentions (see ``trends.select_mentions``).

    ``basis="polarity"`` (default): a tagged mention counts against an indicator when *that
    indicator's* polarity is a complaint: the tag's own cue, else the review's sentiment
    (:func:`nlp.codebook.tag_polarity`), so a review praising the app but saying the report was
    never answered counts against penanggapan only. ``basis="sentiment"``: the earlier
    definition, the review's sentiment alone (not negative = favourable); it is also returned
    as ``review_favourability_sentiment`` for comparison.
    """
    if basis not in BASES:
        raise InputError(f"unknown favourability basis {basis!r} (use {' or '.join(BASES)})")
    start, end = parse_window(window)
    with store.engine.connect() as conn:
        q = (
            select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal, sentiments.c.label,
                   mentions.c.created_at, mentions.c.fetched_at, mentions.c.source, mentions.c.app)
            .join(mentions, mentions.c.id == indicators.c.mention_id)
            .join(sentiments, (sentiments.c.mention_id == indicators.c.mention_id) & (sentiments.c.model == model))
        )
        df = pd.read_sql(q, conn) if model else pd.DataFrame(columns=["mention_id", "indicator", "signal", "label",
                                                                       "created_at", "fetched_at", "source", "app"])
    df = select_mentions(df, source, app)
    df["indicator"] = [canonical_indicator(i) or str(i) for i in df["indicator"]]
    df = df.drop_duplicates(["mention_id", "indicator"])
    t = pd.to_datetime(df["created_at"]).fillna(pd.to_datetime(df["fetched_at"]))
    keep = df["label"].isin(["positive", "neutral", "negative"])
    if start is not None:
        keep &= t >= start
    if end is not None:
        keep &= t < end + timedelta(days=1)
    df = df[keep]
    polarity_ok = pd.Series([tag_polarity(s, lbl) != "-" for s, lbl in zip(df["signal"], df["label"])],
                            index=df.index, dtype=bool)
    sentiment_ok = df["label"] != "negative"
    rows = []
    for ind in INDICATORS:
        mine = df["indicator"] == ind
        n = int(mine.sum())
        ok = int((polarity_ok if basis == "polarity" else sentiment_ok)[mine].sum())
        ok_sent = int(sentiment_ok[mine].sum())
        lo, hi = wilson(ok, n)
        rows.append(dict(indicator=ind, review_mentions=n, review_not_negative=ok,
                         review_favourability=ok / n if n else math.nan, review_low=lo, review_high=hi,
                         review_favourability_sentiment=ok_sent / n if n else math.nan, basis=basis))
    return pd.DataFrame(rows)
