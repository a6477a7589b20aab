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

from nlp.codebook import tag_polarity
from nlp.indicators import INDICATORS  # the six, in the order reports list them

from pipelines.errors import InputError, SuaraError
from pipelines.outputs import write_csv
from pipelines.store import Store, indicators, mentions, sentiments

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
    "source", "app",  # added: "all"/"all" on the pooled rows, else the breakdown's source and app
    "praise", "favourability", "favourability_low", "favourability_high", "negative_mentions",
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


def _as_list(v) -> list[str]:
    if v is None or v == "":
        return []
    return [str(x) for x in ([v] if isinstance(v, str) else v) if str(x) != ""]


def select_mentions(df: pd.DataFrame, source=None, app=None) -> pd.DataFrame:
    """Rows of ``df`` (with ``source``/``app`` columns) from the given source(s) and app(s).

    ``source``/``app`` are a name or a list (``--source``/``--app`` repeated); empty means all.
    A name the data does not hold keeps nothing rather than failing: a filtered report of a
    quiet app is an empty report, and :func:`check_filters` says so up front at the CLI.
    """
    keep = pd.Series(True, index=df.index)
    if _as_list(source):
        keep &= df["source"].isin(_as_list(source))
    if _as_list(app):
        keep &= df["app"].isin(_as_list(app))
    return df[keep]


def check_filters(store: Store, source=None, app=None) -> None:
    """``InputError`` naming a ``--source``/``--app`` the store has no mention of."""
    with store.engine.connect() as conn:
        pairs = conn.execute(select(mentions.c.source, mentions.c.app).distinct()).all()
    sources, apps = {s for s, _ in pairs}, {a for _, a in pairs}
    for s in _as_list(source):
        if s not in sources:
            raise InputError(f"bad --source {s!r}: the store has no mention from it "
                             f"(sources: {', '.join(sorted(sources)) or 'none yet'})")
    for a in _as_list(app):
        if a not in apps:
            raise InputError(f"bad --app {a!r}: the store has no mention of it "
                             f"(apps and queries: {', '.join(sorted(apps)) or 'none yet'})")


def _indicators_with_breakdown(allm: pd.DataFrame, tags: pd.DataFrame, period: str, since, until,
                               model: str | None, breakdown: bool) -> pd.DataFrame:
    pooled = _indicators(allm, tags, period, since, until, model)
    if not breakdown or pooled.empty:
        return pooled
    # The pooled calendar for every breakdown, so each source/app has the same periods.
    start, end = _range(_window(allm, since, until), since, until)
    parts = [pooled]
    for source, app_ in _source_apps(allm):
        sub = _indicators(allm[(allm["source"] == source) & (allm["app"] == app_)], tags, period,
                          pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime(), model)
        parts.append(sub.assign(source=source, app=app_))
    return pd.concat(parts, ignore_index=True)[INDICATOR_COLUMNS]


# ---- tables -----------------------------------------------------------------------------------


def sentiment_by_period(store: Store, period: str = "month", since=None, until=None,
                        model: str | None = None, source=None, app=None) -> pd.DataFrame:
    """Mentions and sentiment per period and source/app (columns: ``SENTIMENT_COLUMNS``).

    ``negative_share`` is negative / labelled with its 95% Wilson interval;
    ``net_sentiment`` is (positive - negative) / labelled; ``mean_rating`` is the mean star
    rating of the mentions that carry one (NaN where none does).
    """
    check_period(period)
    model = choose_model(store, model)
    return _sentiment(select_mentions(_load(store, model), source, app), period, since, until, model)


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
        t = pd.read_sql(select(indicators.c.mention_id, indicators.c.indicator, indicators.c.taxonomy,
                               indicators.c.signal), conn)
    # Tolerate display names ("kemudahan akses") written by other tools.
    t["indicator"] = [canonical_indicator(i) or str(i) for i in t["indicator"]]
    return t.drop_duplicates(["mention_id", "indicator"])


def indicator_order(names) -> list[str]:
    """The six indicators in research order, then any others alphabetically."""
    names = set(names)
    return [i for i in INDICATORS if i in names] + sorted(names - set(INDICATORS))


def indicators_by_period(store: Store, period: str = "month", since=None, until=None,
                         model: str | None = None, source=None, app=None,
                         breakdown: bool = False) -> pd.DataFrame:
    """Mentions and complaints per period and indicator (columns: ``INDICATOR_COLUMNS``).

    Each tagged, labelled mention has a polarity on the indicator (:func:`nlp.codebook.tag_polarity`):
    the tag's own cue (complaint or praise), else the review's sentiment. ``complaints`` counts
    polarity ``-``, ``praise`` polarity ``+``; ``negative_share`` is complaints / labelled
    mentions carrying the indicator and ``favourability`` = 1 - negative_share, each with a 95%
    Wilson interval. ``negative_mentions`` keeps the earlier measure for comparison: mentions
    whose review sentiment is negative, whatever the indicator's polarity. All six indicators
    appear in every period, with zero rows where nothing was tagged.
    The rows pool every source (``source`` and ``app`` are ``"all"``); ``breakdown=True``
    adds the same rows per source/app after them (the CSV holds both).
    """
    check_period(period)
    model = choose_model(store, model)
    allm = select_mentions(_load(store, model), source, app)
    return _indicators_with_breakdown(allm, _tags(store), period, since, until, model, breakdown)


