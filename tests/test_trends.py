"""Trend tables on a small store whose every count is known by hand."""

from __future__ import annotations

import math
import re
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import trends
from pipelines.cli import app
from pipelines.errors import InputError, SuaraError
from pipelines.store import indicators, sentiments
from pipelines.trends import (
    INDICATOR_COLUMNS,
    RESPONSIVENESS_COLUMNS,
    SENTIMENT_COLUMNS,
    indicators_by_period,
    responsiveness_by_period,
    sentiment_by_period,
    wilson,
    write_trends,
)

D = datetime
A = "id.go.tangsel"
NEWS = "tangsel smart city"

# 95% Wilson intervals worked out independently as the roots of (k/n - p)^2 = z^2 p (1 - p) / n,
# z = 1.959964 (they also match published tables to 4 places, e.g. 2 of 3: 0.2077-0.9385).
W_2_4 = (0.150039, 0.849961)
W_2_3 = (0.207660, 0.938508)
W_0_1 = (0.0, 0.793451)
W_1_1 = (0.206549, 1.0)
W_2_2 = (0.342380, 1.0)
W_1_4 = (0.045587, 0.699358)


def add(store, rows, labels=None, tags=None):
    """Insert mentions, then sentiment labels {(source_id, model): label} and tags {source_id: [ind]}."""
    store.upsert_mentions(rows)
    ids = dict(zip(store.mentions_df()["source_id"], store.mentions_df()["id"]))
    now = D(2025, 1, 1)
    with store.engine.begin() as conn:
        for (sid, model), label in (labels or {}).items():
            conn.execute(sentiments.insert().values(mention_id=int(ids[sid]), model=model, label=label,
                                                    content_hash="h", analyzed_at=now))
        for sid, inds in (tags or {}).items():
            for ind in inds:
                conn.execute(indicators.insert().values(mention_id=int(ids[sid]), indicator=ind, evidence="e",
                                                        taxonomy="tax@1", content_hash="h", tagged_at=now))
    return ids


def review(sid, created, rating=None, reply_at=None, reply_text=None, **kw):
    row = dict(source="playstore", source_id=sid, app=A, kind="review", text="teks", rating=rating,
               created_at=created, reply_at=reply_at, reply_text=reply_text)
    row.update(kw)
    return row


@pytest.fixture
def known(store):
    """Play Store app A in Jan and Mar 2024 (none in Feb), one news article in Jan 2024.

    r5 has no label from the main model; r8 has no creation time (falls back to fetched_at);
    r7's reply predates the review (an edit after the answer). Model "small@1" labels only r1.
    """
    rows = [
        review("r1", D(2024, 1, 5, 10), 5, D(2024, 1, 6, 10), "Terima kasih"),
        review("r2", D(2024, 1, 10), 1, D(2024, 1, 13), "Mohon maaf"),
        review("r3", D(2024, 1, 20), 2, None, "Sudah kami teruskan"),
        review("r4", D(2024, 1, 31, 23, 30), 3),
        review("r5", D(2024, 1, 15), 4),
        review("r6", D(2024, 3, 2), 1, D(2024, 3, 2, 12), "Baik"),
        review("r7", D(2024, 3, 15), None, D(2024, 3, 14), "Sudah dibalas"),
        review("r8", None, 4, fetched_at=D(2024, 3, 20)),
        dict(source="news", source_id="n1", app=NEWS, kind="article", text="berita", created_at=D(2024, 1, 8)),
    ]
    big = {"r1": "positive", "r2": "negative", "r3": "negative", "r4": "neutral",
           "r6": "negative", "r7": "negative", "r8": "positive", "n1": "neutral"}
    labels = {(k, "big@1"): v for k, v in big.items()}
    labels[("r1", "small@1")] = "negative"
    tags = {"r1": ["kemudahan_akses"], "r2": ["penanggapan", "transparansi"], "r3": ["penanggapan"],
            "r5": ["penanggapan"], "r6": ["penanggapan"], "r8": ["kemudahan akses"]}
    add(store, rows, labels, tags)
    return store


def row(df, **keys):
    sel = df
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, f"expected one row for {keys}, got {len(sel)}"
    return sel.iloc[0]


