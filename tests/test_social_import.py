"""Importing social-media exports (X, Instagram, TikTok, YouTube): formats, idempotence,
official replies, privacy, bad input, folders from the sources config."""

from __future__ import annotations

import json
import lzma
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipelines.cli import app as cli
from pipelines.errors import InputError
from pipelines.privacy import pseudonymise
from pipelines.social_import import (
    ImportsConfig,
    ImportFolder,
    import_export,
    import_paths,
    imported_files_frame,
    mask_handles,
    threads_frame,
)
from pipelines.sources import parse_sources
from pipelines.store import Store, metadata
from pipelines.trends import responsiveness_by_period

DATA = Path(__file__).parent / "data" / "social"
OPS = {"x": ["tangselkota"], "instagram": ["@TangselKota"], "tiktok": ["tangselkota"],
       "youtube": ["UCtangselkotaofficial00a"]}

# file, tz, detected label, source, stored citizen items, (parent with the official reply, reply_at UTC)
CASES = [
    ("tweet-harvest.csv", "UTC", "tweet-harvest CSV", "x", 3,
     ("1765000000000000001", datetime(2024, 3, 4, 5, 45))),
    ("x-api-v2.json", "UTC", "X API v2 JSON", "x", 2, ("1766000000000000010", datetime(2024, 3, 8, 9, 20, 11))),
    ("instaloader/2024-03-04_09-00-00_UTC_comments.json", "UTC", "Instaloader comments JSON", "instagram", 3,
     ("17990000000000002", datetime(2024, 3, 4, 14, 0))),
    ("instagram-scraper.json", "UTC", "Instagram comment scraper export", "instagram", 2,
     ("18000000000000001", datetime(2024, 3, 11, 2, 15))),
    # tiktok-comment-scrapper writes the scraping machine's local time: here Jakarta (UTC+7)
    ("tiktok-comment-scrapper.json", "Asia/Jakarta", "tiktok-comment-scrapper JSON", "tiktok", 3,
     ("7345100000000000001", datetime(2024, 3, 12, 14, 0))),
    ("tiktok-scraper.json", "UTC", "TikTok comment scraper export", "tiktok", 2,
     ("7346100000000000001", datetime(2024, 3, 13, 6, 20))),
    ("Xy7tangsel1.jsonl", "UTC", "youtube-comment-downloader JSON lines", "youtube", 3,
     ("UgzQ1a2B3c4D5e6F7g8H9i4AaABAg", datetime(2024, 3, 9, 16, 0))),
]

# Every handle, user id, display name, place and avatar host in the fixtures: none may be stored.
PERSONAL = ["warga_pamulang", "budi_s91", "ciputat_kita", "serpong_rider", "900000000000000001", "Pamulang, Tangsel",
            "bintaro_warga", "anon_pondokaren", "Warga Bintaro", "warga.serpong", "ibu.rina.pml", "pakde.ciputat",
            "5500000002", "dinaskominfo_x", "warga.pondokaren", "setu.lestari", "anak_pamulang", "ciputat.cewe",
            "bapak.serpong", "Anak Pamulang", "rizky.bsd", "mama.alif", "6900000000000000001", "wargabsd",
            "pejuangotp", "ibu_ria", "UCaaaaaaaaaaaaaaaaaaaaa1", "fbcdn", "tiktokcdn", "ggpht", "twimg"]


def _all_cells(store) -> list[str]:
    out = []
    with store.engine.connect() as conn:
        for t in metadata.sorted_tables:
            if t.name in store.engine.dialect.get_table_names(conn):
                out += [str(v) for row in conn.execute(select(t)) for v in row if v is not None]
    return out


@pytest.fixture
def any_store(any_db_url):
    s = Store(any_db_url)
    yield s
    s.close()


@pytest.mark.parametrize("name,tz,label,source,n,reply", CASES, ids=[c[0].split("/")[-1] for c in CASES])
def test_each_format_imports_idempotently_with_official_reply(any_store, name, tz, label, source, n, reply):
    store = any_store
    first = import_export(store, DATA / name, tz=tz, operators=OPS, label="Tangsel Smart City")
    assert first.format == label and first.source == source
    assert (first.stored.new, first.stored.updated, first.operator_replies) == (n, 0, 1)
    again = import_export(store, DATA / name, tz=tz, operators=OPS, label="Tangsel Smart City")
    assert (again.stored.new, again.stored.updated, again.stored.unchanged) == (0, 0, n)
    df = store.mentions_df(source).set_index("source_id")
    assert len(df) == n and set(df["kind"]) <= {"post", "comment", "reply"}
    assert (df["app"] == "Tangsel Smart City").all()
    parent, reply_at = reply
    assert df.loc[parent, "reply_at"] == reply_at and df.loc[parent, "reply_text"]
    assert df["reply_text"].notna().sum() == 1  # only the parent carries the official reply
    assert df["author_key"].notna().all() and df["author_key"].str.fullmatch(r"[0-9a-f]{24}").all()
    cells = "\n".join(_all_cells(store))
    leaked = [p for p in PERSONAL if p in cells]
    assert not leaked, leaked