def _indicators(allm: pd.DataFrame, tags: pd.DataFrame, period: str, since, until, model: str | None) -> pd.DataFrame:
    df = _window(allm, since, until)
    rng = _range(df, since, until)
    if rng is None:
        return pd.DataFrame(columns=INDICATOR_COLUMNS)
    df = _flags(df).assign(_p=_periods(df["time"], period))
    df["_lab"] = df["_pos"] + df["_neu"] + df["_neg"]
    tagged = tags.merge(df[["id", "_p", "_neg", "_lab", "label"]], left_on="mention_id", right_on="id")
    pol = pd.Series([tag_polarity(s, lbl) for s, lbl in zip(tagged["signal"], tagged["label"])], index=tagged.index,
                    dtype=object)
    tagged["_complaint"] = ((pol == "-") & (tagged["_lab"] > 0)).astype(int)
    tagged["_praise"] = ((pol == "+") & (tagged["_lab"] > 0)).astype(int)
    agg = tagged.groupby(["_p", "indicator"]).agg(
        mentions=("id", "size"), complaints=("_complaint", "sum"), praise=("_praise", "sum"),
        negative_mentions=("_neg", "sum"), _labelled=("_lab", "sum"),
    )
    # All six always appear (a silent indicator is a finding too), then any a custom taxonomy adds.
    keys = [(i,) for i in indicator_order(set(INDICATORS) | set(tags["indicator"]))]
    out = _grid(agg, _calendar(period, *rng), keys, ["indicator"],
                ["mentions", "complaints", "praise", "negative_mentions", "_labelled"], period)
    _shares(out, "complaints", out["_labelled"])
    out["favourability"] = 1 - out["negative_share"]
    out["favourability_low"], out["favourability_high"] = 1 - out["negative_share_high"], 1 - out["negative_share_low"]
    out["model"] = model or ""
    out["source"], out["app"] = "all", "all"
    return out[INDICATOR_COLUMNS]


def responsiveness_by_period(store: Store, period: str = "month", since=None, until=None,
                             model: str | None = None, source=None, app=None) -> pd.DataFrame:
    """Developer/operator replies to reviews per period and source/app (``RESPONSIVENESS_COLUMNS``).

    Only mentions of kind ``review`` count, and the posts, comments and replies of the social
    sources (X, Instagram, TikTok, YouTube), which the official account answers in place
    (articles and Reddit posts cannot be answered there). A review is replied when it has reply text or a reply time; it is counted in
    the period it was written. Latency is reply time minus review time in days; a reply
    dated before its review (the review was edited after the answer) has no meaningful
    latency and is left out of the median. ``model`` only records provenance here.
    """
    check_period(period)
    model = choose_model(store, model)
    return _responsiveness(select_mentions(_load(store, model), source, app), period, since, until, model)


# Social sources where the official account answers in place (the import records its replies).
SOCIAL_ANSWERABLE = ("x", "instagram", "tiktok", "youtube")


def _responsiveness(allm: pd.DataFrame, period: str, since, until, model: str | None) -> pd.DataFrame:
    allm = allm[(allm["kind"] == "review") | (allm["source"].isin(SOCIAL_ANSWERABLE)
                                               & allm["kind"].isin(["post", "comment", "reply"]))]
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
                 model: str | None = None, triangulation: pd.DataFrame | None = None,
                 source=None, app=None, lang: str = "id", quotes: bool = True,
                 app_names: dict | None = None) -> dict[str, Path]:
    """Write the three trend CSVs, their charts and ``report.html`` into ``out_dir``.

    ``source``/``app`` keep only those mentions; ``lang`` (id or en) is the report's language;
    ``quotes=False`` leaves citizen quotes out; ``app_names`` maps (source, app id) to a name.

    Returns ``{name: path}``. Raises ``SuaraError`` when the store has no mentions at all,
    and ``InputError`` for a bad period, date or model.
    """
    check_period(period)
    parse_date(since, "--since date")
    _until_exclusive(until)
    if store.count_mentions() == 0:
        raise SuaraError(f"the store {store.safe_url} has no mentions yet: crawl or import some first")
    model = choose_model(store, model)
    allm = select_mentions(_load(store, model), source, app)  # once for all three tables
    tables = {
        "sentiment_by_period": _sentiment(allm, period, since, until, model),
        "indicators_by_period": _indicators_with_breakdown(allm, _tags(store), period, since, until, model, True),
        "responsiveness_by_period": _responsiveness(allm, period, since, until, model),
    }
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[name] = write_csv(_rounded(df), out_dir / f"{name}.csv")

    from pipelines import report  # matplotlib is slow to import; only load it when writing

    meta = {"period": period, "since": str(since or "first mention"), "until": str(until or "last mention")}
    if source or app:
        meta["filters"] = "; ".join(f"{k}: {', '.join(_as_list(v))}" for k, v in (("source", source), ("app", app)) if v)
    meta.update(provenance(store, model))
    paths.update(report.write_trend_report(tables, out_dir, meta, period=period, triangulation=triangulation,
                                           store=store, model=model, since=since, until=until, source=source,
                                           app=app, lang=lang, quotes=quotes, app_names=app_names))
    return paths