def test_wilson_matches_hand_computed_values():
    for (k, n), expected in {(1, 4): W_1_4, (2, 4): W_2_4, (2, 3): W_2_3, (0, 1): W_0_1,
                             (1, 1): W_1_1, (2, 2): W_2_2}.items():
        assert wilson(k, n) == pytest.approx(expected, abs=1e-6), (k, n)
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_sentiment_by_month_exact_counts(known):
    df = sentiment_by_period(known, "month")
    assert list(df.columns) == SENTIMENT_COLUMNS
    assert list(zip(df["period"], df["source"])) == [
        ("2024-01", "news"), ("2024-01", "playstore"), ("2024-02", "news"), ("2024-02", "playstore"),
        ("2024-03", "news"), ("2024-03", "playstore"),
    ]
    jan = row(df, period="2024-01", source="playstore")
    # r5 counts as a mention but has no label, so shares are over 4.
    assert (jan.mentions, jan.positive, jan.neutral, jan.negative) == (5, 1, 1, 2)
    assert jan.negative_share == 0.5
    assert (jan.negative_share_low, jan.negative_share_high) == pytest.approx(W_2_4, abs=1e-6)
    assert jan.net_sentiment == -0.25
    assert jan.mean_rating == 3.0  # (5 + 1 + 2 + 3 + 4) / 5: ratings of every mention
    mar = row(df, period="2024-03", source="playstore")
    assert (mar.mentions, mar.positive, mar.neutral, mar.negative) == (3, 1, 0, 2)  # r8 via fetched_at
    assert mar.negative_share == pytest.approx(2 / 3)
    assert (mar.negative_share_low, mar.negative_share_high) == pytest.approx(W_2_3, abs=1e-6)
    assert mar.net_sentiment == pytest.approx(-1 / 3)
    assert mar.mean_rating == 2.5
    news = row(df, period="2024-01", source="news")
    assert (news.mentions, news.neutral, news.negative_share, news.net_sentiment) == (1, 1, 0.0, 0.0)
    assert (news.negative_share_low, news.negative_share_high) == pytest.approx(W_0_1, abs=1e-6)
    assert math.isnan(news.mean_rating)  # news has no stars
    assert set(df["model"]) == {"big@1"}


def test_empty_periods_are_zero_rows(known):
    df = sentiment_by_period(known, "month")
    feb = df[df["period"] == "2024-02"]
    assert len(feb) == 2
    assert (feb[["mentions", "positive", "neutral", "negative"]] == 0).all().all()
    assert feb["negative_share"].isna().all() and feb["mean_rating"].isna().all()
    ind = indicators_by_period(known, "month")
    assert (ind.loc[ind["period"] == "2024-02", ["mentions", "complaints"]] == 0).all().all()
    resp = responsiveness_by_period(known, "month")
    feb = row(resp, period="2024-02")
    assert (feb.reviews, feb.replied) == (0, 0) and math.isnan(feb.reply_rate)


def test_model_is_the_one_that_labelled_most_unless_given(known):
    assert trends.choose_model(known) == "big@1"
    df = sentiment_by_period(known, "month", model="small@1")
    jan = row(df, period="2024-01", source="playstore")
    assert (jan.mentions, jan.negative, jan.negative_share) == (5, 1, 1.0)
    assert set(df["model"]) == {"small@1"}
    with pytest.raises(InputError, match=r"no sentiment labels from model 'nope'.*big@1, small@1"):
        sentiment_by_period(known, model="nope")


def test_indicators_by_month_exact_counts(known):
    df = indicators_by_period(known, "month")
    assert list(df.columns) == INDICATOR_COLUMNS
    # All six in research order every month; the display-name tag joins its key.
    assert list(df["indicator"][:6]) == ["sosialisasi", "kemudahan_akses", "keterhubungan",
                                         "kemudahan_aspirasi", "transparansi", "penanggapan"]
    assert len(df) == 18
    silent = row(df, period="2024-02", indicator="sosialisasi")
    assert (silent.mentions, silent.complaints) == (0, 0) and math.isnan(silent.negative_share)
    pen = row(df, period="2024-01", indicator="penanggapan")
    assert (pen.mentions, pen.complaints, pen.negative_share) == (3, 2, 1.0)  # r5 unlabelled
    assert (pen.negative_share_low, pen.negative_share_high) == pytest.approx(W_2_2, abs=1e-6)
    tra = row(df, period="2024-01", indicator="transparansi")
    assert (tra.mentions, tra.complaints) == (1, 1)
    assert (tra.negative_share_low, tra.negative_share_high) == pytest.approx(W_1_1, abs=1e-6)
    acc = row(df, period="2024-03", indicator="kemudahan_akses")
    assert (acc.mentions, acc.complaints, acc.negative_share) == (1, 0, 0.0)
    assert (acc.negative_share_low, acc.negative_share_high) == pytest.approx(W_0_1, abs=1e-6)
    assert math.isnan(row(df, period="2024-03", indicator="transparansi").negative_share)


