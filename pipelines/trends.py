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

The store is read a page of mentions at a time and only per-period counts are kept, so memory
does not grow with the corpus (see :class:`_Partials`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm
from sqlalchemy import and_, case, func, null, select

from nlp.codebook import tag_polarity
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


# Mentions read per query: the store is read in id order this many rows at a time and only
# per-period counts (and the reply latencies the medians need) are kept, so memory does not
# grow with the corpus.
CHUNK_ROWS = 50_000
_LABELS = ["positive", "neutral", "negative"]


def _chunks(store: Store, model: str | None, source=None, app=None, chunk_rows: int | None = None):
    """Mentions in id order, ``chunk_rows`` at a time, each with its time and the chosen model's
    label (NaN if unlabelled), and the indicator tags of the chunk's id range.

    Keyset pagination on id (an index range scan per query). Reply text is read only where the
    reply time is missing: elsewhere the mention counts as replied whatever the text says.
    """
    size = chunk_rows or CHUNK_ROWS
    reply_text = case((mentions.c.reply_at.is_(None), mentions.c.reply_text), else_=None).label("reply_text")
    cols = [mentions.c.id, mentions.c.source, mentions.c.app, mentions.c.kind, mentions.c.rating,
            mentions.c.created_at, mentions.c.fetched_at, reply_text, mentions.c.reply_at]
    if model is not None:
        base = select(*cols, sentiments.c.label).select_from(mentions.outerjoin(
            sentiments, and_(sentiments.c.mention_id == mentions.c.id, sentiments.c.model == model)))
    else:
        base = select(*cols, null().label("label"))
    if _as_list(source):
        base = base.where(mentions.c.source.in_(_as_list(source)))
    if _as_list(app):
        base = base.where(mentions.c.app.in_(_as_list(app)))
    base = base.order_by(mentions.c.id).limit(size)
    last = None
    with store.engine.connect() as conn:
        while True:
            df = pd.read_sql(base if last is None else base.where(mentions.c.id > last), conn)
            if df.empty:
                return
            lo, last = int(df["id"].iloc[0]), int(df["id"].iloc[-1])
            for c in ("created_at", "fetched_at", "reply_at"):
                df[c] = pd.to_datetime(df[c])
            df["time"] = df["created_at"].fillna(df["fetched_at"])
            df["rating"] = pd.to_numeric(df["rating"], errors="coerce")
            df["label"] = df["label"].where(df["label"].isin(_LABELS))
            tags = pd.read_sql(select(indicators.c.mention_id, indicators.c.indicator, indicators.c.signal)
                               .where(indicators.c.mention_id.between(lo, last)), conn)
            tags["indicator"] = [canonical_indicator(i) or str(i) for i in tags["indicator"]]
            yield df.drop(columns=["created_at", "fetched_at"]), tags.drop_duplicates(["mention_id", "indicator"])
            if len(df) < size:
                return


def id_ranges(conn, col, step: int | None = None):
    """Consecutive ``(lo, hi)`` id ranges (inclusive) covering ``col``'s values, ``step`` ids each
    (default :data:`CHUNK_ROWS`): for reading a join one slice of mentions at a time."""
    lo, hi = conn.execute(select(func.min(col), func.max(col))).one()
    if lo is None:
        return
    step = step or CHUNK_ROWS
    for a in range(int(lo), int(hi) + 1, step):
        yield a, min(a + step - 1, int(hi))


def _tag_names(store: Store) -> set[str]:
    """Every indicator the store's tags name (canonical keys where known)."""
    with store.engine.connect() as conn:
        names = [r[0] for r in conn.execute(select(indicators.c.indicator).distinct())]
    return {canonical_indicator(i) or str(i) for i in names}


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


def indicator_order(names) -> list[str]:
    """The six indicators in research order, then any others alphabetically."""
    names = set(names)
    return [i for i in INDICATORS if i in names] + sorted(names - set(INDICATORS))


# Social sources where the official account answers in place (the import records its replies).
SOCIAL_ANSWERABLE = ("x", "instagram", "tiktok", "youtube")


class _Partials:
    """Per-period partial aggregates of the mentions seen so far, chunk by chunk.

    Groups are keyed by period and a small integer per source/app (``_g``); what is kept grows
    with periods x sources x indicators, not with mentions, except the reply latencies (one
    float per replied review), which the medians need.
    """

    def __init__(self, period: str, since, until, want: set[str]):
        self.period, self.since, self.until, self.want = period, since, until, want
        self.codes: dict[tuple, int] = {}  # (source, app) -> _g
        self.answerable: set[int] = set()  # _g with a review or answerable social post
        self.span = {"all": [None, None], "resp": [None, None]}  # windowed time min/max
        self.sent: list[pd.DataFrame] = []
        self.ind: list[pd.DataFrame] = []
        self.resp: list[pd.DataFrame] = []
        self.lat: list[pd.DataFrame] = []

    def _span(self, key: str, times: pd.Series) -> None:
        if len(times):
            lo, hi = self.span[key]
            self.span[key] = [times.min() if lo is None else min(lo, times.min()),
                              times.max() if hi is None else max(hi, times.max())]

    def add(self, allm: pd.DataFrame, tags: pd.DataFrame) -> None:
        pairs = list(zip(allm["source"], allm["app"]))
        for pair in dict.fromkeys(pairs):
            self.codes.setdefault(pair, len(self.codes))
        allm = allm.assign(_g=np.fromiter((self.codes[p] for p in pairs), dtype=np.int32, count=len(pairs)))
        df = _window(allm, self.since, self.until)
        self._span("all", df["time"])
        df = _flags(df).assign(_p=_periods(df["time"], self.period))
        if "sentiment" in self.want:
            self.sent.append(df.groupby(["_p", "_g"]).agg(
                mentions=("id", "size"), positive=("_pos", "sum"), neutral=("_neu", "sum"),
                negative=("_neg", "sum"), _rsum=("rating", "sum"), _rn=("rating", "count")))
        if "indicators" in self.want:
            df["_lab"] = df["_pos"] + df["_neu"] + df["_neg"]
            tagged = tags.merge(df[["id", "_p", "_g", "_neg", "_lab", "label"]], left_on="mention_id", right_on="id")
            pol = pd.Series([tag_polarity(s, lbl) for s, lbl in zip(tagged["signal"], tagged["label"])],
                            index=tagged.index, dtype=object)
            tagged["_complaint"] = ((pol == "-") & (tagged["_lab"] > 0)).astype(int)
            tagged["_praise"] = ((pol == "+") & (tagged["_lab"] > 0)).astype(int)
            self.ind.append(tagged.groupby(["_p", "_g", "indicator"]).agg(
                mentions=("id", "size"), complaints=("_complaint", "sum"), praise=("_praise", "sum"),
                negative_mentions=("_neg", "sum"), _labelled=("_lab", "sum")))
        if "responsiveness" in self.want:
            ans = (allm["kind"] == "review") | (allm["source"].isin(SOCIAL_ANSWERABLE)
                                                 & allm["kind"].isin(["post", "comment", "reply"]))
            self.answerable.update(allm.loc[ans, "_g"].unique().tolist())
            r = df[ans.loc[df.index]]
            self._span("resp", r["time"])
            has_text = r["reply_text"].fillna("").astype(str).str.strip() != ""
            replied = has_text | r["reply_at"].notna()
            lat = (r["reply_at"] - r["time"]).dt.total_seconds() / 86400.0
            r = r.assign(_replied=replied.astype(int), _lat=lat.where(replied & (lat >= 0)))
            self.resp.append(r.groupby(["_p", "_g"]).agg(reviews=("id", "size"), replied=("_replied", "sum")))
            self.lat.append(r.loc[r["_lat"].notna(), ["_p", "_g", "_lat"]])
        if len(self.sent) + len(self.ind) + len(self.resp) > 24:  # keep the lists short
            self._compact()

    @staticmethod
    def _sum(parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
        if len(parts) < 2:
            return parts
        df = pd.concat(parts)
        return [df.groupby(level=list(df.index.names), sort=False).sum()]

    def _compact(self) -> None:
        self.sent, self.ind, self.resp = self._sum(self.sent), self._sum(self.ind), self._sum(self.resp)

    def _named(self, agg: pd.DataFrame) -> pd.DataFrame:
        """``_g`` in the index replaced by ``source`` and ``app``."""
        pairs = {g: p for p, g in self.codes.items()}
        names = list(agg.index.names)
        i = names.index("_g")
        tuples = [(*k[:i], *pairs[k[i]], *k[i + 1:]) for k in agg.index]
        new = names[:i] + ["source", "app"] + names[i + 1:]
        agg = agg.copy()
        agg.index = pd.MultiIndex.from_tuples(tuples, names=new) if tuples else \
            pd.MultiIndex.from_arrays([[] for _ in new], names=new)
        return agg

    def _rng(self, key: str) -> tuple | None:
        lo, hi = self.span[key]
        times = pd.Series([lo, hi] if lo is not None else [], dtype="datetime64[ns]")
        return _range(pd.DataFrame({"time": times}), self.since, self.until)

    def _pairs(self, gs=None) -> list[tuple]:
        return sorted(p for p, g in self.codes.items() if gs is None or g in gs)

    def sentiment(self, model: str | None) -> pd.DataFrame:
        rng = self._rng("all")
        if rng is None or not self.codes:
            return pd.DataFrame(columns=SENTIMENT_COLUMNS)
        self._compact()
        agg = self.sent[0]
        rn = agg.pop("_rn")
        agg["mean_rating"] = (agg.pop("_rsum") / rn.astype(float)).where(rn > 0)
        counts = ["mentions", "positive", "neutral", "negative"]
        out = _grid(self._named(agg), _calendar(self.period, *rng), self._pairs(), ["source", "app"], counts,
                    self.period)
        n = out["positive"] + out["neutral"] + out["negative"]
        _shares(out, "negative", n)
        out["net_sentiment"] = ((out["positive"] - out["negative"]) / n.astype(float)).where(n > 0)
        out["model"] = model or ""
        return out[SENTIMENT_COLUMNS]

    def indicators(self, model: str | None, tag_names: set[str], breakdown: bool) -> pd.DataFrame:
        rng = self._rng("all")
        if rng is None:
            return pd.DataFrame(columns=INDICATOR_COLUMNS)
        self._compact()
        agg = self._named(self.ind[0])
        keys = [(i,) for i in indicator_order(set(INDICATORS) | tag_names)]
        calendar = _calendar(self.period, *rng)
        pooled = agg.groupby(level=["_p", "indicator"]).sum()
        parts = [self._indicator_rows(pooled, calendar, keys, model)]
        if breakdown:
            # The pooled calendar for every breakdown, so each source/app has the same periods.
            for source, app_ in self._pairs():
                mine = (agg.index.get_level_values("source") == source) & (agg.index.get_level_values("app") == app_)
                sub = agg[mine].droplevel(["source", "app"])
                parts.append(self._indicator_rows(sub, calendar, keys, model).assign(source=source, app=app_))
            return pd.concat(parts, ignore_index=True)[INDICATOR_COLUMNS]
        return parts[0]

    def _indicator_rows(self, agg, calendar, keys, model) -> pd.DataFrame:
        out = _grid(agg, calendar, keys, ["indicator"],
                    ["mentions", "complaints", "praise", "negative_mentions", "_labelled"], self.period)
        _shares(out, "complaints", out["_labelled"])
        out["favourability"] = 1 - out["negative_share"]
        out["favourability_low"], out["favourability_high"] = 1 - out["negative_share_high"], 1 - out["negative_share_low"]
        out["model"] = model or ""
        out["source"], out["app"] = "all", "all"
        return out[INDICATOR_COLUMNS]

    def responsiveness(self, model: str | None) -> pd.DataFrame:
        rng = self._rng("resp")
        if rng is None or not self.answerable:
            return pd.DataFrame(columns=RESPONSIVENESS_COLUMNS)
        self._compact()
        agg = self.resp[0]
        lat = pd.concat(self.lat)
        agg["median_reply_latency_days"] = lat.groupby(["_p", "_g"])["_lat"].median().reindex(agg.index)
        out = _grid(self._named(agg), _calendar(self.period, *rng), self._pairs(self.answerable),
                    ["source", "app"], ["reviews", "replied"], self.period)
        out["reply_rate"] = (out["replied"] / out["reviews"].astype(float)).where(out["reviews"] > 0)
        out["model"] = model or ""
        return out[RESPONSIVENESS_COLUMNS]


def _aggregate(store: Store, period: str, since, until, model: str | None, source, app, want: set[str],
               chunk_rows: int | None = None) -> _Partials:
    """One pass over the store's mentions (filtered by source/app) into :class:`_Partials`."""
    _window(pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns]")}), since, until)  # bad dates first
    acc = _Partials(period, since, until, want)
    for allm, tags in _chunks(store, model, source, app, chunk_rows):
        acc.add(allm, tags)
    return acc


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
    return _aggregate(store, period, since, until, model, source, app, {"sentiment"}).sentiment(model)


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
    acc = _aggregate(store, period, since, until, model, source, app, {"indicators"})
    return acc.indicators(model, _tag_names(store), breakdown)


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
    return _aggregate(store, period, since, until, model, source, app, {"responsiveness"}).responsiveness(model)


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
    acc = _aggregate(store, period, since, until, model, source, app,  # one pass for all three tables
                     {"sentiment", "indicators", "responsiveness"})
    tables = {
        "sentiment_by_period": acc.sentiment(model),
        "indicators_by_period": acc.indicators(model, _tag_names(store), True),
        "responsiveness_by_period": acc.responsiveness(model),
    }
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[name] = write_csv(_rounded(df), out_dir / f"{name}.csv")

    from . import report  # matplotlib is slow to import; only load it when writing

    meta = {"period": period, "since": str(since or "first mention"), "until": str(until or "last mention")}
    if source or app:
        meta["filters"] = "; ".join(f"{k}: {', '.join(_as_list(v))}" for k, v in (("source", source), ("app", app)) if v)
    meta.update(provenance(store, model))
    paths.update(report.write_trend_report(tables, out_dir, meta, period=period, triangulation=triangulation,
                                           store=store, model=model, since=since, until=until, source=source,
                                           app=app, lang=lang, quotes=quotes, app_names=app_names))
    return paths
