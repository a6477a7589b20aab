"""The research brief: findings first, one card per indicator with quotes as evidence.

Everything the page states is computed here as plain DataFrames or sentences from the
frames :mod:`pipelines.trends` and :mod:`pipelines.triangulate` return, so a change to
how favourability is defined there flows into the brief unchanged:

* :func:`indicator_cards` - per indicator: favourability with interval and n, the survey's
  verdict beside it, agreement.
* :func:`complaint_phrases` - the most frequent evidence phrases of complaints.
* :func:`representative_quotes` - 3-5 scrubbed quotes per indicator by a fixed rule
  (:data:`QUOTE_RULE`).
* :func:`findings` - the summary sentences, in Indonesian or English.
* :func:`write_report` - CSVs, charts and ``report.html`` from the store at any time.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import func, select

from .i18n import check_lang, indicator_name, source_name, t
from .redact import scrub
from .store import _IN, Store, _chunks, indicators, mentions, sentiments
from .trends import INDICATORS, _window, choose_model, select_mentions, wilson

QUOTE_MIN_LEN, QUOTE_MAX_LEN = 30, 400
QUOTE_COMPLAINTS, QUOTE_PRAISE = 3, 2
QUOTE_RULE = (
    "Per indicator, from the mentions carrying it that the sentiment model labelled negative (complaint) "
    f"or positive (praise), {QUOTE_MIN_LEN}-{QUOTE_MAX_LEN} characters after scrubbing; ordered by likes "
    "(thumbs up), then most recent, then store id; one quote per author and per identical text; up to "
    f"{QUOTE_COMPLAINTS} complaints and {QUOTE_PRAISE} praise, a shortfall of one filled from the other."
)
QUOTE_COLUMNS = ["indicator", "stance", "text", "source", "app", "month", "url", "thumbs_up", "mention_id"]
CARD_COLUMNS = ["indicator", "review_mentions", "review_favourability", "review_low", "review_high",
                "review_verdict", "survey_verdict", "survey_value", "agreement", "note"]


# Rows per fetch when streaming tagged mentions (the store is never read whole).
FETCH_ROWS = 20_000


def _tagged_chunks(store: Store, model: str | None, since, until, source, app):
    """Tagged mentions in range, chunk by chunk: one row per (mention, indicator) with its
    evidence, time and label, in the order the store returns the join (so ties count as before)."""
    _window(pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns]")}), since, until)  # bad dates first
    if not model:  # nothing labelled: no row is a complaint or praise
        return
    q = (
        select(indicators.c.mention_id, indicators.c.indicator, indicators.c.evidence,
               mentions.c.source, mentions.c.app, mentions.c.created_at, mentions.c.fetched_at)
        .join(mentions, mentions.c.id == indicators.c.mention_id)
    )
    with store.engine.connect() as conn:
        res = conn.execution_options(stream_results=True).execute(q)
        try:
            while rows := res.fetchmany(FETCH_ROWS):
                df = pd.DataFrame.from_records(rows, columns=list(res.keys()))
                ids = [int(i) for i in df["mention_id"].unique()]
                lab = pd.DataFrame(_labels_of(conn, model, ids), columns=["mention_id", "label"])
                df = df.merge(lab, on="mention_id", how="left")
                df["time"] = pd.to_datetime(df["created_at"]).fillna(pd.to_datetime(df["fetched_at"]))
                yield _window(select_mentions(df, source, app), since, until)
        finally:
            res.close()


def _labels_of(conn, model: str, ids: list[int]) -> list:
    """``(mention_id, label)`` of ``ids`` by ``model``, ``_IN`` ids a query."""
    out = []
    for part in _chunks(ids, _IN):
        # Padded to one length: Python's sqlite3 keeps the last 128 distinct statements prepared,
        # and one prepared IN of a page's ~20,000 ids held ~2 MB: 1M mentions grew 100 MB.
        part += part[-1:] * (_IN - len(part))
        out += conn.execute(select(sentiments.c.mention_id, sentiments.c.label)
                            .where(sentiments.c.model == model, sentiments.c.mention_id.in_(part))).all()
    return out


def _time_expr():
    return func.coalesce(mentions.c.created_at, mentions.c.fetched_at)


def _candidates(conn, model: str, indicator: str, label: str, since, until, source, app):
    """Mentions carrying ``indicator`` that ``model`` labelled ``label``, in :data:`QUOTE_RULE`
    order (likes, then most recent, then store id), streamed: the store sorts, Python only
    walks the rows until it has its quotes."""
    from .trends import _as_list, _until_exclusive, parse_date

    q = (
        select(indicators.c.mention_id, mentions.c.author_key, mentions.c.text, mentions.c.source,
               mentions.c.app, mentions.c.url, mentions.c.thumbs_up, mentions.c.created_at,
               mentions.c.fetched_at)
        .join(mentions, mentions.c.id == indicators.c.mention_id)
        .join(sentiments, (sentiments.c.mention_id == indicators.c.mention_id) & (sentiments.c.model == model))
        .where(indicators.c.indicator == indicator, sentiments.c.label == label)
        .order_by(func.coalesce(mentions.c.thumbs_up, 0).desc(), _time_expr().desc(), indicators.c.mention_id)
    )
    if _as_list(source):
        q = q.where(mentions.c.source.in_(_as_list(source)))
    if _as_list(app):
        q = q.where(mentions.c.app.in_(_as_list(app)))
    s, u = parse_date(since, "--since date"), _until_exclusive(until)
    if s is not None:
        q = q.where(_time_expr() >= s)
    if u is not None:
        q = q.where(_time_expr() < u)
    return conn.execution_options(stream_results=True, yield_per=1000).execute(q)


def _public_url(url) -> str:
    """A link a reader can open: http(s) and not this machine (demo and test servers)."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or host in ("localhost",) or host.startswith("127.") \
            or host == "::1":
        return ""
    return url


