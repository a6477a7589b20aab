"""The fast analyze/tag paths give exactly what the slow ones gave.

* fixed outputs on tricky texts (negation, multi-word phrases, emoji, reduplication, slang, URLs),
  written by the code before the speed work (tests/data/fast_golden.json);
* ``clean`` with its character pre-checks against the plain run of every pattern;
* ``--workers N`` stores the same rows as in-process, resumes after a crash, and ``tag``'s
  SQL summary equals the summary computed from the full indicators table.
"""

from __future__ import annotations

import glob
import html
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nlp import normalize as nz
from nlp.indicators import INDICATORS, IndicatorTagger, get_tagger
from nlp.lexicon import LexiconClassifier
from nlp.synthetic import review
from pipelines.analysis import analyze_sentiment
from pipelines.cli import app
from pipelines.errors import InputError
from pipelines.store import Store
from pipelines.tagging import indicator_summary, indicators_frame, tag_indicators

GOLDEN = json.loads((Path(__file__).parent / "data" / "fast_golden.json").read_text(encoding="utf-8"))
SHARED_REVIEWS = sorted(glob.glob(str(Path(__file__).resolve().parents[2] / "shared" / "data" / "reviews" / "*.csv")))


def test_golden_outputs_on_tricky_texts():
    clf, tagger = LexiconClassifier(), get_tagger()
    if clf.model_id != GOLDEN["lexicon"] or tagger.version != GOLDEN["taxonomy"]:
        pytest.skip("lexicon or taxonomy edited since tests/data/fast_golden.json was written")
    for _ in range(2):  # the second pass answers from the per-text caches
        for row in GOLDEN["rows"]:
            t = row["text"]
            assert nz.normalize(t) == row["normalized"], t
            assert nz.preprocess(t) == row["tokens"], t
            (p,) = clf.classify([t])
            assert p.label == row["label"], t
            assert [p.probs[k] for k in ("positive", "neutral", "negative")] == row["probs"], t
            got = [[m.indicator, m.signal, m.evidence, [list(s) for s in m.spans]] for m in tagger.tag(t)]
            assert got == row["tags"], t


def _clean_reference(text, keep_emoji=True):
    """``clean`` as it was: every pattern run on every text."""
    if not text:
        return ""
    text = html.unescape(html.unescape(str(text)))
    for pat in (nz._TAG, nz._URL, nz._EMAIL, nz._MENTION):
        text = pat.sub(" ", text)
    text = nz._HASHTAG.sub(r"\1", text).lower()
    if keep_emoji:
        text = nz._EMOJI.sub(nz._emoji_spacer, nz._EMOTICON.sub(nz._emoticon, text))
    else:
        text = nz._EMOJI.sub(" ", nz._EMOTICON.sub(" ", text))
    text = nz._REPEAT3.sub(nz._collapse, text)
    text = nz._REDUP.sub(lambda m: f"{m.group(1)}-{m.group(1)}{m.group(2) or ''}", text)
    return nz._SPACES.sub(" ", text).strip()


def _texts(n=1500):
    rng = random.Random(3)
    texts = [row["text"] for row in GOLDEN["rows"]] + [review(rng) for _ in range(n)]
    texts += ["A&amp;B <i>x</i> @budi #Lapor x@y.id", "cek pemkot.go.id/lapor2 :D", "©️ ok ™", "www.BAGUS.com", "2x2"]
    for path in SHARED_REVIEWS:  # real reviews when ../shared is there
        texts += pd.read_csv(path, usecols=["content"])["content"].dropna().astype(str).tolist()[:2000]
    return texts


@pytest.mark.parametrize("keep_emoji", [True, False])
def test_clean_prechecks_change_nothing(keep_emoji):
    for t in _texts():
        assert nz.clean(t, keep_emoji=keep_emoji) == _clean_reference(t, keep_emoji), t


def test_caches_return_fresh_equal_results():
    tagger = IndicatorTagger()
    t = "laporan saya tidak ditanggapi, aplikasinya lemot"
    first, second = tagger.tag(t), tagger.tag(t)
    assert first == second == tagger._tag(t) and first is not second
    first.clear()  # a caller changing its list does not change the next answer
    assert tagger.tag(t) == second
    clf = LexiconClassifier()
    assert all(clf.score(x) == clf._score(x) for x in _texts(200))


def _seed(store: Store, n: int) -> None:
    rng = random.Random(11)
    texts = [row["text"] for row in GOLDEN["rows"]] + [review(rng) for _ in range(n)]
    store.upsert_mentions([
        dict(source="playstore", source_id=f"w{i}", app="id.tangsel", text=t, rating=float(1 + i % 5),
             title=("Kecewa" if i % 7 == 0 else None))
        for i, t in enumerate(texts)
    ])


