"""Sentiment classifiers: lexicon rules, transformer loading by path, windows, auto fallback."""

from __future__ import annotations


import pytest

from nlp.lexicon import LexiconClassifier, analyse, load_lexicon
from nlp.sentiment import FallbackWarning, Prediction, TransformerClassifier, load_classifier
from pipelines.errors import InputError, SuaraError
from tinybert import build_model

FIXTURE_TEXTS = [
    "aplikasi bagus sekali sangat membantu warga",
    "aplikasinya jelek sering error tidak bisa login",
    "laporan sudah diproses petugas kelurahan",
    "pelayanan lambat dan admin tidak membalas",
    "mantap fitur lengkap mudah digunakan",
    "jadwal pelayanan kantor kecamatan hari senin",
] * 3


@pytest.fixture(scope="module")
def lex():
    return LexiconClassifier()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("tiny") / "model", FIXTURE_TEXTS, max_position_embeddings=32)


def label(clf, text):
    return clf.classify([text])[0].label


def test_lexicon_is_large_and_weighted(lex):
    assert len(lex.lexicon) >= 2000
    assert lex.name == "lexicon" and lex.model_id.startswith("lexicon@")
    assert lex.lexicon.surface[("bagus",)] > 0 > lex.lexicon.surface[("jelek",)]
    assert lex.lexicon.surface[("👍",)] > 0 > lex.lexicon.surface[("😡",)]


def test_negation(lex):
    assert label(lex, "bagus") == "positive"
    assert label(lex, "tidak bagus") == "negative"
    assert label(lex, "aplikasinya gak bagus") == "negative"  # slang negator
    assert label(lex, "jelek") == "negative"
    assert label(lex, "tidak jelek") != "negative"
    assert label(lex, "pelayanannya tidak ramah") == "negative"
    # scope ends at the clause: the negation does not reach "bagus" after the full stop
    hits = analyse("tidak ada. bagus")
    assert [h.term for h in hits if h.score > 0] == ["bagus"]


def test_contrast_weights_the_clause_after_tapi(lex):
    assert label(lex, "bagus tapi sering error") == "negative"
    assert label(lex, "sering error tapi sekarang sudah bagus dan lancar") == "positive"
    before, after = analyse("bagus tapi sering error")
    assert before.multiplier < 1 < after.multiplier


def test_intensifiers_scale(lex):
    assert lex.score("sangat bagus") > lex.score("bagus") > 0
    assert lex.score("kotor banget") < lex.score("kotor") < 0
    assert lex.score("tidak terlalu kotor") > 0  # negation still applies through an intensifier


def test_app_complaints_and_emoji(lex):
    assert label(lex, "aplikasinya lemot bgt, gk bs login2") == "negative"
    assert label(lex, "laporan sudah 2 minggu tidak ditanggapi") == "negative"
    assert label(lex, "mantap, sangat membantu warga 👍") == "positive"
    assert label(lex, "😡😡") == "negative"
    assert label(lex, "👍") == "positive"


@pytest.mark.parametrize("text", ["", None, "   ", "jadwal kantor kecamatan"])
def test_empty_and_wordless_are_neutral(lex, text):
    p = lex.classify([text])[0]
    assert p.label == "neutral"
    assert abs(sum(p.probs.values()) - 1) < 1e-9 and p.probs["neutral"] == max(p.probs.values())


def test_probabilities_agree_with_label(lex):
    for p in lex.classify(["bagus", "jelek", "", "bagus tapi jelek"]):
        assert isinstance(p, Prediction) and set(p.probs) == {"positive", "neutral", "negative"}
        assert max(p.probs, key=p.probs.get) == p.label


def test_lexicon_band_comes_from_the_file(lex):
    band = load_lexicon().band
    assert band["negative"] < 0 < band["positive"] or band == {"negative": 0.0, "positive": 0.0, "scale": band["scale"]}
    assert lex.thresholds == band


def test_auto_falls_back_to_the_offline_linear_model_with_warning(monkeypatch):
    monkeypatch.setenv("SUARA_SENTIMENT_MODEL", "nobody/no-such-model")
    with pytest.warns(FallbackWarning, match="offline linear model"):
        clf = load_classifier("auto")
    assert clf.name == "linear+stars" and clf.uses_rating
    assert "--model PATH" in clf.fallback_reason
    with pytest.warns(FallbackWarning):
        assert load_classifier("auto", text_only=True).name == "linear"


