"""Triangulation: does what citizens write agree with what the survey found?

Survey side (:func:`load_survey`) reads either
* a **summary** file, one row per indicator: ``indicator``, ``respondents``, a ``score`` on a
  stated scale (``scale_min``, ``scale_max``, optional ``score_sd``), a ``favourable_share``,
  and/or a published ``verdict`` (poor / fair / good) when only the direction is known; or
* **raw responses**, one row per respondent with Likert items, plus a mapping of item columns
  to indicators (a TOML file or ``item=indicator`` pairs), aggregated with 95% intervals.

Review side (:func:`triangulate`): among the mentions carrying an indicator (in the fieldwork
window, if given), the share the sentiment model did not label negative, with its Wilson
interval. Both sides become a verdict on the same 0..1 scale (see ``CUTOFFS``) and are
compared per indicator; across indicators a Spearman rank correlation is reported where
both sides have numbers.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import select

from nlp.codebook import tag_polarity

from .errors import InputError, SuaraError
from .outputs import write_csv
from .safefile import write_text
from .store import Store, indicators, mentions, sentiments
from .trends import DISPLAY, INDICATORS, canonical_indicator, choose_model, parse_date, provenance, wilson
from .trends import id_ranges, select_mentions

VERDICTS = ("poor", "fair", "good")
# Published studies are often in Indonesian: accept its usual category words too.
VERDICT_WORDS = {
    "poor": "poor", "bad": "poor", "buruk": "poor", "kurang": "poor", "rendah": "poor",
    "fair": "fair", "moderate": "fair", "cukup": "fair", "sedang": "fair",
    "good": "good", "baik": "good", "tinggi": "good",
}
# Verdict cutoffs on the common 0..1 favourability scale: below 0.5 the unfavourable side is
# the majority (or the mean sits below the scale midpoint), "poor"; 0.5 up to 0.7 a bare
# majority, "fair"; from 0.7 a clear majority (on a 1..5 scale a mean of 3.8 or more,
# i.e. most answers "agree"), "good".
CUTOFFS = (0.5, 0.7)
# Fewer labelled mentions than this and the review side's interval is too wide to judge.
MIN_MENTIONS = 30
# How a tagged mention counts for or against its indicator (see review_side).
BASES = ("polarity", "sentiment")
# Spearman needs at least this many indicators with numbers on both sides (two points
# always rank-correlate perfectly).
MIN_RANK_POINTS = 3

SUMMARY_COLUMNS = ("indicator", "respondents", "score", "scale_min", "scale_max", "score_sd",
                   "favourable_share", "verdict", "note", "source")
_COLUMN_ALIASES = {"favorable_share": "favourable_share", "n": "respondents", "sd": "score_sd"}

SURVEY_COLUMNS = [
    "indicator", "respondents", "score", "scale_min", "scale_max",
    "score_norm", "score_norm_low", "score_norm_high",
    "favourable_share", "favourable_low", "favourable_high", "verdict",
    "measure", "value", "value_low", "value_high", "survey_verdict", "verdict_from", "format",
]

TRIANGULATION_COLUMNS = [
    "indicator", "survey_measure", "survey_respondents", "survey_value", "survey_low", "survey_high",
    "survey_verdict", "survey_verdict_from",
    "review_mentions", "review_not_negative", "review_favourability", "review_low", "review_high",
    "review_verdict", "agreement", "note", "window_start", "window_end",
    "spearman_rho", "spearman_p", "spearman_n", "model",
    "review_favourability_sentiment", "basis",
]

# Human validation (pipelines/validate.py): the corrected favourability and which one the verdict used.
TRIANGULATION_COLUMNS += ["corrected_favourability", "corrected_low", "corrected_high", "verdict_basis"]


# ---- verdicts -----------------------------------------------------------------------------------


def verdict(value: float, cutoffs: tuple[float, float] = CUTOFFS) -> str | None:
    """0..1 favourability -> poor / fair / good (None for NaN)."""
    if value is None or pd.isna(value):
        return None
    return "poor" if value < cutoffs[0] else "fair" if value < cutoffs[1] else "good"


def verdict_band(v: str, cutoffs: tuple[float, float] = CUTOFFS) -> tuple[float, float]:
    """The 0..1 range a verdict stands for."""
    return {"poor": (0.0, cutoffs[0]), "fair": (cutoffs[0], cutoffs[1]), "good": (cutoffs[1], 1.0)}[v]


# ---- reading survey files -----------------------------------------------------------------------


@dataclass
class SurveyMapping:
    """How raw Likert answers become indicator scores.

    ``items`` maps item column -> indicator; ``reverse`` lists negatively worded items
    (scored ``scale_min + scale_max - answer``); a respondent is favourable on an indicator
    when the mean of their answers to its items is ``>= favourable_min``. The default is the
    scale midpoint: "not unfavourable", so a neutral answer counts, mirroring the review
    side where a neutral mention counts as not negative.
    """

    items: dict[str, str]
    scale_min: float = 1
    scale_max: float = 5
    favourable_min: float | None = None
    reverse: list[str] = field(default_factory=list)
    origin: str = "--map"

    def is_favourable(self, mean: float) -> bool:
        if self.favourable_min is not None:
            return mean >= self.favourable_min
        return mean >= (self.scale_min + self.scale_max) / 2


def parse_scale(text: str, where: str = "--scale") -> tuple[float, float]:
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[:,]\s*(-?\d+(?:\.\d+)?)\s*", str(text))
    if not m or float(m.group(1)) >= float(m.group(2)):
        raise InputError(f"bad {where} {text!r}: use MIN:MAX with MIN < MAX, e.g. 1:5")
    return float(m.group(1)), float(m.group(2))


def load_mapping(path) -> SurveyMapping:
    """Read a mapping TOML (see ``data/survey/example_raw_responses.toml``)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{path}: mapping file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: TOML nested too deeply to be a survey mapping") from None
    unknown = set(doc) - {"items", "scale", "favourable_min", "reverse"}
    if unknown:
        raise InputError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (expected items, scale, "
                         "favourable_min, reverse)")
    items = doc.get("items")
    if not isinstance(items, dict) or not items:
        raise InputError(f"{path}: needs an [items] table mapping item columns to indicators")
    mapping = SurveyMapping(items={}, origin=str(path))
    for item, ind in items.items():
        key = canonical_indicator(ind) if isinstance(ind, str) else None
        if key is None:
            raise InputError(f"{path}: [items] {item} = {ind!r}: unknown indicator (expected one of "
                             f"{', '.join(INDICATORS)})")
        mapping.items[str(item)] = key
    if "scale" in doc:
        s = doc["scale"]
        if not (isinstance(s, list) and len(s) == 2 and all(isinstance(v, (int, float)) for v in s) and s[0] < s[1]):
            raise InputError(f"{path}: scale must be [MIN, MAX] with MIN < MAX, e.g. scale = [1, 5]")
        mapping.scale_min, mapping.scale_max = float(s[0]), float(s[1])
    if "favourable_min" in doc:
        f = doc["favourable_min"]
        if not isinstance(f, (int, float)) or not mapping.scale_min <= f <= mapping.scale_max:
            raise InputError(f"{path}: favourable_min must be a number on the scale "
                             f"{mapping.scale_min:g}..{mapping.scale_max:g}")
        mapping.favourable_min = float(f)
    rev = doc.get("reverse", [])
    if not isinstance(rev, list) or any(r not in mapping.items for r in rev):
        raise InputError(f"{path}: reverse must list item columns that appear in [items]")
    mapping.reverse = [str(r) for r in rev]
    return mapping


