"""``analyze``: labels and indicator tags in one pass store exactly what the two steps store.

The two steps (``analyze_sentiment`` then ``tag_indicators``) are the reference: the same
mentions, in every state a store can hold (new, labelled but not tagged, tagged by another
taxonomy, edited since), must end with the same rows in ``sentiments``, ``indicators`` and
``indicator_tagging`` whatever the chunk size and worker count.
"""

from __future__ import annotations

import random

import pytest

from nlp.indicators import get_tagger
from nlp.lexicon import LexiconClassifier
from nlp.sentiment import Prediction
from nlp.synthetic import review
from pipelines.analysis import analyze, analyze_sentiment
from pipelines.store import Store, utcnow
from pipelines.tagging import count_pending, tag_indicators

def _tables(store: Store) -> dict[str, list]:
    with store.engine.connect() as conn:
        return {
            "sentiments": [tuple(r) for r in conn.exec_driver_sql(
                "SELECT mention_id, model, label, p_positive, p_neutral, p_negative, content_hash "
                "FROM sentiments ORDER BY mention_id, model")],
            "indicators": [tuple(r) for r in conn.exec_driver_sql(
                "SELECT mention_id, indicator, evidence, signal, taxonomy, content_hash "
                "FROM indicators ORDER BY mention_id, indicator")],
            "tagging": [tuple(r) for r in conn.exec_driver_sql(
                "SELECT mention_id, taxonomy, content_hash, n_indicators FROM indicator_tagging ORDER BY mention_id")],
        }


def _mentions(start: int, n: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed + start)
    return [dict(source="playstore", source_id=f"m{i}", app="id.tangsel", text=review(rng),
                 rating=float(1 + i % 5), title=("Kecewa" if i % 6 == 0 else None))
            for i in range(start, start + n)]


def _mixed_store(url: str) -> Store:
    """95 mentions in every state: labelled and tagged (ids 6-10, 21-40), tagged by an older
    taxonomy (11-20), labelled only (41-70), edited since both (1-5) and new (71-95)."""
    store = Store(url)
    store.upsert_mentions(_mentions(0, 40))
    analyze_sentiment(store, "lexicon")
    tag_indicators(store)
    with store.engine.begin() as conn:
        for table in ("indicator_tagging", "indicators"):
            conn.exec_driver_sql(f"UPDATE {table} SET taxonomy = 'older@1' WHERE mention_id BETWEEN 11 AND 20")
    store.upsert_mentions(_mentions(40, 30))
    analyze_sentiment(store, "lexicon")
    store.upsert_mentions(_mentions(0, 5, seed=99))  # new texts for the first five
    store.upsert_mentions(_mentions(70, 25))
    return store


@pytest.mark.parametrize("workers,chunk", [(1, 9), (2, 13)])
def test_one_pass_stores_what_the_two_steps_store(any_db_url, workers, chunk):
    store = _mixed_store(any_db_url)
    assert store.count_pending_sentiments(_model_id()) == 5 + 25
    assert count_pending(store, _tax_id()) == 5 + 10 + 30 + 25
    before = _tables(store)

    res = analyze(store, "lexicon", chunk_size=chunk, workers=workers)
    assert (res.labelled, res.tagged, res.pending) == (30, 70, 30)
    assert sum(res.labels.values()) == 30 and res.chunks == -(-70 // chunk)
    got = _tables(store)

    # The reference: back to the state before the run, then the two steps one after the other.
    _restore(store, before)
    assert _tables(store) == before
    analyze_sentiment(store, "lexicon", chunk_size=chunk, workers=workers)
    tag_indicators(store, chunk_size=chunk, workers=workers)
    assert got == _tables(store)
    assert len(got["tagging"]) == 95 and len(got["sentiments"]) == 95 and len(got["indicators"]) > 40

    again = analyze(store, "lexicon", workers=workers)
    assert (again.labelled, again.tagged, again.pending) == (0, 0, 0)
    store.close()


def _model_id() -> str:
    return LexiconClassifier().model_id


def _tax_id() -> str:
    return get_tagger().version


def _restore(store: Store, tables: dict[str, list]) -> None:
    now = utcnow()
    with store.engine.begin() as conn:
        for table in ("indicators", "indicator_tagging", "sentiments"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        store.write_sentiments(conn, [(*r, now) for r in tables["sentiments"]])
        store.replace_tags(conn, [(*r, now) for r in tables["tagging"]], [(*r, now) for r in tables["indicators"]])


def test_reanalyze_relabels_and_retags_everything(any_db_url):
    store = _mixed_store(any_db_url)
    res = analyze(store, "lexicon", reanalyze=True, chunk_size=11, workers=2)
    assert (res.labelled, res.tagged, res.pending) == (95, 95, 95)
    got = _tables(store)
    analyze_sentiment(store, "lexicon", reanalyze=True)
    tag_indicators(store, reanalyze=True)
    assert _tables(store) == got
    store.close()


def test_a_crash_leaves_every_mention_labelled_and_tagged_or_neither(tmp_path):
    ref = Store(f"sqlite:///{tmp_path / 'ref.db'}")
    ref.upsert_mentions(_mentions(0, 120))
    analyze(ref, "lexicon", chunk_size=10)

    store = Store(f"sqlite:///{tmp_path / 'crash.db'}")
    store.upsert_mentions(_mentions(0, 120))

    def stop_after_3(done, total):
        assert total == 120
        if done >= 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze(store, "lexicon", chunk_size=10, workers=2, progress=stop_after_3)
    partial = _tables(store)
    labelled = [r[0] for r in partial["sentiments"]]
    assert labelled == [r[0] for r in partial["tagging"]] == list(range(1, 31))
    assert store.runs_df().iloc[-1]["status"] == "failed"
    res = analyze(store, "lexicon", chunk_size=10, workers=2)
    assert (res.labelled, res.tagged) == (90, 90)
    assert _tables(store) == _tables(ref)


class Slow:
    """Stands in for a transformer: a classifier the one pass does not hand to worker processes."""

    name, version = "slow", "1"

    def __init__(self):
        self.texts = 0

    def classify(self, texts):
        self.texts += len(texts)
        return [Prediction("neutral", {"positive": 0.2, "neutral": 0.6, "negative": 0.2}) for _ in texts]


def test_a_model_that_runs_in_process_labels_then_tags(store):
    store.upsert_mentions(_mentions(0, 30))
    calls = []
    clf = Slow()
    res = analyze(store, clf, chunk_size=8, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert (res.labelled, res.tagged, res.model) == (30, 30, "slow@1") and clf.texts == 30
    assert calls[-1] == (30, 30) and len(calls) == 4 + 1  # four label chunks, then one tagging chunk
    assert analyze(store, clf).tagged == 0
    assert analyze(store, "lexicon", indicators=False).tagged is None
