"""Fine-tune any encoder for three-class Indonesian sentiment.

A plain torch loop (AdamW, linear warm-up/decay, dynamic padding), early stopping on validation
macro-F1, and the best epoch saved as a folder that ``suara analyze --model DIR`` loads: model,
tokenizer, ``id2label`` = positive/neutral/negative, and ``suara_training.json`` with the history.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Callable

from nlp.errors import InputError, SuaraError

from .evaluate import metrics, read_labelled
from .sentiment import LABELS

DEFAULT_BASE = "indobenchmark/indobert-base-p1"


def train(
    train_path,
    valid_path,
    out_dir,
    base: str = DEFAULT_BASE,
    *,
    epochs: int = 3,
    batch_size: int = 16,
    lr: float = 2e-5,
    weight_decay: float = 0.01,
    warmup: float = 0.1,
    max_length: int = 128,
    patience: int = 2,
    seed: int = 42,
    text_col=None,
    label_col=None,
    normalize: bool = True,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Fine-tune ``base`` on a labelled train file, keep the epoch with the best validation macro-F1.

    Returns a summary dict (best epoch, its validation accuracy/macro-F1, per-epoch history,
    output folder). Stops early after ``patience`` epochs without improvement.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    from .normalize import normalize as norm

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    say = progress or (lambda msg: None)
    if epochs < 1 or batch_size < 1:
        raise InputError("epochs and batch size must be at least 1")
    tr = read_labelled(train_path, text_col, label_col)
    va = read_labelled(valid_path, text_col, label_col)
    prep = (lambda t: norm(t, keep_emoji=False)) if normalize else (lambda t: t)
    tr_texts, va_texts = [prep(t) for t in tr["text"]], [prep(t) for t in va["text"]]
    tr_y = [LABELS.index(lbl) for lbl in tr["label"]]

    random.seed(seed)
    torch.manual_seed(seed)
    label_kw = dict(
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={lbl: i for i, lbl in enumerate(LABELS)},
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        model = AutoModelForSequenceClassification.from_pretrained(str(base), ignore_mismatched_sizes=True, **label_kw)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise SuaraError(f"cannot load base model {str(base)!r}: {first}; pass a local folder with --base PATH") from exc
    model.config.id2label, model.config.label2id = label_kw["id2label"], label_kw["label2id"]
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(dev)
    limit = min(max_length, int(getattr(model.config, "max_position_embeddings", max_length)))

    def batches(texts, ys, shuffle):
        idx = list(range(len(texts)))
        if shuffle:
            random.shuffle(idx)
        for b in range(0, len(idx), batch_size):
            part = idx[b : b + batch_size]
            enc = tokenizer(
                [texts[i] for i in part], padding=True, truncation=True, max_length=limit, return_tensors="pt"
            )
            enc = {k: v.to(dev) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            yield enc, (torch.tensor([ys[i] for i in part], device=dev) if ys is not None else None)

    steps_total = epochs * math.ceil(len(tr_texts) / batch_size)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr)
    sched = get_linear_schedule_with_warmup(opt, int(warmup * steps_total), steps_total)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    history, best, stale = [], None, 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for enc, y in batches(tr_texts, tr_y, shuffle=True):
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
        model.eval()
        preds = []
        with torch.inference_mode():
            for enc, _ in batches(va_texts, None, shuffle=False):
                preds.extend(model(**enc).logits.argmax(-1).tolist())
        m = metrics(va["label"], [LABELS[p] for p in preds])
        row = {"epoch": epoch, "train_loss": total / len(tr_texts), "valid_accuracy": m["accuracy"],
               "valid_macro_f1": m["macro_f1"]}
        history.append(row)
        say(f"epoch {epoch}: loss {row['train_loss']:.4f}, valid accuracy {m['accuracy']:.3f}, "
            f"macro-F1 {m['macro_f1']:.3f}")
        if best is None or m["macro_f1"] > best["valid_macro_f1"]:
            best, stale = row, 0
            model.save_pretrained(out)
            tokenizer.save_pretrained(out)
        else:
            stale += 1
            if stale >= patience:
                say(f"no improvement for {patience} epochs: stopping")
                break
    summary = {
        "base": str(base),
        "train": str(train_path),
        "valid": str(valid_path),
        "n_train": len(tr_texts),
        "n_valid": len(va_texts),
        "best_epoch": best["epoch"],
        "valid_accuracy": best["valid_accuracy"],
        "valid_macro_f1": best["valid_macro_f1"],
        "history": history,
        "normalized": normalize,
        "seconds": round(time.perf_counter() - start, 1),
        "out": str(out),
    }
    (out / "suara_training.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


# ---- the offline linear model (TF-IDF + logistic regression, star combiner) ----------------------

# Attribution the model file carries for the public sets it may be trained on.
ATTRIBUTION = {
    "smsa": "SmSA (IndoNLU; Wilie et al., AACL 2020), CC-BY-SA 4.0",
    "nusax": "NusaX-Senti Indonesian (IndoNLP; Winata et al., EACL 2023), CC-BY-SA 4.0",
}


def _attribution(path: Path) -> str:
    low = str(path).lower()
    for key, text in ATTRIBUTION.items():
        if key in low:
            return text
    return ""


def read_review_export(path) -> list[tuple[str, float]]:
    """(text, stars) from a store-review export: google-play-scraper columns (content, score) or text, rating."""
    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read review export {path}: {exc}") from exc
    cols = {c.lower(): c for c in df.columns}
    text_c = cols.get("content") or cols.get("text")
    star_c = cols.get("score") or cols.get("rating")
    if not text_c or not star_c:
        raise InputError(f"{path}: a review export needs content/text and score/rating columns "
                         f"(found: {', '.join(df.columns)})")
    out = []
    for i, (t, s) in enumerate(zip(df[text_c], df[star_c]), start=2):
        if not s.strip():
            continue
        try:
            out.append((t, float(s)))
        except ValueError:
            raise InputError(f"{path}:{i}: {star_c}: not a number: {s!r}") from None
    return out


def _label(path) -> str:
    """A data file's name with its folder ("smsa/train.tsv"): enough to cite, no local paths."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _key(text: str) -> str:
    return " ".join(str(text).lower().split())


