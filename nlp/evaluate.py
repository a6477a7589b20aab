"""Measure a sentiment classifier on a labelled file: accuracy, macro-F1, per class, confusion.

Reads CSV or TSV, with or without a header: SmSA's TSV is ``text<TAB>label`` without one, NusaX's
CSV is ``id,text,label`` with one. Labels may be written positive/neutral/negative, pos/neu/neg or
positif/netral/negatif (any case).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pandas as pd

from nlp.errors import InputError

from .codebook import read_utf8
from .sentiment import LABELS

LABEL_ALIASES = {
    "positive": "positive", "pos": "positive", "positif": "positive",
    "neutral": "neutral", "neu": "neutral", "netral": "neutral",
    "negative": "negative", "neg": "negative", "negatif": "negative",
}
TEXT_NAMES = ("text", "review", "content", "sentence", "tweet", "teks", "ulasan", "kalimat", "komentar")
LABEL_NAMES = ("label", "sentiment", "sentimen", "polarity", "labels", "class")


def read_labelled(
    path: str | Path, text_col: str | int | None = None, label_col: str | int | None = None
) -> pd.DataFrame:
    """A labelled file as a DataFrame with columns ``text`` and ``label`` (canonical labels).

    Any problem (missing file, empty file, unknown label, missing column, broken quoting) is one
    :class:`InputError` naming the file and, where there is one, the line.
    """
    path = Path(path)
    raw = read_utf8(path)
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{path}: the file is empty")
    first = lines[0]
    if path.suffix.lower() == ".tsv" or ("\t" in first and path.suffix.lower() != ".csv"):
        sep = "\t"
    elif path.suffix.lower() == ".csv" or "," in first:
        sep = ","
    else:
        raise InputError(f"{path}: cannot tell the delimiter (expected CSV or TSV with a label column)")
    first_fields = [f.strip().strip('"').lower() for f in first.split(sep)]
    named = {c.lower() for c in (text_col, label_col) if isinstance(c, str)}
    has_header = bool(named & set(first_fields)) or (
        not any(f in LABEL_ALIASES for f in first_fields)
        and any(f in TEXT_NAMES + LABEL_NAMES for f in first_fields)
    )
    try:
        df = pd.read_csv(
            io.StringIO(raw),
            sep=sep,
            header=0 if has_header else None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            # SmSA-style TSV never quotes, and its texts contain stray quote characters.
            quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path}: malformed {'TSV' if sep == chr(9) else 'CSV'}: {str(exc).strip()}") from exc
    if df.empty:
        raise InputError(f"{path}: no data rows")
    offset = 2 if has_header else 1
    tcol = _pick(df, path, text_col, TEXT_NAMES, has_header, "text")
    lcol = _pick(df, path, label_col, LABEL_NAMES, has_header, "label")
    if tcol is None:
        others = [c for c in df.columns if c != lcol]
        if not others:
            raise InputError(f"{path}: no text column (only one column found)")
        tcol = max(others, key=lambda c: df[c].str.len().mean())
    if tcol == lcol:
        raise InputError(f"{path}: text and label columns are the same column ({tcol!r})")
    labels = df[lcol].str.strip().str.lower().map(LABEL_ALIASES)
    bad = labels.isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{path}:{i + offset}: unknown label {df[lcol].iloc[i]!r} in column {lcol!r} "
            f"(expected one of: {', '.join(LABELS)})"
        )
    return pd.DataFrame({"text": df[tcol].astype(str), "label": labels})


def _pick(df, path, wanted, names, has_header, what):
    cols = list(df.columns)
    if wanted is not None:
        if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit() and not has_header):
            idx = int(wanted)
            if not 0 <= idx < len(cols):
                raise InputError(f"{path}: no {what} column {idx} (the file has {len(cols)} columns)")
            return cols[idx]
        if not has_header:
            raise InputError(f"{path}: has no header row, so the {what} column must be a number, not {wanted!r}")
        match = [c for c in cols if str(c).lower() == str(wanted).lower()]
        if not match:
            raise InputError(f"{path}: no {what} column {wanted!r}; columns: {', '.join(map(str, cols))}")
        return match[0]
    if has_header:
        for name in names:
            match = [c for c in cols if str(c).strip().lower() == name]
            if match:
                return match[0]
        if what == "label":
            raise InputError(f"{path}: no label column; columns: {', '.join(map(str, cols))} (use --label-col)")
        return None
    if what == "label":
        # Without a header the label is the last column whose values look like labels.
        for c in reversed(cols):
            if df[c].str.strip().str.lower().isin(LABEL_ALIASES.keys()).mean() > 0.5:
                return c
        if len(cols) < 2:
            raise InputError(f"{path}: expected a text and a label column, found {len(cols)} column")
        return cols[-1]
    return None


def metrics(y_true, y_pred) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    for t, p in zip(y_true, y_pred):
        confusion[t][p] += 1
    per_class = {}
    for c in LABELS:
        tp = confusion[c][c]
        predicted = sum(confusion[t][c] for t in LABELS)
        support = sum(confusion[c].values())
        prec = tp / predicted if predicted else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[c] = {"precision": prec, "recall": rec, "f1": f1, "support": support}
    present = [c for c in LABELS if per_class[c]["support"] or any(confusion[t][c] for t in LABELS)]
    n = len(y_true)
    return {
        "n": n,
        "accuracy": sum(t == p for t, p in zip(y_true, y_pred)) / n if n else 0.0,
        "macro_f1": sum(per_class[c]["f1"] for c in present) / len(present) if present else 0.0,
        "per_class": per_class,
        "confusion": confusion,
    }


def evaluate(
    path_or_df,
    model="lexicon",
    text_col: str | int | None = None,
    label_col: str | int | None = None,
    batch_size: int = 32,
) -> dict:
    """Classify a labelled file (or DataFrame with ``text``/``label``) and score the result.

    ``model`` is a classifier object or a spec for :func:`nlp.sentiment.load_classifier`.
    Returns a JSON-ready dict: model, file, n, accuracy, macro_f1, per_class, confusion, texts_per_s.
    """
    from .sentiment import load_classifier

    if isinstance(path_or_df, pd.DataFrame):
        df = path_or_df.rename(columns={text_col or "text": "text", label_col or "label": "label"})
        if not {"text", "label"} <= set(df.columns):
            raise InputError(f"DataFrame needs 'text' and 'label' columns, has: {', '.join(map(str, df.columns))}")
        df = df.assign(label=df["label"].astype(str).str.strip().str.lower().map(LABEL_ALIASES))
        if df["label"].isna().any():
            raise InputError(f"DataFrame has labels other than {', '.join(LABELS)}")
        source = "<DataFrame>"
    else:
        df = read_labelled(path_or_df, text_col, label_col)
        source = str(path_or_df)
    clf = load_classifier(model) if isinstance(model, str) else model
    start = time.perf_counter()
    preds = _classify_batched(clf, df["text"].tolist(), batch_size)
    elapsed = time.perf_counter() - start
    result = {"model": f"{clf.name}@{clf.version}", "file": source}
    result.update(metrics(df["label"], [p.label for p in preds]))
    result["texts_per_s"] = len(df) / elapsed if elapsed > 0 else float("inf")
    return result


def _classify_batched(clf, texts, batch_size):
    if hasattr(clf, "batch_size"):
        clf.batch_size = batch_size
    return clf.classify(texts)


def per_class_frame(result: dict) -> pd.DataFrame:
    """The per-class part of an :func:`evaluate` result as a DataFrame (rows = classes)."""
    return pd.DataFrame(result["per_class"]).T[["precision", "recall", "f1", "support"]]


def confusion_frame(result: dict) -> pd.DataFrame:
    """Confusion matrix: rows = true label, columns = predicted label."""
    return pd.DataFrame(result["confusion"]).T.loc[list(LABELS), list(LABELS)]


# ---- codebook-format files: sentiment, indicators with polarity, favourability ------------------


def classify_with_ratings(clf, texts, ratings=None, batch_size: int = 32):
    """``clf.classify``, passing star ratings to classifiers that use them (``uses_rating``)."""
    if hasattr(clf, "batch_size"):
        clf.batch_size = batch_size
    if ratings is not None and getattr(clf, "uses_rating", False):
        return clf.classify(texts, ratings=ratings)
    return clf.classify(texts)


def evaluate_codebook(path_or_df, model="auto", taxonomy=None, batch_size: int = 32) -> dict:
    """Score the product on a hand-coded file in the codebook format (:func:`nlp.codebook.read_coded`).

    Returns a dict of plain values and DataFrames:

    * ``sentiment``: :func:`metrics` of the classifier (stars passed where it uses them) plus
      ``negative_recall``; None when the file has no sentiment column.
    * ``indicators``: per indicator and micro/macro: support, predicted, tp, fp, fn, precision,
      recall, F1, and ``polarity_accuracy`` (polarity right on the indicators found that are in
      the gold codes).
    * ``favourability``: per indicator, the share of coded mentions that are not complaints from
      the gold codes (``gold``) and from the product's tags and polarity (``product``), with
      both counts and ``abs_error``.
    * ``errors``: one row per review the product gets wrong in sentiment or indicators.
    """
    from .codebook import read_coded, tag_polarity
    from .indicators import get_tagger
    from .sentiment import load_classifier

    df = path_or_df if isinstance(path_or_df, pd.DataFrame) else read_coded(path_or_df)
    clf = load_classifier(model) if isinstance(model, str) else model
    tagger = get_tagger(taxonomy)
    texts = df["text"].tolist()
    start = time.perf_counter()
    preds = classify_with_ratings(clf, texts, df["rating"].tolist(), batch_size)
    labels = [p.label for p in preds]
    tags = [tagger.tag(t) for t in texts]
    elapsed = time.perf_counter() - start
    product = [{m.indicator: tag_polarity(m.signal, lbl) for m in ms} for ms, lbl in zip(tags, labels)]
    evidence = ["; ".join(f"{m.indicator}: {m.evidence}" for m in ms) for ms in tags]
    result = score_codebook(df, labels, product, evidence)
    result.update(model=f"{clf.name}@{clf.version}", taxonomy=tagger.version,
                  file="<DataFrame>" if isinstance(path_or_df, pd.DataFrame) else str(path_or_df),
                  texts_per_s=len(df) / elapsed if elapsed > 0 else float("inf"))
    return result


def score_codebook(df: pd.DataFrame, labels, product, evidence=None) -> dict:
    """Score predicted sentiment ``labels`` and indicator codes ``product`` (dicts key -> mark)
    against a coded frame; the parts of :func:`evaluate_codebook`'s result, plus ``predictions``."""
    from .codebook import INDICATOR_KEYS, format_codes

    labels, product = list(labels), list(product)
    evidence = list(evidence) if evidence is not None else [""] * len(df)
    result: dict = {"n": len(df)}
    has_sent = df["sentiment"].notna().all()
    if has_sent:
        m = metrics(df["sentiment"], labels)
        m["negative_recall"] = m["per_class"]["negative"]["recall"]
        result["sentiment"] = m
    else:
        result["sentiment"] = None
    has_codes = df["codes"].notna().all()
    rows, fav = [], []
    if has_codes:
        for key in INDICATOR_KEYS:
            tp = fp = fn = pol_ok = 0
            for gold, pred in zip(df["codes"], product):
                if key in gold and key in pred:
                    tp += 1
                    pol_ok += gold[key] == pred[key]
                elif key in pred:
                    fp += 1
                elif key in gold:
                    fn += 1
            rows.append(_prf_row(key, tp, fp, fn, pol_ok))
            g = [c[key] for c in df["codes"] if key in c]
            p = [c[key] for c in product if key in c]
            fg = sum(v != "-" for v in g) / len(g) if g else float("nan")
            fp_ = sum(v != "-" for v in p) / len(p) if p else float("nan")
            fav.append(dict(indicator=key, gold_n=len(g), gold=fg, product_n=len(p), product=fp_,
                            abs_error=abs(fg - fp_) if g and p else float("nan")))
        per = pd.DataFrame(rows)
        tp, fp, fn, ok = (int(per[c].sum()) for c in ("tp", "fp", "fn", "polarity_ok"))
        micro = _prf_row("micro", tp, fp, fn, ok)
        macro = dict(micro, indicator="macro", precision=per.precision.mean(), recall=per.recall.mean(),
                     f1=per.f1.mean())
        result["indicators"] = pd.concat([per, pd.DataFrame([micro, macro])], ignore_index=True)
        result["favourability"] = pd.DataFrame(fav)
    else:
        result["indicators"] = None
        result["favourability"] = None
    wrong = []
    for row, lbl, pred, ev in zip(df.itertuples(), labels, product, evidence):
        sent_bad = has_sent and row.sentiment != lbl
        ind_bad = has_codes and row.codes != pred
        if sent_bad or ind_bad:
            wrong.append(dict(line=row.line, id=row.id, rating=row.rating, text=row.text,
                              gold_sentiment=row.sentiment or "", sentiment=lbl,
                              gold_indicators=format_codes(row.codes) if has_codes else "",
                              indicators=format_codes(pred), evidence=ev))
    result["errors"] = pd.DataFrame(wrong, columns=["line", "id", "rating", "text", "gold_sentiment", "sentiment",
                                                    "gold_indicators", "indicators", "evidence"])
    result["predictions"] = pd.DataFrame({"id": df["id"].tolist(), "sentiment": labels, "codes": product})
    return result


def _prf_row(key, tp, fp, fn, pol_ok) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return dict(indicator=key, support=tp + fn, predicted=tp + fp, tp=tp, fp=fp, fn=fn, precision=p, recall=r, f1=f,
                polarity_ok=pol_ok, polarity_accuracy=pol_ok / tp if tp else float("nan"))


def is_codebook_file(path) -> bool:
    """True for a coded CSV (``text`` and ``indicators`` with ``key:polarity`` marks, or ``sentiment`` beside ``indicators``)."""
    import csv as _csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = _csv.DictReader(fh)
            header = {h.strip().lower() for h in reader.fieldnames or []}
            if "text" not in header or "indicators" not in header:
                return False
            if "sentiment" in header:
                return True
            for i, row in enumerate(reader):
                if ":" in (row.get("indicators") or row.get("Indicators") or ""):
                    return True
                if i > 200:
                    break
    except (OSError, UnicodeDecodeError, _csv.Error):
        return False
    return False