def parse_mapping(specs, scale: str | None = None) -> SurveyMapping | None:
    """CLI ``--map`` values: one TOML file, or ``item=indicator`` pairs (with ``--scale MIN:MAX``)."""
    specs = [s for s in (specs or []) if s]
    if not specs:
        if scale:
            raise InputError("--scale only applies to raw responses: give --map as well")
        return None
    files = [s for s in specs if "=" not in s]
    if files:
        if len(specs) > 1:
            raise InputError("--map takes either one mapping file or ITEM=INDICATOR pairs, not both")
        mapping = load_mapping(files[0])
    else:
        mapping = SurveyMapping(items={})
        for spec in specs:
            item, _, ind = spec.partition("=")
            key = canonical_indicator(ind)
            if not item.strip() or key is None:
                raise InputError(f"bad --map {spec!r}: use ITEM=INDICATOR with one of {', '.join(INDICATORS)}")
            mapping.items[item.strip()] = key
    if scale:
        mapping.scale_min, mapping.scale_max = parse_scale(scale)
    return mapping


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header (lower-cased) and ``(line number, row)`` pairs; ``,`` ``;`` or tab separated."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: survey file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a survey file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (save the survey as CSV UTF-8)") from None
    if not text.strip():
        raise InputError(f"{path}: empty file (expected a header line and one row per indicator or respondent)")
    first = text.splitlines()[0]
    delim = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    header = [h.strip().lower() for h in next(reader)]
    seen = set()
    for h in header:
        if not h:
            raise InputError(f"{path}: line 1: a column has no name")
        if h in seen:
            raise InputError(f"{path}: line 1: column {h!r} appears twice")
        seen.add(h)
    rows = []
    for rec in reader:
        if not any(c.strip() for c in rec):
            continue  # blank lines
        if len(rec) > len(header):
            raise InputError(f"{path}: line {reader.line_num}: {len(rec)} cells but the header has {len(header)} columns")
        rows.append((reader.line_num, {h: (rec[i].strip() if i < len(rec) else "") for i, h in enumerate(header)}))
    return header, rows