def linear_training_data(public=(), coded=(), reviews=(), weak_weight: float = 0.5) -> dict:
    """Load everything :func:`train_linear` needs, keeping coded reviews out of the text model's rows."""
    from .codebook import read_coded
    from .linear import star_label

    texts, labels, weights, sources = [], [], [], []
    for path in public:
        df = read_labelled(path)
        texts += df["text"].tolist()
        labels += df["label"].tolist()
        weights += [1.0] * len(df)
        sources.append(dict(file=_label(path), rows=len(df), kind="labelled", attribution=_attribution(Path(path))))
    coded_frames = []
    for path in coded:
        df = read_coded(path)
        if df["sentiment"].isna().any():
            raise InputError(f"{path}: has no sentiment column; the linear model needs coded sentiment")
        coded_frames.append(df)
        sources.append(dict(file=_label(path), rows=len(df), kind="coded reviews (star combiner)"))
    import pandas as pd

    coded_df = (pd.concat(coded_frames, ignore_index=True) if coded_frames
                else pd.DataFrame(columns=["id", "text", "rating", "sentiment", "codes", "line"]))
    held = {_key(t) for t in coded_df["text"]}
    for path in reviews:
        rows = read_review_export(path)
        kept = 0
        for text, stars in rows:
            lbl = star_label(stars)
            # A coded review must never be a text-model row: the combiner relies on it.
            if lbl and text.strip() and _key(text) not in held:
                texts.append(text)
                labels.append(lbl)
                weights.append(weak_weight)
                kept += 1
        sources.append(dict(file=_label(path), rows=kept, kind=f"store reviews, star labels (weight {weak_weight:g})"))
    return dict(texts=texts, labels=labels, weights=weights, coded=coded_df, sources=sources)


def train_linear(out, public=(), coded=(), reviews=(), *, weak_weight: float = 0.5, c: float = 4.0,
                 seed: int = 13, progress: Callable[[str], None] | None = None) -> dict:
    """Train the offline linear sentiment model and save it to ``out`` (a ``.npz`` file).

    ``public``: labelled CSV/TSV sets (SmSA, NusaX); ``coded``: codebook-format coded reviews
    (they fit the star combiner); ``reviews``: store-review exports whose stars give weak labels.
    The file records its training data, licences and version, never the texts.
    """
    from .linear import fit_linear

    say = progress or (lambda msg: None)
    data = linear_training_data(public, coded, reviews, weak_weight)
    say(f"text model: {len(data['texts']):,} rows; star combiner: {len(data['coded'])} coded reviews")
    start = time.time()
    cd = data["coded"]
    meta = dict(training_data=data["sources"], weak_weight=weak_weight, c=c, seed=seed,
                licence="model trained on CC-BY-SA 4.0 data: share alike, attribute the datasets in training_data",
                command="suara train --kind linear (docs/sentiment.md)")
    model = fit_linear(data["texts"], data["labels"], weights=data["weights"], coded_texts=cd["text"].tolist(),
                       coded_labels=cd["sentiment"].tolist(), coded_ratings=cd["rating"].tolist(), c=c, seed=seed,
                       meta=meta)
    path = model.save(out)
    return dict(out=str(path), version=model.version, rows=len(data["texts"]), coded=len(cd),
                star_combiner=model.star_coef is not None, seconds=time.time() - start)


