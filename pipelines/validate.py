"""Machine versus human on the coded sample, and favourability corrected for the machine's error.

Reference codes (:func:`reference_codes`) are one coder's, or the consensus: the adjudicated
code (coder ``consensus``) where there is one, else the codes every coder of that mention
agrees on; mentions with an unresolved disagreement are left out and counted.

Machine codes: the sentiment label of one model (``sentiments``) and the indicator tags
(``indicators``). A tag's polarity is its own cue (``signal`` complaint or praise; ``mixed`` is
a complaint, codebook rule 19), else the review's sentiment (:func:`tag_polarity`, the rule the
trend and triangulation figures use). Only mentions the tagger has read count for indicators.

Favourability of an indicator (:func:`favourability`) is the share of its tags that are not
complaints: (praise + mention) / all.

Corrected favourability (:func:`corrected_favourability`) is a calibration estimator. For one
indicator every corpus mention falls in a machine category m (absent, complaint,
favourable) whose corpus count N_m is known exactly; the coded sample estimates
P(human category h | m). The corpus holds about T_h = sum_m N_m P(h | m) mentions that are truly
complaints (h = complaint) or favourable, and the corrected favourability is
T_fav / (T_fav + T_complaint). Unlike a Rogan-Gladen correction from sensitivity and
specificity it also fixes tags the machine missed or added, and it stays valid when the
sample is stratified on the machine's output. The 95% interval comes from 4000 draws of
P(h | m) from their Dirichlet posteriors (a Bayesian bootstrap with Jeffreys' prior, which
keeps zero counts from giving zero-width intervals). With fewer than ``MIN_CODED`` coded
mentions carrying the indicator, or no coded mention in a machine category the corpus uses,
it says the sample is too small instead of giving a number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from nlp.codebook import POLARITY_MARKS as POLARITY_WORD  # "-" -> "complaint", ...
from nlp.codebook import tag_polarity as codebook_polarity
from nlp.indicators import INDICATORS

from .errors import InputError
from .labels import ADJUDICATOR, SENTIMENTS, agreement, codes_frame
from .store import Store, indicator_tagging, indicators, mentions, sentiments

# Fewer coded mentions than this carrying an indicator and its corrected figure is not given.
MIN_CODED = 10
# A corrected interval wider than this is reported but not used for a verdict.
MAX_WIDTH = 0.4
FAVOURABLE = ("praise", "mention")
CATEGORIES = ("absent", "complaint", "favourable")
DRAWS = 4000

INDICATOR_VALIDATION_COLUMNS = [
    "indicator", "coded", "human_tags", "machine_tags", "both", "precision", "recall", "f1",
    "polarity_n", "polarity_accuracy",
    "human_favourability", "human_low", "human_high",
    "machine_favourability", "machine_low", "machine_high",
    "corpus_tags", "raw_favourability", "corrected_favourability", "corrected_low", "corrected_high",
    "corrected_status", "note",
]


def favourability(polarities) -> float:
    """Share of polarity-bearing tags that are not complaints: (praise + mention) / all."""
    p = [x for x in polarities if x]
    return sum(x in FAVOURABLE for x in p) / len(p) if p else math.nan


def tag_polarity(signal: str | None, sentiment: str | None) -> str:
    """The machine's polarity of one tag as a word (complaint / praise / mention), by the one rule
    trends and triangulation use: :func:`nlp.codebook.tag_polarity`."""
    return POLARITY_WORD[codebook_polarity(signal, sentiment if isinstance(sentiment, str) else None)]


def _category(polarity: str) -> str:
    return "absent" if not polarity else "complaint" if polarity == "complaint" else "favourable"


# ---- reference and machine codes -----------------------------------------------------------------


def reference_codes(store: Store, coder: str | None = None, consensus: bool = False) -> pd.DataFrame:
    """Human reference codes, one row per mention: ``mention_id, sentiment`` and one polarity
    column per indicator. ``attrs``: ``reference`` (what was used), ``excluded`` (mentions left
    out for unresolved disagreement), ``coders``."""
    codes = codes_frame(store)
    if codes.empty:
        raise InputError("no human codes in the store yet: `suara label sample`, code the sheet, then "
                         "`suara label import`")
    coders = sorted(codes["coder"].unique())
    if coder and consensus:
        raise InputError("give --coder or --consensus, not both")
    if coder:
        if coder not in coders:
            raise InputError(f"no codes from coder {coder!r}; coders: {', '.join(coders)}")
        ref = codes[codes["coder"] == coder]
        ref.attrs.update(reference=f"coder {coder}", excluded=0, coders=[coder])
        return ref.reset_index(drop=True)
    if not consensus and len(coders) == 1:
        ref = codes.reset_index(drop=True)
        ref.attrs.update(reference=f"coder {coders[0]}", excluded=0, coders=coders)
        return ref
    fields = ["sentiment", *INDICATORS]
    adjudicated = codes[codes["coder"] == ADJUDICATOR].set_index("mention_id")
    rows, excluded = [], 0
    for mid, g in codes[codes["coder"] != ADJUDICATOR].groupby("mention_id"):
        if mid in adjudicated.index:
            continue
        if (g[fields].nunique() > 1).any():
            excluded += 1
            continue
        rows.append(g.iloc[0])
    ref = pd.concat([pd.DataFrame(rows), adjudicated.reset_index()], ignore_index=True) if rows or len(adjudicated) \
        else codes.iloc[:0]
    if ref.empty:
        raise InputError(f"no consensus codes: all {excluded} coded mention(s) have an unresolved disagreement; "
                         "`suara label agreement --resolve SHEET`, then import it with --coder consensus")
    ref = ref.sort_values("mention_id", ignore_index=True)
    ref.attrs.update(reference="consensus", excluded=excluded, coders=[c for c in coders if c != ADJUDICATOR])
    return ref


def machine_codes(store: Store, model: str | None) -> pd.DataFrame:
    """Every mention the machine has read: ``mention_id, sentiment`` (NaN when ``model`` did not
    label it), ``tagged`` (the indicator tagger read it) and one polarity column per indicator."""
    with store.engine.connect() as conn:
        ids = pd.read_sql(select(mentions.c.id.label("mention_id")), conn)
        sent = pd.read_sql(select(sentiments.c.mention_id, sentiments.c.label.label("sentiment"))
                           .where(sentiments.c.model == model), conn) if model else \
            pd.DataFrame(columns=["mention_id", "sentiment"])
        tagged = pd.read_sql(select(indicator_tagging.c.mention_id), conn)
        tags = pd.read_sql(select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal), conn)
    df = ids.merge(sent, on="mention_id", how="left")
    df["tagged"] = df["mention_id"].isin(set(tagged["mention_id"]))
    label = df.set_index("mention_id")["sentiment"]
    tags["polarity"] = [tag_polarity(s, label.get(m)) for s, m in zip(tags["signal"], tags["mention_id"])]
    for k in INDICATORS:
        pol = tags[tags["indicator"] == k].drop_duplicates("mention_id").set_index("mention_id")["polarity"]
        df[k] = df["mention_id"].map(pol).astype(object).fillna("")  # no tag: "" (an empty map is float)
    return df


# ---- intervals and the correction ----------------------------------------------------------------


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def corrected_favourability(corpus_counts: dict[str, int], pairs: pd.DataFrame, seed: int = 0,
                            draws: int = DRAWS, min_coded: int = MIN_CODED) -> dict:
    """Calibration-corrected favourability of one indicator (see the module doc).

    ``corpus_counts``: machine category -> mentions in the corpus; ``pairs``: the coded sample
    with columns ``machine`` and ``human`` (categories). Returns ``estimate, low, high,
    status`` (``ok``, ``wide``, ``too few``) and ``note``."""
    human_tags = int((pairs["human"] != "absent").sum())
    res = dict(estimate=math.nan, low=math.nan, high=math.nan, status="too few", note="")
    if human_tags < min_coded:
        res["note"] = (f"only {human_tags} coded mention(s) carry this indicator; {min_coded} are needed "
                       "for a corrected figure")
        return res
    code = {c: i for i, c in enumerate(CATEGORIES)}
    c = np.zeros((3, 3))
    np.add.at(c, (pairs["machine"].map(code).to_numpy(int), pairs["human"].map(code).to_numpy(int)), 1)
    n_m = np.array([corpus_counts.get(m, 0) for m in CATEGORIES], dtype=float)
    unseen = [m for i, m in enumerate(CATEGORIES) if n_m[i] > 0 and c[i].sum() == 0]
    if unseen:
        res["note"] = (f"no coded mention where the machine says {', '.join(unseen)}; the sample cannot "
                       "calibrate those tags")
        return res
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(c.sum(axis=1, keepdims=True) > 0, c / c.sum(axis=1, keepdims=True), 0.0)
    t = n_m @ p
    if t[1] + t[2] == 0:
        res["note"] = "no coded mention of this indicator matches the machine's categories"
        return res
    rng = np.random.default_rng(seed)
    sims = np.zeros((draws, 3))
    for i, m in enumerate(CATEGORIES):
        if n_m[i] > 0:
            sims += n_m[i] * rng.dirichlet(c[i] + 0.5, size=draws)
    fav = sims[:, 2] / (sims[:, 1] + sims[:, 2])
    lo, hi = np.nanpercentile(fav, [2.5, 97.5])
    res.update(estimate=float(t[2] / (t[1] + t[2])), low=float(lo), high=float(hi), status="ok")
    if hi - lo > MAX_WIDTH:
        res.update(status="wide", note=f"the 95% interval is wider than {MAX_WIDTH:.0%}: code more mentions "
                                       "that carry this indicator")
    return res


# ---- validation ----------------------------------------------------------------------------------


def sentiment_validation(ref: pd.DataFrame, mach: pd.DataFrame) -> dict:
    """Accuracy, macro-F1, kappa and the confusion matrix (rows human, columns machine)."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

    both = ref[["mention_id", "sentiment"]].merge(mach[["mention_id", "sentiment"]], on="mention_id",
                                                  suffixes=("_human", "_machine")).dropna()
    h, m = both["sentiment_human"].tolist(), both["sentiment_machine"].tolist()
    out = dict(n=len(both), accuracy=math.nan, macro_f1=math.nan, kappa=math.nan,
               confusion=pd.DataFrame(0, index=list(SENTIMENTS), columns=list(SENTIMENTS)))
    if both.empty:
        return out
    out.update(accuracy=float(accuracy_score(h, m)),
               macro_f1=float(f1_score(h, m, labels=list(SENTIMENTS), average="macro", zero_division=0)),
               kappa=float(cohen_kappa_score(h, m)) if len(set(h) | set(m)) > 1 else math.nan,
               confusion=pd.DataFrame(confusion_matrix(h, m, labels=list(SENTIMENTS)),
                                      index=pd.Index(SENTIMENTS, name="human"),
                                      columns=pd.Index(SENTIMENTS, name="machine")))
    return out