def _number(path, line, col, text, *, integer=False):
    if text == "":
        return math.nan
    try:
        # A decimal comma ("3,5") is common in Indonesian spreadsheets (semicolon-separated).
        decimal_comma = not integer and text.count(",") == 1 and "." not in text
        v = float(text.replace(",", ".")) if decimal_comma else float(text)
    except ValueError:
        raise InputError(f"{path}: line {line}, column {col!r}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{path}: line {line}, column {col!r}: {text!r} is not a finite number")
    if integer and (v != int(v) or v < 1):
        raise InputError(f"{path}: line {line}, column {col!r}: {text!r} is not a whole number of at least 1")
    return v


def _t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def _norm(v, lo, hi):
    return min(1.0, max(0.0, (v - lo) / (hi - lo))) if pd.notna(v) else math.nan


def _finish(df: pd.DataFrame, cutoffs) -> pd.DataFrame:
    """Pick each row's comparable measure (favourable share, else normalised score) and verdict."""
    out = []
    for r in df.to_dict("records"):
        if pd.notna(r["favourable_share"]):
            r.update(measure="favourable_share", value=r["favourable_share"],
                     value_low=r["favourable_low"], value_high=r["favourable_high"])
        elif pd.notna(r["score_norm"]):
            r.update(measure="score", value=r["score_norm"],
                     value_low=r["score_norm_low"], value_high=r["score_norm_high"])
        else:
            r.update(measure="verdict", value=math.nan, value_low=math.nan, value_high=math.nan)
        if isinstance(r["verdict"], str) and r["verdict"]:
            r.update(survey_verdict=r["verdict"], verdict_from="published")
        else:
            r.update(survey_verdict=verdict(r["value"], cutoffs), verdict_from=r["measure"])
        out.append(r)
    res = pd.DataFrame(out, columns=SURVEY_COLUMNS)
    res["respondents"] = res["respondents"].astype("Float64").astype("Int64")  # "40", not "40.0"
    order = {k: i for i, k in enumerate(INDICATORS)}
    return res.sort_values("indicator", key=lambda s: s.map(order)).reset_index(drop=True)


