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
from sqlalchemy import case, func, inspect, or_, select, text

from nlp.indicators import INDICATORS, Taxonomy, get_tagger

from .errors import InputError
from .store import Store, indicator_tagging, indicators, mentions, utcnow
from .workers import check_workers, ordered_map

Progress = Callable[[int, int], None]  # (mentions done, mentions to do)


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


def _pending_query(taxonomy_id: str, reanalyze: bool):
    t = indicator_tagging
    q = select(mentions.c.id)
    if not reanalyze:
        q = q.select_from(mentions.outerjoin(t, t.c.mention_id == mentions.c.id)).where(
            or_(t.c.mention_id.is_(None), t.c.taxonomy != taxonomy_id, t.c.content_hash != mentions.c.content_hash)
        )
    return q


def pending_mentions(store: Store, taxonomy_id: str, reanalyze: bool = False) -> list[int]:
    """Ids of mentions to tag: untagged, edited since tagging, or tagged by another taxonomy."""
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(_pending_query(taxonomy_id, reanalyze).order_by(mentions.c.id))]


def count_pending(store: Store, taxonomy_id: str, reanalyze: bool = False) -> int:
    """How many mentions :func:`tag_indicators` would tag now."""
    q = _pending_query(taxonomy_id, reanalyze).with_only_columns(func.count(), maintain_column_froms=True)
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def _pending_chunks(store: Store, taxonomy_id: str, reanalyze: bool, chunk_size: int):
    """Pending mentions ``(id, title, text, content_hash)``, ``chunk_size`` at a time by id.

    With ``reanalyze`` every mention is read once, since ids only grow.
    """
    q = _pending_query(taxonomy_id, reanalyze).add_columns(mentions.c.title, mentions.c.text, mentions.c.content_hash)
    return id_pages(store, q, chunk_size)


def id_pages(store: Store, q, chunk_size: int):
    """The rows of ``q`` (a select whose first column is ``mentions.id``), ``chunk_size`` at a time.

    Keyset pagination (``id > last``): memory stays one chunk whatever the store holds, and rows
    written meanwhile are never read twice.
    """
    last = 0
    while True:
        with store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(q.where(mentions.c.id > last).order_by(mentions.c.id)
                                                   .limit(chunk_size))]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _tag_texts(state: dict, texts: list[str]) -> list[list[tuple[str, str, str]]]:
    # Runs in a worker process (or in-process): only texts in, only plain tuples out.
    tagger = state["tagger"]
    return [[(m.indicator, m.evidence, m.signal) for m in tagger.tag(t)] for t in texts]


def tag_indicators(
    store: Store,
    *,
    reanalyze: bool = False,
    chunk_size: int = 1000,
    progress: Progress | None = None,
    taxonomy: Taxonomy | str | Path | None = None,
    workers: int | None = 1,
) -> int:
    """Tag every mention that needs it; return how many mentions were tagged.

    Idempotent: a second run with the same taxonomy and unchanged mentions tags nothing.
    ``reanalyze`` re-tags everything. ``progress(done, total)`` is called after each chunk.
    ``workers`` processes tag the texts (None: one per CPU; 1: in this process); this process
    reads and writes the store, one transaction per chunk, in id order, so the stored rows are
    the same whatever ``workers`` is.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    workers = check_workers(workers)
    tagger = get_tagger(taxonomy)
    tax_id = tagger.version
    _ensure_schema(store)
    total = count_pending(store, tax_id, reanalyze)
    done = 0
    chunks = ((rows, [mention_text(r[1], r[2]) for r in rows])
              for rows in _pending_chunks(store, tax_id, reanalyze, chunk_size))
    for rows, found_per_row in ordered_map(_tag_texts, {"tagger": tagger}, chunks, workers, store.engine):
        tag_rows, ind_rows = tag_tuples([(r[0], r[3]) for r in rows], found_per_row, tax_id, utcnow())
        with store.engine.begin() as conn:
            store.replace_tags(conn, tag_rows, ind_rows)
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
    return done


def tag_tuples(keys: Sequence[tuple[int, str]], found_per_row, tax_id: str, now) -> tuple[list, list]:
    """Rows for :meth:`Store.replace_tags` from ``(mention id, content hash)`` and what the tagger found."""
    tag_rows, ind_rows = [], []
    for (mid, chash), found in zip(keys, found_per_row):
        tag_rows.append((mid, tax_id, chash, len(found), now))
        ind_rows.extend((mid, ind, ev, sig, tax_id, chash, now) for ind, ev, sig in found)
    return tag_rows, ind_rows


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
    _ensure_schema(store)
    # Counted in SQL: the store may hold millions of tags, the summary is six rows.
    q = (
        select(indicators.c.indicator, indicators.c.signal, func.count())
        .join(mentions, mentions.c.id == indicators.c.mention_id)
        .group_by(indicators.c.indicator, indicators.c.signal)
    )
    t = indicator_tagging
    with store.engine.connect() as conn:
        counts = {(ind, sig): int(n) for ind, sig, n in conn.execute(q)}
        n_tagged, n_none = conn.execute(
            select(func.count(), func.coalesce(func.sum(case((t.c.n_indicators == 0, 1), else_=0)), 0)).select_from(t)
        ).one()
        taxonomies = [r[0] for r in conn.execute(select(t.c.taxonomy).distinct().order_by(t.c.taxonomy))]
    rows = []
    for key in INDICATORS:
        mine = {sig: n for (ind, sig), n in counts.items() if ind == key}
        rows.append(dict(indicator=key, name=tax.name(key), mentions=sum(mine.values()),
                         complaint_cue=mine.get("complaint", 0),
                         praise_cue=mine.get("praise", 0),
                         mixed_cue=mine.get("mixed", 0)))
    rows.append(dict(indicator="(none)", name="no indicator", mentions=int(n_none),
                     complaint_cue=0, praise_cue=0, mixed_cue=0))
    out = pd.DataFrame(rows)
    out.attrs.update(tagged=int(n_tagged), taxonomies=sorted(taxonomies))
    return out
