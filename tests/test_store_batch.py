"""Batched inserts of new mentions: counts, idempotence and rows another writer stored first."""

from __future__ import annotations

from pipelines.store import Store


def _rows(ids, text="laporan sudah ditanggapi"):
    return [dict(source="playstore", source_id=str(i), app="id.kota", text=f"{text} {i}", rating=3) for i in ids]


def test_batches_across_chunks_count_each_row_once(any_db_url):
    store = Store(any_db_url)
    res = store.upsert_mentions(_rows(range(0, 1200)))
    assert (res.new, res.updated, res.unchanged) == (1200, 0, 0)
    # Mixed batch: 600 unchanged, 100 edited, 1300 new, spanning several insert chunks.
    mixed = _rows(range(0, 600)) + _rows(range(600, 700), text="edited") + _rows(range(1200, 2500))
    res = store.upsert_mentions(mixed)
    assert (res.new, res.updated, res.unchanged) == (1300, 100, 600)
    assert store.count_mentions() == 2500
    res = store.upsert_mentions(mixed)
    assert (res.new, res.updated, res.unchanged) == (0, 0, 2000)
    df = store.table("mentions")
    assert df["id"].is_unique and len(df) == 2500
    assert set(df.loc[df["source_id"] == "650", "text"]) == {"edited 650"}
    store.close()


def test_rows_stored_first_by_another_writer_are_not_counted_as_inserted(any_db_url):
    store, other = Store(any_db_url), Store(any_db_url)
    other.upsert_mentions(_rows(range(0, 700, 2)))  # every even id, stored by the other handle
    with store.engine.begin() as conn:
        from pipelines.store import _prepare, utcnow

        now = utcnow()
        done = store._insert_new_many(conn, [_prepare(r, now) for r in _rows(range(0, 700))])
    assert done == {("playstore", str(i)) for i in range(1, 700, 2)}
    assert store.count_mentions() == 700
    store.close()
    other.close()


def test_scale_bench_corpus_imports(tmp_path):
    """bench/scale.py's generated corpus is a valid google-play-scraper file for `suara import`."""
    import importlib.util
    from pathlib import Path

    from pipelines.importer import import_reviews

    spec = importlib.util.spec_from_file_location("scale", Path(__file__).parent.parent / "bench" / "scale.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    assert [scale.parse_size(s) for s in ("10k", "1.5m", "300")] == [10_000, 1_500_000, 300]
    corpus = tmp_path / "r.csv"
    scale.write_corpus(corpus, 300)
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    res = import_reviews(store, corpus, "id.bench.kota")
    assert res.new == 300
    df = store.table("mentions")
    assert df["text"].str.len().min() > 5 and df["text"].nunique() > 100 and df["reply_text"].notna().any()
    store.close()
