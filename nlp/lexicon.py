"""Offline lexicon sentiment classifier for informal Indonesian.

The lexicon (``data/lexicon_id.tsv``: ``term<TAB>weight<TAB>prior``) was written for this project:
single words, their Sastrawi stems, multi-word phrases (mostly app and public-service complaints
such as "tidak bisa login"), and emoji. ``prior`` is the hand-assigned weight; ``weight`` is the
weight actually used, tuned on training splits (see :func:`tune`) with the sign of every prior kept.

Scoring, per text:

* normalise (slang -> standard, emoji kept), tokenise with clause punctuation;
* longest match first (up to 4 tokens), on surface tokens, then on stemmed tokens;
* negation (tidak, bukan, belum, jangan, tanpa, kurang, ...) flips the next sentiment term within
  three tokens of the same clause: positive terms strongly (``tidak bagus`` is negative), negative
  ones weakly (``tidak jelek`` is mildly positive, never negative);
* intensifiers before (sangat, terlalu, paling, ...) or after (banget, sekali) scale the term;
* contrast: the clause after tapi/tetapi/namun/sayangnya/hanya saja weighs more than the one before
  ("bagus tapi sering error" leans negative), and a concessive clause (meskipun/walaupun) weighs less;
* the summed score, divided by the square root of the number of matched terms, falls into a
  neutral band whose edges were fitted on training data (see ``THRESHOLDS``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nlp.errors import InputError
from nlp.paths import DATA_DIR

from .normalize import normalize, stem, tokenize

LEXICON_FILE = DATA_DIR / "lexicon_id.tsv"
LABELS = ("positive", "neutral", "negative")

# Neutral band and probability scale. The band in use is the ``#! band`` line of the lexicon file,
# written by ``python -m nlp.lexicon tune`` (or ``fit``) from the TRAIN splits of SmSA (11,000
# texts) and NusaX-id (500 texts), never validation data: a grid search (step 0.05) for the band
# that maximises macro-F1 on those texts. Shipped: negative < -0.6, positive > 0.9 (train macro-F1
# 0.796). These defaults apply only to a lexicon file without a band line. See docs/sentiment.md.
THRESHOLDS = {"negative": -0.5, "positive": 0.5, "scale": 1.5}

NEGATORS = {
    "tidak": 1.0, "tak": 1.0, "bukan": 1.0, "belum": 1.0, "jangan": 1.0, "tanpa": 1.0,
    "tiada": 1.0, "bukannya": 1.0, "kurang": 0.8,
}
# Flip factors: "tidak bagus" -> -0.8 * bagus; "tidak jelek" -> -0.4 * jelek (mildly positive).
NEG_FLIP_POSITIVE = -0.8
NEG_FLIP_NEGATIVE = -0.4
NEG_SCOPE = 3
PRE_INTENSIFIERS = {
    "sangat": 1.5, "amat": 1.4, "terlalu": 1.5, "paling": 1.6, "sungguh": 1.4, "super": 1.5,
    "benar-benar": 1.4, "makin": 1.3, "semakin": 1.3, "lebih": 1.2, "begitu": 1.3, "terlampau": 1.5,
    "cukup": 0.7, "agak": 0.6, "sedikit": 0.6, "lumayan": 0.7, "rada": 0.6,
}
POST_INTENSIFIERS = {"banget": 1.5, "sekali": 1.5, "parah": 1.4, "abis": 1.3, "habis": 1.3, "pol": 1.4}
# Contrast markers: clause weights before and after.
CONTRASTS = {"tapi", "tetapi", "namun", "sayangnya"}  # and "hanya saja" / "cuma saja"
CONCESSIVES = {"meskipun", "walaupun", "walau", "meski", "biarpun", "kendati"}
BEFORE_CONTRAST = 0.5
AFTER_CONTRAST = 1.5
CONCEDED = 0.5
CLAUSE_PUNCT = set(".!?;")
_PUNCT = frozenset(".,!?;:")  # first characters of the punctuation tokens of the tokenizer
MAX_NGRAM = 4
SCORE_CACHE = 50_000  # texts whose score a classifier remembers (~6 MB full)


@dataclass(frozen=True)
class Lexicon:
    surface: dict[tuple[str, ...], float]
    stemmed: dict[tuple[str, ...], float]
    priors: dict[str, float]  # file term (normalised) -> hand-assigned weight
    weights: dict[str, float]  # file term (normalised) -> weight in use
    entry: dict[tuple[str, ...], str]  # stemmed key -> the file term it came from
    path: str
    digest: str
    band: dict = field(default_factory=lambda: dict(THRESHOLDS))
    # Filled on first use by _longest: first token -> longest multi-word key starting with it.
    _starts: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.priors)


@lru_cache(maxsize=4)
def load_lexicon(path: str | Path = LEXICON_FILE) -> Lexicon:
    """Read the lexicon; keys are normalised exactly as texts are, so the file may hold slang."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read lexicon {path}: {exc.strerror}") from exc
    surface: dict[tuple[str, ...], float] = {}
    stemmed: dict[tuple[str, ...], float] = {}
    priors: dict[str, float] = {}
    weights: dict[str, float] = {}
    entry: dict[tuple[str, ...], str] = {}
    band = dict(THRESHOLDS)
    for no, line in enumerate(lines, 1):
        if line.startswith("#! band"):
            try:
                fields = dict(f.split("=") for f in line.split("#", 2)[1][len("! band"):].split())
                band = {k: float(fields[k]) for k in ("negative", "positive", "scale")}
            except (KeyError, ValueError):
                raise InputError(f"{path}:{no}: bad band line {line!r}") from None
            continue
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            term, weight = parts[0], float(parts[1])
            prior = float(parts[2]) if len(parts) > 2 else weight
        except (IndexError, ValueError):
            raise InputError(f"{path}:{no}: expected 'term<TAB>weight[<TAB>prior]', got {line!r}") from None
        key = tuple(tokenize(normalize(term)))
        if not key:
            continue
        if key in surface:
            continue
        surface[key] = weight
        priors[" ".join(key)] = prior
        weights[" ".join(key)] = weight
        if len(key) == 1:
            continue  # one-word texts match a listed word through their stem (see _longest)
        skey = tuple(stem(t) for t in key)
        if skey not in stemmed:
            stemmed[skey] = weight
            entry[skey] = " ".join(key)
        elif (stemmed[skey] > 0) != (weight > 0):
            stemmed[skey] = 0.0  # surface forms disagree: the stem says nothing
            entry.pop(skey, None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return Lexicon(surface, stemmed, priors, weights, entry, str(path), digest, band)


@dataclass
class Hit:
    """One matched lexicon term and what the rules did to it."""

    term: str  # the lexicon entry (normalised file term)
    weight: float
    multiplier: float

    @property
    def score(self) -> float:
        return self.weight * self.multiplier


def analyse(text: str | None, lexicon: Lexicon | None = None) -> list[Hit]:
    """The matched terms of a text with their rule multipliers (negation, intensity, contrast)."""
    lex = lexicon or load_lexicon()
    tokens = tokenize(normalize(text), keep_punct=True)
    stems = [stem(t) for t in tokens]
    n = len(tokens)
    hits: list[Hit] = []
    ends: list[int] = []  # token index just after each hit, for post-modifiers
    contrast_from = 0  # hits before this index were said before the last contrast word
    clause_weight = 1.0
    neg = {"strength": 0.0, "left": 0, "token": ""}
    boost = {"factor": 1.0, "left": 0, "token": ""}

    def unattached(token: str) -> None:
        # A modifier that modified nothing still says something ("tidak" alone leans negative,
        # "terlalu" alone too): its own lexicon weight counts.
        w = lex.surface.get((token,))
        if w:
            hits.append(Hit(token, w, clause_weight))
            ends.append(-1)

    def end_negation() -> None:
        if neg["strength"]:
            unattached(neg["token"])
        neg.update(strength=0.0, left=0, token="")

    def end_boost() -> None:
        if boost["token"]:
            unattached(boost["token"])
        boost.update(factor=1.0, left=0, token="")

    i = 0
    while i < n:
        tok = tokens[i]
        if tok[0] in _PUNCT:
            end_negation()
            end_boost()
            if clause_weight == CONCEDED:  # "meskipun X, Y": the concession ends at the comma
                clause_weight = 1.0
            i += 1
            continue
        match = _longest(lex, tokens, stems, i)
        is_contrast = tok in CONTRASTS or (tok in ("hanya", "cuma") and i + 1 < n and tokens[i + 1] == "saja")
        if is_contrast and (match is None or match[0] == 1 or tok in ("hanya", "cuma")):
            end_negation()
            for h in hits[contrast_from:]:
                h.multiplier *= BEFORE_CONTRAST
            contrast_from = len(hits)
            clause_weight = AFTER_CONTRAST
            i += 2 if tok in ("hanya", "cuma") else 1
            continue
        if tok in CONCESSIVES and match is None:
            end_negation()
            clause_weight = CONCEDED
            i += 1
            continue
        modifier = tok in NEGATORS or tok in PRE_INTENSIFIERS
        post = tok in POST_INTENSIFIERS and ends and ends[-1] == i
        if match is None or (match[0] == 1 and (modifier or post)):
            if tok in NEGATORS:
                end_negation()
                neg.update(strength=NEGATORS[tok], left=NEG_SCOPE + 1, token=tok)
            elif tok in PRE_INTENSIFIERS:
                end_boost()
                boost.update(factor=PRE_INTENSIFIERS[tok], left=3, token=tok)
            elif post:
                hits[-1].multiplier *= POST_INTENSIFIERS[tok]
                ends[-1] = i + 1
            if neg["left"]:
                neg["left"] -= 1
                if neg["left"] == 0:
                    end_negation()
            if boost["left"]:
                boost["left"] -= 1
                if boost["left"] == 0:
                    end_boost()
            i += 1
            continue
        size, w, term = match
        mult = clause_weight * boost["factor"]
        if neg["strength"]:
            mult *= neg["strength"] * (NEG_FLIP_POSITIVE if w > 0 else NEG_FLIP_NEGATIVE)
            neg.update(strength=0.0, left=0, token="")
        hits.append(Hit(term, w, mult))
        ends.append(i + size)
        boost.update(factor=1.0, left=0, token="")
        i += size
    end_negation()
    end_boost()
    return [h for h in hits if h.weight]


def _multi_starts(lex: Lexicon) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """First token -> longest multi-word key starting with it (surface keys, stemmed keys), and
    the one-word surface entries by word (no tuple to build per lookup)."""
    if not lex._starts:
        for name, keys in (("surface", lex.surface), ("stemmed", lex.stemmed)):
            starts: dict[str, int] = {}
            for key in keys:
                if len(key) > 1 and len(key) > starts.get(key[0], 1):
                    starts[key[0]] = len(key)
            lex._starts[name] = starts
        lex._starts["single"] = {key[0]: w for key, w in lex.surface.items() if len(key) == 1}
    return lex._starts["surface"], lex._starts["stemmed"], lex._starts["single"]


def _longest(lex: Lexicon, tokens: list[str], stems: list[str], i: int) -> tuple[int, float, str] | None:
    # Most tokens start no multi-word term: look up how long a term can start here instead of
    # building a tuple for every window size.
    surface_starts, stem_starts, single = _multi_starts(lex)
    tok = tokens[i]
    top = surface_starts.get(tok, 1)
    top_stem = stem_starts.get(stems[i], 1)
    if top_stem > top:
        top = top_stem
    if top > 1:
        top = min(top, MAX_NGRAM, len(tokens) - i)
        for k in range(i + 1, i + top):  # a term never spans clause punctuation
            t = tokens[k]
            if t[0] in _PUNCT:
                top = k - i
                break
        for size in range(top, 1, -1):
            window = tuple(tokens[i : i + size])
            w = lex.surface.get(window)
            if w is not None:
                return size, w, " ".join(window)
            skey = tuple(stems[i : i + size])
            w = lex.stemmed.get(skey)
            if w is not None:
                return size, w, lex.entry.get(skey, "")
    w = single.get(tok)
    if w is not None:
        return 1, w, tok
    # "kekecewaan" -> stem "kecewa", a listed word. Only listed words are matched through a
    # stem, never the stems of listed words ("berhari-hari" must not make "hari" negative).
    w = single.get(stems[i])
    if w is not None:
        return 1, w, stems[i]
    return None


def raw_score(hits: list[Hit]) -> float:
    """Summed contributions, damped by the square root of the number of terms."""
    if not hits:
        return 0.0
    return sum(h.score for h in hits) / math.sqrt(len(hits))


def probabilities(score: float, thresholds: dict | None = None) -> dict[str, float]:
    """Class probabilities from a score: a softmax whose argmax is exactly the neutral-band rule."""
    t = thresholds or THRESHOLDS
    k = t["scale"]
    logits = {
        "positive": k * (score - t["positive"]),
        "neutral": 0.0,
        "negative": k * (t["negative"] - score),
    }
    m = max(logits.values())
    exps = {c: math.exp(v - m) for c, v in logits.items()}
    z = sum(exps.values())
    return {c: exps[c] / z for c in LABELS}


def label_of(score: float, thresholds: dict | None = None) -> str:
    t = thresholds or THRESHOLDS
    if score > t["positive"]:
        return "positive"
    if score < t["negative"]:
        return "negative"
    return "neutral"


class LexiconClassifier:
    """Always-available offline classifier: ``classify(texts) -> list[Prediction]``."""

    name = "lexicon"

    def __init__(self, path: str | Path = LEXICON_FILE, thresholds: dict | None = None):
        self.lexicon = load_lexicon(path)
        self.thresholds = dict(thresholds or self.lexicon.band)
        # Reviews repeat ("mantap", "bagus", templates): a text's score is computed once.
        self._cached_score = lru_cache(maxsize=SCORE_CACHE)(self._score)

    @property
    def version(self) -> str:
        # Changes whenever the lexicon file or the neutral band changes, so stored labels made by an
        # older lexicon are not mistaken for current ones.
        band = f"{self.thresholds['negative']:g},{self.thresholds['positive']:g}"
        tag = hashlib.sha256(f"{self.lexicon.digest}|{band}".encode()).hexdigest()[:8]
        return f"1.0-{tag}"

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def score(self, text: str | None) -> float:
        if text is None or type(text) is str:
            return self._cached_score(text)
        return self._score(text)

    def _score(self, text: str | None) -> float:
        return raw_score(analyse(text, self.lexicon))

    def classify(self, texts) -> list:
        from .sentiment import Prediction

        out = []
        for text in texts:
            s = self.score(text)
            out.append(Prediction(label_of(s, self.thresholds), probabilities(s, self.thresholds)))
        return out

    def explain(self, text: str | None) -> list[Hit]:
        """The matched terms and their contributions (for debugging a label)."""
        return analyse(text, self.lexicon)


# ---- fitting the neutral band and tuning weights on TRAINING data ------------------------------


def fit_thresholds(scores, labels, step: float = 0.05) -> dict:
    """The neutral band ``(negative, positive)`` that maximises macro-F1 of ``scores`` vs ``labels``.

    A plain grid search; the ``scale`` of the probabilities is kept from :data:`THRESHOLDS`.
    Fit it on training data only.
    """
    import numpy as np

    s = np.asarray(scores, dtype=float)
    y = np.array([LABELS.index(lbl) for lbl in labels])
    order = np.argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    # cum[c][j] = number of class-c texts among the j lowest scores: each band is then O(1).
    cum = np.stack([np.concatenate([[0], np.cumsum(y_sorted == c)]) for c in range(3)])
    total = cum[:, -1]
    best = (-1.0, THRESHOLDS["negative"], THRESHOLDS["positive"])
    for tn in np.arange(-3.0, 1e-9, step):
        lo = np.searchsorted(s_sorted, tn, side="left")  # scores < tn are negative
        for tp in np.arange(0.0, 3.0 + 1e-9, step):
            hi = np.searchsorted(s_sorted, tp, side="right")  # scores > tp are positive
            pred_counts = [total - cum[:, hi], cum[:, hi] - cum[:, lo], cum[:, lo]]  # per predicted class
            f1s = []
            for c in range(3):
                tp_c = pred_counts[c][c]
                p_c, r_c = pred_counts[c].sum(), total[c]
                f1s.append(2 * tp_c / (p_c + r_c) if p_c + r_c else 0.0)
            f1 = float(np.mean(f1s))
            if f1 > best[0] + 1e-12:
                best = (f1, float(tn), float(tp))
    return {"negative": round(best[1], 3), "positive": round(best[2], 3), "scale": THRESHOLDS["scale"],
            "train_macro_f1": round(best[0], 4)}


def tune(
    texts, labels, path: str | Path = LEXICON_FILE, l2: float = 0.02, max_ratio: float = 5.0, steps: int = 300
) -> tuple[dict, dict]:
    """Tune the weights of the listed terms on training texts; returns ``(weights, thresholds)``.

    Each weight is ``sign(prior) * exp(v)``: the sign a person chose never flips, and ``v`` is pulled
    towards ``log|prior|`` by an L2 penalty, so data only re-scales what was written by hand. The
    loss is class-balanced cross-entropy of the same three-way softmax used at prediction time.
    No weight moves further than ``max_ratio`` times (or 1/``max_ratio``) from its prior. Terms that
    never occur in the texts keep their prior. Use TRAIN splits only.
    """
    import numpy as np
    import torch

    lex = load_lexicon(path)
    terms = sorted(lex.priors)
    index = {t: i for i, t in enumerate(terms)}
    prior = np.array([lex.priors[t] for t in terms], dtype=float)
    rows, cols, vals = [], [], []
    for d, text in enumerate(texts):
        hits = [h for h in analyse(text, lex) if h.term in index]
        for h in hits:
            rows.append(d)
            cols.append(index[h.term])
            vals.append(h.multiplier / math.sqrt(len(hits)))
    design = torch.sparse_coo_tensor(
        [rows, cols], vals, (len(texts), len(terms)), dtype=torch.float32, check_invariants=True
    ).coalesce()
    y = torch.tensor([LABELS.index(lbl) for lbl in labels])
    counts = torch.bincount(y, minlength=3).float()
    class_w = counts.sum() / (3 * counts.clamp(min=1))
    sign = torch.tensor(np.sign(prior), dtype=torch.float32)
    v0 = torch.tensor(np.log(np.abs(prior)), dtype=torch.float32)
    seen = torch.zeros(len(terms), dtype=torch.bool)
    seen[torch.tensor(cols, dtype=torch.long).unique()] = True
    v = v0.clone().requires_grad_(True)
    band = torch.tensor([THRESHOLDS["negative"], THRESHOLDS["positive"]], requires_grad=True)
    k = THRESHOLDS["scale"]
    opt = torch.optim.Adam([v, band], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        w = sign * torch.exp(v)
        s = torch.sparse.mm(design, w[:, None]).squeeze(1)
        logits = torch.stack([k * (s - band[1]), torch.zeros_like(s), k * (band[0] - s)], dim=1)
        loss = torch.nn.functional.cross_entropy(logits, y, weight=class_w)
        loss = loss + l2 * ((v - v0)[seen] ** 2).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            v.copy_(v0 + (v - v0).clamp(-math.log(max_ratio), math.log(max_ratio)))
    w = (sign * torch.exp(v)).detach().numpy()
    weights = {t: (round(float(w[i]), 3) if seen[i] else lex.priors[t]) for i, t in enumerate(terms)}
    # Final neutral band by macro-F1 grid search on the same training texts with the tuned weights.
    tuned = Lexicon(
        {key: weights.get(" ".join(key), val) for key, val in lex.surface.items()},
        {key: (weights.get(lex.entry[key], val) if key in lex.entry else val) for key, val in lex.stemmed.items()},
        lex.priors, weights, lex.entry, lex.path, "tuned",
    )
    scores = [raw_score(analyse(t, tuned)) for t in texts]
    return weights, fit_thresholds(scores, labels)


def write_lexicon(weights: dict, thresholds: dict, path: str | Path = LEXICON_FILE, note: str = "") -> None:
    """Rewrite the ``weight`` column (keeping terms, priors, order and comments) and the band line."""
    path = Path(path)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#!"):
            continue
        if line.startswith("#") or not line.strip():
            out.append(line)
            continue
        term, _, *rest = line.split("\t")
        prior = rest[0] if rest else _
        key = " ".join(tokenize(normalize(term)))
        out.append(f"{term}\t{weights.get(key, float(prior)):g}\t{prior}")
    band = f"#! band negative={thresholds['negative']:g} positive={thresholds['positive']:g} scale={thresholds['scale']:g}"
    header_end = next(i for i, ln in enumerate(out) if not ln.startswith("#"))
    out.insert(header_end, band + (f"  # {note}" if note else ""))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    load_lexicon.cache_clear()


def main(argv: list[str] | None = None) -> None:
    """``python -m nlp.lexicon tune TRAIN_FILE... [--write]``: tune weights and band on train files."""
    import argparse

    from .evaluate import read_labelled

    ap = argparse.ArgumentParser(prog="python -m nlp.lexicon")
    ap.add_argument("command", choices=["tune", "fit"], help="tune: weights + band; fit: band only")
    ap.add_argument("files", nargs="+", help="labelled TRAIN files (never validation/test)")
    ap.add_argument("--write", action="store_true", help="write the result into the lexicon file")
    args = ap.parse_args(argv)
    frames = [read_labelled(f) for f in args.files]
    texts = [t for f in frames for t in f["text"]]
    labels = [lbl for f in frames for lbl in f["label"]]
    lex = load_lexicon()
    if args.command == "tune":
        weights, band = tune(texts, labels)
    else:
        weights = dict(lex.weights)
        band = fit_thresholds([raw_score(analyse(t, lex)) for t in texts], labels)
    changed = sum(1 for t, w in weights.items() if abs(w - lex.priors[t]) > 1e-9)
    print(f"{len(texts)} training texts; {changed} of {len(weights)} weights differ from the prior; band {band}")
    if args.write:
        note = f"fitted on {' + '.join(Path(f).parent.name + '/' + Path(f).name for f in args.files)}"
        write_lexicon(weights, band, note=note)
        print(f"wrote {LEXICON_FILE}")


if __name__ == "__main__":
    main()