def _load_summary(path: Path, header: list[str], rows, cutoffs) -> pd.DataFrame:
    header = [_COLUMN_ALIASES.get(h, h) for h in header]
    rows = [(line, {_COLUMN_ALIASES.get(k, k): v for k, v in r.items()}) for line, r in rows]
    unknown = [h for h in header if h not in SUMMARY_COLUMNS]
    if unknown:
        raise InputError(f"{path}: line 1: unknown column {unknown[0]!r} (expected: {', '.join(SUMMARY_COLUMNS)})")
    if not {"score", "favourable_share", "verdict"} & set(header):
        raise InputError(f"{path}: line 1: missing column: needs at least one of 'score', 'favourable_share', "
                         "'verdict'")
    if "score" in header:
        for col in ("scale_min", "scale_max"):
            if col not in header:
                raise InputError(f"{path}: line 1: missing column {col!r} (a 'score' needs its scale)")
    if not rows:
        raise InputError(f"{path}: no rows after the header (expected one row per indicator)")
    out, seen = [], {}
    for line, r in rows:
        g = lambda c: r.get(c, "")  # noqa: E731
        raw_ind = g("indicator")
        ind = canonical_indicator(raw_ind)
        if not raw_ind:
            raise InputError(f"{path}: line {line}, column 'indicator': empty")
        if ind is None:
            raise InputError(f"{path}: line {line}, column 'indicator': unknown indicator {raw_ind!r} "
                             f"(expected one of {', '.join(DISPLAY.values())})")
        if ind in seen:
            raise InputError(f"{path}: line {line}, column 'indicator': {raw_ind!r} already given on line {seen[ind]}")
        seen[ind] = line
        n = _number(path, line, "respondents", g("respondents"), integer=True)
        score = _number(path, line, "score", g("score"))
        smin = _number(path, line, "scale_min", g("scale_min"))
        smax = _number(path, line, "scale_max", g("scale_max"))
        sd = _number(path, line, "score_sd", g("score_sd"))
        share = _number(path, line, "favourable_share", g("favourable_share"))
        vtext = g("verdict").lower()
        v = VERDICT_WORDS.get(vtext) if vtext else None
        if vtext and v is None:
            raise InputError(f"{path}: line {line}, column 'verdict': {g('verdict')!r} is not one of poor, fair, good")
        if pd.isna(score) and pd.isna(share) and v is None:
            raise InputError(f"{path}: line {line}: needs a score, a favourable_share or a verdict")
        if pd.notna(score):
            for col, val in (("scale_min", smin), ("scale_max", smax)):
                if pd.isna(val):
                    raise InputError(f"{path}: line {line}, column {col!r}: empty, but the score needs its scale")
            if smin >= smax:
                raise InputError(f"{path}: line {line}, column 'scale_max': {smax:g} is not above scale_min {smin:g}")
            if not smin <= score <= smax:
                raise InputError(f"{path}: line {line}, column 'score': {score:g} is outside its scale "
                                 f"{smin:g}..{smax:g}")
        if pd.notna(sd) and (sd < 0 or pd.isna(score)):
            raise InputError(f"{path}: line {line}, column 'score_sd': needs a score and must not be negative")
        if pd.notna(share) and not 0 <= share <= 1:
            raise InputError(f"{path}: line {line}, column 'favourable_share': {share:g} is outside 0..1 "
                             "(write 65% as 0.65)")
        norm = _norm(score, smin, smax) if pd.notna(score) else math.nan
        nlo = nhi = math.nan
        if pd.notna(sd) and pd.notna(n) and n >= 2:
            half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
            nlo, nhi = _norm(score - half, smin, smax), _norm(score + half, smin, smax)
        flo, fhi = wilson(share * n, int(n)) if pd.notna(share) and pd.notna(n) else (math.nan, math.nan)
        out.append(dict(
            indicator=ind, respondents=n, score=score, scale_min=smin, scale_max=smax,
            score_norm=norm, score_norm_low=nlo, score_norm_high=nhi,
            favourable_share=share, favourable_low=flo, favourable_high=fhi, verdict=v, format="summary",
        ))
    return _finish(pd.DataFrame(out), cutoffs)


def _load_raw(path: Path, header: list[str], rows, mapping: SurveyMapping, cutoffs) -> pd.DataFrame:
    missing = [item for item in mapping.items if item.lower() not in header]
    if missing:
        raise InputError(f"{path}: line 1: missing column {missing[0]!r} (named in the mapping {mapping.origin})")
    if not rows:
        raise InputError(f"{path}: no rows after the header (expected one row per respondent)")
    lo, hi = mapping.scale_min, mapping.scale_max
    reverse = {r.lower() for r in mapping.reverse}
    by_ind: dict[str, list[str]] = {}
    for item, ind in mapping.items.items():
        by_ind.setdefault(ind, []).append(item.lower())
    answers: dict[str, list[list[float]]] = {ind: [] for ind in by_ind}
    for line, r in rows:
        for ind, items in by_ind.items():
            vals = []
            for item in items:
                v = _number(path, line, item, r[item])
                if pd.isna(v):
                    continue
                if not lo <= v <= hi:
                    raise InputError(f"{path}: line {line}, column {item!r}: {v:g} is outside the scale {lo:g}..{hi:g}")
                vals.append(lo + hi - v if item in reverse else v)
            answers[ind].append(vals)
    out = []
    for ind, per_resp in answers.items():
        means = np.array([sum(v) / len(v) for v in per_resp if v], dtype=float)
        n = len(means)
        if n == 0:
            raise InputError(f"{path}: no answers at all for indicator {DISPLAY[ind]!r} "
                             f"(columns {', '.join(by_ind[ind])})")
        mean, mlo, mhi = _t_interval(means)
        fav = int(sum(mapping.is_favourable(m) for m in means))
        flo, fhi = wilson(fav, n)
        out.append(dict(
            indicator=ind, respondents=float(n), score=mean, scale_min=lo, scale_max=hi,
            score_norm=_norm(mean, lo, hi), score_norm_low=_norm(mlo, lo, hi), score_norm_high=_norm(mhi, lo, hi),
            favourable_share=fav / n, favourable_low=flo, favourable_high=fhi, verdict=None, format="raw",
        ))
    return _finish(pd.DataFrame(out), cutoffs)