def test_fields_threads_and_times(store):
    import_export(store, DATA / "tweet-harvest.csv", operators=OPS)
    import_export(store, DATA / "tiktok-comment-scrapper.json", tz="Asia/Jakarta", operators=OPS)
    import_export(store, DATA / "Xy7tangsel1.jsonl", operators=OPS)
    x = store.mentions_df("x").set_index("source_id")
    post = x.loc["1765000000000000001"]
    assert post["kind"] == "post" and post["created_at"] == datetime(2024, 3, 4, 2, 15)
    assert post["url"] == "https://x.com/i/status/1765000000000000001" and post["thumbs_up"] == 12
    assert post["lang"] == "id"  # X's "in"
    # the official account itself is a public account: its handle stays; a private person's is masked
    assert "@tangselkota @[user] ada yg sama?" in post["text"]
    assert post["reply_text"].startswith("@[user] Mohon maaf")
    assert post["author_key"] == pseudonymise("x", "900000000000000001")
    assert "1765000000000000005" not in x.index  # the city's own announcement is not a citizen mention
    assert x.loc["1765000000000000004", "kind"] == "reply"
    th = threads_frame(store).set_index("source_id")
    assert th.loc["1765000000000000004", "parent_id"] == "1765000000000000003"
    assert th.loc["7345100000000000002", ["thread_id", "parent_id"]].tolist() == ["7345000000000000001",
                                                                                   "7345100000000000001"]
    tk = store.mentions_df("tiktok").set_index("source_id")
    assert tk.loc["7345100000000000004", "created_at"] == datetime(2024, 3, 12, 11, 0)  # 18:00 WIB
    assert tk.loc["7345100000000000004", "url"] == "https://www.tiktok.com/@/video/7345000000000000001"
    yt = store.mentions_df("youtube").set_index("source_id")
    r = yt.loc["UgzQ1a2B3c4D5e6F7g8H9i4AaABAg.A1b2C3d4E5g"]
    assert r["kind"] == "reply" and r["thumbs_up"] == 1200  # "1,2 rb"
    assert r["url"] == "https://www.youtube.com/watch?v=Xy7tangsel1&lc=UgzQ1a2B3c4D5e6F7g8H9i4AaABAg.A1b2C3d4E5g"
    assert yt.loc["UgzQ1a2B3c4D5e6F7g8H9i4AaABAg", "author_key"] == pseudonymise("youtube", "UCaaaaaaaaaaaaaaaaaaaaa1")


def test_tweet_harvest_27_iso_times_and_instaloader_xz_metadata(store, tmp_path):
    text = (DATA / "tweet-harvest.csv").read_text().replace("Mon Mar 04 02:15:00 +0000 2024", "2024-03-04T02:15:00.000Z")
    (tmp_path / "th27.csv").write_text(text)
    import_export(store, tmp_path / "th27.csv", operators=OPS)
    assert store.mentions_df("x").set_index("source_id").loc["1765000000000000001", "created_at"] == datetime(2024, 3, 4, 2, 15)
    folder = tmp_path / "tangselkota"
    folder.mkdir()
    shutil.copy(DATA / "instaloader/2024-03-04_09-00-00_UTC_comments.json", folder)
    meta = (DATA / "instaloader/2024-03-04_09-00-00_UTC.json").read_bytes()
    (folder / "2024-03-04_09-00-00_UTC.json.xz").write_bytes(lzma.compress(meta))
    import_export(store, folder / "2024-03-04_09-00-00_UTC_comments.json", operators=OPS)
    ig = store.mentions_df("instagram")
    assert ig["url"].str.startswith("https://www.instagram.com/p/C4aBcDeFgHi/c/").all()


