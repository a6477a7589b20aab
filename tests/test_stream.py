"""Bounded-memory trends and export give exactly what the whole-table code gave.

``reference_trends`` is a frozen copy of ``pipelines/trends.py`` as it was before the tables
were aggregated chunk by chunk (one DataFrame row per mention); every table here must equal
its output, value for value, on a store full of edge cases, read in chunks of a few rows so
that every group straddles chunk boundaries. The export files must equal, byte for byte, what
``write_csv`` of the whole frame writes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
import reference_brief
import reference_trends as ref
import reference_triangulate
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipelines import brief, export, trends, triangulate
from pipelines.cli import app as cli
from pipelines.errors import InputError
from pipelines.outputs import safe_frame, write_csv
from pipelines.store import Store, indicators, sentiments

D = datetime
SOURCES = [  # (source, app, kind)
    ("playstore", "id.go.tangsel", "review"),
    ("playstore", "id.go.bogor", "review"),
    ("appstore", "id.go.tangsel", "review"),
    ("news", "tangsel smart city", "article"),
    ("youtube", "tangsel smart city", "comment"),
    ("reddit", "tangsel", "post"),
]
TEXTS = ["=HYPERLINK(\"http://x\")", "+62 812 lapor", "-", "@admin tolong", "aplikasi bagus sekali",
         "lambat, baris\nbaru", "Sangat  membantu ✓", "\tdiawali tab", "", "\"kutip\" dan, koma",
         # quote candidates: 30-400 characters once scrubbed, one repeated in capitals, one too long
         "Aplikasi sering error saat login, tolong diperbaiki segera",
         "APLIKASI SERING ERROR SAAT LOGIN, TOLONG diperbaiki segera",
         "Pelayanan cepat dan petugas ramah sekali, terima kasih banyak",
         "Hubungi saya di 0812-3456-7890 kalau laporan sudah ditindaklanjuti",
         "Laporan saya tidak pernah dijawab padahal sudah dua minggu menunggu",
         "Informasi jadwal dan syarat layanan sangat jelas di aplikasi ini",
         "panjang " * 60]


def _rows(n: int = 90, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        source, app, kind = SOURCES[i % len(SOURCES)] if i % 11 else SOURCES[rng.randrange(len(SOURCES))]
        # 2023-01 .. 2024-12 with March-May 2024 left empty, so some periods have no mentions.
        month = rng.choice([m for m in range(24) if m not in (14, 15, 16)])
        created = D(2023 + month // 12, month % 12 + 1, rng.randint(1, 28), rng.randrange(24), rng.randrange(60))
        text = rng.choice(TEXTS) + (f" (laporan nomor {i})" if i % 3 == 0 else "")
        row = dict(source=source, source_id=f"s{i}", app=app, kind=kind, text=text,
                   title=rng.choice([None, "Judul", "=1+1"]), author_key=rng.choice([None, f"k{i % 7}", f"a{i}", f"a{i}"]),
                   rating=rng.choice([None, 1.0, 2.0, 3.0, 4.0, 5.0, 4.5]) if kind == "review" else None,
                   created_at=None if i % 13 == 5 else created,  # falls back to fetched_at
                   fetched_at=created + timedelta(days=3), thumbs_up=rng.choice([None, 0, 3, 12]),
                   url=rng.choice([None, "https://example.org/x"]), lang="id")
        r = rng.random()
        if r < 0.2:  # replied after the review
            row.update(reply_at=created + timedelta(hours=rng.randrange(1, 200)), reply_text="Terima kasih")
        elif r < 0.3:  # reply dated before the review (edited after the answer)
            row.update(reply_at=created - timedelta(days=1), reply_text="Sudah dibalas")
        elif r < 0.4:  # reply text, no time
            row.update(reply_text="Mohon maaf")
        elif r < 0.5:  # blank reply text: not a reply
            row.update(reply_text="   ")
        elif r < 0.55:  # reply time, empty text
            row.update(reply_at=created + timedelta(days=2), reply_text="")
        rows.append(row)
    return rows


@pytest.fixture
def edge_store(any_db_url):
    """Six sources/apps, two models (one labels most), an invalid label, unlabelled and untagged
    mentions, display-name and custom indicators, signals of every kind."""
    store = Store(any_db_url)
    store.upsert_mentions(_rows())
    ids = list(store.mentions_df()["id"])
    rng = random.Random(3)
    now = D(2025, 1, 1)
    names = ["kemudahan_akses", "penanggapan", "transparansi", "sosialisasi", "Kemudahan-Akses", "lainnya",
             "keterhubungan"]
    with store.engine.begin() as conn:
        for i, mid in enumerate(ids):
            if i % 9 != 4:  # some mentions never labelled
                conn.execute(sentiments.insert().values(
                    mention_id=int(mid), model="big@1", label=rng.choice(["positive", "neutral", "negative",
                                                                          "negative", "odd"]),
                    p_positive=round(rng.random(), 3), p_neutral=None if i % 5 == 0 else 0.25, p_negative=0.5,
                    content_hash="h", analyzed_at=now))
            if i % 4 == 0:
                conn.execute(sentiments.insert().values(mention_id=int(mid), model="small@1", label="positive",
                                                        content_hash="h", analyzed_at=now))
            # Tags only on some ids, so some chunks carry none.
            if i % 10 < 6:
                for ind in rng.sample(names[:4] + names[5:], rng.randint(1, 3)) if i % 17 else [names[4]]:
                    conn.execute(indicators.insert().values(
                        mention_id=int(mid), indicator=ind, evidence=rng.choice(["lambat", "=cmd", "a | b"]),
                        taxonomy=rng.choice(["tax@1", "tax@2"]), content_hash="h", tagged_at=now,
                        signal=rng.choice([None, "complaint", "praise", "mixed", "mention"])))
    yield store
    store.close()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(trends, "CHUNK_ROWS", 7)
    monkeypatch.setattr(brief, "FETCH_ROWS", 5)
    monkeypatch.setattr(brief, "_IN", 2)  # several padded label queries per page
    monkeypatch.setattr(export, "CHUNK_ROWS", 4)


CASES = [
    dict(),
    dict(period="week"),
    dict(period="quarter"),
    dict(since="2023-06-01", until="2024-08-31"),
    dict(since="2024-03-01", until="2024-05-31"),  # a window with no mention in it
    dict(since="2024-03-10"),
    dict(until="2023-09-30"),
    dict(until="2022-01-31"),  # before every mention
    dict(model="small@1"),
    dict(source="playstore"),
    dict(app=["id.go.tangsel", "tangsel smart city"]),
    dict(source="youtube", period="quarter", since="2023-01-01"),
    dict(source="reddit"),  # nothing answerable
    dict(source="nowhere"),
    dict(source=["playstore", "news"], app="id.go.bogor", since="2023-04-01", until="2024-12-31"),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(c) or "all" for c in CASES])
def test_tables_equal_the_whole_table_code(edge_store, small_chunks, kw):
    for name in ("sentiment_by_period", "responsiveness_by_period"):
        got = getattr(trends, name)(edge_store, **kw)
        want = getattr(ref, name)(edge_store, **kw)
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
    for breakdown in (False, True):
        got = trends.indicators_by_period(edge_store, breakdown=breakdown, **kw)
        want = ref.indicators_by_period(edge_store, breakdown=breakdown, **kw)
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"indicators breakdown={breakdown}")
    if kw == {}:  # the case is not vacuous: every table has rows and replies
        assert len(want) > 100 and trends.responsiveness_by_period(edge_store)["replied"].sum() > 5


def test_without_any_label_or_tag(store, small_chunks):
    store.upsert_mentions(_rows(20))
    for name in ("sentiment_by_period", "indicators_by_period", "responsiveness_by_period"):
        pd.testing.assert_frame_equal(getattr(trends, name)(store), getattr(ref, name)(store), check_exact=True)


def test_bad_window_is_still_one_clear_error(edge_store):
    with pytest.raises(InputError, match="before --since"):
        trends.sentiment_by_period(edge_store, since="2024-02-01", until="2024-01-01")


def test_write_trends_csvs_are_byte_identical(edge_store, small_chunks, tmp_path):
    kw = dict(period="month", since="2023-03-01")
    paths = trends.write_trends(edge_store, tmp_path / "new", quotes=False, **kw)
    want = {
        "sentiment_by_period": ref.sentiment_by_period(edge_store, **kw),
        "indicators_by_period": ref.indicators_by_period(edge_store, breakdown=True, **kw),
        "responsiveness_by_period": ref.responsiveness_by_period(edge_store, **kw),
    }
    for name, df in want.items():
        old = write_csv(ref._rounded(df), tmp_path / f"{name}.csv")
        assert paths[name].read_bytes() == old.read_bytes(), name


REPORT_CASES = [dict(), dict(since="2023-06-01", until="2024-08-31"), dict(model="small@1"),
                dict(source="playstore"), dict(app=["id.go.tangsel", "id.go.bogor"], since="2024-01-01"),
                dict(source="nowhere")]


@pytest.mark.parametrize("kw", REPORT_CASES, ids=[str(c) or "all" for c in REPORT_CASES])
def test_report_reads_equal_the_whole_table_code(edge_store, small_chunks, kw):
    for name in ("representative_quotes", "complaint_phrases"):
        got = getattr(brief, name)(edge_store, **kw)
        want = getattr(reference_brief, name)(edge_store, **kw)
        if name == "complaint_phrases" and edge_store.dialect == "postgresql":
            # Phrases tied on count keep the order the store returns the (unordered) join in, which
            # PostgreSQL does not fix from one query plan to the next; SQLite's is the table's.
            got, want = (d.sort_values(["indicator", "complaints", "phrase"], ascending=[True, False, True],
                                       ignore_index=True) for d in (got, want))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
        if kw == {}:  # not vacuous
            assert len(want) > 8, name
    window = (kw.get("since"), kw.get("until"))
    model = trends.choose_model(edge_store, kw.get("model"))
    for basis in ("polarity", "sentiment"):
        got = triangulate.review_side(edge_store, window, model, kw.get("source"), kw.get("app"), basis=basis)
        want = reference_triangulate.review_side(edge_store, window, model, kw.get("source"), kw.get("app"),
                                                 basis=basis)
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj="review_side")


def test_label_lookups_reuse_one_statement(edge_store, monkeypatch):
    """Pages with different numbers of ids still send one SQL text: sqlite3 keeps every distinct
    prepared statement it saw (128), and a page's IN of thousands of ids held megabytes."""
    from sqlalchemy import event

    monkeypatch.setattr(brief, "FETCH_ROWS", 7)
    monkeypatch.setattr(brief, "_IN", 4)
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        if "FROM sentiments" in statement and "IN" in statement.upper():
            seen.append(statement)

    event.listen(edge_store.engine, "before_cursor_execute", record)
    try:
        want = reference_brief.complaint_phrases(edge_store)
        seen.clear()
        got = brief.complaint_phrases(edge_store)
    finally:
        event.remove(edge_store.engine, "before_cursor_execute", record)
    # Phrases tied on count come in the join's order, which PostgreSQL does not fix (as above).
    got, want = (d.sort_values(["indicator", "complaints", "phrase"], ascending=[True, False, True],
                               ignore_index=True) for d in (got, want))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(seen) > 10 and len(set(seen)) == 1