def representative_quotes(store: Store, model: str | None = None, since=None, until=None, source=None, app=None,
                          complaints: int = QUOTE_COMPLAINTS, praise: int = QUOTE_PRAISE) -> pd.DataFrame:
    """Quotes per indicator chosen by :data:`QUOTE_RULE`, text scrubbed (columns: ``QUOTE_COLUMNS``).

    The store returns the candidates in rule order; memory holds the quotes kept and, per
    indicator, hashes of the complaint authors and texts already taken (a praise quote must
    not repeat them), never the candidates themselves.
    """
    model = choose_model(store, model)
    _window(pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns]")}), since, until)  # bad dates first
    rows = []
    if not model:
        return pd.DataFrame(rows, columns=QUOTE_COLUMNS)
    most = complaints + praise  # neither side can ever use more (a shortfall is filled from the other)
    with store.engine.connect() as conn:
        for ind in INDICATORS:
            picked: dict[str, list] = {"complaint": [], "praise": []}
            authors, texts = set(), set()
            for stance, label in (("complaint", "negative"), ("praise", "positive")):
                res = _candidates(conn, model, ind, label, since, until, source, app)
                try:
                    for r in res:
                        text = " ".join(scrub(r.text).split())
                        if not QUOTE_MIN_LEN <= len(text) <= QUOTE_MAX_LEN:
                            continue
                        key = hash(text.casefold())
                        author = hash(r.author_key) if isinstance(r.author_key, str) else None
                        if key in texts or (author is not None and author in authors):
                            continue
                        texts.add(key)
                        if author is not None:
                            authors.add(author)
                        if len(picked[stance]) < most:
                            picked[stance].append((r, text))
                        elif stance == "praise":
                            break  # praise picks affect nothing after it
                finally:
                    res.close()
            want_c, want_p = complaints, praise
            # Fill a shortfall on one side from the other, so a card still carries up to five voices.
            if len(picked["praise"]) < want_p:
                want_c += want_p - len(picked["praise"])
            elif len(picked["complaint"]) < want_c:
                want_p += want_c - len(picked["complaint"])
            for stance, want in (("complaint", want_c), ("praise", want_p)):
                for r, text in picked[stance][:want]:
                    time = pd.to_datetime(r.created_at if r.created_at is not None else r.fetched_at)
                    likes = pd.to_numeric(r.thumbs_up, errors="coerce")
                    rows.append(dict(indicator=ind, stance=stance, text=text, source=r.source, app=r.app,
                                     month=f"{time:%Y-%m}" if pd.notna(time) else "", url=_public_url(r.url),
                                     thumbs_up=int(0 if pd.isna(likes) else likes),
                                     mention_id=int(r.mention_id)))
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def complaint_phrases(store: Store, model: str | None = None, since=None, until=None, source=None, app=None,
                      top: int = 5) -> pd.DataFrame:
    """Per indicator, the evidence phrases that most often matched in complaints
    (columns: indicator, phrase, complaints)."""
    model = choose_model(store, model)
    counts = {ind: Counter() for ind in INDICATORS}
    for df in _tagged_chunks(store, model, since, until, source, app):
        df = df[df["label"] == "negative"]
        for ind, ev in zip(df["indicator"], df["evidence"]):
            c = counts.get(ind)
            if c is None:
                continue
            for phrase in str(ev or "").split(" | "):
                phrase = " ".join(scrub(phrase).lower().split())
                if phrase:
                    c[phrase] += 1
    rows = []
    for ind in INDICATORS:
        rows += [dict(indicator=ind, phrase=p, complaints=k) for p, k in counts[ind].most_common(top)]
    return pd.DataFrame(rows, columns=["indicator", "phrase", "complaints"])