def test_responsiveness_reply_rate_and_median_latency(known):
    df = responsiveness_by_period(known, "month")
    assert list(df.columns) == RESPONSIVENESS_COLUMNS
    assert set(df["source"]) == {"playstore"}  # articles cannot be answered in place
    jan = row(df, period="2024-01")
    # r1 (1 day), r2 (3 days) and r3 (text, no time) replied; r4, r5 not.
    assert (jan.reviews, jan.replied, jan.reply_rate, jan.median_reply_latency_days) == (5, 3, 0.6, 2.0)
    mar = row(df, period="2024-03")
    # r7's reply predates the edited review: counted as replied, left out of the latency.
    assert (mar.reviews, mar.replied) == (3, 2)
    assert mar.reply_rate == pytest.approx(2 / 3)
    assert mar.median_reply_latency_days == 0.5


def test_week_and_quarter_labels(store):
    rows = [review("a", D(2024, 12, 30)), review("b", D(2025, 1, 13)), review("c", D(2023, 1, 1)),
            review("d", D(2024, 3, 31, 23)), review("e", D(2024, 4, 1))]
    add(store, rows, {(s, "m"): "negative" for s in "abcde"})
    wk = sentiment_by_period(store, "week", since="2024-12-23", until="2025-01-19")
    # 2024-12-30 is a Monday in ISO week 1 of 2025; the week of 6 January has no data.
    assert list(wk["period"]) == ["2024-W52", "2025-W01", "2025-W02", "2025-W03"]
    assert list(wk["mentions"]) == [0, 1, 0, 1]
    wk = sentiment_by_period(store, "week", since="2022-12-26", until="2023-01-08")
    assert list(wk["period"]) == ["2022-W52", "2023-W01"]  # 2023-01-01 is a Sunday: still 2022's last week
    assert list(wk["mentions"]) == [1, 0]
    q = sentiment_by_period(store, "quarter", since="2024-01-01", until="2024-12-31")
    assert list(q["period"]) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert list(q["mentions"]) == [1, 1, 0, 1]


def test_since_until_give_the_full_calendar_and_until_is_inclusive(known):
    df = sentiment_by_period(known, "month", since="2023-12-01", until="2024-04-30")
    assert list(df["period"].unique()) == ["2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]
    assert df.loc[df["period"].isin(["2023-12", "2024-04"]), "mentions"].sum() == 0
    # A range with no data at all still lists every known source/app with zeros.
    empty = sentiment_by_period(known, "month", since="2025-01-01", until="2025-02-28")
    assert list(empty["period"]) == ["2025-01", "2025-01", "2025-02", "2025-02"]
    assert (empty["mentions"] == 0).all() and empty["negative_share"].isna().all()
    # r4 at 23:30 on 31 January is inside --until 2024-01-31.
    jan = sentiment_by_period(known, "month", since="2024-01-31", until="2024-01-31")
    assert row(jan, source="playstore").mentions == 1
    assert row(jan, source="playstore").neutral == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(period="year"), "bad period 'year': use one of week, month, quarter"),
    (dict(since="2024-13-01"), "bad --since date '2024-13-01': use YYYY-MM-DD"),
    (dict(until="31/01/2024"), "bad --until date '31/01/2024': use YYYY-MM-DD"),
    (dict(since="2024-03-01", until="2024-01-01"), "--until (2024-01-01) is before --since (2024-03-01)"),
])
def test_bad_period_or_dates_are_one_clear_line(known, kwargs, message):
    with pytest.raises(InputError) as err:
        sentiment_by_period(known, **kwargs)
    assert str(err.value) == message