def load_survey(path, mapping=None, cutoffs: tuple[float, float] = CUTOFFS) -> pd.DataFrame:
    """Read a survey file into one row per indicator (columns: ``SURVEY_COLUMNS``).

    ``mapping`` (a :class:`SurveyMapping`, a TOML path, or ``{item: indicator}``) means the
    file holds raw responses; without it the file must be a summary with an ``indicator``
    column. Each row's ``measure`` is the comparable number: the favourable share when
    known, else the score normalised to 0..1 (``(score - min) / (max - min)``), else only the
    published verdict. ``survey_verdict`` is the published verdict when given, else the
    verdict of ``value`` under ``cutoffs``. Any malformed input raises one ``InputError``
    naming the file, line and column. A relative path that does not exist from the current
    folder is also looked up in the installation (``data/survey/x.csv`` works from anywhere).
    """
    path = resolve_data_file(path)
    header, rows = _read_rows(path)
    if mapping is not None:
        if isinstance(mapping, (str, Path)):
            mapping = load_mapping(mapping)
        elif isinstance(mapping, dict):
            mapping = parse_mapping([f"{k}={v}" for k, v in mapping.items()])
        df = _load_raw(path, header, rows, mapping, cutoffs)
    elif "indicator" in header:
        df = _load_summary(path, header, rows, cutoffs)
    else:
        raise InputError(f"{path}: line 1: missing column 'indicator'; for raw responses (one row per "
                         "respondent) give a mapping: --map items.toml or --map ITEM=INDICATOR")
    df.attrs["source"] = str(path)
    return df


def resolve_data_file(path) -> Path:
    """``path`` as given when it exists, else the shipped file of that name (repository root, then data/)."""
    from .paths import DATA_DIR

    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    for base in (DATA_DIR.parent, DATA_DIR, DATA_DIR / "survey"):
        if (base / path).exists():
            return base / path
    return path


# ---- the review side ----------------------------------------------------------------------------


def parse_window(window) -> tuple[datetime | None, datetime | None]:
    """``"2023-01-01:2023-06-30"`` (either end may be empty) -> (start, end) dates, end inclusive."""
    if window is None or window == "":
        return (None, None)
    if isinstance(window, (tuple, list)):
        start, end = window
    else:
        m = re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2})?\s*:\s*(\d{4}-\d{2}-\d{2})?\s*", str(window))
        if not m or not (m.group(1) or m.group(2)):
            raise InputError(f"bad --window {window!r}: use START:END as YYYY-MM-DD:YYYY-MM-DD")
        start, end = m.group(1), m.group(2)
    s, e = parse_date(start, "--window start"), parse_date(end, "--window end")
    if s and e and e < s:
        raise InputError(f"bad --window {window!r}: the end is before the start")
    return s, e