def indicator_cards(store: Store, model: str | None = None, since=None, until=None, source=None, app=None,
                    triangulation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per indicator: favourability with interval and n, the survey's verdict and agreement
    (columns: ``CARD_COLUMNS``). With ``triangulation`` its rows are used as they are."""
    from .triangulate import review_side, verdict

    if triangulation is not None and len(triangulation):
        return triangulation.reindex(columns=CARD_COLUMNS).reset_index(drop=True)
    model = choose_model(store, model)
    rev = review_side(store, (since or None, until or None), model, source, app)
    rev["review_verdict"] = [verdict(v) or "" for v in rev["review_favourability"]]
    rev["survey_verdict"], rev["survey_value"], rev["agreement"], rev["note"] = "", math.nan, "no survey", ""
    return rev.reindex(columns=CARD_COLUMNS)


# ---- the summary ----------------------------------------------------------------------------------


def _pct(v) -> str:
    return "–" if v is None or pd.isna(v) else f"{v:.0%}"


def _join(lang: str, items: list[str]) -> str:
    if not items:
        return t(lang, "none")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {t(lang, 'and')} " + items[-1]


def _change(sent: pd.DataFrame, lang: str) -> str:
    """First versus last few periods of the pooled negative share, with whether the 95%
    intervals overlap (so a reader does not take noise for a trend)."""
    from .report import MIN_PERIOD_MENTIONS

    if sent.empty:
        return t(lang, "s_change_short")
    d = sent.assign(_lab=sent["positive"] + sent["neutral"] + sent["negative"])
    per = d.groupby("period", sort=False)[["negative", "_lab"]].sum()
    per = per[per["_lab"] > 0]
    if len(per) < 2:
        return t(lang, "s_change_short")
    k = max(1, min(3, len(per) // 2))
    a, b = per.iloc[:k], per.iloc[-k:]
    na, nb = int(a["_lab"].sum()), int(b["_lab"].sum())
    if na < MIN_PERIOD_MENTIONS or nb < MIN_PERIOD_MENTIONS:
        return t(lang, "s_change_short")
    ka, kb = int(a["negative"].sum()), int(b["negative"].sum())
    la, ha = wilson(ka, na)
    lb, hb = wilson(kb, nb)
    span = lambda x: x.index[0] if len(x) == 1 else f"{x.index[0]}–{x.index[-1]}"  # noqa: E731
    within = t(lang, "s_change_within") if la <= hb and lb <= ha else ""
    return t(lang, "s_change", a=_pct(ka / na), pa=span(a), na=na, b=_pct(kb / nb), pb=span(b), nb=nb, within=within)


def _human_labels(store: Store) -> int | None:
    """Mentions with a human label, if the store has a table for them (validation is optional)."""
    from sqlalchemy import inspect, text

    names = set(inspect(store.engine).get_table_names())
    for table in ("human_labels", "validation_labels", "labels"):
        if table in names:
            with store.engine.connect() as conn:
                return int(conn.execute(text(f"SELECT COUNT(DISTINCT mention_id) FROM {table}")).scalar() or 0)
    return None


def findings(store: Store, tables: dict[str, pd.DataFrame], cards: pd.DataFrame, lang: str = "id",
             model: str | None = None, triangulation: pd.DataFrame | None = None,
             min_mentions: int | None = None) -> list[str]:
    """The summary, one sentence per item: volume by source, worst and best indicator, the
    survey comparison, change over the period, and how far the figures are validated."""
    from .triangulate import MIN_MENTIONS

    lang = check_lang(lang)
    min_mentions = MIN_MENTIONS if min_mentions is None else min_mentions
    sent = tables["sentiment_by_period"]
    out = []
    if len(sent):
        by = sent.groupby("source")["mentions"].sum().sort_values(ascending=False)
        by = by[by > 0]
        parts = [f"{source_name(lang, s)} {int(n)}" for s, n in by.items()]
        out.append(t(lang, "s_volume", n=int(by.sum()), k=len(by), start=sent["period"].iloc[0],
                     end=sent["period"].iloc[-1], parts=", ".join(parts) or t(lang, "none")))
    rated = cards[cards["review_mentions"] > 0]
    enough = rated[rated["review_mentions"] >= min_mentions]
    if rated.empty:
        out.append(t(lang, "s_none_labelled"))
    else:
        pool = enough if len(enough) else rated
        pool = pool.sort_values(["review_favourability", "review_mentions"], ascending=[True, False])
        w, b = pool.iloc[0], pool.iloc[-1]
        if len(pool) == 1:
            out.append(t(lang, "s_only_one", name=indicator_name(lang, w["indicator"]),
                         fav=_pct(w["review_favourability"]), n=int(w["review_mentions"])))
        else:
            out.append(t(lang, "s_worst_best", worst=indicator_name(lang, w["indicator"]),
                         wfav=_pct(w["review_favourability"]), wn=int(w["review_mentions"]),
                         best=indicator_name(lang, b["indicator"]), bfav=_pct(b["review_favourability"]),
                         bn=int(b["review_mentions"])))
        if enough.empty:
            out.append(t(lang, "s_tentative", min=min_mentions))
    if triangulation is not None and len(triangulation):
        tri = triangulation
        verdicts = Counter(v for v in tri["survey_verdict"] if isinstance(v, str) and v)
        survey = _join(lang, [t(lang, "n_indicators", n=n, v=t(lang, v)) for v, n in verdicts.most_common()])
        names = lambda a: _join(lang, [indicator_name(lang, i) for i in tri.loc[tri["agreement"] == a, "indicator"]])  # noqa: E731
        out.append(t(lang, "s_survey", survey=survey, converge=names("converge"), diverge=names("diverge"),
                     few=names("too few")))
    else:
        out.append(t(lang, "s_no_survey"))
    out.append(_change(sent, lang))
    if model:
        labelled = int((sent["positive"] + sent["neutral"] + sent["negative"]).sum()) if len(sent) else 0
        out.append(t(lang, "s_model", model=model, labelled=labelled,
                     n=int(sent["mentions"].sum()) if len(sent) else 0))
    k = _human_labels(store)
    out.append(t(lang, "s_validation", text=t(lang, "s_validation_some", k=k) if k else t(lang, "s_validation_none")))
    return out


# ---- the whole report, from the store ------------------------------------------------------------


def app_names_from_config(cfg) -> dict[tuple[str, str], str]:
    """``{(source, app id): display name}`` from a sources config (news queries name themselves)."""
    names = {}
    for a in getattr(cfg, "playstore", []):
        if a.id:
            names[("playstore", a.id)] = a.name
    for a in getattr(cfg, "appstore", []):
        if a.id:
            names[("appstore", str(a.id))] = a.name
    return names


def write_report(store: Store, out_dir, *, period: str | None = None, since=None, until=None,
                 model: str | None = None, source=None, app=None, lang: str | None = None, quotes: bool = True,
                 survey=None, mapping=None, window=None, config=None) -> dict[str, Path]:
    """Trend CSVs, charts and ``report.html`` (with the survey section when ``survey`` is given
    or the sources config names one), regenerated from the store at any time.

    ``config`` is a sources config path (default: ``$SUARA_CONFIG`` or the shipped one); it
    gives app display names, the default period and language, and the survey. A config that
    cannot be read is an ``InputError`` only when it was asked for by name.
    """
    from .sources import load_sources
    from .trends import check_filters, check_period, write_trends
    from .triangulate import load_survey, parse_window, triangulate, write_triangulation

    cfg = None
    try:
        cfg = load_sources(config)
    except Exception:
        if config:
            raise
    period = check_period(period or (cfg.trends.period if cfg else "month"))
    lang = check_lang(lang or (getattr(cfg.trends, "lang", "id") if cfg else "id"))
    check_filters(store, source, app)
    parse_window(window)
    tri = None
    paths: dict[str, Path] = {}
    if survey is None and cfg is not None and cfg.survey:
        survey, window = cfg.survey.file, window or cfg.survey.window
    if survey is not None:
        frame = survey if isinstance(survey, pd.DataFrame) else load_survey(survey, mapping)
        if store.count_mentions():
            paths.update(write_triangulation(store, frame, out_dir, window, model, source=source, app=app))
            tri = triangulate(store, frame, window, model, source=source, app=app)
    paths.update(write_trends(store, out_dir, period, since, until, model, triangulation=tri, source=source,
                              app=app, lang=lang, quotes=quotes, app_names=app_names_from_config(cfg)))
    return paths