def test_auto_falls_back_to_lexicon_without_a_linear_model(monkeypatch, tmp_path):
    import nlp.linear

    monkeypatch.setenv("SUARA_SENTIMENT_MODEL", "nobody/no-such-model")
    monkeypatch.setattr(nlp.linear, "DEFAULT_LINEAR_MODEL", tmp_path / "absent.npz")
    with pytest.warns(FallbackWarning, match="lexicon"):
        clf = load_classifier("auto")
    assert clf.name == "lexicon"


def test_indobert_unavailable_is_one_line_error():
    with pytest.raises(SuaraError) as exc:
        load_classifier("indobert")
    msg = str(exc.value)
    assert "\n" not in msg and "--model PATH" in msg


def test_unknown_spec_and_bad_folder(tmp_path):
    with pytest.raises(InputError, match="unknown model"):
        load_classifier("bert-of-my-dreams")
    with pytest.raises(InputError, match="no config.json"):
        load_classifier(str(tmp_path))


def test_load_local_tiny_model_by_path(tiny_dir):
    clf = load_classifier(str(tiny_dir))
    assert isinstance(clf, TransformerClassifier)
    assert clf.name == "model" and len(clf.version) == 10
    assert clf.model_id == load_classifier(str(tiny_dir)).model_id  # stable across loads
    preds = clf.classify(FIXTURE_TEXTS[:6])
    assert len(preds) == 6
    for p in preds:
        assert p.label in ("positive", "neutral", "negative")
        assert abs(sum(p.probs.values()) - 1) < 1e-5


def test_batching_and_sorting_do_not_change_results(tiny_dir):
    clf = load_classifier(str(tiny_dir))
    texts = FIXTURE_TEXTS[:6] + ["bagus", "aplikasi jelek " * 5]
    together = clf.classify(texts)
    clf.batch_size = 1
    alone = [clf.classify([t])[0] for t in texts]
    for a, b in zip(together, alone):
        assert a.label == b.label
        for c in a.probs:
            assert a.probs[c] == pytest.approx(b.probs[c], abs=1e-4)


def test_long_texts_are_split_into_windows_and_averaged(tiny_dir):
    import torch

    clf = load_classifier(str(tiny_dir))
    assert clf.max_length == 32
    long_text = " ".join(FIXTURE_TEXTS)  # far beyond 32 tokens
    ids = clf.tokenizer(long_text, add_special_tokens=False)["input_ids"]
    windows = clf._windows(ids)
    assert len(windows) > 2 and all(len(w) <= 32 for w in windows)
    # every token is covered by some window
    assert windows[0][1:-1][:5] == ids[:5] and windows[-1][1:-1][-5:] == ids[-5:]
    p = clf.classify([long_text])[0]
    with torch.inference_mode():
        per = [torch.softmax(clf.model(input_ids=torch.tensor([w])).logits, -1)[0] for w in windows]
    weights = torch.tensor([float(len(w)) for w in windows])
    expected = (torch.stack(per) * weights[:, None]).sum(0) / weights.sum()
    for i, name in enumerate(clf.label_of_index):
        assert p.probs[name] == pytest.approx(float(expected[i]), abs=1e-5)


def test_emoji_only_and_empty_with_transformer(tiny_dir):
    clf = load_classifier(str(tiny_dir))
    empty, angry, happy = clf.classify(["", "😡😡", "👍👍"])
    assert empty.label == "neutral" and empty.probs["neutral"] == 1.0
    assert angry.label == "negative" and happy.label == "positive"


def test_generic_labels_need_a_map(tmp_path):
    d = build_model(tmp_path / "generic", FIXTURE_TEXTS, generic_labels=True, labels=("a", "b", "c"))
    with pytest.raises(InputError, match="--labels"):
        load_classifier(str(d))
    clf = load_classifier(str(d), labels="negative,neutral,positive")
    assert clf.label_of_index == ["negative", "neutral", "positive"]
    with pytest.raises(InputError, match="label map"):
        load_classifier(str(d), labels="good,bad")


def test_known_checkpoint_label_order(tmp_path):
    # A folder named like the default checkpoint with LABEL_0.. labels gets its model-card order.
    d = build_model(tmp_path / "mdhugol" / "indonesia-bert-sentiment-classification", FIXTURE_TEXTS,
                    generic_labels=True)
    clf = load_classifier(str(d))
    assert clf.label_of_index == ["positive", "neutral", "negative"]