def review_side(store: Store, window=None, model: str | None = None, source=None, app=None,
                basis: str = "polarity") -> pd.DataFrame:
    """Per indicator: labelled mentions, those not unfavourable, favourability and its Wilson interval.

    ``source``/``app`` (a name or a list) keep only those mentions (see ``trends.select_mentions``).

    ``basis="polarity"`` (default): a tagged mention counts against an indicator when *that
    indicator's* polarity is a complaint: the tag's own cue, else the review's sentiment
    (:func:`nlp.codebook.tag_polarity`), so a review praising the app but saying the report was
    never answered counts against penanggapan only. ``basis="sentiment"``: the earlier
    definition, the review's sentiment alone (not negative = favourable); it is also returned
    as ``review_favourability_sentiment`` for comparison.
    """
    if basis not in BASES:
        raise InputError(f"unknown favourability basis {basis!r} (use {' or '.join(BASES)})")
    start, end = parse_window(window)
    n_all, ok_pol, ok_sent = Counter(), Counter(), Counter()
    # Per chunk of mention ids (all of a mention's tags in one chunk, so de-duplicating display
    # names stays exact): counts are all the table needs, so memory does not grow with the store.
    for df in _review_chunks(store, model):
        df = select_mentions(df, source, app)
        df["indicator"] = [canonical_indicator(i) or str(i) for i in df["indicator"]]
        df = df.drop_duplicates(["mention_id", "indicator"])
        t = pd.to_datetime(df["created_at"]).fillna(pd.to_datetime(df["fetched_at"]))
        keep = df["label"].isin(["positive", "neutral", "negative"])
        if start is not None:
            keep &= t >= start
        if end is not None:
            keep &= t < end + timedelta(days=1)
        df = df[keep]
        polarity_ok = pd.Series([tag_polarity(s, lbl) != "-" for s, lbl in zip(df["signal"], df["label"])],
                                index=df.index, dtype=bool)
        n_all.update(df["indicator"].value_counts().to_dict())
        ok_pol.update(df.loc[polarity_ok, "indicator"].value_counts().to_dict())
        ok_sent.update(df.loc[df["label"] != "negative", "indicator"].value_counts().to_dict())
    rows = []
    for ind in INDICATORS:
        n = int(n_all[ind])
        ok = int((ok_pol if basis == "polarity" else ok_sent)[ind])
        ok_sent_n = int(ok_sent[ind])
        lo, hi = wilson(ok, n)
        rows.append(dict(indicator=ind, review_mentions=n, review_not_negative=ok,
                         review_favourability=ok / n if n else math.nan, review_low=lo, review_high=hi,
                         review_favourability_sentiment=ok_sent_n / n if n else math.nan, basis=basis))
    return pd.DataFrame(rows)


def _review_chunks(store: Store, model: str | None):
    """Labelled tags joined with their mention, one mention-id range at a time."""
    if not model:
        return
    q = (
        select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal, sentiments.c.label,
               mentions.c.created_at, mentions.c.fetched_at, mentions.c.source, mentions.c.app)
        .join(mentions, mentions.c.id == indicators.c.mention_id)
        .join(sentiments, (sentiments.c.mention_id == indicators.c.mention_id) & (sentiments.c.model == model))
    )
    with store.engine.connect() as conn:
        for lo, hi in id_ranges(conn, indicators.c.mention_id):
            yield pd.read_sql(q.where(indicators.c.mention_id.between(lo, hi)), conn)


def rank_correlation(tri: pd.DataFrame, min_mentions: int = MIN_MENTIONS) -> dict:
    """Spearman's rho between survey value and review favourability across indicators.

    Uses the indicators with a number on both sides and enough mentions; ``rho`` is NaN
    (with ``reason``) when fewer than ``MIN_RANK_POINTS`` remain or a side does not vary.
    """
    ok = tri[tri["survey_value"].notna() & tri["review_favourability"].notna()
             & (tri["review_mentions"] >= min_mentions)]
    n = len(ok)
    res = {"rho": math.nan, "p": math.nan, "n": n, "reason": ""}
    if n < MIN_RANK_POINTS:
        res["reason"] = (f"only {n} indicator(s) have a survey number and at least {min_mentions} labelled "
                         f"mentions; a rank correlation needs {MIN_RANK_POINTS} or more")
    elif ok["survey_value"].nunique() < 2 or ok["review_favourability"].nunique() < 2:
        res["reason"] = "one side gives every indicator the same value, so there is no ranking to compare"
    else:
        r = stats.spearmanr(ok["survey_value"], ok["review_favourability"])
        res.update(rho=float(r.statistic), p=float(r.pvalue))
    return res