def test_empty_store_is_a_clear_message(store, tmp_path):
    assert sentiment_by_period(store).empty and list(sentiment_by_period(store).columns) == SENTIMENT_COLUMNS
    assert indicators_by_period(store).empty and responsiveness_by_period(store).empty
    with pytest.raises(SuaraError, match="has no mentions yet"):
        write_trends(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_mentions_without_labels_or_tags_still_report(store, tmp_path):
    add(store, [review("a", D(2024, 1, 2), 2), review("b", D(2024, 2, 2), 4)])
    df = sentiment_by_period(store)
    assert list(df["mentions"]) == [1, 1] and df["negative_share"].isna().all()
    assert set(df["model"]) == {""}
    ind = indicators_by_period(store)  # six zero rows per month, not nothing
    assert len(ind) == 12 and (ind["mentions"] == 0).all() and ind["negative_share"].isna().all()
    paths = write_trends(store, tmp_path / "out")
    html = paths["report"].read_text(encoding="utf-8")
    assert "no sentiment labels in the store" in html and "no indicator tags in the store" in html


def test_csvs_have_bom_stable_columns_and_are_formula_safe(store, tmp_path):
    add(store, [review("a", D(2024, 1, 2), 1, app="=HYPERLINK(\"http://x\")"),
                review("b", D(2024, 1, 3), 1, app="=HYPERLINK(\"http://x\")")],
        {("a", "m"): "negative", ("b", "m"): "negative"})
    paths = write_trends(store, tmp_path / "out")
    raw = paths["sentiment_by_period"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ",".join(SENTIMENT_COLUMNS)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert ",-1.0," in lines[1]  # a negative net sentiment stays a number
    back = pd.read_csv(paths["sentiment_by_period"], encoding="utf-8-sig")
    assert back.loc[0, "net_sentiment"] == -1.0 and back.loc[0, "negative_share_low"] == pytest.approx(0.3424, abs=1e-4)
    for name, cols in (("indicators_by_period", INDICATOR_COLUMNS), ("responsiveness_by_period", RESPONSIVENESS_COLUMNS)):
        assert paths[name].read_text(encoding="utf-8-sig").splitlines()[0] == ",".join(cols)


def test_report_html_is_self_contained(known, tmp_path):
    known.upsert_mentions([review("x", D(2024, 1, 3), app="<script>alert(1)</script>")])
    paths = write_trends(known, tmp_path / "out", "month")
    for key in ("sentiment_chart", "indicators_chart", "responsiveness_chart"):
        assert paths[key].read_bytes().startswith(b"\x89PNG")
    page = paths["report"].read_text(encoding="utf-8")
    # Three overview charts and one small chart per indicator card, all embedded.
    assert page.count('src="data:image/png;base64,') == 3 + 6
    for key in ("sentiment_chart", "indicators_chart", "responsiveness_chart"):
        assert paths[key].with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert re.findall(r'src="(?!data:)', page) == []
    # Links only to quoted originals; the one script is the table sorter, which loads nothing.
    assert all(h.startswith(("http://", "https://")) for h in re.findall(r'href="([^"]*)"', page))
    assert page.count("<script") == 1 and "fetch(" not in page and "XMLHttpRequest" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "big@1" in page and "tax@1" in page  # provenance: model and taxonomy
    for name in ("sentiment_by_period", "indicators_by_period", "responsiveness_by_period"):
        assert f"{name}.csv" in page


def test_cli_trends_writes_files_and_prints_paths(known, db_url, tmp_path):
    res = CliRunner().invoke(app, ["trends", "--db", db_url, "--period", "quarter", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    printed = res.stdout.split()
    assert str(tmp_path / "r" / "sentiment_by_period.csv") in printed and str(tmp_path / "r" / "report.html") in printed
    df = pd.read_csv(tmp_path / "r" / "sentiment_by_period.csv", encoding="utf-8-sig")
    assert list(df["period"]) == ["2024-Q1", "2024-Q1"] and list(df["mentions"]) == [1, 8]


def test_cli_trends_default_folder_and_model(known, db_url, tmp_path):
    res = CliRunner().invoke(app, ["trends", "--db", db_url, "--model", "small@1"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "home" / "reports"  # conftest's SUARA_HOME
    assert (out / "report.html").exists()
    assert set(pd.read_csv(out / "indicators_by_period.csv", encoding="utf-8-sig")["model"]) == {"small@1"}


@pytest.mark.parametrize("args, message", [
    (["--period", "daily"], "error: bad period 'daily': use one of week, month, quarter"),
    (["--since", "yesterday"], "error: bad --since date 'yesterday': use YYYY-MM-DD"),
    (["--model", "nope"], "error: no sentiment labels from model 'nope' in the store (models: big@1, small@1)"),
])
def test_cli_trends_bad_arguments_one_line(known, db_url, args, message):
    res = CliRunner().invoke(app, ["trends", "--db", db_url, *args])
    assert res.exit_code == 2
    assert res.stderr.strip() == message


def test_cli_trends_empty_store(db_url):
    res = CliRunner().invoke(app, ["trends", "--db", db_url])
    assert res.exit_code == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "has no mentions yet" in res.stderr
