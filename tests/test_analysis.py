"""analyze_sentiment: labels what is missing, commits per chunk, resumes after a crash, CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nlp.lexicon import LexiconClassifier
from nlp.sentiment import Prediction
from pipelines.analysis import analyze_sentiment, mention_text, sentiments_frame
from pipelines.cli import app
from pipelines.store import Store
from tinybert import build_model

TEXTS = ["aplikasinya bagus, sangat membantu", "jelek, gk bs login", "jadwal kantor", "", "😡😡"]


def seed(store, n=10):
    store.upsert_mentions(
        [dict(source="playstore", source_id=str(i), app="id.tangsel", text=TEXTS[i % len(TEXTS)]) for i in range(n)]
    )


@pytest.fixture
def any_store(any_db_url):
    """A store on SQLite and (when SUARA_TEST_PG is set) on PostgreSQL."""
    s = Store(any_db_url)
    yield s
    s.close()


class Flaky:
    """A classifier that fails on its ``fail_on``-th call (a crash in the middle of a run)."""

    name, version = "flaky", "1"

    def __init__(self, fail_on=None):
        self.calls, self.fail_on, self.seen = 0, fail_on, []

    def classify(self, texts):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("killed")
        self.seen.extend(texts)
        return [Prediction("neutral", {"positive": 0.2, "neutral": 0.6, "negative": 0.2}) for _ in texts]


def test_labels_everything_once(any_store):
    store = any_store
    seed(store)
    res = analyze_sentiment(store, model="lexicon", chunk_size=4)
    assert res.labelled == res.pending == 10 and res.chunks == 3
    assert res.model == LexiconClassifier().model_id and sum(res.labels.values()) == 10
    df = sentiments_frame(store)
    assert len(df) == 10 and set(df["label"]) <= {"positive", "neutral", "negative"}
    assert df["current"].all()
    row = df.set_index("mention_id").loc[2]
    assert row["label"] == "negative" and row["p_negative"] == max(row[["p_positive", "p_neutral", "p_negative"]])
    again = analyze_sentiment(store, model="lexicon")
    assert again.labelled == 0 and again.pending == 0
    runs = store.runs_df()
    assert (runs["job"] == "analyze").sum() == 2 and set(runs["status"]) == {"ok"}


def test_edited_mentions_and_other_models_are_relabelled(any_store):
    store = any_store
    seed(store, 5)
    analyze_sentiment(store, model="lexicon")
    store.upsert_mentions([dict(source="playstore", source_id="0", app="id.tangsel", text="sekarang error terus")])
    assert not sentiments_frame(store)["current"].all()
    res = analyze_sentiment(store, model="lexicon")
    assert res.labelled == 1
    df = sentiments_frame(store).set_index("mention_id")
    assert df.loc[1, "label"] == "negative" and df["current"].all()
    other = analyze_sentiment(store, model=Flaky())
    assert other.labelled == 5 and len(sentiments_frame(store, model="flaky@1")) == 5
    assert len(sentiments_frame(store)) == 10  # one label per mention and model
    assert analyze_sentiment(store, model="lexicon", reanalyze=True).labelled == 5


def test_crash_loses_at_most_one_chunk_and_rerun_continues(any_store):
    store = any_store
    seed(store, 10)
    with pytest.raises(RuntimeError, match="killed"):
        analyze_sentiment(store, model=Flaky(fail_on=3), chunk_size=3)
    assert len(sentiments_frame(store)) == 6  # two chunks committed, the third lost
    runs = store.runs_df()
    assert runs.iloc[-1]["status"] == "failed" and "killed" in runs.iloc[-1]["error"]
    clf = Flaky()
    res = analyze_sentiment(store, model=clf, chunk_size=3)
    assert res.pending == 4 and res.labelled == 4 and len(clf.seen) == 4
    assert len(sentiments_frame(store)) == 10


def test_title_leads_the_text():
    assert mention_text("Aplikasi error", "tidak bisa login") == "Aplikasi error. tidak bisa login"
    assert mention_text("login", "tidak bisa login") == "tidak bisa login"
    assert mention_text(None, None) == ""


def test_local_transformer_by_path(store, tmp_path):
    seed(store, 6)
    d = build_model(tmp_path / "tiny-sentiment", TEXTS * 4, max_position_embeddings=32)
    res = analyze_sentiment(store, model=str(d), batch_size=4)
    assert res.labelled == 6 and res.model.startswith("tiny-sentiment@")
    df = sentiments_frame(store, model=res.model)
    assert ((df[["p_positive", "p_neutral", "p_negative"]].sum(axis=1) - 1).abs() < 1e-5).all()


def test_cli_analyze(store, db_url):
    seed(store, 7)
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", "--model", "lexicon", "--db", db_url, "--chunk-size", "3"])
    assert r.exit_code == 0, r.output
    assert "labelled 7 of 7" in r.stdout and "texts/s" in r.stdout
    assert "indicators: tagged 7 mention(s)" in r.stdout  # analyze also tags, once
    assert len(store.table("indicator_tagging")) == 7
    r = runner.invoke(app, ["analyze", "--db", db_url])  # auto: no hub here -> the offline linear model, warned
    assert r.exit_code == 0, r.output
    assert "warning:" in r.stderr and "--model PATH" in r.stderr and "offline linear model" in r.stderr
    assert "linear+stars@" in r.stdout and "labelled 7 of 7" in r.stdout  # a model of its own: its own labels
    assert "indicators: tagged 0 mention(s)" in r.stdout
    r = runner.invoke(app, ["analyze", "--db", db_url])
    assert "labelled 0 of 0" in r.stdout
    r = runner.invoke(app, ["analyze", "--model", "indobert", "--db", db_url])
    assert r.exit_code == 1 and r.stderr.startswith("error:") and "--model PATH" in r.stderr
    r = runner.invoke(app, ["analyze", "--model", "lexicon", "--batch-size", "0", "--db", db_url])
    assert r.exit_code == 2