def _tables(store: Store) -> dict[str, list]:
    with store.engine.connect() as conn:
        return {
            "sentiments": conn.exec_driver_sql(
                "SELECT mention_id, model, label, p_positive, p_neutral, p_negative, content_hash "
                "FROM sentiments ORDER BY mention_id, model").fetchall(),
            "indicators": conn.exec_driver_sql(
                "SELECT mention_id, indicator, evidence, signal, taxonomy, content_hash "
                "FROM indicators ORDER BY mention_id, indicator").fetchall(),
            "tagging": conn.exec_driver_sql(
                "SELECT mention_id, taxonomy, content_hash, n_indicators FROM indicator_tagging ORDER BY mention_id"
            ).fetchall(),
        }


def test_workers_store_the_same_rows_as_in_process(tmp_path):
    stores = {}
    for workers in (1, 2, 3):
        store = Store(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        _seed(store, 300)
        res = analyze_sentiment(store, model="lexicon", chunk_size=17, workers=workers)
        assert res.labelled == res.pending == 335
        assert tag_indicators(store, chunk_size=23, workers=workers) == 335
        stores[workers] = _tables(store)
        store.close()
    assert len(stores[1]["sentiments"]) == 335 and len(stores[1]["indicators"]) > 100
    assert stores[2] == stores[1] and stores[3] == stores[1]


def test_workers_crash_keeps_finished_chunks_and_rerun_completes(tmp_path):
    ref = Store(f"sqlite:///{tmp_path / 'ref.db'}")
    _seed(ref, 120)
    tag_indicators(ref, chunk_size=10, workers=1)
    analyze_sentiment(ref, model="lexicon", chunk_size=10, workers=1)

    store = Store(f"sqlite:///{tmp_path / 'crash.db'}")
    _seed(store, 120)

    def stop_after_3(done, total):
        if done >= 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tag_indicators(store, chunk_size=10, workers=2, progress=stop_after_3)
    with pytest.raises(KeyboardInterrupt):
        analyze_sentiment(store, model="lexicon", chunk_size=10, workers=2, progress=stop_after_3)
    partial = _tables(store)
    assert len(partial["tagging"]) == 30 and len(partial["sentiments"]) == 30
    assert store.runs_df().iloc[-1]["status"] == "failed"
    assert tag_indicators(store, chunk_size=10, workers=2) == 125
    assert analyze_sentiment(store, model="lexicon", chunk_size=10, workers=2).labelled == 125
    assert _tables(store) == _tables(ref)
    assert tag_indicators(store, workers=2) == 0  # nothing left


def _summary_reference(store: Store) -> pd.DataFrame:
    """indicator_summary as it was: counted in pandas over the whole indicators table."""
    tax = get_tagger().taxonomy
    df = indicators_frame(store)
    tagged = store.table("indicator_tagging")
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


def test_sql_summary_equals_the_frame_summary(store):
    empty = indicator_summary(store)
    pd.testing.assert_frame_equal(empty, _summary_reference(store))
    assert empty.attrs == {"tagged": 0, "taxonomies": []}
    _seed(store, 200)
    tag_indicators(store, workers=2)
    got, want = indicator_summary(store), _summary_reference(store)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs and got.attrs["tagged"] == 235
    assert got.set_index("indicator")["mentions"].sum() > 0


def test_workers_bad_values(store, db_url):
    with pytest.raises(InputError, match="workers must be at least 1"):
        tag_indicators(store, workers=0)
    with pytest.raises(InputError, match="workers must be at least 1"):
        analyze_sentiment(store, model="lexicon", workers=0)
    runner = CliRunner()
    for cmd in (["tag"], ["analyze", "--model", "lexicon"]):
        r = runner.invoke(app, [*cmd, "--workers", "0", "--db", db_url])
        assert r.exit_code == 2 and "--workers" in r.output


def test_cli_workers(store, db_url):
    _seed(store, 40)
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", "--model", "lexicon", "--workers", "2", "--chunk-size", "8", "--db", db_url])
    assert r.exit_code == 0, r.output
    assert "labelled 75 of 75" in r.stdout and "indicators: tagged 75 mention(s)" in r.stdout
    r = runner.invoke(app, ["tag", "--reanalyze", "--workers", "1", "--db", db_url])
    assert r.exit_code == 0, r.output
    assert "tagged 75 mention(s); 75 tagged in all" in r.stdout