def test_overlapping_exports_add_only_new_and_keep_replies(any_store, tmp_path):
    store = any_store
    lines = (DATA / "tweet-harvest.csv").read_text().splitlines(keepends=True)
    early = tmp_path / "early.csv"
    early.write_text(lines[0] + lines[1] + lines[3])  # a citizen post and another, no official reply yet
    r1 = import_export(store, early, operators=OPS)
    assert (r1.stored.new, r1.operator_replies) == (2, 0)
    later = tmp_path / "later.csv"
    later.write_text(lines[0] + lines[2] + lines[4])  # the official reply to a stored post, and a new reply
    r2 = import_export(store, later, operators=OPS)
    assert (r2.stored.new, r2.stored.updated, r2.operator_replies) == (1, 1, 1)
    df = store.mentions_df("x").set_index("source_id")
    assert df.loc["1765000000000000001", "reply_at"] == datetime(2024, 3, 4, 5, 45)
    assert len(store.versions_df()) == 1  # the post before its reply is kept as a version
    # re-importing the early file (without the reply) does not wipe it
    r3 = import_export(store, early, operators=OPS)
    assert (r3.stored.new, r3.stored.updated, r3.stored.unchanged) == (0, 0, 2)
    assert store.mentions_df("x").set_index("source_id").loc["1765000000000000001", "reply_text"]


def test_reply_rate_and_latency_for_social_sources(store):
    import_export(store, DATA / "tweet-harvest.csv", operators=OPS, label="Tangsel Smart City")
    import_export(store, DATA / "tiktok-scraper.json", operators=OPS, label="Tangsel Smart City")
    resp = responsiveness_by_period(store, period="month").set_index(["source", "period"])
    x = resp.loc[("x", "2024-03")]
    assert (x["reviews"], x["replied"]) == (3, 1) and x["reply_rate"] == pytest.approx(1 / 3)
    assert x["median_reply_latency_days"] == pytest.approx(3.5 / 24)
    tk = resp.loc[("tiktok", "2024-03")]
    assert (tk["reviews"], tk["replied"]) == (2, 1) and tk["median_reply_latency_days"] == pytest.approx(3 / 24)


def test_mask_handles():
    pub = {"tangselkota"}
    assert mask_handles("tolong @TangselKota dan @budi.s_91. cc @x", pub) == "tolong @TangselKota dan @[user]. cc @[user]"
    assert mask_handles("email warga@mail.com", pub) == "email warga@mail.com"


# ---- bad input ------------------------------------------------------------------------------------


def _bad(tmp_path, name, text) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _th(rows: list[str], header: str | None = None) -> str:
    lines = (DATA / "tweet-harvest.csv").read_text().splitlines()
    return "\n".join([header or lines[0], *rows]) + "\n"


BAD = [
    ("unknown.csv", "nama,komentar\nBudi,jelek\n", ["unknown export format", "found columns/keys: nama, komentar",
                                                   "tweet-harvest CSV", "youtube-comment-downloader"]),
    ("mixed.json", json.dumps([
        {"id": "1", "created_at": 1709546400, "text": "a", "owner": {"id": "1", "username": "u"}},
        {"cid": "Ugx1", "text": "b", "channel": "UC1", "votes": "0", "time_parsed": 1.0}]),
     ["item 2", "youtube-comment-downloader JSON lines record", "began as Instaloader", "one format"]),
    ("incomplete.json", json.dumps([
        {"id": "1", "created_at": 1709546400, "text": "a", "owner": {"id": "1", "username": "u"}},
        {"id": "2", "created_at": 1709546400, "text": "b"}]), ["item 2, field 'owner'"]),
    ("truncated.json", (DATA / "x-api-v2.json").read_text()[:700], ["not valid JSON (truncated?)", "line "]),
    ("missing.csv", "id_str,full_text,username\n1765,teks,u\n", ["row 1, field 'created_at': missing"]),
    ("badtime.jsonl", json.dumps({"cid": "Ugx1", "text": "b", "channel": "UC1", "votes": "0", "time": "kemarin",
                                  "time_parsed": "kemarin"}) + "\n", ["line 1, field 'time_parsed'", "not a date"]),
    ("truncline.jsonl", (DATA / "Xy7tangsel1.jsonl").read_text()[:-40], ["line 4: not valid JSON"]),
    ("noid.json", json.dumps({"video_url": "https://t.tiktok.com/i18n/share/video/1/", "caption": "c", "comments": [
        {"username": "a", "comment": "x", "create_time": "2024-01-01T00:00:00"}]}),
     ["comments[0], field 'comment_id': missing"]),
]


