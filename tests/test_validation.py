"""Human validation end to end: demo store (real local fakes) -> blind sample -> two coders'
sheets -> import -> agreement -> validate -> corrected estimates -> report sections; bad sheets;
the correction's coverage on synthetic corpora."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from nlp.indicators import INDICATORS
from pipelines.cli import app
from pipelines.errors import InputError
from pipelines.labels import (
    SHEET_COLUMNS,
    agreement,
    codes_frame,
    draw_sample,
    import_codes,
    mask_personal,
    parse_indicators,
    sample_mentions,
)
from pipelines.store import Store, human_labels, label_samples
from pipelines.validate import corrected_favourability, favourability, machine_codes, validate

ROOT = Path(__file__).resolve().parent.parent
SURVEY = ROOT / "data" / "survey" / "tangsel_smart_city.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One offline demo (real Play Store / App Store / news fakes on 127.0.0.1) for the module."""
    from pipelines.demo import run_demo

    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUARA_HOME", str(base / "home"))
        mp.setenv("SUARA_CONFIG_DIR", str(base / "config"))
        mp.delenv("SUARA_DB", raising=False)
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary, info = run_demo(base / "demo")
    assert summary.ok, summary.error_line()
    return base / "demo" / "suara.db"


@pytest.fixture
def demo(demo_db, tmp_path):
    """A private copy of the demo store."""
    path = tmp_path / "suara.db"
    shutil.copy(demo_db, path)
    s = Store(f"sqlite:///{path}")
    yield s
    s.close()


