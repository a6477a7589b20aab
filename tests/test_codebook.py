"""Codebook alignment: borderline rules, polarity, coded-file reading, the linear model, evaluation."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.codebook import fold_of, parse_codes, read_coded, tag_polarity
from nlp.errors import InputError
from nlp.evaluate import evaluate_codebook, is_codebook_file
from nlp.indicators import get_tagger
from nlp.lexicon import LexiconClassifier
from nlp.linear import LinearClassifier, LinearSentimentModel, fit_linear

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "coded_fixture.csv"
SHARED = ROOT.parent / "shared"


def codes(text: str, sentiment: str) -> dict[str, str]:
    return {m.indicator: tag_polarity(m.signal, sentiment) for m in get_tagger().tag(text)}


# Short real-style texts, one per borderline rule of the codebook (../shared/labels/CODEBOOK.md).
BORDERLINE = [
    ("1 office visit to finish online", "Daftar online tapi tetap harus datang ke kantor dukcapil untuk verifikasi",
     "negative", {"kemudahan_akses": "-"}),
    ("2 slow", "Aplikasinya lemot banget, loading terus", "negative", {"keterhubungan": "-"}),
    ("2 fast", "Prosesnya cepat sekali, mantap", "positive", {"keterhubungan": "+"}),
    ("3 will not open", "Aplikasi tidak bisa dibuka, keluar sendiri terus", "negative", {"kemudahan_akses": "-"}),
    ("4 document will not download", "Sertifikat di aplikasi tidak bisa didownload", "negative", {"keterhubungan": "-"}),
    ("5 bare error", "Sering error aplikasinya", "negative", {"keterhubungan": "-"}),
    ("5 error with symptom", "Tidak bisa login, error terus", "negative", {"kemudahan_akses": "-"}),
    ("6 ribet", "Ribet banget harus daftar ulang", "negative", {"kemudahan_akses": "-"}),
    ("6 membantu alone", "Sangat membantu", "positive", {}),
    ("6 mudah", "Mudah digunakan dan simpel", "positive", {"kemudahan_akses": "+"}),
    ("7 not linked", "Kenapa tidak terhubung dengan aplikasi lain, harus buka website terpisah", "negative",
     {"keterhubungan": "-"}),
    ("8 budget rant", "Anggarannya pasti dikorupsi", "negative", {}),
    ("9 how-to question", "Bagaimana cara mengganti nomor hp di aplikasi ini?", "neutral", {"sosialisasi": "0"}),
    ("10 CS not answering", "Sudah hubungi CS tapi tidak dibalas sama sekali", "negative", {"penanggapan": "-"}),
    ("11 report feature", "Fitur lapornya gampang, tinggal kirim foto", "positive", {"kemudahan_aspirasi": "+"}),
    ("12 core job", "Tidak bisa buat izin usaha lewat aplikasi", "negative", {"kemudahan_akses": "-"}),
    ("13 sent to website", "Aplikasi suruh pakai website, percuma ada apk", "negative", {"keterhubungan": "-"}),
    ("14 missing from list", "Kecamatan saya tidak ada di pilihan", "negative", {"keterhubungan": "-"}),
    ("16 waiting on officials", "Pengajuan saya sudah sebulan belum diproses", "negative", {"penanggapan": "-"}),
    ("17 unexpected fee", "Ternyata bayar, tidak ada info biaya sebelumnya", "negative", {"transparansi": "-"}),
    ("18 no way to give feedback", "Tidak ada menu untuk kirim saran", "negative", {"kemudahan_aspirasi": "-"}),
    ("19 praised and criticised", "Login gampang tapi sering susah masuk", "negative", {"kemudahan_akses": "-"}),
]


@pytest.mark.parametrize("rule,text,sentiment,expected", BORDERLINE, ids=[b[0] for b in BORDERLINE])
def test_borderline_rules(rule, text, sentiment, expected):
    assert codes(text, sentiment) == expected


def test_polarity_is_per_indicator_not_per_review():
    # A review that praises the app but says the report was never answered counts against penanggapan only.
    assert codes("Aplikasinya bagus tapi laporan saya tidak pernah ditanggapi", "positive") == {"penanggapan": "-"}
    assert codes("Responnya cepat sekali, terima kasih", "positive") == {"penanggapan": "+"}


def test_tag_polarity_rules():
    assert tag_polarity("complaint", "positive") == "-"
    assert tag_polarity("mixed", "positive") == "-"  # rule 19
    assert tag_polarity("praise", "negative") == "+"
    assert tag_polarity("mention", "negative") == "-"
    assert tag_polarity("mention", "positive") == "+"
    assert tag_polarity("mention", "neutral") == "0"
    assert tag_polarity("mention", None) == "0"


def test_parse_codes_and_errors():
    assert parse_codes("kemudahan_akses:-;penanggapan:+") == {"kemudahan_akses": "-", "penanggapan": "+"}
    assert parse_codes("sosialisasi") == {"sosialisasi": "0"}
    with pytest.raises(InputError, match="unknown indicator 'akses'"):
        parse_codes("akses:-")
    with pytest.raises(InputError, match="bad polarity '!'"):
        parse_codes("transparansi:!")


@pytest.mark.parametrize("cell,message", [
    ("sentiment", r":3: sentiment: unknown label 'angry'"),
    ("indicators", r":3: indicators: unknown indicator 'speed'"),
    ("polarity", r":3: indicators: bad polarity 'x' for penanggapan"),
])
def test_read_coded_names_row_and_value(tmp_path, cell, message):
    rows = FIXTURE.read_text(encoding="utf-8").splitlines()
    bad = {"sentiment": rows[2].replace(",positive,", ",angry,"),
           "indicators": rows[2].replace("kemudahan_akses:+", "speed:+"),
           "polarity": rows[2].replace("kemudahan_akses:+", "penanggapan:x")}[cell]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([rows[0], rows[1], bad, *rows[3:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(str(path)) + message):
        read_coded(path)


def test_cli_bad_coded_file_is_one_error_line(tmp_path):
    rows = FIXTURE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([rows[0], rows[1].replace("kemudahan_akses:-", "kemudahan_akses:?")]) + "\n",
                    encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "evaluate", str(path), "--model", "lexicon"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and ":2: indicators: bad polarity '?'" in lines[0]


def test_folds_are_stable():
    assert [fold_of(f"o{i:03d}") for i in range(5)] == [fold_of(f"o{i:03d}") for i in range(5)]
    assert {fold_of(str(i)) for i in range(200)} == set(range(5))


# ---- evaluation in the codebook format -------------------------------------------------------------


def test_evaluate_codebook_on_fixture():
    assert is_codebook_file(FIXTURE)
    res = evaluate_codebook(FIXTURE, LexiconClassifier())
    ind = res["indicators"].set_index("indicator")
    # By hand: the tagger finds 7 of the 8 coded indicators (c08's kemudahan_akses is missed), no
    # extra; the lexicon calls the how-to question negative, so its sosialisasi polarity is wrong.
    assert (ind.loc["micro", "tp"], ind.loc["micro", "fp"], ind.loc["micro", "fn"]) == (7, 0, 1)
    assert ind.loc["micro", "f1"] == pytest.approx(14 / 15)
    assert ind.loc["micro", "polarity_accuracy"] == pytest.approx(6 / 7)
    fav = res["favourability"].set_index("indicator")
    assert fav.loc["kemudahan_akses", "gold"] == pytest.approx(1 / 3)
    assert fav.loc["kemudahan_akses", "product"] == pytest.approx(1 / 2)
    assert fav.loc["kemudahan_akses", "abs_error"] == pytest.approx(1 / 6)
    s = res["sentiment"]
    assert s["confusion"]["neutral"]["negative"] == 1 and s["negative_recall"] == 1.0
    assert set(res["errors"]["id"]) == {"c06", "c08"}


def test_cli_evaluate_indicators_codebook(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "evaluate-indicators", str(FIXTURE), "--model",
                          "lexicon", "--errors"], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    assert "polarity" in res.stdout and "favourability" in res.stdout
    assert "line 9 (c08" in res.stdout  # the row it gets wrong


# ---- the linear model --------------------------------------------------------------------------------

POS = ["aplikasi bagus sekali", "mantap mudah dipakai", "sangat membantu terima kasih", "pelayanan cepat bagus",
       "keren aplikasinya mantap", "bagus dan praktis"]
NEG = ["aplikasi jelek sekali", "error terus tidak bisa login", "lemot dan sering gagal", "buruk sangat kecewa",
       "tidak bisa dibuka jelek", "kecewa gagal terus"]
NEU = ["saya baru pakai hari ini", "ini aplikasi dari pemerintah", "aplikasi untuk mengurus izin",
       "baru download tadi pagi", "aplikasi ini dari kementerian", "saya pakai di ponsel"]


def _tiny_model(tmp_path):
    texts = (POS + NEG + NEU) * 4
    labels = (["positive"] * 6 + ["negative"] * 6 + ["neutral"] * 6) * 4
    # Coded reviews where stars and text mostly agree; 5-star complaints are negative by their text.
    coded = [(t, "positive", 5.0) for t in POS] * 3 + [(t, "negative", 1.0) for t in NEG] * 3 \
        + [(t, "negative", 5.0) for t in NEG[:3]]
    model = fit_linear(texts, labels, coded_texts=[c[0] for c in coded], coded_labels=[c[1] for c in coded],
                       coded_ratings=[c[2] for c in coded], meta={"training_data": [{"file": "fixture"}]})
    return model, model.save(tmp_path / "tiny.npz")


def test_linear_model_trains_saves_and_reloads(tmp_path):
    model, path = _tiny_model(tmp_path)
    clf = LinearClassifier(path)
    assert clf.uses_rating and clf.name == "linear+stars" and clf.model_id.startswith("linear+stars@")
    texts = ["aplikasi bagus sekali", "error terus tidak bisa login"]
    got = [p.label for p in clf.classify(texts, ratings=[5, 1])]
    assert got == ["positive", "negative"]
    reloaded = LinearSentimentModel.load(path)
    assert np.allclose(reloaded.text_proba(texts), model.text_proba(texts), atol=1e-5)
    assert reloaded.version == model.version and reloaded.meta["training_data"] == [{"file": "fixture"}]
    text_only = LinearClassifier(path, use_rating=False)
    assert text_only.name == "linear" and text_only.model_id != clf.model_id
    # The file keeps vocabulary and weights, never a training text.
    raw = path.read_bytes()
    import zipfile

    with zipfile.ZipFile(path) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert "error terus tidak bisa login".encode("utf-32-le") not in blob and b"error terus tidak bisa login" not in raw


def test_linear_stars_change_the_label_only_through_the_combiner(tmp_path):
    _, path = _tiny_model(tmp_path)
    clf = LinearClassifier(path)
    p1 = clf.classify(["aplikasi untuk mengurus izin"], ratings=[1])[0].probs["negative"]
    p5 = clf.classify(["aplikasi untuk mengurus izin"], ratings=[5])[0].probs["negative"]
    assert p1 > p5  # the stars move the combined probability
    no = clf.classify(["aplikasi untuk mengurus izin"])[0].probs
    assert no == LinearClassifier(path, use_rating=False).classify(["aplikasi untuk mengurus izin"])[0].probs


def test_linear_no_stance_texts_are_neutral(tmp_path):
    _, path = _tiny_model(tmp_path)
    clf = LinearClassifier(path)
    assert clf.classify(["Maaf bertanya, apakah bisa daftar lewat aplikasi ini?"], ratings=[1])[0].label == "neutral"
    assert clf.classify([""])[0].label == "neutral"


def test_bad_model_file_is_one_input_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a Suara linear sentiment model|cannot read model"):
        LinearClassifier(bad)
    with pytest.raises(InputError, match="no linear sentiment model"):
        LinearClassifier(tmp_path / "missing.npz")


def test_train_linear_cli_and_evaluate_with_it(tmp_path):
    pub = tmp_path / "pub.csv"
    rows = [(t, "positive") for t in POS] * 4 + [(t, "negative") for t in NEG] * 4 + [(t, "neutral") for t in NEU] * 4
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(pub, index=False)
    out = tmp_path / "m.npz"
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "--kind", "linear", "--train", str(pub),
                          "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert out.is_file() and "star combiner off" in res.stdout
    ev = subprocess.run([sys.executable, "-m", "pipelines.cli", "evaluate", str(FIXTURE), "--model", str(out)],
                        capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ, "COLUMNS": "200"})
    assert ev.returncode == 0, ev.stderr
    assert re.search(r"sentiment: accuracy [01]\.\d{4}\s+macro-F1 [01]\.\d{4}\s+negative recall", ev.stdout)


# ---- favourability on indicator polarity ----------------------------------------------------------


def test_favourability_uses_indicator_polarity(tmp_path):
    from pipelines.store import Store, indicators, sentiments
    from pipelines.trends import indicators_by_period
    from pipelines.triangulate import review_side

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    now = datetime(2025, 3, 1)
    store.upsert_mentions([
        dict(source="playstore", source_id=str(i), app="a", text=t, rating=r, created_at=now)
        for i, (t, r) in enumerate([("Aplikasinya bagus tapi laporan saya tidak pernah ditanggapi", 4),
                                    ("Responnya cepat sekali", 5), ("Laporan tidak dibalas", 1)], start=1)
    ])
    with store.engine.begin() as conn:
        conn.execute(sentiments.insert(), [
            dict(mention_id=i, model="m@1", label=lbl, content_hash="x", analyzed_at=now)
            for i, lbl in [(1, "positive"), (2, "positive"), (3, "negative")]])
        conn.execute(indicators.insert(), [
            dict(mention_id=1, indicator="penanggapan", evidence="e", taxonomy="t", content_hash="x", tagged_at=now,
                 signal="complaint"),
            dict(mention_id=2, indicator="penanggapan", evidence="e", taxonomy="t", content_hash="x", tagged_at=now,
                 signal="praise"),
            dict(mention_id=3, indicator="penanggapan", evidence="e", taxonomy="t", content_hash="x", tagged_at=now,
                 signal="mention")])
    row = indicators_by_period(store, "month", model="m@1").set_index("indicator").loc["penanggapan"]
    assert (row["mentions"], row["complaints"], row["praise"], row["negative_mentions"]) == (3, 2, 1, 1)
    assert row["favourability"] == pytest.approx(1 / 3)
    rev = review_side(store, model="m@1").set_index("indicator").loc["penanggapan"]
    assert rev["review_favourability"] == pytest.approx(1 / 3)  # polarity: mention 1 counts against
    assert rev["review_favourability_sentiment"] == pytest.approx(2 / 3)  # the earlier definition
    old = review_side(store, model="m@1", basis="sentiment").set_index("indicator").loc["penanggapan"]
    assert old["review_favourability"] == pytest.approx(2 / 3)
    with pytest.raises(InputError, match="unknown favourability basis"):
        review_side(store, model="m@1", basis="stars")
    store.close()


# ---- layering and real data -----------------------------------------------------------------------


def test_nlp_does_not_import_pipelines():
    offenders = [p.name for p in (ROOT / "nlp").glob("*.py")
                 if re.search(r"^\s*(from|import)\s+pipelines\b", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []


@pytest.mark.skipif(not (SHARED / "labels" / "oss_dev.csv").is_file(), reason="../shared/labels not present")
def test_tagger_on_real_coded_reviews():
    # Real OSS reviews coded by the codebook: the taxonomy must stay near the coders' agreement.
    res = evaluate_codebook(SHARED / "labels" / "oss_dev.csv", LexiconClassifier())
    micro = res["indicators"].set_index("indicator").loc["micro"]
    assert micro["f1"] >= 0.85, micro


@pytest.mark.skipif(not (SHARED / "data" / "sentiment" / "smsa" / "valid.tsv").is_file(),
                    reason="../shared/data not present")
def test_lexicon_keeps_its_public_benchmark():
    from nlp.evaluate import evaluate

    assert evaluate(SHARED / "data" / "sentiment" / "smsa" / "valid.tsv", "lexicon")["macro_f1"] >= 0.735  # 0.737 before this change; the 0.75 target is not met yet