@pytest.mark.parametrize("name,text,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_files_one_error_line_exit_2_nothing_stored(db_url, tmp_path, name, text, expected):
    runner = CliRunner()
    ok = runner.invoke(cli, ["import", str(DATA / "tiktok-scraper.json"), "--db", db_url])
    assert ok.exit_code == 0, ok.output
    path = _bad(tmp_path, name, text)
    res = runner.invoke(cli, ["import", str(path), "--db", db_url])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert str(path) in err
    for e in expected:
        assert e in err, (e, err)


def test_a_bad_row_late_in_a_file_stores_nothing_from_it(store, tmp_path):
    lines = (DATA / "tweet-harvest.csv").read_text().splitlines()
    broken = lines[-1].replace("Wed Mar 06 01:00:00 +0000 2024", "kemarin sore")
    p = _bad(tmp_path, "th.csv", "\n".join(lines[:-1] + [broken]) + "\n")
    with pytest.raises(InputError, match=r"row 5, field 'created_at': not a date and time: 'kemarin sore'"):
        import_export(store, p, operators=OPS)
    assert store.count_mentions() == 0
    assert store.runs_df().empty  # validation fails before any run starts


def test_cli_detects_and_says_so_and_source_option(db_url, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["import", str(DATA / "tweet-harvest.csv"), "--account", "tangselkota",
                              "--operator", "tangselkota", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "detected: tweet-harvest CSV (x)" in res.stdout and "3 new" in res.stdout
    assert "1 official repl" in res.stdout
    wrong = runner.invoke(cli, ["import", str(DATA / "tweet-harvest.csv"), "--source", "tiktok", "--db", db_url])
    assert wrong.exit_code == 2 and "not a known tiktok export" in wrong.stderr
    badsrc = runner.invoke(cli, ["import", str(DATA / "tweet-harvest.csv"), "--source", "facebook", "--db", db_url])
    assert badsrc.exit_code == 2 and "unknown source 'facebook'" in badsrc.stderr


def test_playstore_export_still_detected(db_url, tmp_path):
    gps = [{"reviewId": "gp:1", "userName": "Warga", "content": "lemot", "score": 1, "at": "2024-03-01 09:30:00"}]
    p = tmp_path / "gps.json"
    p.write_text(json.dumps(gps))
    runner = CliRunner()
    no_app = runner.invoke(cli, ["import", str(p), "--db", db_url])
    assert no_app.exit_code == 2 and "needs the app id (--app)" in no_app.stderr
    ok = runner.invoke(cli, ["import", str(p), "--app", "com.example.tangsel", "--db", db_url])
    assert ok.exit_code == 0 and "detected: google-play-scraper export (playstore)" in ok.stdout
    assert "1 new" in ok.stdout


# ---- folders from the sources config -------------------------------------------------------------


def test_folder_import_skips_files_already_imported(store, tmp_path):
    inbox = tmp_path / "exports"
    (inbox / "ig").mkdir(parents=True)
    shutil.copy(DATA / "tweet-harvest.csv", inbox)
    shutil.copytree(DATA / "instaloader", inbox / "ig", dirs_exist_ok=True)  # with its metadata .json
    (inbox / "README.md").write_text("taruh file ekspor di sini")
    cfg = ImportsConfig([ImportFolder(inbox)], operators=OPS)
    results, errors = import_paths(store, cfg)
    assert errors == [] and [r.skipped for r in results] == [False, False]
    n = store.count_mentions()
    assert n == 6
    shutil.copy(DATA / "tiktok-scraper.json", inbox)  # a researcher drops a new export in
    results, errors = import_paths(store, cfg)
    assert errors == [] and sorted(r.skipped for r in results) == [False, True, True]
    assert store.count_mentions() == n + 2
    assert set(imported_files_frame(store)["format"]) == {"tweet-harvest", "instaloader", "tiktok-scraper"}
    (inbox / "bad.json").write_text("[{")
    results, errors = import_paths(store, cfg)
    assert len(errors) == 1 and "bad.json" in errors[0] and all(r.skipped for r in results)


def test_sources_config_imports_section(tmp_path):
    (tmp_path / "exports").mkdir()
    data = {"contact": "a@b.id", "imports": {"tz": "Asia/Jakarta", "public_accounts": ["BenyaminDavnie"],
                                             "operators": {"x": ["tangselkota"]},
                                             "folders": [{"path": "exports", "source": "x", "label": "Tangsel"}]}}
    cfg = parse_sources(data, tmp_path / "sources.toml")
    assert cfg.imports.tz == "Asia/Jakarta" and cfg.imports.operators == {"x": ["tangselkota"]}
    assert cfg.imports.folders[0].path == tmp_path / "exports" and cfg.imports.folders[0].label == "Tangsel"
    for bad, msg in [({"folders": [{"path": "e", "source": "facebook"}]}, "imports.folders[0].source"),
                     ({"operators": {"myspace": ["a"]}}, "imports.operators.myspace"),
                     ({"tz": "Mars/Olympus"}, "imports.tz"), ({"folder": []}, "imports.folder: unknown key")]:
        with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("]", r"\]")):
            parse_sources({"contact": "a@b.id", "imports": bad}, tmp_path / "sources.toml")


def test_social_sources_flow_through_analysis_trends_report_and_triangulation(store, tmp_path):
    from pipelines.analysis import analyze_sentiment
    from pipelines.tagging import tag_indicators
    from pipelines.trends import sentiment_by_period, write_trends
    from pipelines.triangulate import triangulate

    for name, tz, *_ in CASES:
        import_export(store, DATA / name, tz=tz, operators=OPS, label="Tangsel Smart City")
    analyze_sentiment(store, model="lexicon")
    tag_indicators(store)
    sent = sentiment_by_period(store, period="month")
    assert {"x", "instagram", "tiktok", "youtube"} <= set(sent["source"])
    labelled = sent[["positive", "neutral", "negative"]].sum(axis=1).sum()
    assert labelled == store.count_mentions() == sum(c[4] for c in CASES)
    paths = write_trends(store, tmp_path / "reports", period="month")
    html = paths["report"].read_text(encoding="utf-8")
    for src in ("instagram", "tiktok", "youtube"):
        assert src in html
    resp = paths["responsiveness_by_period"].read_text(encoding="utf-8-sig")
    assert "tiktok" in resp and "instagram" in resp
    tri = triangulate(store, Path(__file__).parents[1] / "data" / "survey" / "tangsel_smart_city.csv")
    assert tri["review_mentions"].sum() > 0  # indicator mentions from the social sources are counted


def test_suara_run_imports_new_exports_from_the_configured_folder(db_url, tmp_path):
    from pipelines.runner import run_once

    inbox = tmp_path / "exports"
    inbox.mkdir()
    shutil.copy(DATA / "tiktok-scraper.json", inbox)
    cfg = tmp_path / "sources.toml"
    cfg.write_text('contact = "test@localhost"\n[analysis]\nmodel = "lexicon"\n'
                   '[imports]\n[imports.operators]\ntiktok = ["tangselkota"]\n'
                   '[[imports.folders]]\npath = "exports"\nlabel = "Tangsel Smart City"\n')
    first = run_once(cfg, db_url, tmp_path / "r")
    step = next(s for s in first.steps if s.step == "import")
    assert first.ok and (step.status, step.new) == ("ok", 2) and "1 file(s) imported" in step.detail
    (inbox / "broken.json").write_text('{"data": [')
    second = run_once(cfg, db_url, tmp_path / "r")
    step = next(s for s in second.steps if s.step == "import")
    assert step.status == "failed" and step.detail.startswith("1 file(s) not imported") and "broken.json" in step.detail
    assert not second.ok and (tmp_path / "r" / "responsiveness_by_period.csv").exists()


def test_semicolon_csv_as_excel_saves_it(store, tmp_path):
    import csv as _csv

    rows = list(_csv.reader((DATA / "tweet-harvest.csv").read_text().splitlines()))
    p = tmp_path / "excel.csv"
    with open(p, "w", newline="", encoding="utf-8-sig") as fh:
        _csv.writer(fh, delimiter=";").writerows(rows)
    r = import_export(store, p, operators=OPS)
    assert (r.format, r.stored.new, r.operator_replies) == ("tweet-harvest CSV", 3, 1)


def test_cli_takes_operators_and_zone_from_the_sources_config(db_url, tmp_path):
    cfg = tmp_path / "sources.toml"
    cfg.write_text('contact = "a@b.id"\n[imports]\ntz = "Asia/Jakarta"\n[imports.operators]\ntiktok = ["TangselKota"]\n')
    res = CliRunner().invoke(cli, ["import", str(DATA / "tiktok-comment-scrapper.json"), "--config", str(cfg),
                                   "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "detected: tiktok-comment-scrapper JSON (tiktok)" in res.stdout and "1 official repl" in res.stdout
    store = Store(db_url)
    try:
        df = store.mentions_df("tiktok").set_index("source_id")
    finally:
        store.close()
    assert df.loc["7345100000000000001", "created_at"] == datetime(2024, 3, 12, 12, 5)  # 19:05 WIB