def test_quote_rule_with_many_ties_and_repeated_authors(store, small_chunks):
    """Every candidate has the same likes and many the same time: the store's order decides."""
    same = D(2024, 5, 5)
    rows = [dict(source="playstore", source_id=f"q{i}", app="a", kind="review", author_key=f"k{i % 4}",
                 text=f"Keluhan nomor {i % 9} tentang aplikasi yang sering gagal memuat", thumbs_up=5,
                 created_at=same if i % 2 else same + timedelta(hours=i), fetched_at=same) for i in range(40)]
    store.upsert_mentions(rows)
    with store.engine.begin() as conn:
        for mid in store.mentions_df()["id"]:
            conn.execute(sentiments.insert().values(mention_id=int(mid), model="m@1",
                                                    label="negative" if mid % 3 else "positive",
                                                    content_hash="h", analyzed_at=D(2025, 1, 1)))
            conn.execute(indicators.insert().values(mention_id=int(mid), indicator="penanggapan", evidence="gagal",
                                                    taxonomy="t", content_hash="h", tagged_at=D(2025, 1, 1)))
    got = brief.representative_quotes(store)
    pd.testing.assert_frame_equal(got, reference_brief.representative_quotes(store), check_exact=True)
    assert len(got) == 4 and set(got["stance"]) == {"complaint"}  # four authors, all taken by complaints


