"""An offline, trainable sentiment classifier: TF-IDF n-grams + logistic regression, stars optional.

Two stages, so each is fitted on the data that can teach it:

1. **Text model**: word 1-2-grams and character 2-5-grams (TF-IDF, sublinear tf) of the
   normalised text (slang -> standard), multinomial logistic regression. Trained on public
   labelled sets (SmSA, NusaX) plus hand-coded reviews, and optionally on store reviews whose
   *star rating* stands in for a label (1-2 negative, 4-5 positive; weak labels that teach
   review vocabulary, such as "harus ke kantor" or polite complaints).
2. **Star combiner** (store reviews): a small logistic regression on the text model's
   log-probabilities and the star rating (one-hot), fitted on hand-coded reviews only. Those
   reviews are kept out of the text model, so the combiner learns from out-of-sample text
   probabilities how far to trust text and stars where they disagree. Texts without a rating (news, social posts) or ``use_rating=False`` use stage 1.

The model file is a NumPy ``.npz`` (no pickle: loading a model cannot run code) holding the
vocabularies, IDF weights, coefficients and a JSON header with its version, training data,
attribution and measured figures. It never stores training texts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .paths import DATA_DIR

LABELS = ("positive", "neutral", "negative")
# A polite question opening the text ("mau tanya", "maaf bertanya", "izin bertanya", "mohon info").
_QUESTION = re.compile(
    r"\s*(?:(?:mau|ingin|pengen|numpang|maaf|mohon|izin|ijin|permisi)[\s,]+(?:mau\s+|ingin\s+|ber)?tanya|bertanya|"
    r"mohon\s+info(?:nya)?|minta\s+info(?:nya)?|apakah)\b", re.I)
DEFAULT_LINEAR_MODEL = DATA_DIR / "models" / "sentiment_linear.npz"
FORMAT = "suara-linear-sentiment/1"
_WORD = dict(analyzer="word", ngram_range=(1, 2), min_df=2, max_features=60_000, token_pattern=r"(?u)\b\w+\b")
_CHAR = dict(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=60_000)


def prepare(text: str | None) -> str:
    """The text the model sees: cleaned, slang normalised, lower case (emoji kept as words)."""
    from .normalize import normalize

    return normalize(text or "")


def _star_features(ratings, n: int) -> np.ndarray:
    """One-hot stars 1..5 (all zero when unknown)."""
    out = np.zeros((n, 5), dtype=np.float64)
    if ratings is None:
        return out
    for i, r in enumerate(ratings):
        try:
            r = float(r)
        except (TypeError, ValueError):
            continue
        if not math.isnan(r) and 1 <= round(r) <= 5:
            out[i, int(round(r)) - 1] = 1.0
    return out


def _has_star(ratings, n: int) -> np.ndarray:
    return _star_features(ratings, n).sum(axis=1) > 0


@dataclass
class LinearSentimentModel:
    """The fitted parts. Build with :func:`fit_linear`, or :meth:`load` a saved file."""

    word_vocab: dict[str, int]
    word_idf: np.ndarray
    char_vocab: dict[str, int]
    char_idf: np.ndarray
    coef: np.ndarray  # (3, n_word + n_char)
    intercept: np.ndarray  # (3,)
    star_coef: np.ndarray | None = None  # (3, 3 + 5): text log-probs then one-hot stars
    star_intercept: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    _vec: tuple | None = field(default=None, repr=False)

    # ---- inference ----------------------------------------------------------------------------
    def _vectorizers(self):
        if self._vec is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            w = TfidfVectorizer(sublinear_tf=True, lowercase=True, vocabulary=self.word_vocab, **_strip(_WORD))
            c = TfidfVectorizer(sublinear_tf=True, lowercase=True, vocabulary=self.char_vocab, **_strip(_CHAR))
            w.idf_ = self.word_idf
            c.idf_ = self.char_idf
            self._vec = (w, c)
        return self._vec

    def text_proba(self, texts: list[str]) -> np.ndarray:
        from scipy.sparse import hstack

        w, c = self._vectorizers()
        prepared = [prepare(t) for t in texts]
        x = hstack([w.transform(prepared), c.transform(prepared)]).tocsr()
        return _softmax(x @ self.coef.T + self.intercept)

    def predict_proba(self, texts: list[str], ratings=None, use_rating: bool = True) -> np.ndarray:
        return self.combine(self.text_proba(texts), ratings, use_rating)

    def combine(self, p: np.ndarray, ratings=None, use_rating: bool = True) -> np.ndarray:
        """Text probabilities -> final ones, through the star combiner where a rating is known."""
        if not use_rating or ratings is None or self.star_coef is None:
            return p
        rated = _has_star(ratings, len(p))
        if rated.any():
            z = np.hstack([np.log(np.clip(p, 1e-6, 1)), _star_features(ratings, len(p))])
            combined = _softmax(z @ self.star_coef.T + self.star_intercept)
            p = np.where(rated[:, None], combined, p)
        return p

    # ---- persistence --------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.meta.get("version", "unknown")

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(
            word_terms=_terms(self.word_vocab), word_idf=self.word_idf.astype(np.float32),
            char_terms=_terms(self.char_vocab), char_idf=self.char_idf.astype(np.float32),
            coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
        )
        if self.star_coef is not None:
            arrays.update(star_coef=self.star_coef.astype(np.float32), star_intercept=self.star_intercept.astype(np.float32))
        digest = hashlib.sha256()
        for k in sorted(arrays):
            digest.update(np.ascontiguousarray(arrays[k]).tobytes())
        meta = dict(self.meta, format=FORMAT)
        meta["version"] = f"{meta.get('trained', time.strftime('%Y%m%d'))}-{digest.hexdigest()[:8]}"
        self.meta = meta
        arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True))
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LinearSentimentModel":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != FORMAT:
                    raise InputError(f"{path}: not a Suara linear sentiment model (format {meta.get('format')!r})")
                star = "star_coef" in z.files
                return cls(
                    word_vocab={t: i for i, t in enumerate(z["word_terms"].tolist())},
                    word_idf=z["word_idf"].astype(np.float64),
                    char_vocab={t: i for i, t in enumerate(z["char_terms"].tolist())},
                    char_idf=z["char_idf"].astype(np.float64),
                    coef=z["coef"].astype(np.float64), intercept=z["intercept"].astype(np.float64),
                    star_coef=z["star_coef"].astype(np.float64) if star else None,
                    star_intercept=z["star_intercept"].astype(np.float64) if star else None,
                    meta=meta,
                )
        except OSError as exc:
            raise InputError(f"cannot read model {path}: {exc.strerror or exc}") from exc
        except (KeyError, ValueError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a Suara linear sentiment model ({exc})") from exc


def _strip(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in ("min_df", "max_features")}


def _terms(vocab: dict[str, int]) -> np.ndarray:
    terms = [""] * len(vocab)
    for t, i in vocab.items():
        terms[i] = t
    return np.array(terms, dtype=str)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---- training ---------------------------------------------------------------------------------


def _fit_text(texts, labels, weights, c: float, seed: int):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    prepared = [prepare(t) for t in texts]
    w = TfidfVectorizer(sublinear_tf=True, lowercase=True, **_WORD)
    ch = TfidfVectorizer(sublinear_tf=True, lowercase=True, **_CHAR)
    x = hstack([w.fit_transform(prepared), ch.fit_transform(prepared)]).tocsr()
    y = np.array([LABELS.index(lbl) for lbl in labels])
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    clf.fit(x, y, sample_weight=np.asarray(weights, dtype=float))
    coef, intercept = _full_rows(clf, clf.coef_, clf.intercept_)
    return w, ch, coef, intercept


def _full_rows(clf, coef, intercept):
    """Coefficients for all three labels, in LABELS order (a class absent from training gets -inf-ish)."""
    full = np.zeros((3, coef.shape[1]))
    full_b = np.full(3, -20.0)
    if len(clf.classes_) == 2:  # scikit-learn keeps one row (the second class against the first)
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    for row, cls in enumerate(clf.classes_):
        full[cls] = coef[row]
        full_b[cls] = intercept[row]
    return full, full_b


def fit_linear(
    texts, labels, *, weights=None, coded_texts=(), coded_labels=(), coded_ratings=(),
    c: float = 4.0, seed: int = 13, meta: dict | None = None,
) -> LinearSentimentModel:
    """Fit both stages.

    ``texts``/``labels``/``weights``: the text model's training rows (public sets, weak star
    labels). ``coded_*``: hand-coded reviews with their stars; when at least 30 have stars they
    fit the star combiner. They are kept out of the text model on purpose, so the text
    probabilities the combiner learns from are always out-of-sample, as they are on new reviews
    (callers must also keep them out of ``texts``: :func:`nlp.train.train_linear` does).
    """
    texts, labels = list(texts), list(labels)
    weights = list(weights) if weights is not None else [1.0] * len(texts)
    coded_texts, coded_labels, coded_ratings = list(coded_texts), list(coded_labels), list(coded_ratings)
    bad = [lbl for lbl in labels + coded_labels if lbl not in LABELS]
    if bad:
        raise InputError(f"unknown sentiment label {bad[0]!r} (use {', '.join(LABELS)})")
    if not texts:
        raise InputError("no training texts for the linear model")
    w, ch, coef, intercept = _fit_text(texts, labels, weights, c, seed)
    model = LinearSentimentModel(
        word_vocab={k: int(v) for k, v in w.vocabulary_.items()}, word_idf=w.idf_,
        char_vocab={k: int(v) for k, v in ch.vocabulary_.items()}, char_idf=ch.idf_,
        coef=coef, intercept=intercept, meta=dict(meta or {}),
    )
    fit_combiner(model, coded_texts, coded_labels, coded_ratings, seed)
    model.meta.update(rows=len(texts), coded_rows=len(coded_texts), star_combiner=model.star_coef is not None,
                      trained=time.strftime("%Y%m%d"))
    return model


def fit_combiner(model: LinearSentimentModel, texts, labels, ratings, seed: int = 13, min_rows: int = 30) -> bool:
    """Fit (or refit) the star combiner on coded reviews that have stars; False when too few."""
    from sklearn.linear_model import LogisticRegression

    rated = _has_star(ratings, len(texts)) if len(texts) else np.zeros(0, bool)
    if rated.sum() < min_rows:
        model.star_coef = model.star_intercept = None
        return False
    idx = np.flatnonzero(rated)
    p = model.text_proba([texts[i] for i in idx])
    z = np.hstack([np.log(np.clip(p, 1e-6, 1)), _star_features([ratings[i] for i in idx], len(idx))])
    y = np.array([LABELS.index(labels[i]) for i in idx])
    comb = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(z, y)
    model.star_coef, model.star_intercept = _full_rows(comb, comb.coef_, comb.intercept_)
    return True


def star_label(rating) -> str | None:
    """A weak label from a star rating: 1-2 negative, 4-5 positive, 3 none (too mixed to teach)."""
    try:
        r = round(float(rating))
    except (TypeError, ValueError):
        return None
    return "negative" if r in (1, 2) else "positive" if r in (4, 5) else None


class LinearClassifier:
    """:class:`LinearSentimentModel` behind the classifier interface (``classify``, ``model_id``).

    ``classify(texts, ratings=None)``: the stars are used when given and ``use_rating`` is on;
    ``model_id`` says which (``linear+stars`` or ``linear``), so trends never mix the two.
    """

    def __init__(self, path: str | Path = DEFAULT_LINEAR_MODEL, use_rating: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(
                f"no linear sentiment model at {self.path}: train one with "
                "`suara train --kind linear` (docs/sentiment.md)"
            )
        self.model = LinearSentimentModel.load(self.path)
        self.use_rating = use_rating and self.model.star_coef is not None
        self.name = "linear+stars" if self.use_rating else "linear"
        self._lexicon = None

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def uses_rating(self) -> bool:
        return self.use_rating

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def classify(self, texts, ratings=None) -> list:
        from .sentiment import Prediction

        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return []
        p_text = self.model.text_proba(texts)
        p = self.model.combine(p_text, ratings, use_rating=self.use_rating)
        out = []
        for text, row, row_text in zip(texts, p, p_text):
            if not text.strip() or self._no_stance(text, row_text):
                out.append(Prediction("neutral", {"positive": 0.0, "neutral": 1.0, "negative": 0.0}))
                continue
            probs = {lbl: float(row[i]) for i, lbl in enumerate(LABELS)}
            out.append(Prediction(max(probs, key=probs.get), probs))
        return out

    def _no_stance(self, text: str, p_text: np.ndarray) -> bool:
        """Codebook: neutral is a text with no evaluative stance, whatever the stars say.

        Two such texts are recognised: a polite question ("maaf bertanya, apakah ...?") and a
        text with no evaluative word in the lexicon on which the text model is unsure (below
        0.5 for every class, e.g. a stray word). A star rating never turns these into a verdict.
        """
        if _QUESTION.match(text) and text.rstrip().endswith("?") and "!" not in text:
            return True
        if p_text.max() >= 0.5:
            return False
        if self._lexicon is None:
            from .lexicon import LexiconClassifier

            self._lexicon = LexiconClassifier()
        return not self._lexicon.explain(text)
