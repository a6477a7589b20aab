"""Evaluation: reading labelled CSV/TSV with or without header, metrics, malformed files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.evaluate import confusion_frame, evaluate, metrics, per_class_frame, read_labelled
from nlp.lexicon import LexiconClassifier
from pipelines.cli import app
from pipelines.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
ROWS = [
    ("aplikasinya bagus sekali , sangat membantu", "positive"),
    ("jelek , sering error dan tidak bisa login", "negative"),
    ("jadwal pelayanan kantor kecamatan hari senin", "neutral"),
    ('petugas bilang "tunggu saja" , sampai sekarang tidak ditanggapi', "negative"),
    ("mantap , terima kasih pemkot", "positive"),
]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def smsa_like(tmp_path):
    return write(tmp_path, "valid.tsv", "".join(f"{t}\t{lbl}\n" for t, lbl in ROWS))


@pytest.fixture
def nusax_like(tmp_path):
    body = "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}",{lbl}\n' for i, (t, lbl) in enumerate(ROWS))
    return write(tmp_path, "valid.csv", "id,text,label\n" + body)


def test_reads_headerless_tsv_and_headed_csv(smsa_like, nusax_like):
    a, b = read_labelled(smsa_like), read_labelled(nusax_like)
    assert list(a.columns) == ["text", "label"] and len(a) == len(b) == len(ROWS)
    assert a["text"].tolist() == b["text"].tolist() == [t for t, _ in ROWS]  # quotes survive both ways
    assert a["label"].tolist() == [lbl for _, lbl in ROWS]


def test_label_aliases_and_named_columns(tmp_path):
    p = write(tmp_path, "x.csv", "ulasan,sentimen,skor\nbagus,Positif,5\njelek,NEG,1\nbiasa,netral,3\n")
    df = read_labelled(p)
    assert df["label"].tolist() == ["positive", "negative", "neutral"]
    p2 = write(tmp_path, "y.csv", "komentar_warga,kelas\nbagus,pos\n")
    assert read_labelled(p2, text_col="komentar_warga", label_col="kelas")["text"].tolist() == ["bagus"]
    p3 = write(tmp_path, "z.tsv", "positive\tbagus sekali\n")
    assert read_labelled(p3, text_col=1, label_col=0)["text"].tolist() == ["bagus sekali"]


@pytest.mark.parametrize(
    "name, content, kwargs, message",
    [
        ("empty.csv", "", {}, "empty"),
        ("blank.tsv", "\n\n  \n", {}, "empty"),
        ("header.csv", "text,label\n", {}, "no data rows"),
        ("bad.tsv", "bagus\tpositive\njelek\tsangat negatif\n", {}, r"bad.tsv:2: unknown label 'sangat negatif'"),
        ("bad.csv", "id,text,label\n1,bagus,positive\n2,jelek,negative\n3,hmm,4\n", {}, r"bad.csv:4: unknown label '4'"),
        ("nolabel.csv", "id,text\n1,bagus\n", {}, "no label column"),
        ("missing.csv", "text,label\nbagus,positive\n", {"label_col": "sentimen"}, "no label column 'sentimen'"),
        ("one.tsv", "just text without anything\n", {}, "one"),
        ("quote.csv", 'text,label\n"bagus sekali,positive\n', {}, "malformed CSV|unknown label"),
        ("nohead.tsv", "bagus\tpositive\n", {"text_col": "text"}, "no header"),
    ],
)
def test_malformed_files_give_one_clear_error(tmp_path, name, content, kwargs, message):
    p = write(tmp_path, name, content)
    with pytest.raises(InputError, match=message) as exc:
        read_labelled(p, **kwargs)
    assert "\n" not in str(exc.value) and name in str(exc.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_labelled(tmp_path / "nope.csv")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"text,label\n\xff\xfe\x00bagus,positive\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_labelled(p)


def test_metrics_by_hand():
    y = ["positive", "positive", "negative", "neutral", "negative"]
    p = ["positive", "negative", "negative", "neutral", "neutral"]
    m = metrics(y, p)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["per_class"]["positive"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["per_class"]["negative"]["precision"] == 0.5 and m["per_class"]["negative"]["recall"] == 0.5
    assert m["per_class"]["neutral"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0.5) / 3)
    assert m["confusion"]["negative"] == {"positive": 0, "neutral": 1, "negative": 1}


def test_evaluate_matches_the_classifier(smsa_like):
    clf = LexiconClassifier()
    res = evaluate(smsa_like, clf)
    preds = [p.label for p in clf.classify([t for t, _ in ROWS])]
    assert res["accuracy"] == pytest.approx(sum(p == lbl for p, (_, lbl) in zip(preds, ROWS)) / len(ROWS))
    assert res["model"] == clf.model_id and res["n"] == len(ROWS)
    assert per_class_frame(res).shape == (3, 4) and confusion_frame(res).values.sum() == len(ROWS)


def test_cli_evaluate_json_and_error(smsa_like, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["evaluate", str(smsa_like), "--model", "lexicon", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["n"] == len(ROWS) and 0 <= doc["macro_f1"] <= 1 and set(doc["confusion"]) == {"positive", "neutral", "negative"}
    r = runner.invoke(app, ["evaluate", str(smsa_like), "--model", "lexicon"])
    assert r.exit_code == 0 and "macro-F1" in r.stdout and "confusion" in r.stdout
    bad = write(tmp_path, "bad.tsv", "bagus\tgood\n")
    r = runner.invoke(app, ["evaluate", str(bad), "--model", "lexicon"])
    assert r.exit_code == 2
    assert "error:" in r.stderr and "unknown label 'good'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not (SHARED / "smsa" / "valid.tsv").exists(), reason="../shared/data not present")
def test_lexicon_on_smsa_and_nusax_valid():
    clf = LexiconClassifier()
    smsa = evaluate(SHARED / "smsa" / "valid.tsv", clf)
    nusax = evaluate(SHARED / "nusax-id" / "valid.csv", clf)
    assert smsa["n"] == 1260 and nusax["n"] == 100
    assert smsa["macro_f1"] >= 0.65 and nusax["macro_f1"] >= 0.65