# ---- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [None, "playstore", "youtube", "nowhere"])
def test_export_csv_is_byte_identical(edge_store, small_chunks, tmp_path, source):
    new = export.export_mentions(edge_store, tmp_path / "new.csv", source)
    old = write_csv(export.mentions_frame(edge_store, source), tmp_path / "old.csv")
    assert new.read_bytes() == old.read_bytes()
    if source is None:
        assert new.read_bytes().startswith(b"\xef\xbb\xbfmention_id,") and b"'=HYPERLINK" in new.read_bytes()
        assert new.read_bytes().count(b"\xef\xbb\xbf") == 1


@pytest.mark.parametrize("model", [None, "small@1"])
@pytest.mark.parametrize("source", [None, "news"])
def test_export_labels_csv_is_byte_identical(edge_store, small_chunks, tmp_path, source, model):
    new = export.export_labelled_mentions(edge_store, tmp_path / "new.csv", source, model)
    old = write_csv(export.labelled_mentions_frame(edge_store, source, model), tmp_path / "old.csv")
    assert new.read_bytes() == old.read_bytes()
    if source is None and model is None:
        assert b"penanggapan=" in new.read_bytes() and b"kemudahan_akses; " in new.read_bytes()


def test_export_of_an_empty_store_is_the_header(store, tmp_path):
    new = export.export_labelled_mentions(store, tmp_path / "l.csv")
    assert new.read_bytes() == write_csv(export.labelled_mentions_frame(store), tmp_path / "o.csv").read_bytes()
    new = export.export_mentions(store, tmp_path / "n.csv")
    assert new.read_bytes() == write_csv(export.mentions_frame(store), tmp_path / "p.csv").read_bytes()


