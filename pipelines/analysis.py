"""Label stored mentions with a sentiment model, resumably.

``analyze_sentiment`` labels every mention that the chosen model has not labelled yet, or whose
text changed since (its ``content_hash`` differs), and commits one chunk at a time: a crash loses
at most the chunk in flight, and the next run continues with what is still unlabelled.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable

import pandas as pd

from .errors import InputError
from .store import Store, utcnow
from .workers import check_workers, ordered_map


FAST_CHUNK = 2000  # mentions per transaction for the lexicon and linear models
SLOW_CHUNK = 256  # ... and for a transformer


@dataclass
class AnalysisSummary:
    model: str  # name@version stored in sentiments.model
    labelled: int = 0  # labels written by this run
    pending: int = 0  # mentions that needed a label when the run started
    chunks: int = 0
    seconds: float = 0.0
    labels: dict = field(default_factory=dict)  # label -> count written
    fallback: str | None = None  # why ``auto`` ran the lexicon, if it did
    tagged: int | None = None  # mentions (re)tagged with indicators by :func:`analyze`; None: not asked

    @property
    def texts_per_s(self) -> float:
        return self.labelled / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["texts_per_s"] = round(self.texts_per_s, 1)
        return d


def mention_text(title: str | None, text: str | None) -> str:
    """What the classifier reads: the text, led by the title when the title adds something."""
    text = text or ""
    title = (title or "").strip()
    if title and title.lower() not in text.lower():
        return f"{title}. {text}" if text else title
    return text


def analyze_sentiment(
    store: Store,
    model="auto",
    batch_size: int = 32,
    reanalyze: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
) -> AnalysisSummary:
    """Label mentions with ``model`` (a spec for :func:`nlp.sentiment.load_classifier` or a classifier).

    Only mentions without a current label from this exact model (``name@version``) are read, unless
    ``reanalyze`` relabels everything. Each chunk of ``chunk_size`` mentions (default: 2,000 for the
    lexicon and linear models, 256 for a transformer) is classified and then committed in one
    transaction. ``progress(done, total)`` is called after each chunk.
    ``workers`` processes classify with the lexicon or linear model (None: one per CPU; 1: in
    this process); this process reads and writes the store in id order, so the stored labels are
    the same whatever ``workers`` is. A transformer always runs here (torch uses the cores itself).
    """
    from nlp.sentiment import load_classifier

    if batch_size < 1 or (chunk_size is not None and chunk_size < 1):
        raise InputError("batch size and chunk size must be at least 1")
    workers = check_workers(workers)
    clf = load_classifier(model, batch_size=batch_size) if isinstance(model, str) else model
    fast = _parallel_safe(clf)
    if not fast:
        workers = 1
    if chunk_size is None:
        # A commit costs milliseconds: the lexicon and linear models label thousands of texts in
        # that time, a transformer a few (so a crash loses little of its slow work).
        chunk_size = FAST_CHUNK if fast else SLOW_CHUNK
    if hasattr(clf, "batch_size"):
        clf.batch_size = batch_size
    model_id = f"{clf.name}@{clf.version}"
    summary = AnalysisSummary(model=model_id, fallback=getattr(clf, "fallback_reason", None))
    before = utcnow() if reanalyze else None
    summary.pending = store.count_pending_sentiments(model_id, before)
    counts: Counter = Counter()
    with _logged_run(store, summary, counts):
        chunks = ((rows, ([mention_text(r["title"], r["text"]) for r in rows], [r["rating"] for r in rows]))
                  for rows in _pending_chunks(store, model_id, chunk_size, before))
        state = {"clf": clf, "batch_size": batch_size}
        for rows, preds in ordered_map(_classify, state, chunks, workers, store.engine):
            now = utcnow()
            with store.engine.begin() as conn:
                store.write_sentiments(conn, [(r["id"], model_id, *p, r["content_hash"], now)
                                              for r, p in zip(rows, preds)])
            counts.update(p[0] for p in preds)
            summary.labelled += len(rows)
            summary.chunks += 1
            if progress:
                progress(summary.labelled, summary.pending)
    return summary


def analyze(
    store: Store,
    model="auto",
    *,
    indicators: bool = True,
    taxonomy=None,
    batch_size: int = 32,
    reanalyze: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = 1,
) -> AnalysisSummary:
    """Label mentions as :func:`analyze_sentiment` does and, with ``indicators``, tag them as
    :func:`pipelines.tagging.tag_indicators` does; ``summary.tagged`` counts the mentions tagged.

    With the lexicon or linear model both happen in ONE pass over the store: each chunk of
    mentions is read once, labelled and tagged (by ``workers`` processes) and written in one
    transaction, so a crash loses at most the chunks in flight and leaves no mention labelled in
    one table and half-written in the other. The stored rows are those of the two steps run one
    after the other. A transformer labels first (torch uses the cores itself), then tagging runs.
    ``progress(done, total)`` counts mentions read in the one pass, else labels then tags.
    """
    from nlp.indicators import get_tagger
    from nlp.sentiment import load_classifier

    from .tagging import count_pending, tag_indicators

    if not indicators:
        return analyze_sentiment(store, model, batch_size=batch_size, reanalyze=reanalyze, chunk_size=chunk_size,
                                 progress=progress, workers=workers)
    if batch_size < 1 or (chunk_size is not None and chunk_size < 1):
        raise InputError("batch size and chunk size must be at least 1")
    workers = check_workers(workers)
    tagger = get_tagger(taxonomy)
    clf = load_classifier(model, batch_size=batch_size) if isinstance(model, str) else model
    if not _parallel_safe(clf):
        summary = analyze_sentiment(store, clf, batch_size=batch_size, reanalyze=reanalyze, chunk_size=chunk_size,
                                    progress=progress, workers=workers)
        summary.tagged = tag_indicators(store, reanalyze=reanalyze, taxonomy=taxonomy, workers=workers,
                                        progress=progress)
        return summary
    from .tagging import _ensure_schema, tag_tuples

    _ensure_schema(store)
    model_id, tax_id = f"{clf.name}@{clf.version}", tagger.version
    summary = AnalysisSummary(model=model_id, fallback=getattr(clf, "fallback_reason", None), tagged=0)
    before = utcnow() if reanalyze else None
    summary.pending = store.count_pending_sentiments(model_id, before)
    total = max(summary.pending, count_pending(store, tax_id, reanalyze))
    counts: Counter = Counter()
    done = 0
    state = {"clf": clf, "batch_size": batch_size, "tagger": tagger}
    with _logged_run(store, summary, counts):
        chunks = ((rows, [r[1:6] for r in rows])
                  for rows in _pending_both(store, model_id, tax_id, reanalyze, chunk_size or FAST_CHUNK))
        for rows, (preds, found) in ordered_map(_label_and_tag, state, chunks, workers, store.engine):
            now = utcnow()
            labelled = [(r[0], model_id, *p, r[6], now) for r, p in zip((r for r in rows if r[4]), preds)]
            tag_rows, ind_rows = tag_tuples([(r[0], r[6]) for r in rows if r[5]], found, tax_id, now)
            with store.engine.begin() as conn:
                store.write_sentiments(conn, labelled)
                store.replace_tags(conn, tag_rows, ind_rows)
            counts.update(p[0] for p in preds)
            summary.labelled += len(labelled)
            summary.tagged += len(tag_rows)
            summary.chunks += 1
            done += len(rows)
            if progress:
                progress(done, max(total, done))
    return summary


def _pending_both(store: Store, model_id: str, tax_id: str, reanalyze: bool, chunk_size: int):
    """Chunks of ``(id, title, text, rating, needs label, needs tags, content_hash)`` by id.

    A mention is read when the model has no current label for it or the taxonomy no current tags
    (with ``reanalyze``: every mention, once, since ids only grow)."""
    from sqlalchemy import and_, case, literal, or_, select

    from .store import indicator_tagging as t
    from .store import mentions as m
    from .store import sentiments as s
    from .tagging import id_pages

    if reanalyze:
        q = select(m.c.id, m.c.title, m.c.text, m.c.rating, literal(1), literal(1), m.c.content_hash)
    else:
        need_label = or_(s.c.mention_id.is_(None), s.c.content_hash != m.c.content_hash)
        need_tags = or_(t.c.mention_id.is_(None), t.c.taxonomy != tax_id, t.c.content_hash != m.c.content_hash)
        q = (select(m.c.id, m.c.title, m.c.text, m.c.rating, case((need_label, 1), else_=0),
                    case((need_tags, 1), else_=0), m.c.content_hash)
             .select_from(m.outerjoin(s, and_(s.c.mention_id == m.c.id, s.c.model == model_id))
                          .outerjoin(t, t.c.mention_id == m.c.id))
             .where(or_(need_label, need_tags)))
    return id_pages(store, q, chunk_size)


def _label_and_tag(state: dict, payload) -> tuple[list, list]:
    # Runs in a worker process (or in-process): (title, text, rating, needs label, needs tags) in,
    # plain tuples out, for the rows that need them.
    from .tagging import _tag_texts, mention_text as tag_text

    todo = [r for r in payload if r[3]]
    preds = _classify(state, ([mention_text(r[0], r[1]) for r in todo], [r[2] for r in todo])) if todo else []
    found = _tag_texts(state, [tag_text(r[0], r[1]) for r in payload if r[4]])
    return preds, found


@contextmanager
def _logged_run(store: Store, summary: AnalysisSummary, counts: Counter):
    """Log the run in ``runs`` (failed with its error, or ok) and time it into ``summary``."""
    from .store import UpsertResult

    run_id = store.start_run("analyze", target=summary.model)
    start = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        summary.seconds = time.perf_counter() - start
        store.finish_run(run_id, "failed", UpsertResult(new=summary.labelled), error=f"{type(exc).__name__}: {exc}")
        raise
    summary.seconds = time.perf_counter() - start
    summary.labels = {k: counts.get(k, 0) for k in ("positive", "neutral", "negative")}
    store.finish_run(run_id, "ok", UpsertResult(new=summary.labelled))


def _parallel_safe(clf) -> bool:
    from nlp.lexicon import LexiconClassifier
    from nlp.linear import LinearClassifier

    return isinstance(clf, (LexiconClassifier, LinearClassifier))


def _pending_chunks(store: Store, model_id: str, chunk_size: int, before):
    # Keyset pagination: one chunk in memory, never the list of every pending id.
    last_id = 0
    while True:
        rows = store.pending_sentiments(model_id, chunk_size, after_id=last_id, before=before)
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def _classify(state: dict, payload) -> list[tuple[str, float, float, float]]:
    # Runs in a worker process (or in-process): texts and stars in, plain tuples out.
    from nlp.evaluate import classify_with_ratings

    texts, ratings = payload
    preds = classify_with_ratings(state["clf"], texts, ratings, state["batch_size"])
    return [(p.label, float(p.probs.get("positive", 0.0)), float(p.probs.get("neutral", 0.0)),
             float(p.probs.get("negative", 0.0))) for p in preds]


def sentiments_frame(store: Store, model: str | None = None) -> pd.DataFrame:
    """Stored labels joined to their mentions; ``current`` is False where the text changed since."""
    return store.sentiments_df(model)


def calibration_texts(store: Store, n: int = 256) -> list[str]:
    """Up to ``n`` stored mention texts, spread over the store, for ``--precision auto`` to check
    int8/bf16 labels against fp32 on the corpus it will label rather than on generated texts."""
    from sqlalchemy import func, select

    from .store import mentions

    with store.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(mentions)).scalar_one())
        step = max(1, total // n)
        q = select(mentions.c.title, mentions.c.text).where(mentions.c.id % step == 0).order_by(mentions.c.id).limit(n)
        return [t for t in (mention_text(r[0], r[1]) for r in conn.execute(q)) if t.strip()]