def _fill(sheet: Path, codes: dict[int, dict], out: Path) -> Path:
    """A coder's filled copy of an XLSX coding sheet: codes {mention_id: {field: value}}."""
    wb = load_workbook(sheet)
    ws = wb["coding"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        mid = row[header.index("mention_id")].value
        for field, value in codes.get(mid, {}).items():
            row[header.index(field)].value = value
    wb.save(out)
    return out


def _machine_view(store: Store) -> pd.DataFrame:
    from pipelines.trends import choose_model

    return machine_codes(store, choose_model(store)).set_index("mention_id")


def _n_labels(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(human_labels)).scalar_one()


# Coder A's and B's sentiments on the first ten sheet rows (deliberate disagreements on 4, 7, 9).
A10 = ["negative", "negative", "negative", "negative", "positive", "positive", "positive", "neutral", "neutral", "negative"]
B10 = ["negative", "negative", "negative", "positive", "positive", "positive", "neutral", "neutral", "negative", "negative"]
# By hand: agree on 7 of 10, p_o = 0.7. Marginals A: neg 5, pos 3, neu 2; B: neg 5, pos 3, neu 2.
# p_e = (5*5 + 3*3 + 2*2) / 100 = 0.38; kappa = (0.7 - 0.38) / (1 - 0.38) = 0.32 / 0.62 = 16/31.
KAPPA_BY_HAND = 16 / 31


def test_end_to_end_sample_code_agree_validate_report(demo, tmp_path):
    # Before any coding the outputs say plainly that figures are unvalidated.
    from pipelines.triangulate import triangulate, write_triangulation

    write_triangulation(demo, SURVEY, tmp_path / "before")
    assert "Unvalidated: no human codes" in (tmp_path / "before" / "triangulation.md").read_text(encoding="utf-8")
    tri0 = pd.read_csv(tmp_path / "before" / "triangulation.csv", encoding="utf-8-sig")
    assert set(tri0["verdict_basis"]) == {"raw: unvalidated (no human codes)"}
    from pipelines.validate import validation_block, validation_html

    heading, _, body = validation_html(validation_block(demo))
    assert heading == "Validation against human coding" and "Unvalidated: no human codes" in body

    sheet = tmp_path / "sample.xlsx"
    res = runner.invoke(app, ["label", "sample", "--n", "120", "--stratify", "source,indicator", "--seed", "7",
                              "--out", str(sheet), "--db", demo.url])
    assert res.exit_code == 0, res.output
    wb = load_workbook(sheet)
    assert wb.sheetnames == ["coding", "codebook"]
    header = [c.value for c in wb["coding"][1]]
    assert header == SHEET_COLUMNS
    ids = [r[1] for r in wb["coding"].iter_rows(min_row=2, values_only=True)]
    assert len(ids) == 120 == len(set(ids))
    with demo.engine.connect() as conn:
        rec = conn.execute(select(label_samples)).mappings().one()
    assert rec["seed"] == 7 and json.loads(rec["mention_ids"]) == ids and rec["stratify"] == "source,indicator"

    # Coder A: the machine's codes, except every 6th sentiment is changed and every 8th row loses its
    # first indicator; the first ten sentiments are A10. Coder B codes only the first ten rows.
    mach = _machine_view(demo)
    flip = {"negative": "neutral", "neutral": "positive", "positive": "negative"}
    a_codes, b_codes = {}, {}
    for i, mid in enumerate(ids):
        m = mach.loc[mid]
        sent = m["sentiment"] if isinstance(m["sentiment"], str) else "neutral"
        sent = flip[sent] if i % 6 == 5 else sent
        pols = {k: m[k] for k in INDICATORS if m[k]}
        if i % 8 == 7 and pols:
            pols.pop(next(iter(pols)))
        if i < 10:
            sent = A10[i]
        a_codes[mid] = {"sentiment": sent, **{k: pols.get(k) for k in INDICATORS}}
        if i < 10:
            b_codes[mid] = {"sentiment": B10[i], **{k: pols.get(k) for k in INDICATORS}}
    _fill(sheet, a_codes, tmp_path / "ana.xlsx")
    _fill(sheet, b_codes, tmp_path / "budi.xlsx")
    for coder in ("ana", "budi"):
        res = runner.invoke(app, ["label", "import", str(tmp_path / f"{coder}.xlsx"), "--coder", coder, "--db", demo.url])
        assert res.exit_code == 0, res.output
    codes = codes_frame(demo)
    assert codes.groupby("coder").size().to_dict() == {"ana": 120, "budi": 10}
    # Re-importing replaces ana's codes instead of adding to them; budi's stay.
    res = runner.invoke(app, ["label", "import", str(tmp_path / "ana.xlsx"), "--coder", "ana", "--db", demo.url])
    assert res.exit_code == 0 and "120 earlier code(s) replaced" in res.output
    assert _n_labels(demo) == 130

    ag = agreement(demo).set_index("field")
    assert ag.attrs["units"] == 10
    assert ag.at["sentiment", "cohen_kappa"] == pytest.approx(KAPPA_BY_HAND)
    assert ag.at["sentiment", "percent_agreement"] == pytest.approx(0.7)
    assert 0 < ag.at["sentiment", "krippendorff_alpha"] < KAPPA_BY_HAND + 0.05
    res = runner.invoke(app, ["label", "agreement", "--resolve", str(tmp_path / "adj.csv"), "--db", demo.url])
    assert res.exit_code == 0, res.output
    adj = pd.read_csv(tmp_path / "adj.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert sorted(adj["mention_id"].astype(int)) == sorted(ids[i] for i in (3, 6, 8))
    assert set(adj["sentiment"]) == {""} and adj["disagreements"].str.contains("ana=").all()

    # Adjudicate: the adjudicator takes A's sentiment; the sheet imports as coder consensus.
    adj["sentiment"] = [a_codes[int(m)]["sentiment"] for m in adj["mention_id"]]
    adj.to_csv(tmp_path / "adj_done.csv", index=False, encoding="utf-8")
    res = runner.invoke(app, ["label", "import", str(tmp_path / "adj_done.csv"), "--coder", "consensus", "--db", demo.url])
    assert res.exit_code == 0, res.output

    out = validate(demo, consensus=True)
    assert out["coded"] == 120 and out["excluded"] == 0
    s = out["sentiment"]
    assert s["n"] == 120
    # Every 6th sentiment was changed (20 rows), and the first ten follow A10: count by hand.
    expected_wrong = {i for i in range(120) if i % 6 == 5 and i >= 10}
    for i in range(10):
        m = mach.loc[ids[i]]["sentiment"]
        if A10[i] != m:
            expected_wrong.add(i)
    assert s["accuracy"] == pytest.approx(1 - len(expected_wrong) / 120)
    assert int(s["confusion"].to_numpy().sum()) == 120
    ind = out["indicators"].set_index("indicator")
    # A dropped some of the machine's tags: those are false positives (precision below 1 where any
    # were dropped); A never adds a tag, so recall is 1; polarity always agrees.
    tagged = ind[ind["machine_tags"] > 0]
    assert (tagged["recall"] == 1).all() and (tagged["polarity_accuracy"] == 1).all()
    assert (tagged["precision"] < 1).any()
    for k, r in tagged.iterrows():
        assert r["precision"] == pytest.approx(r["human_tags"] / r["machine_tags"]), k
    for k, r in ind.iterrows():
        assert r["human_tags"] == sum(1 for mid in ids if a_codes[mid][k]), k
        if r["corrected_status"] == "too few":
            assert math.isnan(r["corrected_favourability"]) and "coded mention" in r["note"]
        else:
            assert r["corrected_low"] <= r["corrected_favourability"] <= r["corrected_high"]
    assert "ok" in set(ind["corrected_status"]) | {"wide"}

    res = runner.invoke(app, ["validate", "--consensus", "--out", str(tmp_path / "v"), "--db", demo.url])
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and (tmp_path / "v" / "validation_indicators.csv").exists()
    res = runner.invoke(app, ["status", "--db", demo.url])
    assert "human codes: 120 mention(s) coded; by coder: ana 120, budi 10, consensus 3" in res.output

    paths = write_triangulation(demo, SURVEY, tmp_path / "after")
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "## Validation against human coding" in md and "Unvalidated" not in md
    assert f"sentiment kappa {KAPPA_BY_HAND:.2f}" in md
    tri = pd.read_csv(paths["triangulation"], encoding="utf-8-sig").set_index("indicator")
    for k, r in ind.iterrows():
        basis = tri.at[k, "verdict_basis"]
        assert basis == ("corrected" if r["corrected_status"] == "ok" else
                         "raw: validation sample too small" if r["corrected_status"] == "too few"
                         else "raw: corrected interval too wide")
    assert triangulate(demo, SURVEY).attrs["validation"]["coded"] == 120
    # report.html's section (the report module adds it where it has the store; see docs/validation.md).
    _, _, body = validation_html(validation_block(demo))
    assert "corrected_favourability" in body and "Unvalidated" not in body and "kappa 0.52" in body


def test_sample_is_reproducible_stratified_and_blind(demo, tmp_path):
    a = sample_mentions(demo, 40, ["source"], seed=3)
    b = sample_mentions(demo, 40, ["source"], seed=3)
    c = sample_mentions(demo, 40, ["source"], seed=4)
    assert list(a["mention_id"]) == list(b["mention_id"]) != list(c["mention_id"])
    corpus = demo.mentions_df()
    corpus = corpus[corpus["text"].str.strip() != ""]
    share = corpus["source"].value_counts(normalize=True)
    got = a["source"].value_counts()
    for src, p in share.items():  # proportional allocation: within one of the exact quota
        assert abs(got.get(src, 0) - 40 * p) < 1 + 1e-9
    assert list(a.columns) == SHEET_COLUMNS
    assert (a[["sentiment", *INDICATORS]] == "").all().all()  # no machine label leaks into the sheet
    only = sample_mentions(demo, 5, "", seed=1, source="appstore")
    assert set(only["source"]) == {"appstore"}
    with pytest.raises(InputError, match="bad --stratify"):
        sample_mentions(demo, 5, "source,colour")
    # Without a seed one is drawn and recorded: drawing again with it gives the same sample.
    s = draw_sample(demo, 15, tmp_path / "r.csv", "source,month")
    with demo.engine.connect() as conn:
        rec = conn.execute(select(label_samples).where(label_samples.c.id == s.id)).mappings().one()
    assert rec["seed"] == s.seed and json.loads(rec["mention_ids"]) == list(s.frame["mention_id"])
    again = sample_mentions(demo, 15, "source,month", seed=rec["seed"])
    assert list(again["mention_id"]) == json.loads(rec["mention_ids"])
    # More than the corpus: every mention once.
    assert len(sample_mentions(demo, 10**6, ["month"], seed=1)) == len(corpus)


def test_personal_data_masked_and_cells_never_formulas(store, tmp_path):
    store.upsert_mentions([
        dict(source="playstore", source_id="x1", app="a", author_key="k1",
             text="=HYPERLINK(\"http://evil\",\"klik\") hubungi 0812-3456-7890 atau +62 813 1234 5678, "
                  "email budi.s@contoh.co.id, NIK 3674012345678901 ✓ pelayanan bagus 👍"),
        dict(source="playstore", source_id="x2", app="a", text="+cmd|' /C calc'!A0 aplikasi lemot"),
        dict(source="playstore", source_id="x3", app="a", text="@SUM(1+1) susah daftar"),
    ])
    assert mask_personal("wa 081234567890 / 6281234567890") == "wa [telepon] / [telepon]"
    s = draw_sample(store, 3, tmp_path / "s.xlsx", "", seed=1)
    wb = load_workbook(tmp_path / "s.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    texts = [r[7] for r in wb["coding"].iter_rows(min_row=2, values_only=True)]
    joined = " ".join(texts)
    for secret in ("0812-3456-7890", "+62 813 1234 5678", "budi.s@contoh.co.id", "3674012345678901"):
        assert secret not in joined
    assert "[telepon]" in joined and "[email]" in joined and "[NIK]" in joined
    assert "✓ pelayanan bagus 👍" in joined and any(t.startswith("=HYPERLINK") for t in texts)
    # Validation drop-downs on sentiment and each indicator column.
    ranges = {str(dv.sqref): dv.formula1 for dv in wb["coding"].data_validations.dataValidation}
    assert '"negative,neutral,positive"' in ranges.values()
    assert list(ranges.values()).count('"complaint,praise,mention"') == len(INDICATORS)
    codebook = " ".join(str(v) for r in wb["codebook"].iter_rows(values_only=True) for v in r)
    assert "penanggapan" in codebook and "Whether and how fast" in codebook
    # CSV: UTF-8 with BOM, formula cells neutralised, codebook beside it.
    draw_sample(store, 3, tmp_path / "s.csv", "", seed=1)
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert all(not r["text"].startswith(("=", "+", "@")) for r in rows)
    assert (tmp_path / "s.codebook.csv").exists()
    assert s.n == 3


@pytest.fixture
def coded(demo, tmp_path):
    """The demo store with one coder's codes already stored, and a fresh sample sheet (CSV)."""
    sheet = tmp_path / "s.csv"
    draw_sample(demo, 12, sheet, "source", seed=5)
    df = pd.read_csv(sheet, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    df["sentiment"] = "negative"
    df["penanggapan"] = "complaint"
    df.to_csv(tmp_path / "good.csv", index=False, encoding="utf-8")
    import_codes(demo, tmp_path / "good.csv", "ana")
    return demo, df


def _bad(tmp_path, name, df=None, text=None, raw=None):
    p = tmp_path / name
    if df is not None:
        if p.suffix == ".xlsx":
            df.to_excel(p, sheet_name="coding", index=False)
        else:
            df.to_csv(p, index=False, encoding="utf-8")
    elif text is not None:
        p.write_text(text, encoding="utf-8")
    else:
        p.write_bytes(raw)
    return p


def test_bad_sheets_are_one_error_exit_2_and_store_nothing(coded, tmp_path):
    store, df = coded
    before = codes_frame(store)
    cases = {}
    changed = df.rename(columns={"sentiment": "sentimen"})
    cases["header"] = (_bad(tmp_path, "header.csv", changed), "header changed: column 9 is 'sentimen'")
    outside = df.copy()
    outside.loc[3, "sentiment"] = "bagus"
    cases["value"] = (_bad(tmp_path, "value.xlsx", outside), "row 5: column 'sentiment': 'bagus' is not one of")
    pol = df.copy()
    pol.loc[0, "transparansi"] = "maybe"
    cases["polarity"] = (_bad(tmp_path, "pol.csv", pol), "row 2: column 'transparansi': 'maybe'")
    unknown = df.copy()
    unknown.loc[2, "mention_id"] = "999999"
    cases["unknown id"] = (_bad(tmp_path, "unknown.csv", unknown), "row 4: column 'mention_id': mention 999999 is not in the store")
    cases["empty"] = (_bad(tmp_path, "empty.csv", text=""), "empty sheet")
    cases["header only"] = (_bad(tmp_path, "head.csv", df.iloc[:0]), "empty sheet: no rows below the header")
    blank = df.copy()
    blank[["sentiment", "penanggapan"]] = ""
    cases["nothing coded"] = (_bad(tmp_path, "blank.csv", blank), "no coded row")
    cp = df.copy()
    cp.loc[0, "text"] = "Pelayanan café sangat buruk – tidak ada tanggapan"
    cp.loc[0, "sentiment"] = "negative"
    cases["cp1252"] = (_bad(tmp_path, "cp.csv", raw=cp.to_csv(index=False).encode("cp1252", errors="replace")), "not UTF-8 text")
    cases["not a workbook"] = (_bad(tmp_path, "junk.xlsx", raw=b"PK\x03\x04 not really"), "not a readable .xlsx")
    for name, (path, message) in cases.items():
        res = runner.invoke(app, ["label", "import", str(path), "--coder", "budi", "--db", store.url])
        assert res.exit_code == 2, (name, res.output)
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (name, res.output)
        assert message in " ".join(res.output.split()), (name, res.output)
        pd.testing.assert_frame_equal(codes_frame(store), before)
    res = runner.invoke(app, ["label", "import", str(tmp_path / "good.csv"), "--coder", " ", "--db", store.url])
    assert res.exit_code == 2 and "bad --coder" in res.output


def test_excel_semicolon_csv_and_symbol_codes_import(coded, tmp_path):
    store, df = coded
    df = df.copy()
    df["sentiment"] = ["Negatif", "positive", "netral"] * 4
    df["penanggapan"] = ["-", "+", "'0"] * 4
    df["transparansi"] = ["mixed", "", ""] * 4
    p = tmp_path / "semi.csv"
    df.to_csv(p, index=False, sep=";", encoding="utf-8-sig")
    res = import_codes(store, p, "budi")
    assert res.coded == 12
    got = codes_frame(store, "budi").set_index("mention_id")
    first = int(df["mention_id"].iloc[0])
    assert got.at[first, "sentiment"] == "negative"
    assert parse_indicators(got.at[first, "indicators"]) == {"transparansi": "complaint", "penanggapan": "complaint"}
    assert got.at[first, "indicators"] == "transparansi:-;penanggapan:-"


def test_agreement_with_one_coder_says_so(coded):
    store, _ = coded
    assert agreement(store).empty
    res = runner.invoke(app, ["label", "agreement", "--db", store.url])
    assert res.exit_code == 1 and "nothing to compare" in res.output


def test_validate_leaves_out_trained_mentions_and_refuses_when_none_are_left(coded, tmp_path):
    store, df = coded
    from pipelines.store import label_training, utcnow
    from pipelines.trends import choose_model

    model = choose_model(store)
    ids = [int(i) for i in df["mention_id"]]
    folder = tmp_path / model.split("@")[0]
    folder.mkdir()
    (folder / "suara_human_codes.json").write_text(json.dumps({"mention_ids": ids[:1]}))
    res = validate(store, model=str(folder))
    assert res["model"] == model and res["trained_on"] == 1 and res["coded"] == 11
    assert res["sentiment"]["n"] == 11
    # The store's record counts too, even when the model is named by its id, not its folder.
    with store.engine.begin() as conn:
        conn.execute(label_training.insert(), [dict(model=model.split("@")[0], mention_id=i, folder="x",
                                                    trained_at=utcnow()) for i in ids])
    with pytest.raises(InputError, match="was trained on all 12 coded mentions"):
        validate(store)
    r = runner.invoke(app, ["validate", "--db", store.url])
    assert r.exit_code == 2 and r.output.startswith("error:") and len(r.output.strip().splitlines()) == 1


def test_favourability_and_correction_basics():
    assert favourability(["complaint", "praise", "mention", ""]) == pytest.approx(2 / 3)
    assert math.isnan(favourability(["", ""]))
    # A perfect machine: the corrected figure is the corpus's raw one, with an interval around it.
    pairs = pd.DataFrame({"machine": ["absent"] * 50 + ["complaint"] * 30 + ["favourable"] * 20,
                          "human": ["absent"] * 50 + ["complaint"] * 30 + ["favourable"] * 20})
    res = corrected_favourability({"absent": 500, "complaint": 300, "favourable": 200}, pairs)
    assert res["status"] == "ok" and res["estimate"] == pytest.approx(0.4)
    assert res["low"] < 0.4 < res["high"]
    # Too few coded tags: it says so.
    few = pairs.iloc[:55]
    res = corrected_favourability({"absent": 500, "complaint": 300, "favourable": 200}, few)
    assert res["status"] == "too few" and "only 5 coded mention(s)" in res["note"]


def _bench():
    spec = importlib.util.spec_from_file_location("validation_coverage", ROOT / "bench" / "validation_coverage.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("scenario", ["typical", "rare indicator", "favourable, noisy"])
def test_corrected_interval_covers_the_truth_in_90_percent_of_200_simulations(scenario):
    bench = _bench()
    c = bench.coverage(bench.SCENARIOS[scenario], sims=200, seed=11)
    assert c["given"] >= 190
    assert c["coverage"] >= 0.90, c


def test_label_train_holds_out_codes_and_validate_uses_only_those(coded, tmp_path):
    store, df = coded
    from tinybert import build_model

    from pipelines.analysis import analyze_sentiment

    # ana's codes (12) are all "negative"; add positives so there are two classes to learn.
    df = df.copy()
    df["sentiment"] = ["negative", "positive"] * 6
    df.to_csv(tmp_path / "ana2.csv", index=False, encoding="utf-8")
    import_codes(store, tmp_path / "ana2.csv", "ana")
    base = build_model(tmp_path / "base", list(df["text"]), generic_labels=True, hidden_size=16, layers=1,
                       intermediate_size=32)
    out = tmp_path / "coded-model"
    r = runner.invoke(app, ["label", "train", "--out", str(out), "--base", str(base), "--holdout", "0.25",
                            "--epochs", "1", "--db", store.url])
    assert r.exit_code == 0, r.output
    assert "trained on 9 coded mention(s), 3 held out" in r.output
    info = json.loads((out / "suara_human_codes.json").read_text())
    assert len(info["mention_ids"]) == 9 and len(info["held_out"]) == 3
    assert not set(info["mention_ids"]) & set(info["held_out"])
    analyze_sentiment(store, model=str(out))
    res = validate(store, model=str(out))
    assert res["trained_on"] == 9 and res["coded"] == 3 and res["sentiment"]["n"] == 3
    # By model id too (the store records what the folder was trained on).
    res2 = validate(store, model=res["model"])
    assert res2["trained_on"] == 9
    r = runner.invoke(app, ["label", "train", "--out", str(tmp_path / "m2"), "--holdout", "1.5", "--db", store.url])
    assert r.exit_code == 2 and "bad --holdout" in r.output


def test_consensus_without_agreed_codes_says_what_to_do(coded, tmp_path):
    store, df = coded
    other = df.copy()
    other["sentiment"] = "positive"  # ana said negative on every row
    other.to_csv(tmp_path / "budi.csv", index=False, encoding="utf-8")
    import_codes(store, tmp_path / "budi.csv", "budi")
    with pytest.raises(InputError, match="no consensus codes: all 12 coded mention"):
        validate(store, consensus=True)
    from pipelines.validate import validation_block, validation_markdown

    assert "Not validated: no consensus codes" in validation_markdown(validation_block(store))
    assert validate(store, coder="budi")["coded"] == 12


def test_on_real_hand_coded_reviews_the_correction_recovers_the_truth():
    """../shared/labels/oss_dev.csv (skips without it): half the reviews coded, the machine's raw
    favourability is far off, the corrected interval holds the favourability of all 240 codes."""
    spec = importlib.util.spec_from_file_location("validation_real", ROOT / "bench" / "validation_real.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.run(120, 1)
    if out is None:
        pytest.skip("no ../shared/labels/oss_dev.csv")
    res, truth, truth_n = out
    ind = res["indicators"].set_index("indicator")
    checked = 0
    for k in INDICATORS:
        r = ind.loc[k]
        if r["corrected_status"] == "ok":
            assert r["corrected_low"] <= truth[k] <= r["corrected_high"], (k, truth[k], r.to_dict())
            checked += 1
        else:
            assert truth_n[k] < 40, k  # only rare indicators lack a corrected figure
    assert checked >= 2
