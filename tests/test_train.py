"""Fine-tuning: a tiny BERT built here learns a small separable task and saves a loadable folder."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from nlp.sentiment import load_classifier
from nlp.train import train
from pipelines.cli import app
from pipelines.errors import InputError, SuaraError
from tinybert import build_model

VOCAB = {
    "positive": ["bagus", "mantap", "keren", "membantu", "puas", "cepat"],
    "negative": ["jelek", "rusak", "error", "lambat", "kecewa", "gagal"],
    "neutral": ["jadwal", "alamat", "senin", "formulir", "kantor", "nomor"],
}
FILLER = ["aplikasi", "warga", "layanan", "kota", "data"]


def make_rows(n, seed):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lbl = list(VOCAB)[i % 3]
        words = rng.sample(VOCAB[lbl], 2) + rng.sample(FILLER, 2)
        rng.shuffle(words)
        rows.append((" ".join(words), lbl))
    return rows


def write_tsv(path, rows):
    path.write_text("".join(f"{t}\t{lbl}\n" for t, lbl in rows), encoding="utf-8")
    return path


@pytest.fixture
def task(tmp_path):
    tr = write_tsv(tmp_path / "train.tsv", make_rows(90, 1))
    va = write_tsv(tmp_path / "valid.tsv", make_rows(30, 2))
    base = build_model(tmp_path / "base", [t for t, _ in make_rows(200, 3)], generic_labels=True,
                       hidden_size=32, layers=1, intermediate_size=64)
    return tr, va, base


def test_tiny_bert_learns_and_saves_a_loadable_folder(task, tmp_path):
    tr, va, base = task
    out = tmp_path / "trained"
    res = train(tr, va, out, str(base), epochs=12, batch_size=16, lr=5e-3, patience=5, max_length=16)
    hist = [h["valid_accuracy"] for h in res["history"]]
    assert res["valid_accuracy"] >= 0.8 > 1 / 3 + 0.3  # clearly above chance (1/3)
    assert max(hist) > hist[0] or hist[0] >= 0.8
    assert res["valid_accuracy"] == max(hist)  # the best epoch is the one saved
    saved = json.loads((out / "suara_training.json").read_text())
    assert saved["best_epoch"] == res["best_epoch"]
    clf = load_classifier(str(out))  # id2label is set, so no --labels needed
    assert clf.label_of_index == ["positive", "neutral", "negative"]
    rows = make_rows(30, 2)
    preds = clf.classify([t for t, _ in rows])
    acc = sum(p.label == lbl for p, (_, lbl) in zip(preds, rows)) / len(rows)
    assert acc == pytest.approx(res["valid_accuracy"], abs=0.04)


def test_early_stopping(task, tmp_path):
    tr, va, base = task
    res = train(tr, va, tmp_path / "t", str(base), epochs=12, lr=0.0, patience=1, max_length=16)
    assert len(res["history"]) == 2  # nothing can improve with lr=0: stops after `patience` epochs


def test_train_errors(task, tmp_path):
    tr, va, _ = task
    with pytest.raises(SuaraError, match="cannot load base model") as exc:
        train(tr, va, tmp_path / "o", str(tmp_path / "missing-base-model"), epochs=1)
    assert "\n" not in str(exc.value)
    bad = write_tsv(tmp_path / "bad.tsv", [("bagus", "good")])
    with pytest.raises(InputError, match="unknown label"):
        train(bad, va, tmp_path / "o", "x", epochs=1)


def test_cli_train(task, tmp_path):
    tr, va, base = task
    out = tmp_path / "cli-model"
    r = CliRunner().invoke(app, ["train", "--train", str(tr), "--valid", str(va), "--base", str(base),
                                 "--out", str(out), "--epochs", "2", "--lr", "3e-3", "--max-length", "16"])
    assert r.exit_code == 0, r.output
    assert "best epoch" in r.stdout and (out / "config.json").exists()
