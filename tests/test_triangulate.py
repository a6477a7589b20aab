"""Survey files of each kind, malformed ones, and triangulation verdicts on constructed stores."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.errors import InputError, SuaraError
from pipelines.paths import DATA_DIR
from pipelines.store import indicators, sentiments
from pipelines.triangulate import (
    SURVEY_COLUMNS,
    TRIANGULATION_COLUMNS,
    load_mapping,
    load_survey,
    parse_mapping,
    parse_window,
    triangulate,
    write_triangulation,
)
from pipelines.trends import INDICATORS, wilson

SURVEY = DATA_DIR / "survey"
D = datetime
# Student's t 0.975 quantiles from a printed table.
T975 = {2: 4.302653, 3: 3.182446}


def write(tmp_path, text, name="survey.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---- survey files --------------------------------------------------------------------------------


def test_shipped_study_is_direction_only(tmp_path):
    s = load_survey(SURVEY / "tangsel_smart_city.csv")
    assert list(s.columns) == SURVEY_COLUMNS
    assert list(s["indicator"]) == list(INDICATORS)
    assert set(s["survey_verdict"]) == {"poor"} and set(s["verdict_from"]) == {"published"}
    assert set(s["measure"]) == {"verdict"}
    # No invented numbers: respondents, scores and shares are all empty.
    assert s[["respondents", "score", "favourable_share", "value"]].isna().all().all()


def test_template_rows_each_kind():
    s = load_survey(SURVEY / "template.csv").set_index("indicator")
    sos = s.loc["sosialisasi"]
    assert (sos.measure, sos.value, sos.survey_verdict) == ("favourable_share", 0.21, "poor")
    assert (sos.value_low, sos.value_high) == pytest.approx(wilson(0.21 * 120, 120))
    assert sos.score_norm == pytest.approx(0.35)  # (2.4 - 1) / 4
    half = 1.980100 * 0.9 / math.sqrt(120)  # t(0.975, 119) = 1.980100
    assert sos.score_norm_low == pytest.approx((2.4 - half - 1) / 4, abs=1e-6)
    acc = s.loc["kemudahan_akses"]
    assert (acc.measure, acc.value, acc.survey_verdict, acc.verdict_from) == ("score", 0.525, "fair", "score")
    assert math.isnan(acc.value_low)  # no sd: no interval
    assert math.isnan(s.loc["keterhubungan"].value_low)  # a share without respondents: no interval
    asp = s.loc["kemudahan_aspirasi"]
    assert (asp.measure, asp.survey_verdict, asp.verdict_from) == ("verdict", "poor", "published")
    tra = s.loc["transparansi"]
    assert (tra.value, tra.survey_verdict, tra.verdict_from) == (0.68, "fair", "published")


def test_semicolons_decimal_commas_display_names_and_indonesian_verdicts(tmp_path):
    p = write(tmp_path, "Indicator;Score;Scale_Min;Scale_Max;Verdict\nKemudahan Akses;3,4;1;5;\npenanggapan;;;;buruk\n")
    s = load_survey(p).set_index("indicator")
    assert s.loc["kemudahan_akses", "value"] == pytest.approx(0.6)
    assert s.loc["penanggapan", "survey_verdict"] == "poor"


def test_raw_responses_aggregate_with_intervals(tmp_path):
    p = write(tmp_path, "respondent,a,b,c\nR1,1,3,5\nR2,3,3,4\nR3,4,4,\nR4,5,5,2\n")
    m = tmp_path / "map.toml"
    m.write_text('scale = [1, 5]\nreverse = ["c"]\n[items]\na = "sosialisasi"\nb = "sosialisasi"\n'
                 'c = "penanggapan"\n', encoding="utf-8")
    s = load_survey(p, m).set_index("indicator")
    assert list(s.index) == ["sosialisasi", "penanggapan"] and set(s["format"]) == {"raw"}
    sos = s.loc["sosialisasi"]  # respondent means 2, 3, 4, 5
    assert (sos.respondents, sos.score, sos.score_norm) == (4, 3.5, 0.625)
    half = T975[3] * 1.2909944 / 2
    assert sos.score_norm_low == pytest.approx((3.5 - half - 1) / 4, abs=1e-6)
    assert sos.score_norm_high == 1.0  # clipped to the scale
    # Favourable = mean at or above the midpoint 3 (neutral counts, as on the review side): 3 of 4.
    assert (sos.favourable_share, sos.measure, sos.value, sos.survey_verdict) == (0.75, "favourable_share", 0.75, "good")
    assert (sos.favourable_low, sos.favourable_high) == pytest.approx((0.300642, 0.954413), abs=1e-6)
    pen = s.loc["penanggapan"]  # c reversed: 1, 2, (blank), 4
    assert (pen.respondents, pen.score) == (3, pytest.approx(7 / 3))
    half = T975[2] * 1.5275252 / math.sqrt(3)
    assert pen.score_norm_low == 0.0 and pen.score_norm_high == 1.0
    assert (7 / 3 - half) < 1  # the unclipped bound really is below the scale
    assert pen.favourable_share == pytest.approx(1 / 3) and pen.survey_verdict == "poor"


def test_raw_responses_with_cli_style_pairs_and_threshold(tmp_path):
    p = write(tmp_path, "id,x,y\n1,4,2\n2,3,1\n3,2,4\n")
    s = load_survey(p, parse_mapping(["x=Transparansi", "y=kemudahan-aspirasi"], "1:4")).set_index("indicator")
    assert s.loc["transparansi", "score_norm"] == pytest.approx((3 - 1) / 3)
    assert s.loc["transparansi", "favourable_share"] == pytest.approx(2 / 3)  # 4, 3 >= 2.5
    assert s.loc["kemudahan_aspirasi", "favourable_share"] == pytest.approx(1 / 3)
    assert load_survey(p, {"x": "transparansi"}).loc[0, "respondents"] == 3
    m = tmp_path / "m.toml"
    m.write_text('scale = [1, 4]\nfavourable_min = 4\n[items]\nx = "transparansi"\n', encoding="utf-8")
    assert load_survey(p, m).loc[0, "favourable_share"] == pytest.approx(1 / 3)


def test_shipped_raw_example_matches_an_independent_computation():
    path = SURVEY / "example_raw_responses.csv"
    s = load_survey(path, SURVEY / "example_raw_responses.toml").set_index("indicator")
    raw = pd.read_csv(path)
    assert raw["respondent"].str.startswith("INVENTED-EXAMPLE").all()
    raw["q12"] = 6 - raw["q12"]  # reverse-worded
    for ind, items in {"sosialisasi": ["q1", "q2"], "penanggapan": ["q11", "q12"]}.items():
        means = raw[items].mean(axis=1, skipna=True).dropna()
        assert s.loc[ind, "respondents"] == len(means)
        assert s.loc[ind, "score"] == pytest.approx(means.mean())
        assert s.loc[ind, "favourable_share"] == pytest.approx((means >= 3).mean())


MALFORMED = [
    ("indicator,verdict\nsosialisasi,poor\ndigital literacy,poor\n",
     "line 3, column 'indicator': unknown indicator 'digital literacy' (expected one of sosialisasi, kemudahan akses,"),
    ("indicator,respondents,score,scale_min,scale_max\nsosialisasi,10,6,1,5\n",
     "line 2, column 'score': 6 is outside its scale 1..5"),
    ("indicator,respondents\nsosialisasi,10\n",
     "line 1: missing column: needs at least one of 'score', 'favourable_share', 'verdict'"),
    ("indicator,score\nsosialisasi,3\n", "line 1: missing column 'scale_min' (a 'score' needs its scale)"),
    ("item,verdict\nsosialisasi,poor\n", "line 1: missing column 'indicator'; for raw responses"),
    ("indicator,verdict\nsosialisasi,terrible\n", "line 2, column 'verdict': 'terrible' is not one of poor, fair, good"),
    ("", "empty file"),
    ("  \n\n", "empty file"),
    ("indicator,verdict\n", "no rows after the header"),
    ("indicator,verdict\nsosialisasi,poor\nSosialisasi,fair\n", "line 3, column 'indicator': 'Sosialisasi' already given on line 2"),
    ("indicator,favourable_share\nsosialisasi,65\n", "line 2, column 'favourable_share': 65 is outside 0..1"),
    ("indicator,respondents,verdict\nsosialisasi,abc,poor\n", "line 2, column 'respondents': 'abc' is not a number"),
    ("indicator,respondents,verdict\nsosialisasi,0,poor\n", "line 2, column 'respondents': '0' is not a whole number"),
    ("indicator,score,scale_min,scale_max\nsosialisasi,3,,5\n", "line 2, column 'scale_min': empty, but the score needs its scale"),
    ("indicator,score,scale_min,scale_max\nsosialisasi,3,5,1\n", "line 2, column 'scale_max': 1 is not above scale_min 5"),
    ("indicator,verdict,score,scale_min,scale_max\nsosialisasi,,,,\n", "line 2: needs a score, a favourable_share or a verdict"),
    ("indicator,favourite_share\nsosialisasi,0.2\n", "line 1: unknown column 'favourite_share'"),
    ("indicator,verdict\nsosialisasi,poor,extra\n", "line 2: 3 cells but the header has 2 columns"),
    ("indicator,verdict\n,poor\n", "line 2, column 'indicator': empty"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_summary_is_one_clear_line(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_survey(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and message in msg and "\n" not in msg


RAW_MALFORMED = [
    ("id,a\n1,3\n", {"a": "sosialisasi", "q99": "transparansi"}, "line 1: missing column 'q99' (named in the mapping"),
    ("id,a,b\n1,3,4\n2,2,7\n", {"a": "sosialisasi", "b": "sosialisasi"}, "line 3, column 'b': 7 is outside the scale 1..5"),
    ("id,a\n1,setuju\n", {"a": "sosialisasi"}, "line 2, column 'a': 'setuju' is not a number"),
    ("id,a\n1,\n", {"a": "sosialisasi"}, "no answers at all for indicator 'sosialisasi'"),
    ("id,a\n", {"a": "sosialisasi"}, "no rows after the header (expected one row per respondent)"),
]


@pytest.mark.parametrize("text, mapping, message", RAW_MALFORMED)
def test_malformed_raw_responses_are_one_clear_line(tmp_path, text, mapping, message):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_survey(p, mapping)
    assert str(err.value).startswith(f"{p}: ") and message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("toml, message", [
    ('[items]\nq1 = "digital"\n', "[items] q1 = 'digital': unknown indicator"),
    ("[items\n", "not valid TOML"),
    ('scale = [5, 1]\n[items]\nq1 = "sosialisasi"\n', "scale must be [MIN, MAX] with MIN < MAX"),
    ('reverse = ["q2"]\n[items]\nq1 = "sosialisasi"\n', "reverse must list item columns that appear in [items]"),
    ('scales = [1, 5]\n[items]\nq1 = "sosialisasi"\n', "unknown key(s) scales"),
    ('scale = [1, 5]\n', "needs an [items] table"),
])
def test_malformed_mapping_is_one_clear_line(tmp_path, toml, message):
    m = write(tmp_path, toml, "map.toml")
    with pytest.raises(InputError) as err:
        load_mapping(m)
    assert str(err.value).startswith(f"{m}: ") and message in str(err.value)


@pytest.mark.parametrize("specs, scale, message", [
    (["q1=akses"], None, "bad --map 'q1=akses': use ITEM=INDICATOR"),
    (["m.toml", "q1=sosialisasi"], None, "either one mapping file or ITEM=INDICATOR pairs"),
    (["q1=sosialisasi"], "5:1", "bad --scale '5:1': use MIN:MAX"),
    ([], "1:5", "--scale only applies to raw responses"),
])
def test_bad_map_arguments(specs, scale, message):
    with pytest.raises(InputError, match=None) as err:
        parse_mapping(specs, scale)
    assert message in str(err.value)


# ---- triangulation on constructed stores ----------------------------------------------------------


def fill(store, spec):
    """spec: [(indicator, mentions, not_negative, created_at)] -> labelled, tagged mentions."""
    rows, labels, tags = [], {}, {}
    for ind, n, ok, created in spec:
        for i in range(n):
            sid = f"{ind}-{created:%Y%m}-{i}"
            rows.append(dict(source="playstore", source_id=sid, app="id.go.tangsel", text="t", created_at=created))
            labels[sid] = ("positive", "neutral")[i % 2] if i < ok else "negative"
            tags[sid] = ind
    # A tagged mention the model never labelled: it must not count.
    rows.append(dict(source="playstore", source_id="unlabelled", app="id.go.tangsel", text="t", created_at=D(2024, 1, 2)))
    tags["unlabelled"] = "penanggapan"
    store.upsert_mentions(rows)
    ids = dict(zip(store.mentions_df()["source_id"], store.mentions_df()["id"]))
    with store.engine.begin() as conn:
        conn.execute(sentiments.insert(), [dict(mention_id=int(ids[s]), model="m@1", label=l, content_hash="h",
                                                analyzed_at=D(2025, 1, 1)) for s, l in labels.items()])
        conn.execute(indicators.insert(), [dict(mention_id=int(ids[s]), indicator=i, evidence="e", taxonomy="tax@1",
                                                content_hash="h", tagged_at=D(2025, 1, 1)) for s, i in tags.items()])
    return store


JAN = D(2024, 1, 15)
CASE = [
    ("sosialisasi", 30, 18, JAN),  # 0.6 fair; exactly 30 is enough
    ("kemudahan_akses", 40, 32, JAN),  # 0.8 good
    ("keterhubungan", 30, 15, JAN),  # 0.5 fair, interval reaches "poor"
    ("kemudahan_aspirasi", 35, 10, JAN),  # no survey row
    ("transparansi", 29, 0, JAN),  # one short of 30
    ("penanggapan", 40, 4, JAN),  # 0.1 poor
    ("penanggapan", 20, 20, D(2023, 6, 1)),  # before fieldwork
]
CASE_SURVEY = (
    "indicator,respondents,score,scale_min,scale_max,favourable_share,verdict\n"
    "sosialisasi,100,3.4,1,5,,\n"  # normalised 0.6: fair
    "kemudahan akses,50,,,,0.3,\n"  # poor
    "keterhubungan,,,,,0.2,\n"  # poor
    "transparansi,,,,,,poor\n"
    "penanggapan,,,,,,poor\n"
)


@pytest.fixture
def case(store, tmp_path):
    return fill(store, CASE), load_survey(write(tmp_path, CASE_SURVEY))


def test_verdicts_converge_diverge_too_few(case):
    store, survey = case
    t = triangulate(store, survey, window="2024-01-01:2024-12-31")
    assert list(t.columns) == TRIANGULATION_COLUMNS
    assert list(t["indicator"]) == list(INDICATORS)
    t = t.set_index("indicator")
    assert dict(t["agreement"]) == {
        "sosialisasi": "converge", "kemudahan_akses": "diverge", "keterhubungan": "diverge",
        "kemudahan_aspirasi": "no survey", "transparansi": "too few", "penanggapan": "converge",
    }
    sos = t.loc["sosialisasi"]
    assert (sos.review_mentions, sos.review_not_negative, sos.review_favourability) == (30, 18, 0.6)
    assert (sos.review_low, sos.review_high) == pytest.approx(wilson(18, 30))
    assert (sos.survey_value, sos.survey_verdict, sos.review_verdict) == (pytest.approx(0.6), "fair", "fair")
    acc = t.loc["kemudahan_akses"]
    assert (acc.review_verdict, acc.survey_verdict) == ("good", "poor")
    assert acc.note == "reviews are more favourable than the survey"
    ket = t.loc["keterhubungan"]
    assert (ket.review_favourability, ket.review_verdict) == (0.5, "fair")
    assert (ket.review_low, ket.review_high) == pytest.approx((0.331541, 0.668459), abs=1e-6)
    assert "borderline" in ket.note
    assert t.loc["transparansi"].review_mentions == 29 and "30 are needed" in t.loc["transparansi"].note
    assert t.loc["kemudahan_aspirasi"].review_verdict == "poor"
    pen = t.loc["penanggapan"]
    assert (pen.review_mentions, pen.review_not_negative, pen.review_verdict) == (40, 4, "poor")
    assert (pen.window_start, pen.window_end, pen.model) == ("2024-01-01", "2024-12-31", "m@1")
    # Spearman over sosialisasi (0.6, 0.6), kemudahan akses (0.3, 0.8), keterhubungan (0.2, 0.5):
    # ranks (3, 2, 1) vs (2, 3, 1): rho = 1 - 6 * (1 + 1 + 0) / (3 * (9 - 1)) = 0.5.
    assert set(t["spearman_rho"]) == {0.5} and set(t["spearman_n"]) == {3}


def test_window_restricts_reviews_to_fieldwork(case):
    store, survey = case
    pen = triangulate(store, survey).set_index("indicator").loc["penanggapan"]
    assert (pen.review_mentions, pen.review_not_negative) == (60, 24)  # 2023 praise included
    pen = triangulate(store, survey, window="2023-01-01:2023-12-31").set_index("indicator").loc["penanggapan"]
    assert (pen.review_mentions, pen.review_favourability, pen.agreement) == (20, 1.0, "too few")
    # Open-ended windows and an inclusive end day.
    assert parse_window("2024-01-15:") == (D(2024, 1, 15), None)
    assert triangulate(store, survey, window=":2024-01-15").set_index("indicator").loc["sosialisasi"].review_mentions == 30
    assert triangulate(store, survey, window="2024-01-16:").set_index("indicator").loc["sosialisasi"].review_mentions == 0


@pytest.mark.parametrize("window", ["2024", "2024-01-01..2024-02-01", ":", "2024-02-01:2024-01-01", "2024-02-30:"])
def test_bad_window(case, window):
    with pytest.raises(InputError, match="--window"):
        triangulate(case[0], case[1], window=window)


def test_spearman_needs_three_indicators_with_numbers(store, tmp_path):
    fill(store, [("sosialisasi", 30, 18, JAN), ("kemudahan_akses", 40, 32, JAN), ("keterhubungan", 10, 5, JAN)])
    t = triangulate(store, load_survey(write(tmp_path, CASE_SURVEY)))
    assert t["spearman_rho"].isna().all() and set(t["spearman_n"]) == {2}
    assert "needs 3 or more" in t.attrs["spearman"]["reason"]
    t = triangulate(store, SURVEY / "tangsel_smart_city.csv")  # direction only: nothing to rank
    assert set(t["spearman_n"]) == {0}
    # The study says poor; reviews say fair (0.6) and good (0.8).
    assert list(t.set_index("indicator").loc[["sosialisasi", "kemudahan_akses"], "agreement"]) == ["diverge"] * 2


def test_write_triangulation_files(case, tmp_path):
    store, _ = case
    paths = write_triangulation(store, SURVEY / "tangsel_smart_city.csv", tmp_path / "out", window="2024-01-01:2024-12-31")
    text = paths["triangulation"].read_text(encoding="utf-8-sig")
    assert paths["triangulation"].read_bytes().startswith(b"\xef\xbb\xbf")
    assert text.splitlines()[0] == ",".join(TRIANGULATION_COLUMNS)
    back = pd.read_csv(paths["triangulation"], encoding="utf-8-sig").set_index("indicator")
    assert back.loc["kemudahan_akses", "agreement"] == "diverge" and back.loc["penanggapan", "agreement"] == "converge"
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| penanggapan | direction only | poor (published) | 10% (4%–23%) | 40 | poor | converge |" in md
    assert "tangsel_smart_city.csv (summary format)" in md and "2024-01-01 to 2024-12-31" in md
    assert "Not computed" in md and "weak evidence" in md and "poor below 0.5" in md
    assert paths["chart"].read_bytes().startswith(b"\x89PNG")
    paths = write_triangulation(store, write(tmp_path, CASE_SURVEY), tmp_path / "out2", window="2024-01-01:2024-12-31")
    assert "Spearman's ρ = 0.50" in paths["markdown"].read_text(encoding="utf-8")


def test_write_triangulation_on_empty_store(store, tmp_path):
    with pytest.raises(SuaraError, match="has no mentions yet"):
        write_triangulation(store, SURVEY / "tangsel_smart_city.csv", tmp_path / "out")


# ---- CLI ------------------------------------------------------------------------------------------


def test_cli_triangulate_shipped_survey(case, db_url, tmp_path):
    res = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(SURVEY / "tangsel_smart_city.csv"),
                                   "--window", "2024-01-01:2024-12-31"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "home" / "reports"
    assert res.stdout.split() == [str(out / "triangulation.csv"), str(out / "triangulation.md"),
                                  str(out / "triangulation_dumbbell.png")]
    t = pd.read_csv(out / "triangulation.csv", encoding="utf-8-sig")
    assert list(t["survey_verdict"]) == ["poor"] * 6


def test_cli_triangulate_raw_with_map_file(case, db_url, tmp_path):
    res = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(SURVEY / "example_raw_responses.csv"),
                                   "--map", str(SURVEY / "example_raw_responses.toml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "triangulation.csv", encoding="utf-8-sig")
    assert set(t["survey_measure"]) == {"favourable_share"} and t["survey_respondents"].max() == 40


def test_cli_triangulate_map_pairs_and_scale(case, db_url, tmp_path):
    p = write(tmp_path, "id,x\n1,4\n2,1\n")
    res = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(p), "--map", "x=penanggapan",
                                   "--scale", "1:4", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "triangulation.csv", encoding="utf-8-sig").set_index("indicator")
    assert t.loc["penanggapan", "survey_value"] == 0.5 and t.loc["sosialisasi", "agreement"] == "no survey"


@pytest.mark.parametrize("args, message", [
    (["--window", "2024-01-01"], "error: bad --window '2024-01-01': use START:END as YYYY-MM-DD:YYYY-MM-DD"),
    (["--map", "x=nothing"], "error: bad --map 'x=nothing': use ITEM=INDICATOR"),
    (["--model", "other"], "error: no sentiment labels from model 'other' in the store (models: m@1)"),
])
def test_cli_triangulate_bad_arguments(case, db_url, args, message):
    res = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(SURVEY / "tangsel_smart_city.csv"), *args])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.strip().startswith(message)


def test_cli_triangulate_malformed_survey(case, db_url, tmp_path):
    p = write(tmp_path, "indicator,verdict\nsosialisasi,poor\ndigital,poor\n")
    res = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(p)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith(f"error: {p}: line 3, column 'indicator': unknown indicator 'digital'")
    missing = CliRunner().invoke(app, ["triangulate", "--db", db_url, "--survey", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "survey file not found" in missing.stderr
