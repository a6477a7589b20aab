"""Label stored mentions with a sentiment model, resumably.

``analyze_sentiment`` labels every mention that the chosen model has not labelled yet, or whose
text changed since (its ``content_hash`` differs), and commits one chunk at a time: a crash loses
at most the chunk in flight, and the next run continues with what is still unlabelled.
"""

from __future__ import annotations

import time
from collections import Counter
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
    run_id = store.start_run("analyze", target=model_id)
    counts: Counter = Counter()
    start = time.perf_counter()
    try:
        chunks = ((rows, ([mention_text(r["title"], r["text"]) for r in rows], [r["rating"] for r in rows]))
                  for rows in _pending_chunks(store, model_id, chunk_size, before))
        state = {"clf": clf, "batch_size": batch_size}
        for rows, preds in ordered_map(_classify, state, chunks, workers, store.engine):
            now = utcnow()
            store.save_sentiments(
                [
                    dict(
                        mention_id=r["id"],
                        model=model_id,
                        label=label,
                        p_positive=p_pos,
                        p_neutral=p_neu,
                        p_negative=p_neg,
                        content_hash=r["content_hash"],
                        analyzed_at=now,
                    )
                    for r, (label, p_pos, p_neu, p_neg) in zip(rows, preds)
                ]
            )
            counts.update(p[0] for p in preds)
            summary.labelled += len(rows)
            summary.chunks += 1
            if progress:
                progress(summary.labelled, summary.pending)
    except BaseException as exc:
        summary.seconds = time.perf_counter() - start
        from .store import UpsertResult

        store.finish_run(run_id, "failed", UpsertResult(new=summary.labelled), error=f"{type(exc).__name__}: {exc}")
        raise
    summary.seconds = time.perf_counter() - start
    summary.labels = {k: counts.get(k, 0) for k in ("positive", "neutral", "negative")}
    from .store import UpsertResult

    store.finish_run(run_id, "ok", UpsertResult(new=summary.labelled))
    return summary


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
