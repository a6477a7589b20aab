"""Trends: sentiment, indicators and developer responsiveness per calendar period.

Each table is a plain function returning a DataFrame (call them from a notebook);
:func:`write_trends` writes the three CSVs, the charts and ``report.html``.

Conventions shared by every table
---------------------------------
* A mention belongs to the period of its ``created_at`` (``fetched_at`` when the source
  gave no creation time). Periods are labelled ``2024-01`` (month), ``2024-W05`` (ISO
  week, Monday to Sunday, ISO year) or ``2024-Q1`` (quarter).
* Every period between ``since``/``until`` (or the first and last mention) appears for
  every source/app (or indicator) the store holds, with zeros where nothing was said.
* One sentiment model per file: ``model`` if given, else the model that labelled the most
  mentions. Shares are over the mentions that model labelled; ``mentions`` counts all.
* Rows are ordered by period, then source and app (or indicator in taxonomy order).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm
from sqlalchemy import func, select

from nlp.indicators import INDICATORS  # the six, in the order reports list them

from .errors import InputError, SuaraError
from .outputs import write_csv
from .store import Store, indicators, mentions, sentiments

DISPLAY = {k: k.replace("_", " ") for k in INDICATORS}

PERIODS = {"week": "W-SUN", "month": "M", "quarter": "Q"}

SENTIMENT_COLUMNS = [
    "period", "source", "app", "mentions", "positive", "neutral", "negative",
    "negative_share", "negative_share_low", "negative_share_high", "net_sentiment",
    "mean_rating", "model",
]
INDICATOR_COLUMNS = [
    "period", "indicator", "mentions", "complaints",
    "negative_share", "negative_share_low", "negative_share_high", "model",
]
RESPONSIVENESS_COLUMNS = [
    "period", "source", "app", "reviews", "replied", "reply_rate", "median_reply_latency_days", "model",
]

# Decimal places written to the CSVs (the DataFrames keep full precision).
_ROUND = 4


def canonical_indicator(name: str) -> str | None:
    """``"kemudahan akses"``, ``"Kemudahan-Akses"`` or ``"kemudahan_akses"`` -> ``"kemudahan_akses"``."""
    key = "_".join(str(name).strip().lower().replace("-", " ").replace("_", " ").split())
    return key if key in INDICATORS else None


# ---- statistics -------------------------------------------------------------------------------


def wilson_arrays(k, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`wilson`: arrays of successes and trials -> (low, high) arrays."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        # At k == 0 (k == n) the bound is exactly 0 (1); floating point can land a hair inside,
        # which would put the point estimate outside its own interval.
        low = np.where(n > 0, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
        high = np.where(n > 0, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def wilson(k: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (NaNs when ``n`` is 0).

    Wilson rather than the normal approximation because many periods hold a handful
    of mentions and shares near 0 or 1, where the normal interval leaves [0, 1].
    """
    low, high = wilson_arrays([k], [n], confidence)
    return (float(low[0]), float(high[0]))


# ---- arguments --------------------------------------------------------------------------------


def parse_date(value, what: str = "date") -> datetime | None:
    """``YYYY-MM-DD`` (or a full ISO time) -> naive datetime; ``None``/empty stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"bad {what} {value!r}: use YYYY-MM-DD") from None


def _until_exclusive(until) -> datetime | None:
    """A bare date means the whole day: ``--until 2024-03-31`` includes the 31st."""
    u = parse_date(until, "--until date")
    if u is None:
        return None
    if isinstance(until, str) and len(until.strip()) == 10 or (isinstance(until, date) and not isinstance(until, datetime)):
        return u + timedelta(days=1)
    return u + timedelta(microseconds=1)


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InputError(f"bad period {period!r}: use one of {', '.join(PERIODS)}")
    return period


def period_label(p: pd.Period, period: str) -> str:
    if period == "week":
        y, w, _ = p.start_time.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "quarter":
        return f"{p.year}-Q{p.quarter}"
    return f"{p.year}-{p.month:02d}"


def _periods(times: pd.Series, period: str) -> pd.Series:
    return times.dt.to_period(PERIODS[period])


def _calendar(period: str, start, end) -> list[pd.Period]:
    return list(pd.period_range(pd.Timestamp(start).to_period(PERIODS[period]),
                                pd.Timestamp(end).to_period(PERIODS[period]), freq=PERIODS[period]))


# ---- loading ----------------------------------------------------------------------------------


def model_counts(store: Store) -> pd.Series:
    """Mentions labelled per sentiment model, most first (ties by name)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(sentiments.c.model, func.count()).group_by(sentiments.c.model)
        ).all()
    s = pd.Series({m: int(n) for m, n in rows}, dtype="int64")
    return s.sort_index().sort_values(ascending=False, kind="stable")


