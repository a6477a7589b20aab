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
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
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
