"""Transformer precision (fp32 / int8 / bf16 / auto with calibration) and the fast lexicon matcher."""

from __future__ import annotations

import warnings

import pytest

from nlp import lexicon as L
from nlp.precision import PrecisionWarning, agreement
from nlp.sentiment import TransformerClassifier, load_classifier
from nlp.synthetic import reviews
from pipelines.errors import InputError
from tinybert import build_model

TEXTS = reviews(120, seed=3)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("tiny") / "model", TEXTS, max_position_embeddings=64)


@pytest.fixture(scope="module")
def fragile_dir(tmp_path_factory, tiny_dir):
    """A tiny BERT whose classes differ by less than int8 rounding: int8 labels disagree with fp32."""
    import torch
    from transformers import BertForSequenceClassification

    out = tmp_path_factory.mktemp("fragile") / "model"
    model = BertForSequenceClassification.from_pretrained(tiny_dir)
    clf = TransformerClassifier(tiny_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        enc = clf.tokenizer(TEXTS, padding=True, return_tensors="pt")
        pooled = model.bert(**enc).pooler_output
        model.classifier.weight.copy_(torch.randn(3, pooled.shape[1]) / pooled.std(0))
        model.classifier.bias.copy_(-(model.classifier.weight @ pooled.mean(0)))
    model.save_pretrained(out)
    clf.tokenizer.save_pretrained(out)
    return out


def _quantised_linears(model) -> int:
    import torch

    return sum(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.modules())


def test_int8_quantises_linears_and_stays_close_to_fp32(tiny_dir):
    fp32 = TransformerClassifier(tiny_dir)
    int8 = TransformerClassifier(tiny_dir, precision="int8")
    assert _quantised_linears(fp32.model) == 0 and _quantised_linears(int8.model) > 0
    assert int8.model_id == fp32.model_id + "+int8"
    a, b = fp32.classify(TEXTS), int8.classify(TEXTS)
    for x, y in zip(a, b):
        assert abs(sum(y.probs.values()) - 1) < 1e-5
        for c in x.probs:
            assert y.probs[c] == pytest.approx(x.probs[c], abs=0.02)


def test_bf16_autocast_is_recorded_in_the_version(tiny_dir):
    clf = TransformerClassifier(tiny_dir, precision="bf16")
    assert clf.model_id.endswith("+bf16") and clf.autocast is not None
    preds = clf.classify(TEXTS[:10])
    assert all(p.label in ("positive", "neutral", "negative") for p in preds)


def test_auto_keeps_int8_when_labels_agree(tiny_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        clf = load_classifier(str(tiny_dir), precision="auto")
    assert clf.precision == "int8" and clf.model_id.endswith("+int8")
    assert clf.agreement >= 0.99


def test_auto_falls_back_to_fp32_and_says_so_once(fragile_dir):
    reference = TransformerClassifier(fragile_dir).classify(TEXTS)
    assert len({p.label for p in reference}) == 3  # the fixture gives varied labels
    assert agreement(reference, TransformerClassifier(fragile_dir, precision="int8").classify(TEXTS)) < 0.99
    with pytest.warns(PrecisionWarning, match=r"int8 labels agreed with fp32 on [0-9.]+% of 120 calibration") as rec:
        clf = TransformerClassifier(fragile_dir, precision="auto", calibration_texts=TEXTS)
    assert len(rec) == 1
    assert clf.precision == "fp32" and "+" not in clf.model_id and _quantised_linears(clf.model) == 0
    assert [p.label for p in clf.classify(TEXTS)] == [p.label for p in reference]


def test_bad_precision_and_precision_for_non_transformers():
    with pytest.raises(InputError, match="unknown precision 'int4'"):
        load_classifier("lexicon", precision="int4")
    with pytest.raises(InputError, match="transformer models only"):
        load_classifier("lexicon", precision="int8")
    assert load_classifier("lexicon", precision="auto").name == "lexicon"


def test_large_calls_match_small_calls(tiny_dir):
    clf = TransformerClassifier(tiny_dir)
    texts = TEXTS + ["", "😡", "👍👍"] * 3
    together = clf.classify(texts)
    alone = [p for i in range(0, len(texts), 23) for p in clf.classify(texts[i : i + 23])]
    assert [p.label for p in together] == [p.label for p in alone]


def _longest_reference(lex, tokens, stems, i):
    """The matcher as first written: every window size, one tuple each."""
    for size in range(min(L.MAX_NGRAM, len(tokens) - i), 0, -1):
        window = tuple(tokens[i : i + size])
        if size > 1 and any(not t[0].isalnum() and t[0] in ".,!?;:" for t in window):
            continue
        w = lex.surface.get(window)
        if w is not None:
            return size, w, " ".join(window)
        skey = tuple(stems[i : i + size])
        if size == 1:
            w = lex.surface.get(skey)
            if w is not None:
                return 1, w, skey[0]
            continue
        w = lex.stemmed.get(skey)
        if w is not None:
            return size, w, lex.entry.get(skey, "")
    return None


def test_fast_longest_match_equals_the_reference():
    from nlp.normalize import normalize, stem, tokenize

    lex = L.load_lexicon()
    phrases = [" ".join(k) for k in list(lex.surface)[::7]] + [" ".join(k) for k in lex.stemmed if len(k) > 1]
    texts = reviews(400, seed=5) + [", ".join(phrases[i : i + 6]) for i in range(0, len(phrases), 6)]
    checked = 0
    for text in texts:
        tokens = tokenize(normalize(text), keep_punct=True)
        stems = [stem(t) for t in tokens]
        for i in range(len(tokens)):
            assert L._longest(lex, tokens, stems, i) == _longest_reference(lex, tokens, stems, i)
            checked += 1
    assert checked > 5000


def test_cli_analyze_and_evaluate_with_precision(tmp_path, tiny_dir):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.store import Store

    db = f"sqlite:///{tmp_path / 'suara.db'}"
    store = Store(db)
    store.upsert_mentions([dict(source="playstore", source_id=str(i), app="id.kota", text=t)
                           for i, t in enumerate(TEXTS[:9])])
    runner = CliRunner()
    r = runner.invoke(app, ["analyze", "--model", str(tiny_dir), "--precision", "int8", "--no-indicators",
                            "--db", db])
    assert r.exit_code == 0, r.output
    assert "+int8: labelled 9 of 9" in r.stdout
    r = runner.invoke(app, ["analyze", "--model", str(tiny_dir), "--no-indicators", "--db", db])
    assert r.exit_code == 0 and "labelled 9 of 9" in r.stdout and "+int8" not in r.stdout  # fp32 labels apart
    models = set(store.table("sentiments")["model"])
    assert len(models) == 2 and sum(m.endswith("+int8") for m in models) == 1
    r = runner.invoke(app, ["analyze", "--model", "lexicon", "--precision", "int4", "--db", db])
    assert r.exit_code == 2 and r.stderr.startswith("error:") and "int4" in r.stderr
    assert len(store.table("sentiments")) == 18  # nothing stored was lost
    labelled = tmp_path / "l.csv"
    labelled.write_text("text,label\n" + "".join(f'"{t}",neutral\n' for t in TEXTS[:20]), encoding="utf-8")
    r = runner.invoke(app, ["evaluate", str(labelled), "--model", str(tiny_dir), "--precision", "auto"])
    assert r.exit_code == 0, r.output
    assert "+int8" in r.stdout
    store.close()


def test_config_precision_key(tmp_path):
    from pipelines.sources import load_sources as load_config

    p = tmp_path / "suara.toml"
    p.write_text('contact = "a@b.c"\n[analysis]\nmodel = "lexicon"\nprecision = "auto"\n')
    assert load_config(p).analysis.precision == "auto"
    p.write_text('contact = "a@b.c"\n[analysis]\nprecision = "fp16x"\n')
    with pytest.raises(InputError, match="analysis.precision"):
        load_config(p)


def test_cli_auto_calibrates_on_stored_texts(tmp_path, fragile_dir):
    from typer.testing import CliRunner

    from pipelines.analysis import calibration_texts
    from pipelines.cli import app
    from pipelines.store import Store

    db = f"sqlite:///{tmp_path / 'suara.db'}"
    store = Store(db)
    assert calibration_texts(store) == []
    store.upsert_mentions([dict(source="playstore", source_id=str(i), app="id.kota", text=t)
                           for i, t in enumerate(TEXTS[:40])])
    assert len(calibration_texts(store)) == 40 and len(calibration_texts(store, n=10)) == 10
    r = CliRunner().invoke(app, ["analyze", "--model", str(fragile_dir), "--precision", "auto", "--no-indicators",
                                 "--db", db])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("warning:") == 1 and "of 40 calibration texts" in r.stderr and "running fp32" in r.stderr
    assert "labelled 40 of 40" in r.stdout and "+int8" not in r.stdout
    store.close()


def test_int8_packs_for_the_chosen_engine_and_leaves_torch_global(tiny_dir, monkeypatch):
    import torch

    from nlp import precision as P

    import torch.ao.quantization as taq

    before = torch.backends.quantized.engine
    fp32 = TransformerClassifier(tiny_dir)
    reference = fp32.classify(TEXTS)
    engines = [e for e in torch.backends.quantized.supported_engines if e in ("onednn", "x86", "fbgemm")]
    assert P.int8_engine() == (P.INT8_ENGINE if P.INT8_ENGINE in engines else before)
    # The weights are packed for the engine torch is set to while quantize_dynamic runs: record it.
    # (Comparing outputs across engines proved nothing: on this CPU they differ only in float
    # rounding order, and some runs not at all.)
    packed_under = []
    real = taq.quantize_dynamic

    def spy(*args, **kwargs):
        packed_under.append(torch.backends.quantized.engine)
        return real(*args, **kwargs)

    monkeypatch.setattr(taq, "quantize_dynamic", spy)
    for engine in engines:
        monkeypatch.setenv("SUARA_INT8_ENGINE", engine)
        clf = TransformerClassifier(tiny_dir, precision="int8")
        assert packed_under[-1] == engine
        assert clf.int8_engine == engine and torch.backends.quantized.engine == before
        # The default packing keeps the plain id; another engine's labels are kept apart.
        assert clf.model_id == fp32.model_id + ("+int8" if engine == P.INT8_ENGINE else f"+int8-{engine}")
        preds = clf.classify(TEXTS)
        for x, y in zip(reference, preds):
            for c in x.probs:
                assert y.probs[c] == pytest.approx(x.probs[c], abs=0.02)
    assert packed_under == engines
    assert fp32.int8_engine is None


def test_unknown_int8_engine_is_one_clear_error(tiny_dir, monkeypatch):
    monkeypatch.setenv("SUARA_INT8_ENGINE", "avx9000")
    with pytest.raises(InputError, match="SUARA_INT8_ENGINE='avx9000' is not an engine of this torch"):
        TransformerClassifier(tiny_dir, precision="int8")