def choose_model(store: Store, model: str | None = None) -> str | None:
    """``model`` if the store has its labels, else the model that labelled the most mentions.

    ``None`` when no mention has been labelled yet.
    """
    counts = model_counts(store)
    if model:
        if model not in counts.index:
            known = ", ".join(counts.index) or "none yet"
            raise InputError(f"no sentiment labels from model {model!r} in the store (models: {known})")
        return model
    return str(counts.index[0]) if len(counts) else None


def _load(store: Store, model: str | None) -> pd.DataFrame:
    """One row per mention with its time and the chosen model's label (NaN if unlabelled)."""
    cols = [mentions.c.id, mentions.c.source, mentions.c.app, mentions.c.kind, mentions.c.rating,
            mentions.c.created_at, mentions.c.fetched_at, mentions.c.reply_text, mentions.c.reply_at]
    with store.engine.connect() as conn:
        df = pd.read_sql(select(*cols).order_by(mentions.c.id), conn)
        if model is not None:
            lab = pd.read_sql(
                select(sentiments.c.mention_id, sentiments.c.label).where(sentiments.c.model == model), conn
            )
        else:
            lab = pd.DataFrame({"mention_id": pd.Series(dtype="int64"), "label": pd.Series(dtype=object)})
    df = df.merge(lab.rename(columns={"mention_id": "id"}), on="id", how="left")
    for c in ("created_at", "fetched_at", "reply_at"):
        df[c] = pd.to_datetime(df[c])
    df["time"] = df["created_at"].fillna(df["fetched_at"])
    df["rating"] = pd.to_numeric(df["rating"], errors="coerce")
    df["label"] = df["label"].where(df["label"].isin(["positive", "neutral", "negative"]))
    return df


def _window(df: pd.DataFrame, since, until) -> pd.DataFrame:
    s = parse_date(since, "--since date")
    u = _until_exclusive(until)
    if s is not None and u is not None and u <= s:
        raise InputError(f"--until ({until}) is before --since ({since})")
    keep = pd.Series(True, index=df.index)
    if s is not None:
        keep &= df["time"] >= s
    if u is not None:
        keep &= df["time"] < u
    return df[keep]


def _range(df: pd.DataFrame, since, until) -> tuple | None:
    start = parse_date(since) if since else (df["time"].min() if len(df) else None)
    end = (_until_exclusive(until) - timedelta(microseconds=1)) if until else (df["time"].max() if len(df) else None)
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return None
    return start, end


