"""The research brief: scrubbing, quote selection, findings, filters, language, exports."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import brief
from pipelines.cli import app
from pipelines.errors import InputError
from pipelines.export import LABEL_COLUMNS, EXPORT_COLUMNS, export_workbook, labelled_mentions_frame
from pipelines.i18n import TEXTS, HEADERS
from pipelines.redact import contains_contact, scrub
from pipelines.store import Store, indicators, sentiments
from pipelines.trends import INDICATOR_COLUMNS, indicators_by_period, sentiment_by_period, write_trends

D = datetime
A, B = "id.go.tangsel", "1000000001"


@pytest.mark.parametrize("text, expected", [
    ("hubungi 0812-3456-7890 ya", "hubungi [phone] ya"),
    ("wa +62 812 3456 7890.", "wa [phone]."),
    ("kantor (021) 7460 123", "kantor [phone]"),
    ("telp 081234567890", "telp [phone]"),
    ("email budi.s@mail.co.id!", "email [email]!"),
    ("NIK 3674012345678901 saya", "NIK [NIK] saya"),
    ("nik 3674 0123 4567 8901", "nik [NIK]"),
    ("cc @pemkot_tangsel dan @Budi.S", "cc [@user] dan [@user]"),
    ("lihat https://wa.me/6281234567890 sekarang", "lihat [link] sekarang"),
])
def test_scrub_masks_contact_data(text, expected):
    assert scrub(text) == expected
    assert contains_contact(text) and not contains_contact(scrub(text))


@pytest.mark.parametrize("text", [
    "versi 2.4.4 rating 5 tahun 2024", "tiket 12345 darurat 112", "rp 150.000 sudah bayar", "jam 08.30 tutup",
    "a@b", "",
])
def test_scrub_leaves_ordinary_numbers_alone(text):
    assert scrub(text) == text


def test_both_languages_have_every_text():
    assert set(TEXTS["id"]) == set(TEXTS["en"]) and set(HEADERS["id"]) == set(HEADERS["en"])
    for key, text in TEXTS["id"].items():  # the same placeholders in both
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", TEXTS["en"][key])), key


def _add(store, rows, labels, tags):
    store.upsert_mentions(rows)
    ids = dict(zip(store.mentions_df()["source_id"], store.mentions_df()["id"]))
    now = D(2025, 1, 1)
    with store.engine.begin() as conn:
        for sid, label in labels.items():
            conn.execute(sentiments.insert().values(mention_id=int(ids[sid]), model="m@2", label=label,
                                                    content_hash="h", analyzed_at=now))
        for sid, inds in tags.items():
            for ind, ev, sig in inds:
                conn.execute(indicators.insert().values(mention_id=int(ids[sid]), indicator=ind, evidence=ev,
                                                        signal=sig, taxonomy="tax@1", content_hash="h",
                                                        tagged_at=now))
    return ids


LONG = "Laporan saya tidak ditanggapi sudah sebulan lebih, "


@pytest.fixture
def brief_store(store):
    """Google Play app A and App Store app B; penanggapan complaints with known likes and authors."""
    def rv(sid, created, text, likes=0, author=None, source="playstore", app_=A, url=None):
        return dict(source=source, source_id=sid, app=app_, kind="review", text=text, created_at=created,
                    thumbs_up=likes, author_key=author, url=url, rating=1)
    rows = [
        rv("c1", D(2024, 1, 3), LONG + "hubungi 0812-3456-7890 atau x.y@mail.id", 9, "au1",
           url="https://play.google.com/store/apps/details?id=id.go.tangsel&reviewId=c1"),
        rv("c2", D(2024, 1, 9), LONG + "kedua dari penulis yang sama", 50, "au1"),  # c1's author
        rv("c3", D(2024, 2, 1), LONG + "tiga", 20, "au3", url="http://127.0.0.1:5000/r/c3"),
        rv("c4", D(2024, 2, 2), LONG + "empat", 5, "au4"),
        rv("c5", D(2024, 2, 3), LONG + "lima", 5, "au5"),
        rv("c6", D(2024, 2, 4), "terlalu pendek", 99, "au6"),  # under the minimum length
        rv("c7", D(2024, 2, 5), LONG + "tiga", 1, "au7"),  # same text as c3
        rv("p1", D(2024, 3, 1), "Pelayanan responsif sekali, laporan cepat ditanggapi petugas", 3, "au8",
           source="appstore", app_=B),
        rv("n1", D(2024, 3, 2), "Aplikasinya biasa saja, kadang ditanggapi kadang tidak", 0, "au9"),
    ]
    labels = {"c1": "negative", "c2": "negative", "c3": "negative", "c4": "negative", "c5": "negative",
              "c6": "negative", "c7": "negative", "p1": "positive", "n1": "neutral"}
    pen = lambda ev: [("penanggapan", ev, "complaint")]  # noqa: E731
    tags = {"c1": pen("tidak ditanggapi | sebulan"), "c2": pen("tidak ditanggapi"), "c3": pen("tidak ditanggapi"),
            "c4": pen("lama"), "c5": pen("lama"), "c6": pen("x"), "c7": pen("x"),
            "p1": [("penanggapan", "responsif", "praise")], "n1": [("penanggapan", "ditanggapi", "mention")]}
    _add(store, rows, labels, tags)
    return store


def test_quotes_follow_the_documented_rule(brief_store):
    q = brief.representative_quotes(brief_store)
    assert list(q.columns) == brief.QUOTE_COLUMNS
    pen = q[q["indicator"] == "penanggapan"]
    # Likes first (c2 50 > c3 20 > c1 9 > c4 = c5), one per author (c1 shares au1 with c2), c6 too short,
    # c7 repeats c3's text; three complaints, then the one praise, and the shortfall of praise
    # filled with one more complaint.
    complaints = pen[pen["stance"] == "complaint"]
    assert [brief_store.mentions_df().set_index("id").loc[i, "source_id"] for i in complaints["mention_id"]] == \
        ["c2", "c3", "c5", "c4"]  # c4 and c5 tie on likes: the more recent first
    praise = pen[pen["stance"] == "praise"]
    assert len(praise) == 1 and praise.iloc[0]["source"] == "appstore" and praise.iloc[0]["month"] == "2024-03"
    # A local (demo/test) server is not a public original: no link.
    assert complaints.iloc[1]["url"] == ""
    assert q[q["indicator"] != "penanggapan"].empty


def test_quotes_are_scrubbed(store):
    _add(store, [dict(source="playstore", source_id="x", app=A, kind="review", created_at=D(2024, 1, 1),
                      text=LONG + "WA 0812-3456-7890, NIK 3674012345678901, a.b@mail.id, @budi_tsel",
                      url="https://play.google.com/x")],
         {"x": "negative"}, {"x": [("penanggapan", "tidak ditanggapi", "complaint")]})
    q = brief.representative_quotes(store)
    assert q.iloc[0]["text"] == LONG + "WA [phone], NIK [NIK], [email], [@user]"
    assert q.iloc[0]["url"] == "https://play.google.com/x"


def test_complaint_phrases_count_each_evidence_phrase(brief_store):
    ph = brief.complaint_phrases(brief_store)
    pen = ph[ph["indicator"] == "penanggapan"].set_index("phrase")["complaints"].to_dict()
    assert pen == {"tidak ditanggapi": 3, "lama": 2, "x": 2, "sebulan": 1}


def test_findings_name_worst_best_and_volume_in_both_languages(known_two):
    store = known_two
    tables = {"sentiment_by_period": sentiment_by_period(store)}
    cards = brief.indicator_cards(store)
    en = brief.findings(store, tables, cards, "en", "m@2", min_mentions=1)
    assert en[0] == "7 mentions from 2 source(s) between 2024-01 and 2024-02: Google Play 5, App Store 2."
    # Polarity on the indicator: all 4 penanggapan tags are complaints (g3's positive review too);
    # transparansi: a mention in a neutral review and a praise are not complaints, 2 of 3.
    assert en[1] == ("Reviews rate Responsiveness (penanggapan) worst (0% not a complaint, n=4) and "
                     "Transparency (transparansi) best (67%, n=3).")
    assert "No survey is compared" in en[2]
    assert en[-1].startswith("Human validation: none yet")
    idn = brief.findings(store, tables, cards, "id", "m@2", min_mentions=1)
    assert idn[1].startswith("Ulasan menilai Penanggapan paling buruk (0% bukan keluhan, n=4)")


@pytest.fixture
def known_two(store):
    rows = [dict(source="playstore", source_id=f"g{i}", app=A, kind="review", text=f"teks ulasan nomor {i}",
                 created_at=D(2024, 1, 1 + i)) for i in range(5)]
    rows += [dict(source="appstore", source_id=f"a{i}", app=B, kind="review", text=f"teks app store {i}",
                  created_at=D(2024, 2, 1 + i)) for i in range(2)]
    labels = {"g0": "negative", "g1": "negative", "g2": "negative", "g3": "positive", "g4": "neutral",
              "a0": "negative", "a1": "positive"}
    tags = {f"g{i}": [("penanggapan", "e", "complaint")] for i in range(4)}
    tags.update({"g4": [("transparansi", "e", "mention")], "a0": [("transparansi", "e", "complaint")],
                 "a1": [("transparansi", "e", "praise")]})
    _add(store, rows, labels, tags)
    return store


def test_indicator_breakdown_by_source_and_app(known_two):
    pooled = indicators_by_period(known_two)
    assert list(pooled.columns) == INDICATOR_COLUMNS and set(pooled["source"]) == {"all"}
    full = indicators_by_period(known_two, breakdown=True)
    parts = full[full["source"] != "all"]
    assert set(zip(parts["source"], parts["app"])) == {("playstore", A), ("appstore", B)}
    # Every breakdown has the pooled calendar, and the parts add up to the pool.
    assert len(parts) == 2 * len(pooled)
    summed = parts.groupby(["period", "indicator"])[["mentions", "complaints"]].sum()
    assert (summed.loc[list(zip(pooled["period"], pooled["indicator"]))].to_numpy()
            == pooled[["mentions", "complaints"]].to_numpy()).all()
    r = full[(full["source"] == "appstore") & (full["indicator"] == "transparansi") & (full["period"] == "2024-02")].iloc[0]
    assert (r["mentions"], r["complaints"], r["negative_share"]) == (2, 1, 0.5)


def test_filters_keep_only_the_named_source_and_app(known_two, db_url, tmp_path):
    s = sentiment_by_period(known_two, source="appstore")
    assert set(s["source"]) == {"appstore"} and s["mentions"].sum() == 2
    s = sentiment_by_period(known_two, app=[A])
    assert set(s["app"]) == {A} and s["mentions"].sum() == 5
    cards = brief.indicator_cards(known_two, source="appstore").set_index("indicator")
    assert cards.loc["transparansi", "review_mentions"] == 2 and cards.loc["penanggapan", "review_mentions"] == 0
    res = CliRunner().invoke(app, ["trends", "--db", db_url, "--app", "nope", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and res.stderr.startswith("error: bad --app 'nope': the store has no mention of it")
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    res = CliRunner().invoke(app, ["trends", "--db", db_url, "--lang", "fr"])
    assert res.exit_code == 2 and res.stderr.strip() == "error: bad --lang 'fr': use id or en"


def _sections(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', page)


def test_report_page_findings_first_language_and_quotes(brief_store, tmp_path):
    paths = write_trends(brief_store, tmp_path / "en", lang="en", app_names={("playstore", A): "Tangsel Smart City"})
    page = paths["report"].read_text(encoding="utf-8")
    assert _sections(page)[:2] == ["summary", "indicators"] and _sections(page)[-1] == "appendix-meta"
    assert '<html lang="en">' in page and "Summary of findings" in page and "What citizens wrote" in page
    assert page.count('<blockquote class="quote complaint">') == 4 and "Google Play · Tangsel Smart City" in page
    assert "0812" not in page and "x.y@mail.id" not in page
    # Tables collapsed by default, with human headers; the store URL only in the appendix.
    assert "<details open" not in page and page.count("<details>") == 3 and "<th class=\"txt\">Period</th>" in page
    assert page.index("sqlite:///") > page.index('id="appendix"')
    idn = write_trends(brief_store, tmp_path / "id", lang="id", quotes=False)["report"].read_text(encoding="utf-8")
    assert '<html lang="id">' in idn and "Ringkasan temuan" in idn and "Kutipan tidak disertakan" in idn
    assert "<blockquote" not in idn and "Laporan saya" not in idn
    assert "<dt>penyimpanan</dt>" in idn and "<dt>model sentimen</dt>" in idn and "<dt>store</dt>" in page


def test_cli_report_regenerates_with_survey_from_config(brief_store, db_url, tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("indicator,verdict\npenanggapan,poor\ntransparansi,fair\n", encoding="utf-8")
    cfg = tmp_path / "sources.toml"
    cfg.write_text(f'contact = "t@example.org"\n[[playstore]]\nname = "Aplikasi A"\nid = "{A}"\n'
                   f'[trends]\nlang = "en"\n[survey]\nfile = "{survey}"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["report", "--db", db_url, "--config", str(cfg), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(tmp_path / "r" / "report.html")
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Survey versus reviews per indicator" in page and "Google Play · Aplikasi A" in page
    assert (tmp_path / "r" / "triangulation.csv").exists() and (tmp_path / "r" / "sentiment_over_time.svg").exists()
    res = CliRunner().invoke(app, ["report", "--db", db_url, "--config", str(cfg), "--out", str(tmp_path / "r2"),
                                   "--lang", "id", "--no-quotes", "--source", "appstore"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r2" / "report.html").read_text(encoding="utf-8")
    assert "Survei dibandingkan ulasan" in page and "<blockquote" not in page and "Disaring: source: appstore" in page


def test_export_labels_csv_and_workbook(brief_store, db_url, tmp_path):
    df = labelled_mentions_frame(brief_store)
    assert list(df.columns) == EXPORT_COLUMNS + LABEL_COLUMNS
    r = df.set_index("source_id").loc["c1"]
    assert (r["sentiment"], r["sentiment_model"], r["sentiment_version"]) == ("negative", "m", "2")
    assert r["indicator_polarity"] == "penanggapan=complaint" and r["indicator_evidence"] == \
        "penanggapan: tidak ditanggapi | sebulan"
    brief_store.upsert_mentions([dict(source="playstore", source_id="f", app=A, kind="review",
                                      text='=HYPERLINK("http://x","klik") ulasan bahasa Indonesia: sangat lambat',
                                      created_at=D(2024, 4, 1))])
    res = CliRunner().invoke(app, ["export", "--db", db_url, "--labels", "--out", str(tmp_path / "m.csv")])
    assert res.exit_code == 0, res.output
    head = (tmp_path / "m.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert head == ",".join(EXPORT_COLUMNS + LABEL_COLUMNS)
    res = CliRunner().invoke(app, ["export", "--db", db_url, "--format", "xlsx", "--out", str(tmp_path / "m.xlsx")])
    assert res.exit_code == 0, res.output
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "m.xlsx")
    assert wb.sheetnames == ["mentions", "indicators", "codebook"]
    rows = list(wb["mentions"].values)
    texts = [r[rows[0].index("text")] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://x\",\"klik\") ulasan bahasa Indonesia: sangat lambat" in texts
    assert all(c.data_type != "f" for row in wb["mentions"].iter_rows() for c in row)
    assert [r[0] for r in list(wb["codebook"].values)[1:]][:2] == ["sosialisasi", "kemudahan_akses"]
    res = CliRunner().invoke(app, ["export", "--db", db_url, "--format", "pdf", "--out", str(tmp_path / "m.pdf")])
    assert res.exit_code == 2 and res.stderr.strip() == "error: bad --format 'pdf': use csv or xlsx"


def test_notebook_helpers_from_any_folder(store, tmp_path, monkeypatch):
    from pipelines.runner import status
    from pipelines.triangulate import load_survey

    monkeypatch.chdir(tmp_path)
    assert len(load_survey("data/survey/tangsel_smart_city.csv")) == 6
    assert repr(store).startswith("Store('sqlite:///")
    st = status(store)  # a Store as well as a URL
    assert st["store"] == store.safe_url and st["sources"].empty
    missing = tmp_path / "none" / "suara.db"
    with pytest.raises(InputError, match="no store at"):
        status(f"sqlite:///{missing}")
    res = CliRunner().invoke(app, ["status", "--db", f"sqlite:///{missing}"])
    assert res.exit_code == 2 and not missing.exists() and not missing.parent.exists()


def test_piped_output_is_not_wrapped(tmp_path):
    import subprocess
    import sys

    deep = tmp_path / ("a-rather-long-folder-name-for-a-cron-log-" * 3) / "suara.db"
    Store(f"sqlite:///{deep}").close()
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "status", "--db", f"sqlite:///{deep}"],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, res.stderr
    assert f"store: sqlite:///{deep}" in res.stdout.splitlines()


def test_captured_warnings_print_once_as_one_line(capfd):
    import logging

    from pipelines.cli import _clean_captured_warnings

    once = _clean_captured_warnings()
    log = logging.getLogger("py.warnings")
    was_disabled, log.disabled = log.disabled, False
    try:
        # What logging.captureWarnings (switched on by Scrapy during a crawl) does per warning.
        for _ in range(3):
            log.warning("%s", "warning: model X did not load; ran the lexicon\n")
    finally:
        log.removeFilter(once)
        log.disabled = was_disabled
    err = capfd.readouterr().err
    assert err.count("warning: model X did not load; ran the lexicon") == 1 and "py.warnings" not in err


def test_cli_triangulate_filters(brief_store, db_url, tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("indicator,verdict\npenanggapan,poor\n", encoding="utf-8")
    base = ["triangulate", "--db", db_url, "--survey", str(survey)]
    res = CliRunner().invoke(app, base + ["--source", "appstore", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    tri = pd.read_csv(tmp_path / "a" / "triangulation.csv", encoding="utf-8-sig").set_index("indicator")
    assert tri.loc["penanggapan", "review_mentions"] == 1  # only the App Store praise
    res = CliRunner().invoke(app, base + ["--until", "2024-01-31", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    tri = pd.read_csv(tmp_path / "b" / "triangulation.csv", encoding="utf-8-sig").set_index("indicator")
    assert tri.loc["penanggapan", "review_mentions"] == 2 and tri.loc["penanggapan", "window_end"] == "2024-01-31"
    res = CliRunner().invoke(app, base + ["--until", "2024-01-31", "--window", "2024-01-01:2024-02-01"])
    assert res.exit_code == 2 and res.stderr.strip() == "error: give either --window or --since/--until, not both"
    res = CliRunner().invoke(app, base + ["--source", "tiktok"])
    assert res.exit_code == 2 and "bad --source 'tiktok'" in res.stderr