def triangulate(store: Store, survey, window=None, model: str | None = None,
                min_mentions: int = MIN_MENTIONS, cutoffs: tuple[float, float] = CUTOFFS,
                source=None, app=None, basis: str = "polarity") -> pd.DataFrame:
    """Survey versus reviews, one row per indicator (columns: ``TRIANGULATION_COLUMNS``).

    ``survey`` is a :func:`load_survey` frame or a summary-file path. ``agreement`` is
    ``converge`` (same verdict), ``diverge``, ``too few`` (fewer than ``min_mentions``
    labelled mentions carry the indicator) or ``no survey``. The Spearman columns hold the
    same across-indicator figures on every row.
    """
    if not isinstance(survey, pd.DataFrame):
        survey = load_survey(survey, cutoffs=cutoffs)
    start, end = parse_window(window)
    model = choose_model(store, model)
    rev = review_side(store, (start, end), model, source, app, basis=basis)
    surv = survey.set_index("indicator")
    rows = []
    for r in rev.to_dict("records"):
        ind = r["indicator"]
        s = surv.loc[ind] if ind in surv.index else None
        rv = verdict(r["review_favourability"], cutoffs)
        row = dict(
            indicator=ind,
            survey_measure=s["measure"] if s is not None else "",
            survey_respondents=s["respondents"] if s is not None else math.nan,
            survey_value=s["value"] if s is not None else math.nan,
            survey_low=s["value_low"] if s is not None else math.nan,
            survey_high=s["value_high"] if s is not None else math.nan,
            survey_verdict=_text(s["survey_verdict"]) if s is not None else "",
            survey_verdict_from=_text(s["verdict_from"]) if s is not None else "",
            **{k: r[k] for k in ("review_mentions", "review_not_negative", "review_favourability",
                                 "review_low", "review_high", "review_favourability_sentiment", "basis")},
            review_verdict=rv or "",
            window_start=start.date().isoformat() if start else "",
            window_end=end.date().isoformat() if end else "",
            model=model or "",
        )
        row["agreement"], row["note"] = _agree(row, min_mentions, cutoffs)
        rows.append(row)
    tri = pd.DataFrame(rows)
    tri["survey_respondents"] = pd.array(tri["survey_respondents"].astype(object).where(
        tri["survey_respondents"].notna(), None), dtype="Int64")
    rc = rank_correlation(tri, min_mentions)
    tri["spearman_rho"], tri["spearman_p"], tri["spearman_n"] = rc["rho"], rc["p"], rc["n"]
    tri.attrs["spearman"] = rc
    from .validate import apply_validation, validation_block

    block = validation_block(store, model)
    tri = apply_validation(tri, block, min_mentions, cutoffs)
    tri.attrs["validation"] = block
    return tri[TRIANGULATION_COLUMNS]


def _text(v) -> str:
    return v if isinstance(v, str) else ""


def _agree(row: dict, min_mentions: int, cutoffs) -> tuple[str, str]:
    n = row["review_mentions"]
    if not row["survey_verdict"]:
        return "no survey", "the survey file has no row for this indicator"
    if n < min_mentions:
        have = f"only {n} labelled mention(s) carry" if n else "no labelled mention carries"
        return "too few", f"{have} this indicator; {min_mentions} are needed to judge"
    if row["review_verdict"] == row["survey_verdict"]:
        return "converge", ""
    more = VERDICTS.index(row["review_verdict"]) > VERDICTS.index(row["survey_verdict"])
    note = f"reviews are {'more' if more else 'less'} favourable than the survey"
    lo, hi = verdict_band(row["survey_verdict"], cutoffs)
    if row["review_low"] < hi and row["review_high"] >= lo:
        note += "; borderline: the reviews' 95% interval reaches the survey's verdict band"
    return "diverge", note


# ---- writing ------------------------------------------------------------------------------------