def _flags(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(
        _pos=(df["label"] == "positive").astype(int),
        _neu=(df["label"] == "neutral").astype(int),
        _neg=(df["label"] == "negative").astype(int),
    )


def _grid(agg: pd.DataFrame, calendar: list[pd.Period], keys: list[tuple], names: list[str],
          counts: list[str], period: str) -> pd.DataFrame:
    """Every period x key, with zero counts where ``agg`` (indexed by ``_p`` + names) has no row."""
    idx = pd.MultiIndex.from_tuples([(p, *k) for p in calendar for k in keys], names=["_p", *names])
    full = agg.reindex(idx)
    full[counts] = full[counts].fillna(0).astype(int)
    full = full.reset_index()
    labels = {p: period_label(p, period) for p in calendar}
    full.insert(0, "period", full.pop("_p").map(labels))
    return full


def _shares(df: pd.DataFrame, k: str, n: pd.Series) -> None:
    n = n.astype(float)
    df["negative_share"] = (df[k] / n).where(n > 0)
    df["negative_share_low"], df["negative_share_high"] = wilson_arrays(df[k], n)


def _source_apps(allm: pd.DataFrame) -> list[tuple]:
    return list(allm[["source", "app"]].drop_duplicates().sort_values(["source", "app"]).itertuples(index=False, name=None))


# ---- tables -----------------------------------------------------------------------------------


def sentiment_by_period(store: Store, period: str = "month", since=None, until=None,
                        model: str | None = None) -> pd.DataFrame:
    """Mentions and sentiment per period and source/app (columns: ``SENTIMENT_COLUMNS``).

    ``negative_share`` is negative / labelled with its 95% Wilson interval;
    ``net_sentiment`` is (positive - negative) / labelled; ``mean_rating`` is the mean star
    rating of the mentions that carry one (NaN where none does).
    """
    check_period(period)
    model = choose_model(store, model)
    return _sentiment(_load(store, model), period, since, until, model)


def _sentiment(allm: pd.DataFrame, period: str, since, until, model: str | None) -> pd.DataFrame:
    df = _window(allm, since, until)
    rng = _range(df, since, until)
    if rng is None or allm.empty:
        return pd.DataFrame(columns=SENTIMENT_COLUMNS)
    df = _flags(df).assign(_p=_periods(df["time"], period))
    agg = df.groupby(["_p", "source", "app"]).agg(
        mentions=("id", "size"), positive=("_pos", "sum"), neutral=("_neu", "sum"), negative=("_neg", "sum"),
        mean_rating=("rating", "mean"),
    )
    counts = ["mentions", "positive", "neutral", "negative"]
    out = _grid(agg, _calendar(period, *rng), _source_apps(allm), ["source", "app"], counts, period)
    n = out["positive"] + out["neutral"] + out["negative"]
    _shares(out, "negative", n)
    out["net_sentiment"] = ((out["positive"] - out["negative"]) / n.astype(float)).where(n > 0)
    out["model"] = model or ""
    return out[SENTIMENT_COLUMNS]


def _tags(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        t = pd.read_sql(select(indicators.c.mention_id, indicators.c.indicator, indicators.c.taxonomy), conn)
    # Tolerate display names ("kemudahan akses") written by other tools.
    t["indicator"] = [canonical_indicator(i) or str(i) for i in t["indicator"]]
    return t.drop_duplicates(["mention_id", "indicator"])


def indicator_order(names) -> list[str]:
    """The six indicators in research order, then any others alphabetically."""
    names = set(names)
    return [i for i in INDICATORS if i in names] + sorted(names - set(INDICATORS))


def indicators_by_period(store: Store, period: str = "month", since=None, until=None,
                         model: str | None = None) -> pd.DataFrame:
    """Mentions and complaints per period and indicator (columns: ``INDICATOR_COLUMNS``).

    A complaint is a mention the model labelled negative that carries the indicator;
    ``negative_share`` is complaints / labelled mentions carrying it, with its Wilson interval.
    All six indicators appear in every period, with zero rows where nothing was tagged.
    """
    check_period(period)
    model = choose_model(store, model)
    return _indicators(_load(store, model), _tags(store), period, since, until, model)


def _indicators(allm: pd.DataFrame, tags: pd.DataFrame, period: str, since, until, model: str | None) -> pd.DataFrame:
    df = _window(allm, since, until)
    rng = _range(df, since, until)
    if rng is None:
        return pd.DataFrame(columns=INDICATOR_COLUMNS)
    df = _flags(df).assign(_p=_periods(df["time"], period))
    df["_lab"] = df["_pos"] + df["_neu"] + df["_neg"]
    tagged = tags.merge(df[["id", "_p", "_neg", "_lab"]], left_on="mention_id", right_on="id")
    agg = tagged.groupby(["_p", "indicator"]).agg(
        mentions=("id", "size"), complaints=("_neg", "sum"), _labelled=("_lab", "sum"),
    )
    # All six always appear (a silent indicator is a finding too), then any a custom taxonomy adds.
    keys = [(i,) for i in indicator_order(set(INDICATORS) | set(tags["indicator"]))]
    out = _grid(agg, _calendar(period, *rng), keys, ["indicator"], ["mentions", "complaints", "_labelled"], period)
    _shares(out, "complaints", out["_labelled"])
    out["model"] = model or ""
    return out[INDICATOR_COLUMNS]


def responsiveness_by_period(store: Store, period: str = "month", since=None, until=None,
                             model: str | None = None) -> pd.DataFrame:
    """Developer/operator replies to reviews per period and source/app (``RESPONSIVENESS_COLUMNS``).

    Only mentions of kind ``review`` count (articles and posts cannot be answered in
    place). A review is replied when it has reply text or a reply time; it is counted in
    the period it was written. Latency is reply time minus review time in days; a reply
    dated before its review (the review was edited after the answer) has no meaningful
    latency and is left out of the median. ``model`` only records provenance here.
    """
    check_period(period)
    model = choose_model(store, model)
    return _responsiveness(_load(store, model), period, since, until, model)


def _responsiveness(allm: pd.DataFrame, period: str, since, until, model: str | None) -> pd.DataFrame:
    allm = allm[allm["kind"] == "review"]
    df = _window(allm, since, until)
    rng = _range(df, since, until)
    if rng is None or allm.empty:
        return pd.DataFrame(columns=RESPONSIVENESS_COLUMNS)
    has_text = df["reply_text"].fillna("").astype(str).str.strip() != ""
    replied = has_text | df["reply_at"].notna()
    lat = (df["reply_at"] - df["time"]).dt.total_seconds() / 86400.0
    df = df.assign(_p=_periods(df["time"], period), _replied=replied.astype(int),
                   _lat=lat.where(replied & (lat >= 0)))
    agg = df.groupby(["_p", "source", "app"]).agg(
        reviews=("id", "size"), replied=("_replied", "sum"), median_reply_latency_days=("_lat", "median"),
    )
    out = _grid(agg, _calendar(period, *rng), _source_apps(allm), ["source", "app"], ["reviews", "replied"], period)
    out["reply_rate"] = (out["replied"] / out["reviews"].astype(float)).where(out["reviews"] > 0)
    out["model"] = model or ""
    return out[RESPONSIVENESS_COLUMNS]


# ---- writing ----------------------------------------------------------------------------------


def provenance(store: Store, model: str | None) -> dict:
    """What produced a report: store, model, label and tag counts, taxonomy versions."""
    counts = model_counts(store)
    with store.engine.connect() as conn:
        tax = [r[0] for r in conn.execute(select(indicators.c.taxonomy).distinct().order_by(indicators.c.taxonomy))]
    return {
        "store": store.safe_url,
        "mentions": store.count_mentions(),
        "sentiment model": model or "none (no sentiment labels in the store)",
        "mentions labelled by that model": int(counts.get(model, 0)) if model else 0,
        "other models in the store": ", ".join(m for m in counts.index if m != model) or "none",
        "indicator taxonomy": ", ".join(tax) or "none (no indicator tags in the store)",
    }


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(_ROUND)
    return out


def write_trends(store: Store, out_dir, period: str = "month", since=None, until=None,
                 model: str | None = None, triangulation: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the three trend CSVs, their charts and ``report.html`` into ``out_dir``.

    Returns ``{name: path}``. Raises ``SuaraError`` when the store has no mentions at all,
    and ``InputError`` for a bad period, date or model.
    """
    check_period(period)
    parse_date(since, "--since date")
    _until_exclusive(until)
    if store.count_mentions() == 0:
        raise SuaraError(f"the store {store.safe_url} has no mentions yet: crawl or import some first")
    model = choose_model(store, model)
    allm = _load(store, model)  # once for all three tables
    tables = {
        "sentiment_by_period": _sentiment(allm, period, since, until, model),
        "indicators_by_period": _indicators(allm, _tags(store), period, since, until, model),
        "responsiveness_by_period": _responsiveness(allm, period, since, until, model),
    }
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[name] = write_csv(_rounded(df), out_dir / f"{name}.csv")

    from . import report  # matplotlib is slow to import; only load it when writing

    meta = {"period": period, "since": str(since or "first mention"), "until": str(until or "last mention")}
    meta.update(provenance(store, model))
    paths.update(report.write_trend_report(tables, out_dir, meta, period=period, triangulation=triangulation))
    return paths