def cross_validate_linear(public=(), coded=(), reviews=(), *, folds: int = 5, weak_weight: float = 0.5,
                          c: float = 4.0, seed: int = 13, taxonomy=None,
                          progress: Callable[[str], None] | None = None):
    """Honest K-fold figures on the coded reviews: one row per fold, then ``pooled``.

    Folds are fixed by a hash of each review's id (:func:`nlp.codebook.fold_of`). The text model
    never sees a coded review (see :func:`fit_linear`), so it is trained once; per fold the star
    combiner is fitted on the other folds and the whole product (sentiment, indicators with
    polarity, favourability) is scored on the held-out fold with :func:`nlp.evaluate.evaluate_codebook`.
    Columns: fold, n, accuracy, macro_f1, negative_recall, star_accuracy, indicator_micro_f1,
    polarity_accuracy, max_favourability_error (indicators with >= 15 coded mentions).
    """
    import copy
    import tempfile

    import pandas as pd

    from .codebook import fold_of
    from .evaluate import evaluate_codebook, score_codebook
    from .linear import LinearClassifier, fit_combiner, fit_linear, star_label

    say = progress or (lambda msg: None)
    data = linear_training_data(public, coded, reviews, weak_weight)
    cd = data["coded"].copy()
    if len(cd) < folds * 10:
        raise InputError(f"too few coded reviews for {folds}-fold cross-validation ({len(cd)})")
    cd["fold"] = [fold_of(i, folds) for i in cd["id"]]
    say(f"text model: {len(data['texts']):,} rows (trained once: coded reviews are never text-model rows)")
    base = fit_linear(data["texts"], data["labels"], weights=data["weights"], c=c, seed=seed)
    rows, preds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            train, test = cd[cd["fold"] != k], cd[cd["fold"] == k]
            model = copy.copy(base)
            fit_combiner(model, train["text"].tolist(), train["sentiment"].tolist(), train["rating"].tolist(), seed)
            path = model.save(Path(tmp) / f"fold{k}.npz")
            res = evaluate_codebook(test.reset_index(drop=True), LinearClassifier(path), taxonomy)
            rows.append(_fold_row(str(k), test, res, star_label))
            preds.append((test, res))
            say(f"fold {k}: n={len(test)} accuracy {rows[-1]['accuracy']:.3f} macro-F1 {rows[-1]['macro_f1']:.3f}")
    # Pooled: every review scored once, by the fold model that did not see it.
    allt = pd.concat([t for t, _ in preds], ignore_index=True)
    allp = pd.concat([r["predictions"] for _, r in preds], ignore_index=True)
    pooled = score_codebook(allt, allp["sentiment"], allp["codes"])
    rows.append(_fold_row("pooled", allt, pooled, star_label))
    out = pd.DataFrame(rows)
    out.attrs["pooled"] = pooled
    return out


def _fold_row(name, test, res, star_label) -> dict:
    s = res["sentiment"]
    ind = res["indicators"].set_index("indicator")
    fav = res["favourability"]
    big = fav[fav["gold_n"] >= 15]
    stars = metrics(test["sentiment"], [star_label(x) or "neutral" for x in test["rating"]])
    return dict(fold=name, n=len(test), accuracy=s["accuracy"], macro_f1=s["macro_f1"],
                negative_recall=s["negative_recall"], star_accuracy=stars["accuracy"], star_macro_f1=stars["macro_f1"],
                indicator_micro_f1=float(ind.loc["micro", "f1"]),
                polarity_accuracy=float(ind.loc["micro", "polarity_accuracy"]),
                max_favourability_error=float(big["abs_error"].max()) if len(big) else float("nan"))
