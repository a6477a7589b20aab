"""Importing google-play-scraper exports and exporting the store as a safe CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli
from pipelines.errors import InputError
from pipelines.export import EXPORT_COLUMNS, export_mentions, mentions_frame
from pipelines.importer import import_reviews
from pipelines.privacy import pseudonymise

APP = "com.example.tangsel"


def gps_rows(n: int = 4) -> list[dict]:
    """Rows as google-play-scraper's reviews() returns them (naive local datetimes)."""
    rows = []
    for i in range(n):
        rows.append({
            "reviewId": f"gp:imp{i}",
            "userName": f"Warga {i}",
            "userImage": f"https://play-lh.googleusercontent.com/a-/img{i}",
            "content": f"aplikasi nomor {i}, lumayan",
            "score": i % 5 + 1,
            "thumbsUpCount": i * 2,
            "reviewCreatedVersion": "2.1.0" if i else None,
            "at": datetime(2024, 3, 1 + i, 9, 30, 0),
            "replyContent": "Terima kasih atas masukannya." if i == 1 else None,
            "repliedAt": datetime(2024, 3, 4, 10, 0, 0) if i == 1 else None,
            "appVersion": "2.1.0" if i else None,
        })
    return rows


def write_gps_csv(path, rows):
    pd.DataFrame(rows).to_csv(path)  # as people do: with pandas' index column
    return path