def test_failed_export_leaves_the_old_file(edge_store, small_chunks, tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "m.csv"
    out.write_text("old")

    real = export._mention_chunks

    def failing(*a, **kw):
        for i, df in enumerate(real(*a, **kw)):
            if i == 2:
                raise RuntimeError("disk gone")
            yield df

    monkeypatch.setattr(export, "_mention_chunks", failing)
    with pytest.raises(RuntimeError):
        export.export_mentions(edge_store, out)
    assert out.read_text() == "old" and [p.name for p in out.parent.iterdir()] == ["m.csv"]


def test_workbook_streams_the_same_rows(edge_store, small_chunks, tmp_path):
    path = export.export_workbook(edge_store, tmp_path / "m.xlsx")
    ws = load_workbook(path, read_only=True)["mentions"]
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    want = safe_frame(export.labelled_mentions_frame(edge_store))
    assert got[0] == list(want.columns) and len(got) == len(want) + 1
    for g, (_, w) in zip(got[1:], want.iterrows()):
        for a, b in zip(g, w):
            if b is None or (not isinstance(b, str) and pd.isna(b)) or b == "":  # "" reads back as None
                assert a is None
            else:
                assert a == b


def test_workbook_over_the_excel_limit_is_one_error(edge_store, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 10)
    with pytest.raises(InputError, match="do not fit in one Excel sheet.*CSV"):
        export.export_workbook(edge_store, tmp_path / "m.xlsx")
    assert not list(tmp_path.glob("*.xlsx"))
    res = CliRunner().invoke(cli, ["export", "--out", str(tmp_path / "m.xlsx"), "--format", "xlsx",
                                   "--db", edge_store.engine.url.render_as_string(hide_password=False)])
    assert res.exit_code == 2
    err = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error:") and "CSV" in err[0], res.output


def test_cli_export_counts_and_streams(edge_store, small_chunks, tmp_path):
    url = edge_store.engine.url.render_as_string(hide_password=False)
    res = CliRunner().invoke(cli, ["export", "--out", str(tmp_path / "m.csv"), "--labels", "--db", url])
    assert res.exit_code == 0, res.output
    assert f": {edge_store.count_mentions()} mention(s)" in res.output
    assert (tmp_path / "m.csv").read_bytes() == write_csv(export.labelled_mentions_frame(edge_store),
                                                          tmp_path / "o.csv").read_bytes()