def _fmt(v, pct=False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.0%}" if pct else f"{v:.2f}"


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(tri: pd.DataFrame, meta: dict, min_mentions: int = MIN_MENTIONS,
                    cutoffs: tuple[float, float] = CUTOFFS) -> str:
    """``triangulation.md``: provenance, the per-indicator table, notes and the rank correlation."""
    rc = tri.attrs.get("spearman") or rank_correlation(tri, min_mentions)
    lines = ["# Triangulation: survey versus what citizens write", ""]
    lines += [f"- **{_md_cell(k)}**: {_md_cell(v)}" for k, v in meta.items()]
    lines += [
        f"- **verdict cutoffs** (0..1 favourability): poor below {cutoffs[0]:g}, fair {cutoffs[0]:g} up to "
        f"{cutoffs[1]:g}, good from {cutoffs[1]:g}",
        f"- **too few**: fewer than {min_mentions} labelled mentions carry the indicator",
        "",
        "| Indicator | Survey | Survey verdict | Reviews: not negative (95% CI) | Mentions | Review verdict | Agreement |",
        "|---|---|---|---|---:|---|---|",
    ]
    for r in tri.to_dict("records"):
        if r["survey_measure"] in ("score", "favourable_share"):
            what = "normalised score" if r["survey_measure"] == "score" else "favourable"
            survey = f"{_fmt(r['survey_value'])} {what}"
            if pd.notna(r["survey_low"]):
                survey += f" ({_fmt(r['survey_low'])}–{_fmt(r['survey_high'])})"
            if pd.notna(r["survey_respondents"]):
                survey += f", n={int(r['survey_respondents'])}"
        elif r["survey_measure"] == "verdict":
            survey = "direction only"
        else:
            survey = "–"
        sv = r["survey_verdict"] + (" (published)" if r["survey_verdict_from"] == "published" else "") \
            if r["survey_verdict"] else "–"
        reviews = (f"{_fmt(r['review_favourability'], True)} ({_fmt(r['review_low'], True)}–"
                   f"{_fmt(r['review_high'], True)})") if r["review_mentions"] else "–"
        lines.append("| " + " | ".join(_md_cell(c) for c in (
            DISPLAY.get(r["indicator"], r["indicator"]), survey, sv, reviews, r["review_mentions"],
            r["review_verdict"] or "–", r["agreement"])) + " |")
    notes = [(DISPLAY.get(r["indicator"], r["indicator"]), r["note"]) for r in tri.to_dict("records") if r["note"]]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {_md_cell(k)}: {_md_cell(v)}" for k, v in notes]
    lines += ["", "## Rank correlation across indicators", ""]
    if pd.notna(rc["rho"]):
        lines.append(f"Spearman's ρ = {rc['rho']:.2f} (p = {rc['p']:.2f}) over {rc['n']} indicators where both "
                     "sides have a number. With six indicators at most this is weak evidence: one indicator "
                     "moving one rank changes ρ a lot, and the p-value rests on very few points.")
    else:
        lines.append(f"Not computed: {rc['reason']}. (With six indicators at most it would be weak evidence "
                     "in any case.)")
    counts = tri["agreement"].value_counts()
    lines += [
        "",
        "## How to read this",
        "",
        "- Review favourability is the share of mentions carrying the indicator that the sentiment model did "
        "not label negative (neutral counts as not negative), with a 95% Wilson interval.",
        "- The survey number is its favourable share when known, else its score normalised to 0..1 as "
        "(score − scale_min) / (scale_max − scale_min); a published verdict is used as stated.",
        "- Reviews are self-selected (people write when something goes wrong) and indicator tags come from a "
        "phrase taxonomy; treat agreement as corroboration, not proof.",
        "",
        "Summary: " + ", ".join(f"{k} {int(counts.get(k, 0))}" for k in ("converge", "diverge", "too few", "no survey")
                                 if counts.get(k, 0)) + ".",
        "",
    ]
    from .validate import validation_markdown

    return "\n".join(lines) + validation_markdown(tri.attrs.get("validation"))


def write_triangulation(store: Store, survey, out_dir, window=None, model: str | None = None,
                        mapping=None, min_mentions: int = MIN_MENTIONS,
                        cutoffs: tuple[float, float] = CUTOFFS, source=None, app=None,
                        basis: str = "polarity") -> dict[str, Path]:
    """Write ``triangulation.csv``, ``triangulation.md`` and ``triangulation_dumbbell.png``.

    ``survey`` is a path (read with ``mapping`` if given) or a :func:`load_survey` frame.
    Raises ``SuaraError`` when the store has no mentions at all.
    """
    parse_window(window)
    if not isinstance(survey, pd.DataFrame):
        survey = load_survey(survey, mapping, cutoffs)
    if store.count_mentions() == 0:
        raise SuaraError(f"the store {store.safe_url} has no mentions yet: crawl or import some first")
    model = choose_model(store, model)
    tri = triangulate(store, survey, window, model, min_mentions, cutoffs, source, app, basis)
    out_dir = Path(out_dir)
    paths = {"triangulation": write_csv(tri.round(4), out_dir / "triangulation.csv")}
    start, end = parse_window(window)
    meta = {
        "survey": f"{survey.attrs.get('source', '(in memory)')} ({survey['format'].iloc[0]} format)"
        if len(survey) else "(empty)",
        "review window": f"{start.date() if start else 'first mention'} to {end.date() if end else 'last mention'}",
        "favourability": ("share of tagged mentions whose indicator polarity is not a complaint "
                          "(the tag's cue, else the review's sentiment)") if basis == "polarity"
        else "share of tagged mentions whose review sentiment is not negative (earlier definition)",
    }
    meta.update(provenance(store, model))
    paths["markdown"] = out_dir / "triangulation.md"
    write_text(paths["markdown"], render_markdown(tri, meta, min_mentions, cutoffs))
    from .report import plot_dumbbell

    paths["chart"] = plot_dumbbell(tri, out_dir / "triangulation_dumbbell.png")
    return paths
