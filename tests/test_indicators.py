"""Indicator mapping: taxonomy matching, validation, evaluation, store tagging and CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from nlp.indicators import (
    INDICATORS,
    IndicatorTagger,
    Match,
    evaluate_indicators,
    indicator_errors,
    is_complaint,
    load_taxonomy,
    read_labelled,
    tag,
    tag_frame,
    taxonomy_frame,
)
from pipelines.cli import app
from pipelines.errors import InputError
from pipelines.store import indicator_tagging, indicators
from pipelines.tagging import indicator_summary, indicators_frame, pending_mentions, tag_indicators

LABELLED = Path(__file__).parent / "data" / "indicators_labelled.csv"

# One keyword per indicator: a taxonomy whose behaviour the tests can predict exactly.
MINI = {
    "sosialisasi": 'mention = ["sosialisasi"]',
    "kemudahan_akses": 'mention = ["login"]',
    "keterhubungan": 'mention = ["server"]',
    "kemudahan_aspirasi": 'mention = ["formulir"]',
    "transparansi": 'mention = ["status"]',
    "penanggapan": 'mention = ["tanggap"]',
}


def write_taxonomy(tmp_path: Path, head: str = 'version = "t1"', name: str = "tax.toml", **rules: str) -> Path:
    parts = [head]
    for key in INDICATORS:
        parts.append(f"[indicators.{key}]\n{rules.get(key, MINI[key])}")
    path = tmp_path / name
    path.write_text("\n\n".join(textwrap.dedent(p) for p in parts), encoding="utf-8")
    return path


def keys(matches: list[Match]) -> list[str]:
    return [m.indicator for m in matches]


def by_key(matches: list[Match]) -> dict[str, Match]:
    return {m.indicator: m for m in matches}


# ---- matching with the shipped taxonomy ---------------------------------------------------------


@pytest.mark.parametrize(
    "text_",
    ["Laporan saya belum ditanggapi", "menunggu tanggapan dari dinas", "admin tolong menanggapi",
     "gak ada yg nanggepin", "laporan sudah direspon"],
)
def test_stemmed_and_slang_forms_match_one_rule(text_):
    assert "penanggapan" in keys(tag(text_))


def test_negation_turns_praise_and_complaint():
    complaint = by_key(tag("Laporan saya sudah sebulan tidak ditanggapi"))["penanggapan"]
    assert complaint.signal == "complaint"
    assert "tidak ditanggapi" in complaint.evidence
    praise = by_key(tag("Sudah ditanggapi dengan cepat, lampu jalan langsung diganti"))["penanggapan"]
    assert praise.signal == "praise"  # the aspect is there, but not as a complaint cue
    assert by_key(tag("respon admin tidak cepat"))["penanggapan"].signal == "complaint"
    assert by_key(tag("Tidak ada kendala saat login"))["kemudahan_akses"].signal == "praise"
    assert by_key(tag("ada kendala saat login"))["kemudahan_akses"].signal == "complaint"
    assert by_key(tag("kurang responsif"))["penanggapan"].signal == "complaint"
    assert by_key(tag("prosesnya gak jelas"))["transparansi"].signal == "complaint"
    assert by_key(tag("statusnya jelas"))["transparansi"].signal == "praise"


def test_negation_needs_scope():
    # "tidak" belongs to "tahu", not to "login": the complaint stays a complaint.
    assert by_key(tag("Saya tidak tahu kenapa login selalu gagal"))["kemudahan_akses"].signal == "complaint"
    # A comma ends the negation's clause.
    assert by_key(tag("tidak, loginnya gagal terus"))["kemudahan_akses"].signal == "complaint"


def test_negation_drop_moves_the_label():
    # "tidak ditindaklanjuti" is an ignored report (penanggapan), not a transparency statement.
    found = keys(tag("Nggak pernah ditindaklanjuti sama sekali"))
    assert "penanggapan" in found and "transparansi" not in found
    assert "transparansi" in keys(tag("Tolong info tindak lanjut laporan saya"))


def test_multi_label_and_none():
    found = by_key(tag("Daftar susah, OTP ga masuk2, udh lapor ke admin jg ga dibales 😡"))
    assert set(found) == {"kemudahan_akses", "penanggapan"}
    assert found["penanggapan"].signal == "complaint"
    assert tag("Mantap, semoga Tangsel makin maju 👍") == []
    assert tag("") == [] and tag(None) == []


def test_evidence_is_the_original_wording():
    txt = "Aplikasinya BAGUS tapi SERVERNYA DOWN terus, laporan gk dibales"
    found = by_key(tag(txt))
    assert set(found) == {"keterhubungan", "penanggapan"}
    for m in found.values():
        for a, b in m.spans:
            assert txt[a:b] in m.evidence  # the audit trail points into the text as written
    assert found["keterhubungan"].evidence == "SERVERNYA DOWN"
    assert found["penanggapan"].evidence == "gk dibales"


def test_exclude_blocks_other_senses():
    assert "kemudahan_akses" not in keys(tag("laporannya hilang dari daftar"))
    assert "kemudahan_akses" in keys(tag("susah daftar akun"))


def test_is_complaint():
    ms = tag("laporan tidak ditanggapi")
    assert is_complaint("negative", ms)
    assert is_complaint("negative", "penanggapan;transparansi")
    assert not is_complaint("positive", ms)
    assert not is_complaint("negative", [])
    assert not is_complaint("negative", "")
    assert not is_complaint(None, ms)


def test_tag_frame_wide_and_long():
    import pandas as pd

    texts = pd.Series(["server down terus", "bagus", "login susah, tidak dibalas"], index=[10, 11, 12])
    wide = tag_frame(texts)
    assert list(wide.index) == [10, 11, 12]
    assert wide.loc[10, "indicators"] == "keterhubungan"
    assert wide.loc[11, "indicators"] == "" and not wide.loc[11, list(INDICATORS)].any()
    assert wide.loc[12, "kemudahan_akses"] and wide.loc[12, "penanggapan"]
    assert "penanggapan=complaint" in wide.loc[12, "signals"]
    long = tag_frame(texts, long=True)
    assert list(long.columns) == ["row", "indicator", "evidence", "signal"]
    assert sorted(long[long.row == 12].indicator) == ["kemudahan_akses", "penanggapan"]


def test_shipped_taxonomy_is_complete():
    tax = load_taxonomy()
    assert set(tax.names) == set(INDICATORS)
    assert tax.name("kemudahan_akses") == "kemudahan akses"
    assert all(tax.definitions[k] for k in INDICATORS)
    assert tax.id.startswith(tax.version + "@")
    frame = taxonomy_frame()
    assert set(frame.indicator) == set(INDICATORS) and set(frame.signal) >= {"mention", "complaint", "praise"}


# ---- matching semantics on a constructed taxonomy -----------------------------------------------


def test_proximity_window_order_and_clause(tmp_path):
    path = write_taxonomy(
        tmp_path,
        penanggapan='complaint = [{ near = ["tidak", "tanggap"], within = 2 }]',
        transparansi='mention = [{ near = ["status", "jelas"], within = 1, ordered = false }]',
    )
    t = IndicatorTagger(path)
    assert keys(t.tag("tidak ada yang menanggapi")) == ["penanggapan"]  # 2 words between
    assert keys(t.tag("tidak ada satu pun yang menanggapi")) == []  # 4 words between
    assert keys(t.tag("tanggapan tidak ada")) == []  # ordered
    assert keys(t.tag("tidak, ditanggapi kok")) == []  # a comma ends the clause
    assert keys(t.tag("tidak tapi ditanggapi")) == []  # so does "tapi"
    assert keys(t.tag("jelas statusnya")) == ["transparansi"]  # any order
    assert keys(t.tag("statusnya cukup jelas")) == ["transparansi"]


def test_pattern_syntax_groups_exact_and_phrase_alternatives(tmp_path):
    head = 'version = "t2"\n[groups]\nsvc = ["call center", "hotline"]'
    path = write_taxonomy(
        tmp_path, head=head,
        penanggapan='mention = ["@svc"]',
        keterhubungan='mention = ["=keterbukaan"]',
        transparansi='mention = ["data terbuka | open data"]',
        kemudahan_akses='mention = ["susah|sulit login"]',
    )
    t = IndicatorTagger(path)
    assert keys(t.tag("call center nya sibuk")) == ["penanggapan"]
    assert keys(t.tag("hotline mati")) == ["penanggapan"]
    assert keys(t.tag("call saya")) == []
    # "=keterbukaan" is the word itself, not its stem "buka": "dibuka" must not match.
    assert keys(t.tag("aplikasi gak bisa dibuka")) == []
    assert keys(t.tag("keterbukaan informasi")) == ["keterhubungan"]
    assert keys(t.tag("ada open data")) == ["transparansi"]
    assert keys(t.tag("ada data terbuka")) == ["transparansi"]
    assert keys(t.tag("ada data open")) == []
    assert keys(t.tag("sulit login")) == ["kemudahan_akses"]
    assert keys(t.tag("login")) == []


def test_negation_policies(tmp_path):
    path = write_taxonomy(
        tmp_path,
        penanggapan='complaint = ["lambat"]\npraise = ["cepat"]\nmention = [{ phrase = "kabar", negation = "drop" }]',
    )
    t = IndicatorTagger(path)
    assert by_key(t.tag("balasannya lambat"))["penanggapan"].signal == "complaint"
    assert by_key(t.tag("tidak lambat"))["penanggapan"].signal == "praise"  # flip
    assert by_key(t.tag("kurang cepat"))["penanggapan"].signal == "complaint"  # default negators include kurang
    assert by_key(t.tag("cepat"))["penanggapan"].signal == "praise"
    assert by_key(t.tag("cepat tapi lambat"))["penanggapan"].signal == "mixed"
    assert keys(t.tag("ada kabar")) == ["penanggapan"]
    assert keys(t.tag("tidak ada kabar")) == []  # drop
    assert by_key(t.tag("kabar"))["penanggapan"].signal == "mention"


# ---- malformed taxonomy files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, rules, expected",
    [
        ('version = "x"\ncolour = "red"', {}, "colour: unknown key"),
        ('version = "x"\n[matching]\nnegation_window = "3"', {}, "matching.negation_window: expected an integer"),
        ('version = "x"\n[matching]\nnegators = "tidak"', {}, "matching.negators: expected a list"),
        ('description = "no version"', {}, "version: missing"),
        ('version = "x"', {"penanggapan": 'mention = ["@nope"]'}, "unknown group '@nope'"),
        ('version = "x"', {"penanggapan": 'mention = [{ phrase = "a", negation = "maybe" }]'},
         "indicators.penanggapan.mention[0].negation: expected one of flip, keep, drop"),
        ('version = "x"', {"penanggapan": 'mention = [{ phrase = "a", near = ["a", "b"] }]'},
         "exactly one of 'phrase' or 'near'"),
        ('version = "x"', {"penanggapan": 'mention = [{ near = ["a"] }]'}, "expected 2 to 4 terms"),
        ('version = "x"', {"penanggapan": 'mention = [3]'}, "indicators.penanggapan.mention[0]: expected a phrase"),
        ('version = "x"', {"penanggapan": 'mention = ["x"]\ncolour = "red"'},
         "indicators.penanggapan.colour: unknown key"),
        ('version = "x"', {"penanggapan": 'mention = [{ phrase = "a", within = 2 }]'}, "only applies to 'near' rules"),
        ('version = "x"', {"penanggapan": 'mention = [{ near = ["a", "b"], within = -1 }]'}, "must be 0 or more"),
        ('version = "x"', {"penanggapan": 'name = "p"'}, "indicators.penanggapan: no rules"),
        ('version = "x"', {"penanggapan": 'mention = ["..."]'}, "has no word to match"),
        ('version = "x"\n[groups]\nBad-Name = ["a"]', {}, "groups.Bad-Name: group names"),
    ],
)
def test_malformed_taxonomy_one_clear_error(tmp_path, head, rules, expected):
    path = write_taxonomy(tmp_path, head=head, **rules)
    with pytest.raises(InputError) as exc:
        load_taxonomy(path)
    msg = str(exc.value)
    assert str(path) in msg and expected in msg and "\n" not in msg


def test_unknown_and_missing_indicator(tmp_path):
    path = write_taxonomy(tmp_path)
    path.write_text(path.read_text() + '\n[indicators.kecepatan]\nmention = ["x"]\n')
    with pytest.raises(InputError, match=r"indicators\.kecepatan: unknown indicator"):
        load_taxonomy(path)
    path.write_text('version = "x"\n[indicators.sosialisasi]\nmention = ["x"]\n')
    with pytest.raises(InputError, match=r"indicators\.kemudahan_akses: missing"):
        load_taxonomy(path)


def test_taxonomy_not_toml_or_absent(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n[indicators\n')
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML"):
        load_taxonomy(bad)
    with pytest.raises(InputError, match="cannot read taxonomy"):
        load_taxonomy(tmp_path / "absent.toml")


def test_taxonomy_id_changes_with_the_file(tmp_path):
    path = write_taxonomy(tmp_path)
    first = load_taxonomy(path).id
    path.write_text(path.read_text().replace('mention = ["server"]', 'mention = ["server", "koneksi"]'))
    second = load_taxonomy(path).id
    assert first != second and first.startswith("t1@") and second.startswith("t1@")


# ---- evaluation -----------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[tuple[str, ...]], header: str = "text,indicators") -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header.split(","))
        w.writerows(rows)
    return path


TINY = [
    ("login gagal", "kemudahan_akses"),  # tp akses
    ("server down, login gagal", "keterhubungan"),  # tp keterhubungan, fp akses
    ("statusnya tidak jelas", "transparansi;penanggapan"),  # tp transparansi, fn penanggapan
    ("tidak ditanggapi", "penanggapan"),  # tp penanggapan
    ("aplikasi bagus", ""),  # nothing either side
    ("kurang sosialisasi", "sosialisasi"),  # tp sosialisasi
    ("isi formulir susah", "kemudahan akses"),  # display name; fn akses, fp aspirasi
]


def test_evaluate_indicators_exact_figures(tmp_path):
    tax = write_taxonomy(tmp_path)
    df = evaluate_indicators(write_csv(tmp_path / "tiny.csv", TINY), tax).set_index("indicator")
    assert list(df.index) == [*INDICATORS, "micro", "macro"]
    assert df.attrs["rows"] == 7 and df.attrs["split"] == "all"
    expect = {  # indicator: (support, tp, fp, fn, precision, recall, f1)
        "sosialisasi": (1, 1, 0, 0, 1.0, 1.0, 1.0),
        "kemudahan_akses": (2, 1, 1, 1, 0.5, 0.5, 0.5),
        "keterhubungan": (1, 1, 0, 0, 1.0, 1.0, 1.0),
        "kemudahan_aspirasi": (0, 0, 1, 0, 0.0, 0.0, 0.0),
        "transparansi": (1, 1, 0, 0, 1.0, 1.0, 1.0),
        "penanggapan": (2, 1, 0, 1, 1.0, 0.5, 2 / 3),
        "micro": (7, 5, 2, 2, 5 / 7, 5 / 7, 5 / 7),
        "macro": (7, 5, 2, 2, 4.5 / 6, 4 / 6, (3.5 + 2 / 3) / 6),
    }
    for key, (support, tp, fp, fn, p, r, f) in expect.items():
        row = df.loc[key]
        assert (row.support, row.tp, row.fp, row.fn) == (support, tp, fp, fn), key
        assert row.precision == pytest.approx(p) and row.recall == pytest.approx(r) and row.f1 == pytest.approx(f), key
    errors = indicator_errors(tmp_path / "tiny.csv", tax)
    assert list(errors.text) == ["server down, login gagal", "statusnya tidak jelas", "isi formulir susah"]
    assert errors.iloc[2].missed == "kemudahan_akses" and errors.iloc[2].extra == "kemudahan_aspirasi"


def test_evaluate_split_column(tmp_path):
    tax = write_taxonomy(tmp_path)
    rows = [("login gagal", "kemudahan_akses", "dev"), ("server down", "", "heldout")]
    path = write_csv(tmp_path / "s.csv", rows, header="text,indicators,split")
    dev = evaluate_indicators(path, tax, split="dev").set_index("indicator")
    held = evaluate_indicators(path, tax, split="heldout").set_index("indicator")
    assert dev.attrs["rows"] == 1 and dev.loc["micro"].f1 == 1.0
    assert held.attrs["rows"] == 1 and held.loc["keterhubungan"].fp == 1 and held.loc["micro"].precision == 0.0


@pytest.mark.parametrize(
    "content, expected",
    [
        ("words,indicators\nlogin,\n", "missing column(s) text"),
        ("text\nlogin\n", "missing column(s) indicators"),
        ("text,indicators\nlogin gagal,kecepatan\n", ":2: unknown indicator 'kecepatan'"),
        ("text,indicators\nok,\n ,penanggapan\n", ":3: empty text"),
        ("text,indicators\n", "no labelled rows"),
        ("", "missing column(s) text, indicators"),
        ("text,indicators,split\nlogin,,test\n", ":2: split must be dev or heldout"),
        ("text,indicators\nlogin,,extra\n", ":2: more fields than the header"),
    ],
)
def test_malformed_labelled_file(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        evaluate_indicators(path, write_taxonomy(tmp_path))
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_labelled_file_not_utf8_or_absent(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,indicators\nsosialisasi kurang \xe9,\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_labelled(path)
    with pytest.raises(InputError, match="cannot read labelled file"):
        read_labelled(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="unknown split"):
        read_labelled(LABELLED, split="train")


def test_shipped_labelled_set_and_measured_quality():
    df = read_labelled(LABELLED)
    assert len(df) >= 300 and df.text.is_unique
    assert set(df.split) == {"dev", "heldout"}
    assert (df.gold.map(len) == 0).sum() >= 30  # sentences with no indicator
    assert (df.gold.map(len) >= 2).sum() >= 30  # multi-label sentences
    held = df[df.split == "heldout"]
    for key in INDICATORS:
        assert sum(key in g for g in held.gold) >= 8, key
    # A floor well under the measured figures (docs/indicators.md): catches a broken matcher.
    res = evaluate_indicators(LABELLED, split="heldout").set_index("indicator")
    assert res.loc["micro"].f1 > 0.75
    assert (res.loc[list(INDICATORS)].f1 > 0.5).all()


# ---- tagging the store ----------------------------------------------------------------------------


@pytest.fixture
def astore(any_db_url):
    """A store on each back end (PostgreSQL when SUARA_TEST_PG is set)."""
    from pipelines.store import Store

    s = Store(any_db_url)
    yield s
    s.close()


def mention(i: int, body: str) -> dict:
    return dict(source="playstore", source_id=f"r{i}", app="id.go.tangsel", text=body, rating=1.0)


def test_tag_indicators_incremental_and_idempotent(astore, tmp_path):
    astore.upsert_mentions([
        mention(1, "Server down terus, gak bisa login"),
        mention(2, "Mantap, sangat membantu"),
        mention(3, "Laporan saya tidak ditanggapi"),
    ])
    calls = []
    assert tag_indicators(astore, chunk_size=2, progress=lambda d, t: calls.append((d, t))) == 3
    assert calls == [(2, 3), (3, 3)]
    df = indicators_frame(astore)
    got = {(r.mention_id, r.indicator): r for r in df.itertuples()}
    assert set(got) == {(1, "kemudahan_akses"), (1, "keterhubungan"), (3, "penanggapan")}
    assert got[(3, "penanggapan")].signal == "complaint" and got[(3, "penanggapan")].evidence == "tidak ditanggapi"
    assert (df.source == "playstore").all() and df.taxonomy.str.startswith("2026").all()
    with astore.engine.connect() as conn:
        tagged = {r.mention_id: r.n_indicators for r in conn.execute(select(indicator_tagging))}
    assert tagged == {1: 2, 2: 0, 3: 1}  # the mention with no indicator is recorded as read

    assert tag_indicators(astore) == 0  # idempotent, including the mention with no indicator
    assert len(indicators_frame(astore)) == 3

    # An edit re-tags that mention only, and its old tags go.
    astore.upsert_mentions([mention(3, "Aplikasi bagus, terima kasih")])
    assert tag_indicators(astore) == 1
    assert set(indicators_frame(astore).mention_id) == {1}
    assert tag_indicators(astore, reanalyze=True) == 3
    assert len(indicators_frame(astore)) == 2

    summary = indicator_summary(astore).set_index("indicator")
    assert summary.loc["keterhubungan"].mentions == 1 and summary.loc["(none)"].mentions == 2
    assert summary.attrs["tagged"] == 3


def test_taxonomy_change_retags_everything(astore, tmp_path):
    astore.upsert_mentions([mention(1, "server down"), mention(2, "status laporan")])
    assert tag_indicators(astore) == 2
    mini = write_taxonomy(tmp_path)
    assert len(pending_mentions(astore, load_taxonomy(mini).id)) == 2
    assert tag_indicators(astore, taxonomy=mini) == 2
    assert tag_indicators(astore, taxonomy=mini) == 0
    assert set(indicators_frame(astore).taxonomy) == {load_taxonomy(mini).id}


def test_tag_indicators_adds_signal_column_to_older_stores(astore):
    with astore.engine.begin() as conn:
        conn.execute(text("ALTER TABLE indicators DROP COLUMN signal"))
    astore.upsert_mentions([mention(1, "login gagal terus")])
    assert tag_indicators(astore) == 1
    assert indicators_frame(astore).signal.tolist() == ["complaint"]


def test_tag_indicators_rejects_bad_chunk(astore):
    with pytest.raises(InputError, match="chunk_size"):
        tag_indicators(astore, chunk_size=0)


def test_many_mentions_in_chunks(astore):
    rows = [mention(i, f"laporan {i} belum ditanggapi" if i % 2 else f"terima kasih {i}") for i in range(1, 761)]
    astore.upsert_mentions(rows)
    assert tag_indicators(astore, chunk_size=600) == 760
    with astore.engine.connect() as conn:
        assert conn.execute(text("select count(*) from indicator_tagging")).scalar_one() == 760
        tagged = conn.execute(select(indicators.c.mention_id).where(indicators.c.indicator == "penanggapan")).all()
        assert len(tagged) == 380


# ---- CLI ----------------------------------------------------------------------------------------


def test_cli_evaluate_indicators_table_and_json(tmp_path):
    tax = write_taxonomy(tmp_path)
    path = write_csv(tmp_path / "tiny.csv", TINY)
    res = CliRunner().invoke(app, ["evaluate-indicators", str(path), "--taxonomy", str(tax)])
    assert res.exit_code == 0, res.output
    assert "kemudahan_akses" in res.stdout and "0.500" in res.stdout and "micro" in res.stdout
    res = CliRunner().invoke(app, ["evaluate-indicators", str(path), "--taxonomy", str(tax), "--json", "--errors"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows"] == 7 and doc["taxonomy"].startswith("t1@")
    micro = next(m for m in doc["metrics"] if m["indicator"] == "micro")
    assert micro["f1"] == round(5 / 7, 4) and len(doc["errors"]) == 3


def test_cli_evaluate_indicators_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,indicators\nhalo,kecepatan\n")
    res = CliRunner().invoke(app, ["evaluate-indicators", str(bad)])
    assert res.exit_code == 2
    assert "error:" in res.stderr and "unknown indicator 'kecepatan'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_tag_store_and_text(db_url, store):
    store.upsert_mentions([mention(1, "OTP gak masuk2"), mention(2, "bagus")])
    res = CliRunner().invoke(app, ["tag", "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "tagged 2 mention(s)" in res.stdout and "kemudahan akses" in res.stdout
    res = CliRunner().invoke(app, ["tag", "--db", db_url])
    assert "tagged 0 mention(s)" in res.stdout
    res = CliRunner().invoke(app, ["tag", "--db", db_url, "--reanalyze"])
    assert "tagged 2 mention(s)" in res.stdout
    res = CliRunner().invoke(app, ["tag", "--text", "laporan gk ditanggapi"])
    assert res.exit_code == 0 and res.stdout == "penanggapan\tcomplaint\tgk ditanggapi\n"


def test_cli_tag_bad_taxonomy(db_url, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n')
    res = CliRunner().invoke(app, ["tag", "--db", db_url, "--taxonomy", str(bad)])
    assert res.exit_code == 2 and "version: expected a string" in res.stderr