def write_gps_json(path, rows):
    path.write_text(json.dumps(rows, default=str, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("writer", [write_gps_csv, write_gps_json], ids=["csv", "json"])
def test_import_gps_export(store, tmp_path, writer):
    path = writer(tmp_path / ("reviews.csv" if writer is write_gps_csv else "reviews.json"), gps_rows())
    res = import_reviews(store, path, APP)
    assert (res.new, res.updated, res.unchanged) == (4, 0, 0)
    df = store.mentions_df("playstore").set_index("source_id")
    r = df.loc["gp:imp1"]
    assert r["app"] == APP and r["text"] == "aplikasi nomor 1, lumayan" and r["rating"] == 2.0
    assert r["created_at"].to_pydatetime() == datetime(2024, 3, 2, 9, 30)  # naive times read as UTC by default
    assert r["reply_text"] == "Terima kasih atas masukannya." and r["reply_at"].to_pydatetime() == datetime(2024, 3, 4, 10)
    assert r["thumbs_up"] == 2 and r["app_version"] == "2.1.0"
    assert r["author_key"] == pseudonymise("playstore", "Warga 1")
    assert not df.astype(str).apply(lambda c: c.str.contains("Warga|googleusercontent")).any().any()
    assert store.runs_df().iloc[-1][["job", "status", "new"]].tolist() == ["import", "ok", 4]
    # Same file again: idempotent.
    again = import_reviews(store, path, APP)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)


def test_import_time_zone_option(store, tmp_path):
    path = write_gps_json(tmp_path / "r.json", gps_rows(1))
    import_reviews(store, path, APP, tz="Asia/Jakarta")
    at = store.mentions_df().iloc[0]["created_at"].to_pydatetime()
    assert at == datetime(2024, 3, 1, 2, 30)  # 09:30 in Jakarta (UTC+7)


def test_explicit_offsets_win_over_tz(store, tmp_path):
    rows = gps_rows(1)
    rows[0]["at"] = "2024-03-01T09:30:00+07:00"
    import_reviews(store, write_gps_json(tmp_path / "r.json", rows), APP, tz="America/New_York")
    assert store.mentions_df().iloc[0]["created_at"].to_pydatetime() == datetime(2024, 3, 1, 2, 30)


def test_merged_scrapes_keep_each_edit_as_a_version(store, tmp_path):
    rows = gps_rows(2)
    edited = dict(rows[0], content="sudah diperbaiki, mantap", score=5, at=datetime(2024, 4, 1, 8, 0))
    path = write_gps_csv(tmp_path / "merged.csv", [edited, *rows])  # newest first, like a later scrape
    res = import_reviews(store, path, APP)
    assert (res.new, res.updated) == (2, 1)
    df = store.mentions_df().set_index("source_id")
    assert df.loc["gp:imp0", "text"] == "sudah diperbaiki, mantap"
    assert store.versions_df()["text"].tolist() == ["aplikasi nomor 0, lumayan"]


def test_crawl_and_import_share_author_keys(store, tmp_path):
    # The Play Store client pseudonymises with the same source name, so one person is one key.
    from scraper.playstore import review_row

    crawled = review_row({"review_id": "gp:x", "user_name": "Warga 0", "content": "", "score": 3,
                          "at": datetime(2024, 1, 1)}, APP, "id", "id")
    import_reviews(store, write_gps_json(tmp_path / "r.json", gps_rows(1)), APP)
    assert store.mentions_df().iloc[0]["author_key"] == crawled["author_key"]


def _csv(tmp_path, text: str, name: str = "bad.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEAD = "reviewId,userName,content,score,thumbsUpCount,at,replyContent,repliedAt,appVersion\n"
GOOD_ROW = "gp:a,Warga,bagus,5,0,2024-03-01 09:30:00,,,1.0\n"


@pytest.mark.parametrize(
    "name,text,expected",
    [
        ("missing.csv", "reviewId,content,at\ngp:a,bagus,2024-03-01 09:30:00\n", r"missing column\(s\) score"),
        ("date.csv", GOOD_HEAD + GOOD_ROW + "gp:b,Warga,jelek,1,0,kemarin sore,,,1.0\n",
         r"row 2, column 'at': not a date and time: 'kemarin sore'"),
        ("score.csv", GOOD_HEAD + GOOD_ROW + "gp:b,Warga,jelek,lima,0,2024-03-01 10:00:00,,,1.0\n",
         r"row 2, column 'score': not a whole number: 'lima'"),
        ("range.csv", GOOD_HEAD + GOOD_ROW + "gp:b,Warga,jelek,9,0,2024-03-01 10:00:00,,,1.0\n",
         r"row 2, column 'score': 9 is outside 1-5"),
        ("reply.csv", GOOD_HEAD + GOOD_ROW + "gp:b,Warga,jelek,1,0,2024-03-01 10:00:00,Maaf,31/02/2024,1.0\n",
         r"row 2, column 'repliedAt': not a date and time: '31/02/2024'"),
        ("noid.csv", GOOD_HEAD + GOOD_ROW + ",Warga,jelek,1,0,2024-03-01 10:00:00,,,1.0\n", r"row 2, column 'reviewId': empty"),
        ("syntax.json", '[{"reviewId": "gp:a", "content": "x", "score": 5, "at": "2024-03-01 09:30:00"},\n{"reviewId": ',
         r"not valid JSON at line 2, column 14"),
        ("object.json", '{"reviews": []}', r"expected a JSON array of review objects, got dict"),
        ("item.json", '[{"reviewId": "gp:a", "content": "x", "score": 5, "at": "2024-03-01 09:30:00"}, 7]',
         r"item 2 is a int, expected an object"),
        ("type.json", '[{"reviewId": "gp:a", "content": ["x"], "score": 5, "at": "2024-03-01 09:30:00"}]',
         r"item 1, column 'content': expected text, got list"),
        ("reviews.xlsx", "PK\x03\x04", r"unsupported file type '.xlsx'"),
        ("empty.csv", "", r"empty file"),
    ],
)
def test_malformed_files_give_one_clear_error_and_store_nothing(store, tmp_path, name, text, expected):
    import_reviews(store, write_gps_json(tmp_path / "earlier.json", gps_rows(2)), APP)  # data already there
    path = _csv(tmp_path, text, name)
    with pytest.raises(InputError, match=expected) as err:
        import_reviews(store, path, APP)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert len(store.mentions_df()) == 2  # nothing from the bad file, nothing lost
    assert "gp:a" not in set(store.mentions_df()["source_id"])


def test_bad_time_zone_and_missing_file(store, tmp_path):
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        import_reviews(store, write_gps_json(tmp_path / "r.json", gps_rows(1)), APP, tz="Mars/Olympus")
    with pytest.raises(InputError, match="cannot read"):
        import_reviews(store, tmp_path / "nope.csv", APP)


def test_cli_import(db_url, tmp_path):
    runner = CliRunner()
    good = write_gps_csv(tmp_path / "r.csv", gps_rows())
    ok = runner.invoke(cli, ["import", str(good), "--app", APP, "--db", db_url])
    assert ok.exit_code == 0 and "4 new" in ok.stdout
    bad = _csv(tmp_path, GOOD_HEAD + "gp:b,Warga,jelek,1,0,besok,,,1.0\n")
    failed = runner.invoke(cli, ["import", str(bad), "--app", APP, "--db", db_url])
    assert failed.exit_code == 2
    assert failed.stderr.strip().startswith("error: ") and "row 1, column 'at'" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


# ---- export -------------------------------------------------------------------------------------


def _mention(i: int, text: str, **kw) -> dict:
    return {"source": "playstore", "source_id": f"gp:e{i}", "app": APP, "text": text, "rating": 1 + i % 5,
            "author_key": pseudonymise("playstore", f"Warga {i}"), "created_at": datetime(2024, 5, 1, 8, i),
            **kw}


def test_export_is_formula_safe_with_bom_and_stable_columns(store, tmp_path):
    nasty = ["=HYPERLINK(\"http://x\",\"klik\")", "+62 812 3456", "-_- jelek banget", "@admin tolong", "\tspasi",
             "\rcarriage", "Aplikasi bagus, mudah diakses"]
    store.upsert_mentions([_mention(i, t) for i, t in enumerate(nasty)]
                          + [_mention(9, "ok", reply_text="=1+1", reply_at=datetime(2024, 5, 2))])
    path = export_mentions(store, tmp_path / "out" / "mentions.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == EXPORT_COLUMNS
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    got = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert got["text"].tolist()[:4] == ["'=HYPERLINK(\"http://x\",\"klik\")", "'+62 812 3456", "'-_- jelek banget",
                                        "'@admin tolong"]
    assert got["text"].tolist()[6] == "Aplikasi bagus, mudah diakses"
    assert got.loc[got["source_id"] == "gp:e9", "reply_text"].item() == "'=1+1"
    assert got["rating"].tolist()[:3] == [1.0, 2.0, 3.0]  # numbers stay numbers
    assert got["created_at"].iloc[0] == "2024-05-01T08:00:00Z"


def test_mentions_frame_and_cli_export(store, db_url, tmp_path):
    store.upsert_mentions([_mention(1, "bagus"), _mention(2, "jelek", source="news")])
    df = mentions_frame(store)
    assert list(df.columns) == EXPORT_COLUMNS and len(df) == 2
    assert list(mentions_frame(store, "news")["source_id"]) == ["gp:e2"]
    result = CliRunner().invoke(cli, ["export", "--out", str(tmp_path / "all.csv"), "--db", db_url])
    assert result.exit_code == 0 and "2 mention(s)" in result.stdout
    assert len(pd.read_csv(tmp_path / "all.csv", encoding="utf-8-sig")) == 2
    assert "userName" not in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