def indicator_validation(ref: pd.DataFrame, mach: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per indicator: presence precision/recall/F1, polarity accuracy, human and machine
    favourability on the same coded mentions (Wilson 95%), and the corpus's raw and corrected
    favourability (columns ``INDICATOR_VALIDATION_COLUMNS``)."""
    corpus = mach[mach["tagged"]]
    both = ref.merge(corpus, on="mention_id", suffixes=("_human", "_machine"))
    rows = []
    for k in INDICATORS:
        hk, mk = both[f"{k}_human"].fillna(""), both[f"{k}_machine"].fillna("")
        hp, mp = hk != "", mk != ""
        tp, fp, fn = int((hp & mp).sum()), int((~hp & mp).sum()), int((hp & ~mp).sum())
        prec = tp / (tp + fp) if tp + fp else math.nan
        rec = tp / (tp + fn) if tp + fn else math.nan
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
        shared = hp & mp
        pol_n = int(shared.sum())
        pol_acc = float((hk[shared] == mk[shared]).mean()) if pol_n else math.nan
        h_fav, m_fav = favourability(hk), favourability(mk)
        h_ok, m_ok = int(hk.isin(FAVOURABLE).sum()), int(mk.isin(FAVOURABLE).sum())
        corpus_pol = corpus[k].fillna("")
        raw = favourability(corpus_pol)
        pairs = pd.DataFrame({"machine": mk.map(_category), "human": hk.map(_category)})
        cc = corpus_pol.map(_category).value_counts().to_dict()
        corr = corrected_favourability(cc, pairs, seed=seed)
        rows.append(dict(
            indicator=k, coded=len(both), human_tags=int(hp.sum()), machine_tags=int(mp.sum()), both=tp,
            precision=prec, recall=rec, f1=f1, polarity_n=pol_n, polarity_accuracy=pol_acc,
            human_favourability=h_fav, human_low=wilson(h_ok, int(hp.sum()))[0], human_high=wilson(h_ok, int(hp.sum()))[1],
            machine_favourability=m_fav, machine_low=wilson(m_ok, int(mp.sum()))[0],
            machine_high=wilson(m_ok, int(mp.sum()))[1],
            corpus_tags=int((corpus_pol != "").sum()), raw_favourability=raw,
            corrected_favourability=corr["estimate"], corrected_low=corr["low"], corrected_high=corr["high"],
            corrected_status=corr["status"], note=corr["note"],
        ))
    return pd.DataFrame(rows, columns=INDICATOR_VALIDATION_COLUMNS)


def validate(store: Store, coder: str | None = None, consensus: bool = False, model: str | None = None,
             seed: int = 0) -> dict:
    """Machine versus human on the coded sample.

    Returns ``{"reference", "coders", "coded", "excluded", "model", "sentiment": {...},
    "indicators": DataFrame, "agreement": DataFrame}``; ``sentiment`` holds ``n, accuracy,
    macro_f1, kappa, confusion``. Raises ``InputError`` when nothing is coded, or when the
    model was trained on every coded mention. Mentions the model was trained on
    (:func:`resolve_model`) are left out; ``trained_on`` counts them."""
    ref = reference_codes(store, coder, consensus)
    model, used = resolve_model(store, model)
    attrs, n_all = dict(ref.attrs), len(ref)
    ref = unseen_codes(model, ref, used)
    mach = machine_codes(store, model)
    return dict(
        reference=attrs["reference"], coders=attrs["coders"], coded=len(ref),
        excluded=attrs["excluded"], trained_on=n_all - len(ref), model=model or "",
        sentiment=sentiment_validation(ref, mach), indicators=indicator_validation(ref, mach, seed),
        agreement=agreement(store),
    )


def resolve_model(store: Store, model: str | None) -> tuple[str | None, set[int]]:
    """(model id in the store, mention ids it was trained on). ``model`` may be a model folder
    (as given to ``suara analyze --model DIR``): its labels in the store are the model id whose
    name is the folder's name."""
    from .store import label_training
    from .trends import choose_model, model_counts

    used: set[int] = set()
    if model and Path(model).is_dir():
        folder = Path(model)
        f = folder / TRAINING_FILE
        if f.is_file():
            used |= {int(i) for i in json.loads(f.read_text(encoding="utf-8")).get("mention_ids", [])}
        ids = [m for m in model_counts(store).index if str(m).split("@")[0] == folder.name]
        if not ids:
            raise InputError(f"no sentiment labels from model folder {folder} in the store: run "
                             f"`suara analyze --model {folder}` first")
        model = ids[0]
    else:
        model = choose_model(store, model)
    if model:
        with store.engine.connect() as conn:
            used |= set(conn.execute(select(label_training.c.mention_id)
                                     .where(label_training.c.model == str(model).split("@")[0])).scalars())
    return model, used


def unseen_codes(model: str | None, ref: pd.DataFrame, used: set[int]) -> pd.DataFrame:
    """The reference codes the model was not trained on; refuses when none are left."""
    seen = ref["mention_id"].isin(used)
    if seen.all() and len(ref):
        raise InputError(f"model {model} was trained on all {len(ref)} coded mentions; validate it on codes it "
                         "did not see (code a new sample, or train with --holdout)")
    return ref[~seen].reset_index(drop=True)


TRAINING_FILE = "suara_human_codes.json"


def train_on_codes(store: Store, out_dir, base: str | None = None, *, coder: str | None = None,
                   consensus: bool = False, holdout: float = 0.3, seed: int = 42, progress=None,
                   **train_kw) -> dict:
    """Fine-tune a sentiment model on the human codes (``nlp.train.train``), keeping a random
    ``holdout`` share of the coded mentions unseen so ``validate`` can score the model on them.

    The rest is split 85/15 into training and early-stopping data. The mention ids the model
    saw go to ``<out_dir>/suara_human_codes.json`` and the store's ``label_training``; the
    held-out ids are listed there too. Returns the training summary with ``held_out``."""
    import tempfile

    from nlp.train import DEFAULT_BASE, train

    from .store import label_training, utcnow
    from .tagging import mention_text

    if not 0 <= holdout < 1:
        raise InputError(f"bad --holdout {holdout}: give a share from 0 up to (not including) 1")
    ref = reference_codes(store, coder, consensus)
    with store.engine.connect() as conn:
        texts = pd.read_sql(select(mentions.c.id, mentions.c.title, mentions.c.text)
                            .where(mentions.c.id.in_([int(i) for i in ref["mention_id"]])), conn).set_index("id")
    ref = ref[ref["mention_id"].isin(texts.index)]
    rng = np.random.default_rng(seed)
    order = ref["mention_id"].to_numpy()[rng.permutation(len(ref))]
    n_hold = int(round(len(order) * holdout))
    held, rest = order[:n_hold], order[n_hold:]
    n_valid = max(1, int(round(len(rest) * 0.15)))
    valid_ids, train_ids = rest[:n_valid], rest[n_valid:]
    if len(train_ids) < 3:
        raise InputError(f"only {len(train_ids)} coded mention(s) left to train on; code more mentions or lower --holdout")
    label = ref.set_index("mention_id")["sentiment"]
    out = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, ids in (("train", train_ids), ("valid", valid_ids)):
            df = pd.DataFrame({"text": [mention_text(texts.at[i, "title"], texts.at[i, "text"]) for i in ids],
                               "label": [label[i] for i in ids]})
            paths[name] = Path(tmp) / f"{name}.csv"
            df.to_csv(paths[name], index=False, encoding="utf-8")
        summary = train(paths["train"], paths["valid"], out, base or DEFAULT_BASE, seed=seed, progress=progress,
                        **train_kw)
    seen = sorted(int(i) for i in [*train_ids, *valid_ids])
    (out / TRAINING_FILE).write_text(json.dumps({
        "reference": ref.attrs.get("reference"), "seed": seed, "holdout": holdout,
        "mention_ids": seen, "held_out": sorted(int(i) for i in held)}, indent=1), encoding="utf-8")
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(label_training.delete().where(label_training.c.model == out.name))
        conn.execute(label_training.insert(), [dict(model=out.name, mention_id=i, folder=str(out), trained_at=now)
                                               for i in seen])
    summary.update(held_out=len(held), trained_on=len(seen))
    return summary


# ---- the block reports carry ---------------------------------------------------------------------


def validation_block(store: Store, model: str | None = None, seed: int = 0) -> dict | None:
    """What reports show: ``None`` when no human codes exist (figures unvalidated), else
    :func:`validate` with the consensus (or the one coder)."""
    if codes_frame(store).empty:
        return None
    try:
        return validate(store, consensus=True, model=model, seed=seed)
    except InputError as exc:  # e.g. the model saw the coded mentions: say so, do not stop the report
        return {"error": str(exc)}


UNVALIDATED = ("Unvalidated: no human codes in the store, so these automatic figures have not been "
               "checked against human coding (`suara label sample` / `import` / `validate`).")


def _pct(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0%}"


def _num(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def validation_summary(block: dict | None) -> pd.DataFrame:
    """Per indicator, for reports: coded tags, F1, polarity accuracy, raw and corrected
    favourability, and which one a verdict should use (``verdict_basis``)."""
    cols = ["indicator", "coded_tags", "f1", "polarity_accuracy", "raw_favourability",
            "corrected_favourability", "corrected_low", "corrected_high", "verdict_basis"]
    if not block or "error" in block:
        why = "raw: unvalidated (no human codes)" if not block else "raw: validation refused"
        return pd.DataFrame([dict(indicator=k, verdict_basis=why) for k in INDICATORS], columns=cols)
    ind = block["indicators"]
    out = ind.rename(columns={"human_tags": "coded_tags"})
    out["verdict_basis"] = ["corrected" if s == "ok" else "raw: validation sample too small" if s == "too few"
                            else "raw: corrected interval too wide" for s in ind["corrected_status"]]
    return out[cols]


def validation_markdown(block: dict | None) -> str:
    """The validation section of triangulation.md."""
    lines = ["", "## Validation against human coding", ""]
    if not block:
        return "\n".join(lines + [UNVALIDATED, ""])
    if "error" in block:
        return "\n".join(lines + [f"Not validated: {block['error']}.", ""])
    s, ag = block["sentiment"], block["agreement"]
    lines.append(f"- **coded mentions**: {block['coded']} ({block['reference']}; coders: "
                 f"{', '.join(block['coders']) or '–'}; left out for unresolved disagreement: {block['excluded']})")
    if len(ag):
        sent = ag[ag["field"] == "sentiment"].iloc[0]
        lines.append(f"- **inter-coder agreement** on {ag.attrs.get('units', 0)} doubly coded mentions: sentiment "
                     f"kappa {_num(sent['cohen_kappa'])}, Krippendorff's alpha {_num(sent['krippendorff_alpha'])}")
    else:
        lines.append("- **inter-coder agreement**: not measured (no mention coded by two coders)")
    lines.append(f"- **sentiment, machine vs human** (model {block['model'] or '–'}, n={s['n']}): accuracy "
                 f"{_pct(s['accuracy'])}, macro-F1 {_num(s['macro_f1'])}, kappa {_num(s['kappa'])}")
    lines += ["", "| Indicator | Coded tags | F1 | Polarity accuracy | Raw favourability | Corrected (95% CI) | Verdict uses |",
              "|---|---:|---:|---:|---:|---|---|"]
    for r in validation_summary(block).to_dict("records"):
        corr = (f"{_pct(r['corrected_favourability'])} ({_pct(r['corrected_low'])}–{_pct(r['corrected_high'])})"
                if pd.notna(r["corrected_favourability"]) else "–")
        lines.append(f"| {r['indicator'].replace('_', ' ')} | {r['coded_tags']} | {_num(r['f1'])} | "
                     f"{_pct(r['polarity_accuracy'])} | {_pct(r['raw_favourability'])} | {corr} | {r['verdict_basis']} |")
    lines += ["", "Favourability here is the share of an indicator's tags that are not complaints. The corrected "
              "figure calibrates the machine's tags on the coded sample (P(human code | machine code), applied "
              "to the corpus counts) with a 95% Bayesian-bootstrap interval; see docs/validation.md.", ""]
    return "\n".join(lines)


def apply_validation(tri: pd.DataFrame, block: dict | None, min_mentions: int | None = None,
                     cutoffs: tuple[float, float] | None = None) -> pd.DataFrame:
    """Triangulation rows with ``corrected_favourability, corrected_low, corrected_high,
    verdict_basis``; where the sample supports it the review verdict and agreement use the
    corrected figure."""
    from .triangulate import CUTOFFS, MIN_MENTIONS, _agree, verdict

    summ = validation_summary(block).set_index("indicator")
    tri = tri.copy()
    for c in ("corrected_favourability", "corrected_low", "corrected_high"):
        tri[c] = tri["indicator"].map(summ[c]).astype(float)
    tri["verdict_basis"] = tri["indicator"].map(summ["verdict_basis"]).fillna("raw: unvalidated")
    use = tri["verdict_basis"] == "corrected"
    for i in tri.index[use]:
        row = tri.loc[i].to_dict()
        min_mentions = MIN_MENTIONS if min_mentions is None else min_mentions
        cutoffs = cutoffs or CUTOFFS
        row.update(review_verdict=verdict(row["corrected_favourability"], cutoffs) or "",
                   review_low=row["corrected_low"], review_high=row["corrected_high"])
        tri.at[i, "review_verdict"] = row["review_verdict"]
        tri.at[i, "agreement"], tri.at[i, "note"] = _agree(row, min_mentions, cutoffs)
    return tri


def validation_html(block: dict | None) -> tuple[str, str, str]:
    """``(heading, note, body_html)`` for report.html: the validation figures, or a plain
    statement that the figures are unvalidated."""
    import html

    heading = "Validation against human coding"
    if not block:
        return (heading, "", f"<p><strong>{html.escape(UNVALIDATED)}</strong></p>")
    if "error" in block:
        return (heading, "", f"<p><strong>Not validated: {html.escape(block['error'])}.</strong></p>")
    items = [line[2:].replace("**", "") for line in validation_markdown(block).splitlines() if line.startswith("- ")]
    summ = validation_summary(block).round(3)
    body = ("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
            + summ.to_html(index=False, escape=True, na_rep="", border=0))
    note = ("Favourability = share of an indicator's tags that are not complaints. Corrected: calibrated on the "
            "coded sample, with a 95% interval; verdicts use it where the sample supports it (verdict_basis).")
    return (heading, note, body)
