"""Tag stored mentions with the six indicators (``indicators`` table), incrementally.

A mention is (re)tagged when it has never been tagged, when its content changed (its
``content_hash`` differs from the one it was tagged from) or when the taxonomy changed (its
``version@fingerprint`` differs). ``indicator_tagging`` records every mention read, even those
with no indicator, so nothing needs a sentinel row. Each chunk is one transaction: an
interrupted run keeps what it finished and the next run picks up the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, inspect, or_, select, text

from nlp.indicators import INDICATORS, Taxonomy, get_tagger

from .errors import InputError
from .store import Store, indicator_tagging, indicators, mentions, utcnow

Progress = Callable[[int, int], None]  # (mentions done, mentions to do)
_IN = 500  # ids per IN (...) clause: well under every database's parameter limit


def mention_text(title: str | None, body: str | None) -> str:
    """The text the tagger reads: title and body (a developer's reply is not the citizen's voice)."""
    parts = [p.strip() for p in (title, body) if isinstance(p, str) and p.strip()]
    return ". ".join(parts)


def _ensure_schema(store: Store) -> None:
    # Stores created before indicators.signal existed get the column added in place.
    cols = {c["name"] for c in inspect(store.engine).get_columns("indicators")}
    if "signal" not in cols:
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE indicators ADD COLUMN signal VARCHAR(16)"))


def pending_mentions(store: Store, taxonomy_id: str, reanalyze: bool = False) -> list[int]:
    """Ids of mentions to tag: untagged, edited since tagging, or tagged by another taxonomy."""
    t = indicator_tagging
    q = select(mentions.c.id).order_by(mentions.c.id)
    if not reanalyze:
        q = q.select_from(mentions.outerjoin(t, t.c.mention_id == mentions.c.id)).where(
            or_(t.c.mention_id.is_(None), t.c.taxonomy != taxonomy_id, t.c.content_hash != mentions.c.content_hash)
        )
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(q)]


def tag_indicators(
    store: Store,
    *,
    reanalyze: bool = False,
    chunk_size: int = 1000,
    progress: Progress | None = None,
    taxonomy: Taxonomy | str | Path | None = None,
) -> int:
    """Tag every mention that needs it; return how many mentions were tagged.

    Idempotent: a second run with the same taxonomy and unchanged mentions tags nothing.
    ``reanalyze`` re-tags everything. ``progress(done, total)`` is called after each chunk.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    tagger = get_tagger(taxonomy)
    tax_id = tagger.version
    _ensure_schema(store)
    ids = pending_mentions(store, tax_id, reanalyze)
    total = len(ids)
    done = 0
    for start in range(0, total, chunk_size):
        chunk = ids[start : start + chunk_size]
        with store.engine.begin() as conn:
            rows = []
            for part in _parts(chunk):
                rows.extend(
                    conn.execute(
                        select(mentions.c.id, mentions.c.title, mentions.c.text, mentions.c.content_hash).where(
                            mentions.c.id.in_(part)
                        )
                    )
                )
            now = utcnow()
            tag_rows, ind_rows = [], []
            for mid, title, body, chash in rows:
                found = tagger.tag(mention_text(title, body))
                tag_rows.append(dict(mention_id=mid, taxonomy=tax_id, content_hash=chash,
                                     n_indicators=len(found), tagged_at=now))
                ind_rows.extend(
                    dict(mention_id=mid, indicator=m.indicator, evidence=m.evidence, signal=m.signal,
                         taxonomy=tax_id, content_hash=chash, tagged_at=now)
                    for m in found
                )
            for part in _parts([r["mention_id"] for r in tag_rows]):
                conn.execute(delete(indicators).where(indicators.c.mention_id.in_(part)))
                conn.execute(delete(indicator_tagging).where(indicator_tagging.c.mention_id.in_(part)))
            if ind_rows:
                conn.execute(indicators.insert(), ind_rows)
            if tag_rows:
                conn.execute(indicator_tagging.insert(), tag_rows)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return total


def _parts(ids: Sequence[int]):
    for i in range(0, len(ids), _IN):
        yield list(ids[i : i + _IN])


INDICATOR_FRAME_COLUMNS = [
    "mention_id", "source", "app", "kind", "created_at", "rating",
    "indicator", "signal", "evidence", "taxonomy", "tagged_at",
]


def indicators_frame(store: Store) -> pd.DataFrame:
    """One row per (mention, indicator) with the mention's source, app, kind, time and rating.

    Columns: mention_id, source, app, kind, created_at, rating, indicator, signal, evidence,
    taxonomy (``version@fingerprint``), tagged_at.
    """
    q = (
        select(
            indicators.c.mention_id, mentions.c.source, mentions.c.app, mentions.c.kind, mentions.c.created_at,
            mentions.c.rating, indicators.c.indicator, indicators.c.signal, indicators.c.evidence,
            indicators.c.taxonomy, indicators.c.tagged_at,
        )
        .join(mentions, mentions.c.id == indicators.c.mention_id)
        .order_by(indicators.c.mention_id, indicators.c.indicator)
    )
    _ensure_schema(store)
    with store.engine.connect() as conn:
        df = pd.read_sql(q, conn)
    order = {k: i for i, k in enumerate(INDICATORS)}
    if not df.empty:
        df = df.sort_values(["mention_id", "indicator"], key=lambda s: s.map(order) if s.name == "indicator" else s)
    return df[INDICATOR_FRAME_COLUMNS].reset_index(drop=True)


def indicator_summary(store: Store) -> pd.DataFrame:
    """Per indicator: name, mentions tagged, and how many carry a complaint / praise cue.

    The last row, ``(none)``, counts tagged mentions with no indicator. ``attrs`` holds
    ``tagged`` (mentions read by the tagger) and ``taxonomies`` (ids found in the store).
    """
    tax = get_tagger().taxonomy
    df = indicators_frame(store)
    with store.engine.connect() as conn:
        tagged = pd.read_sql(select(indicator_tagging), conn)
    rows = []
    for key in INDICATORS:
        sub = df[df.indicator == key]
        rows.append(dict(indicator=key, name=tax.name(key), mentions=len(sub),
                         complaint_cue=int((sub.signal == "complaint").sum()),
                         praise_cue=int((sub.signal == "praise").sum()),
                         mixed_cue=int((sub.signal == "mixed").sum())))
    rows.append(dict(indicator="(none)", name="no indicator", mentions=int((tagged.n_indicators == 0).sum()),
                     complaint_cue=0, praise_cue=0, mixed_cue=0))
    out = pd.DataFrame(rows)
    out.attrs.update(tagged=len(tagged), taxonomies=sorted(tagged.taxonomy.unique().tolist()))
    return out
