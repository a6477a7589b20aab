"""Human coding: blind coding sheets, importing coders' codes, inter-coder agreement.

* :func:`draw_sample` draws a reproducible stratified random sample of stored mentions,
  records it (with its seed) in ``label_samples`` and writes a coding sheet (XLSX with
  drop-downs, or CSV) that shows the text but never the machine's labels.
* :func:`import_codes` validates a filled sheet completely before storing anything, then
  replaces that coder's codes for those mentions in ``human_labels``.
* :func:`agreement` gives Cohen's kappa and Krippendorff's alpha per field where two or more
  coders coded the same mentions; :func:`disagreements` lists what to resolve and
  :func:`write_adjudication` writes a sheet to resolve it in (import it as coder ``consensus``).

Codes: sentiment ``negative``/``neutral``/``positive``; per indicator an empty cell (absent) or
``complaint``/``praise``/``mention``. The store keeps indicators in the codebook's notation
``key:polarity;...`` with ``-`` complaint, ``+`` praise and ``0`` mention.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select

from nlp.indicators import INDICATORS

from .errors import InputError
from .outputs import write_csv
from .paths import DATA_DIR
from .store import Store, human_labels, indicators, label_samples, mentions, utcnow

SENTIMENTS = ("negative", "neutral", "positive")
POLARITIES = ("complaint", "praise", "mention")
# Sheet word <-> codebook symbol. "mixed" is the tagger's word for praise and complaint of one
# aspect, which the codebook codes as a complaint (rule 19).
SYMBOL = {"complaint": "-", "praise": "+", "mention": "0"}
WORD = {v: k for k, v in SYMBOL.items()}
_POLARITY_ALIASES = {**{p: p for p in POLARITIES}, **WORD, "mixed": "complaint", "keluhan": "complaint",
                     "pujian": "praise", "sebutan": "mention"}
_SENTIMENT_ALIASES = {**{s: s for s in SENTIMENTS}, "negatif": "negative", "netral": "neutral", "positif": "positive"}

ADJUDICATOR = "consensus"  # the coder name an adjudication sheet is imported under
STRATA = ("source", "app", "indicator", "month")
SHEET_COLUMNS = ["sample", "mention_id", "source", "app", "date", "author", "title", "text",
                 "sentiment", *INDICATORS, "note"]
ADJUDICATION_EXTRA = "disagreements"  # the one extra column an adjudication sheet carries
CODING_SHEET, CODEBOOK_SHEET = "coding", "codebook"
RULES_FILE = DATA_DIR / "coding_rules.md"
AGREEMENT_COLUMNS = ["field", "indicator", "aspect", "units", "coders", "percent_agreement",
                     "cohen_kappa", "krippendorff_alpha", "note"]
DISAGREEMENT_COLUMNS = ["mention_id", "field", "codes"]

# ---- privacy in sheets -----------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Indonesian phone numbers: +62 / 62 / 0 then 8..13 digits, spaces, dots or dashes allowed.
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.-]?8\d(?:[\s.-]?\d){6,11}(?!\d)")


def mask_personal(text: str | None) -> str:
    """Mask e-mail addresses, 16-digit NIK numbers and phone numbers in a text for coders."""
    if not isinstance(text, str):
        return ""
    text = _EMAIL.sub("[email]", text)
    text = _NIK.sub("[NIK]", text)
    return _PHONE.sub("[telepon]", text)


# ---- sampling ------------------------------------------------------------------------------------


def _first_indicators(store: Store) -> dict[int, str]:
    order = {k: i for i, k in enumerate(INDICATORS)}
    with store.engine.connect() as conn:
        rows = conn.execute(select(indicators.c.mention_id, indicators.c.indicator)).all()
    first: dict[int, str] = {}
    for mid, ind in sorted(rows, key=lambda r: (r[0], order.get(r[1], 99), r[1])):
        first.setdefault(mid, ind)
    return first


def parse_stratify(stratify) -> list[str]:
    if stratify is None or stratify == "":
        return []
    keys = [k.strip().lower() for k in (stratify.split(",") if isinstance(stratify, str) else stratify)]
    bad = [k for k in keys if k not in STRATA]
    if bad or not all(keys):
        raise InputError(f"bad --stratify {','.join(keys)!r}: use a comma list of {', '.join(STRATA)}")
    return list(dict.fromkeys(keys))


def _allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Proportional allocation of ``n`` over strata (largest remainder), so the sample stays
    self-weighting and corpus estimates need no weights."""
    exact = sizes / sizes.sum() * n
    quota = np.floor(exact).astype(int)
    left = n - int(quota.sum())
    if left:
        order = (exact - quota).sort_values(ascending=False, kind="stable").index[:left]
        quota[order] += 1
    return quota.clip(upper=sizes)


def sample_mentions(store: Store, n: int, stratify=("source",), seed: int = 0,
                    source: str | None = None, app: str | None = None) -> pd.DataFrame:
    """A stratified random sample of ``n`` stored mentions (all of them when fewer), in a random
    order, with the sheet's columns filled (text masked, author only as its pseudonymous key)."""
    if n < 1:
        raise InputError(f"bad --n {n}: give at least 1")
    keys = parse_stratify(stratify)
    q = select(mentions.c.id, mentions.c.source, mentions.c.app, mentions.c.author_key, mentions.c.title,
               mentions.c.text, mentions.c.created_at, mentions.c.fetched_at).order_by(mentions.c.id)
    if source:
        q = q.where(mentions.c.source == source)
    if app:
        q = q.where(mentions.c.app == app)
    with store.engine.connect() as conn:
        df = pd.read_sql(q, conn)
    df = df[df["text"].fillna("").str.strip() != ""]
    if df.empty:
        what = " and ".join(f"{k} {v!r}" for k, v in (("source", source), ("app", app)) if v)
        raise InputError(f"no stored mention with text{' for ' + what if what else ''} to sample")
    when = pd.to_datetime(df["created_at"].where(df["created_at"].notna(), df["fetched_at"]))
    df["month"] = when.dt.strftime("%Y-%m")
    if "indicator" in keys:
        first = _first_indicators(store)
        df["indicator"] = [first.get(i, "none") for i in df["id"]]
    rng = np.random.default_rng(seed)
    if keys:
        sizes = df.groupby(keys, sort=True).size()
        quota = _allocate(sizes, min(n, len(df)))
        picked = []
        for key, group in df.groupby(keys, sort=True):
            k = int(quota.loc[key])
            if k:
                picked.append(group.iloc[np.sort(rng.choice(len(group), size=k, replace=False))])
        out = pd.concat(picked)
    else:
        out = df.iloc[np.sort(rng.choice(len(df), size=min(n, len(df)), replace=False))]
    out = out.iloc[rng.permutation(len(out))]  # coders never see the strata as blocks
    return pd.DataFrame({
        "sample": 0,
        "mention_id": out["id"].astype(int).to_numpy(),
        "source": out["source"].to_numpy(),
        "app": out["app"].to_numpy(),
        "date": pd.to_datetime(out["created_at"]).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        "author": out["author_key"].fillna("").to_numpy(),
        "title": [mask_personal(t) for t in out["title"]],
        "text": [mask_personal(t) for t in out["text"]],
        **{c: "" for c in SHEET_COLUMNS[8:]},
    })[SHEET_COLUMNS]


@dataclass
class Sample:
    id: int
    seed: int
    n: int
    path: Path
    frame: pd.DataFrame


def draw_sample(store: Store, n: int, out, stratify=("source",), seed: int | None = None,
                source: str | None = None, app: str | None = None) -> Sample:
    """Draw a sample (:func:`sample_mentions`), record it with its seed in ``label_samples`` and
    write the blind coding sheet to ``out`` (``.xlsx`` or ``.csv``). Without a seed one is drawn
    at random and recorded, so the sample can always be drawn again."""
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"{out}: a coding sheet must be .xlsx or .csv")
    keys = parse_stratify(stratify)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    frame = sample_mentions(store, n, keys, seed, source, app)
    with store.engine.begin() as conn:
        sid = conn.execute(label_samples.insert().values(
            created_at=utcnow(), seed=seed, n_requested=n, n=len(frame), stratify=",".join(keys),
            filters=json.dumps({"source": source, "app": app}), sheet=out.name,
            mention_ids=json.dumps([int(i) for i in frame["mention_id"]]),
        )).inserted_primary_key[0]
        frame["sample"] = int(sid)
        write_sheet(frame, out)  # inside the transaction: no recorded sample without its sheet
    return Sample(int(sid), seed, len(frame), out, frame)


# ---- writing sheets ------------------------------------------------------------------------------


def codebook_frame() -> pd.DataFrame:
    """The sheet's second tab: codes, indicator definitions (data/indicators.toml) and rules."""
    from nlp.indicators import load_taxonomy

    tax = load_taxonomy()
    rows = [("code", "sentiment", "negative | neutral | positive: the whole text's stance toward the app or service."),
            ("code", "indicator cell", "empty = not present; complaint = a problem with the aspect; praise = it "
                                       "works well; mention = named without judgement."),
            ("code", "note", "optional free text for the coder; not read as a code.")]
    rows += [("indicator", k, f"{tax.name(k)}: {tax.definitions.get(k, '')}") for k in INDICATORS]
    if RULES_FILE.exists():
        for line in RULES_FILE.read_text(encoding="utf-8").splitlines():
            if line.startswith("- "):
                rows.append(("rule", "", line[2:].strip()))
    rows.append(("reference", "", "Full codebook with borderline rules: docs/indicators.md."))
    return pd.DataFrame(rows, columns=["section", "key", "text"])


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_sheet(frame: pd.DataFrame, path, extra: str | None = None) -> Path:
    """Write a coding sheet (``.xlsx``: drop-downs and a codebook tab; ``.csv``: UTF-8 with BOM
    and a ``<name>.codebook.csv`` beside it). Every text cell is stored as text, never a formula."""
    path = Path(path)
    cols = SHEET_COLUMNS + ([extra] if extra else [])
    frame = frame[cols]
    if path.suffix.lower() == ".csv":
        write_csv(codebook_frame(), path.with_name(path.stem + ".codebook.csv"))
        return write_csv(frame, path)
    return _atomic(path, lambda tmp: _write_xlsx(frame, tmp))


def _text_cell(ws, row: int, col: int, value) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        cell = ws.cell(row=row, column=col)
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # openpyxl would make "=..." a formula
        if value.startswith(tuple("=+-@")):
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    else:
        ws.cell(row=row, column=col, value=None if value is None or (isinstance(value, float) and math.isnan(value))
                else value)


def _write_xlsx(frame: pd.DataFrame, path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = CODING_SHEET
    cols = list(frame.columns)
    for j, name in enumerate(cols, 1):
        _text_cell(ws, 1, j, name)
        ws.cell(row=1, column=j).font = Font(bold=True)
    for i, rec in enumerate(frame.itertuples(index=False), 2):
        for j, value in enumerate(rec, 1):
            _text_cell(ws, i, j, value.item() if hasattr(value, "item") else value)
    last = max(len(frame) + 1, 2)
    for j, name in enumerate(cols, 1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = {"text": 70, "title": 25, "author": 12}.get(name, 14)
        if name in ("text", "title"):
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].alignment = Alignment(wrap_text=True, vertical="top")
    for name, allowed in [("sentiment", SENTIMENTS)] + [(k, POLARITIES) for k in INDICATORS]:
        j = cols.index(name) + 1
        dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Not a code",
                            error=f"Choose one of: {', '.join(allowed)} (or leave empty).")
        ws.add_data_validation(dv)
        dv.add(f"{get_column_letter(j)}2:{get_column_letter(j)}{last}")
    ws.freeze_panes = "C2"
    cb = wb.create_sheet(CODEBOOK_SHEET)
    book = codebook_frame()
    for j, name in enumerate(book.columns, 1):
        _text_cell(cb, 1, j, name)
        cb.cell(row=1, column=j).font = Font(bold=True)
    for i, rec in enumerate(book.itertuples(index=False), 2):
        for j, value in enumerate(rec, 1):
            _text_cell(cb, i, j, value)
            cb.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    cb.column_dimensions["A"].width, cb.column_dimensions["B"].width, cb.column_dimensions["C"].width = 12, 20, 100
    wb.save(path)


# ---- reading sheets ------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text[1:].strip() if text.startswith("'") else text  # our own CSV's formula guard


def read_sheet(path) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(header, [(row number, cells)], where) of a coding sheet; ``where`` names file and sheet."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, ...: not a readable workbook
            raise InputError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from exc
        if CODING_SHEET not in wb.sheetnames:
            raise InputError(f"{path}: no sheet named {CODING_SHEET!r} (sheets: {', '.join(wb.sheetnames)})")
        rows = [[_cell_text(v) for v in r] for r in wb[CODING_SHEET].iter_rows(values_only=True)]
        wb.close()
        where = f"{path}: sheet {CODING_SHEET!r}"
    elif suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); Excel saved it in a local code page: "
                             "save it as 'CSV UTF-8 (comma delimited)' and import again") from exc
        first = text.split("\n", 1)[0]
        delim = max(",;\t", key=first.count)  # Excel in an Indonesian locale writes ';'
        rows = [[_cell_text(v) for v in r] for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]
        where = f"{path}"
    else:
        raise InputError(f"{path}: a coding sheet must be .xlsx or .csv")
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{where}: empty sheet (no header)")
    header = [h for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    body = [(i, r + [""] * (len(header) - len(r))) for i, r in enumerate(rows[1:], 2) if any(r)]
    return header, body, where


def _check_header(header: list[str], where: str) -> list[str]:
    for expected in (SHEET_COLUMNS, SHEET_COLUMNS + [ADJUDICATION_EXTRA]):
        if header == expected:
            return header
    for j, (got, want) in enumerate(itertools.zip_longest(header, SHEET_COLUMNS), 1):
        if got != want:
            if want is None and got == ADJUDICATION_EXTRA and j == len(SHEET_COLUMNS) + 1:
                continue
            raise InputError(f"{where}: row 1: header changed: column {j} is {got or '(missing)'!r}, expected "
                             f"{want or '(nothing)'!r}; keep the header as the sheet was written")
    raise InputError(f"{where}: row 1: header changed")


def parse_codes(path) -> tuple[pd.DataFrame, str]:
    """Read and validate a filled sheet without touching the store.

    Returns one row per coded mention (``mention_id, sentiment, indicators, sample``) and where
    it came from. Rows with every code empty are not coded yet and are skipped. Raises one
    ``InputError`` naming sheet, row, column and value for the first invalid cell."""
    header, body, where = read_sheet(path)
    header = _check_header(header, where)
    col = {name: j for j, name in enumerate(header)}
    if not body:
        raise InputError(f"{where}: empty sheet: no rows below the header")
    out, seen = [], {}
    for row, cells in body:
        mid_text = cells[col["mention_id"]]
        if not re.fullmatch(r"\d+", mid_text):
            raise InputError(f"{where}: row {row}: column 'mention_id': {mid_text!r} is not a mention id")
        mid = int(mid_text)
        sentiment = cells[col["sentiment"]].lower()
        codes = {}
        for k in INDICATORS:
            v = cells[col[k]].lower()
            if v:
                if v not in _POLARITY_ALIASES:
                    raise InputError(f"{where}: row {row}: column {k!r}: {cells[col[k]]!r} is not one of "
                                     f"{', '.join(POLARITIES)} (or empty)")
                codes[k] = _POLARITY_ALIASES[v]
        if not sentiment:
            if codes:
                raise InputError(f"{where}: row {row}: column 'sentiment' is empty but indicators are coded; "
                                 "give the sentiment too (or clear the row)")
            continue
        if sentiment not in _SENTIMENT_ALIASES:
            raise InputError(f"{where}: row {row}: column 'sentiment': {cells[col['sentiment']]!r} is not one of "
                             f"{', '.join(SENTIMENTS)}")
        if mid in seen:
            raise InputError(f"{where}: row {row}: mention {mid} is coded twice (also row {seen[mid]})")
        seen[mid] = row
        sample = cells[col["sample"]]
        out.append(dict(mention_id=mid, row=row, sentiment=_SENTIMENT_ALIASES[sentiment],
                        indicators=format_indicators(codes), sample_id=int(sample) if sample.isdigit() else None))
    if not out:
        raise InputError(f"{where}: no coded row: fill the sentiment column of the mentions you coded")
    return pd.DataFrame(out), where


def format_indicators(codes: dict[str, str]) -> str:
    """{indicator: polarity word} -> ``"key:-;key:+"`` in taxonomy order."""
    return ";".join(f"{k}:{SYMBOL[codes[k]]}" for k in INDICATORS if k in codes)


def parse_indicators(text: str | None) -> dict[str, str]:
    """``"key:-;key:0"`` -> {indicator: polarity word}."""
    out = {}
    for part in (text or "").split(";"):
        if part.strip():
            k, _, sym = part.strip().partition(":")
            out[k] = WORD.get(sym, "mention")
    return out


@dataclass
class ImportResult:
    coder: str
    coded: int
    replaced: int
    where: str


def check_coder(coder: str) -> str:
    coder = (coder or "").strip()
    if not coder or len(coder) > 64 or any(ch in coder for ch in "\r\n\t"):
        raise InputError(f"bad --coder {coder!r}: give a short name (1 to 64 characters) for the coder")
    return coder


def import_codes(store: Store, path, coder: str) -> ImportResult:
    """Validate a filled sheet and store its codes under ``coder`` (all rows or none).

    Re-importing replaces that coder's codes for the mentions in the sheet; other coders'
    codes are untouched."""
    coder = check_coder(coder)
    codes, where = parse_codes(path)
    ids = [int(i) for i in codes["mention_id"]]
    with store.engine.begin() as conn:
        hashes = {}
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            hashes.update(dict(conn.execute(select(mentions.c.id, mentions.c.content_hash)
                                            .where(mentions.c.id.in_(chunk))).all()))
        missing = [r for r in codes.itertuples() if r.mention_id not in hashes]
        if missing:
            r = missing[0]
            more = f" ({len(missing) - 1} more)" if len(missing) > 1 else ""
            raise InputError(f"{where}: row {r.row}: column 'mention_id': mention {r.mention_id} is not in the "
                             f"store {store.safe_url}{more}")
        samples = {int(s) for s in conn.execute(select(label_samples.c.id)).scalars()}
        replaced = 0
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            replaced += conn.execute(delete(human_labels).where(human_labels.c.coder == coder,
                                                                human_labels.c.mention_id.in_(chunk))).rowcount or 0
        now = utcnow()
        conn.execute(human_labels.insert(), [dict(
            mention_id=int(r.mention_id), coder=coder, sentiment=r.sentiment, indicators=r.indicators,
            sample_id=r.sample_id if r.sample_id in samples else None, content_hash=hashes[r.mention_id],
            sheet=Path(path).name, coded_at=now) for r in codes.itertuples()])
    return ImportResult(coder, len(codes), replaced, where)


# ---- reading codes -------------------------------------------------------------------------------


def codes_frame(store: Store, coder: str | None = None) -> pd.DataFrame:
    """Human codes, one row per (mention, coder): sentiment, ``indicators`` and one polarity
    column per indicator (``""`` where absent)."""
    q = select(human_labels).order_by(human_labels.c.mention_id, human_labels.c.coder)
    if coder:
        q = q.where(human_labels.c.coder == coder)
    with store.engine.connect() as conn:
        df = pd.read_sql(q, conn)
    parsed = [parse_indicators(t) for t in df["indicators"]]
    for k in INDICATORS:
        df[k] = [p.get(k, "") for p in parsed]
    return df


def coding_summary(store: Store) -> pd.DataFrame:
    """Coded mentions per coder (``coder, mentions, last_import``) for ``suara status``."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(human_labels.c.coder, func.count(), func.max(human_labels.c.coded_at))
                            .group_by(human_labels.c.coder).order_by(human_labels.c.coder)).all()
        total = conn.execute(select(func.count(func.distinct(human_labels.c.mention_id)))).scalar_one()
    df = pd.DataFrame(rows, columns=["coder", "mentions", "last_import"])
    df.attrs["coded_mentions"] = int(total)
    return df


# ---- agreement -----------------------------------------------------------------------------------


def _fields(codes: pd.DataFrame) -> dict[tuple[str, str, str], pd.DataFrame]:
    """(field, indicator, aspect) -> units x coders table of values (NaN: not coded / not applicable)."""
    wide = {}
    sent = codes.pivot(index="mention_id", columns="coder", values="sentiment")
    wide[("sentiment", "", "label")] = sent
    for k in INDICATORS:
        pol = codes.pivot(index="mention_id", columns="coder", values=k)
        wide[(f"{k} presence", k, "presence")] = pol.apply(
            lambda col: col.map(lambda v: v if pd.isna(v) else ("yes" if v else "no")))
        # Polarity only where the coders agree the indicator is there.
        shared = pol.where(pol.ne("") & pol.notna())
        wide[(f"{k} polarity", k, "polarity")] = shared
    return wide


def _kappa(a: pd.Series, b: pd.Series) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(a) == 0:
        return math.nan
    if len(set(a) | set(b)) < 2:
        return math.nan  # one category only: chance agreement is 1, kappa undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(list(a), list(b)))


def _alpha(table: pd.DataFrame) -> float:
    import krippendorff

    values = sorted({v for v in table.to_numpy().ravel().tolist() if isinstance(v, str)})
    if len(values) < 2:
        return math.nan
    code = {v: i for i, v in enumerate(values)}
    data = table.T.apply(lambda col: col.map(lambda v: code.get(v, np.nan))).to_numpy(dtype=float)
    try:
        with warnings.catch_warnings():  # 0/0 inside the package where one coder's codes never vary
            warnings.simplefilter("ignore")
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return math.nan


def agreement(store: Store, coders: list[str] | None = None) -> pd.DataFrame:
    """Inter-coder reliability per field over mentions two or more coders coded.

    ``cohen_kappa`` is Cohen's kappa for two coders (the mean over pairs for more);
    ``krippendorff_alpha`` is nominal alpha over all coders (missing codes allowed). Fields:
    sentiment; each indicator's presence; each indicator's polarity where both coders marked
    it. ``units`` counts the mentions a field was compared on. The adjudicator
    (``consensus``) is never a coder here."""
    codes = codes_frame(store)
    codes = codes[codes["coder"] != ADJUDICATOR]
    if coders:
        codes = codes[codes["coder"].isin(coders)]
    multi = codes.groupby("mention_id")["coder"].nunique()
    codes = codes[codes["mention_id"].isin(multi[multi >= 2].index)]
    rows = []
    if codes.empty:
        out = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
        out.attrs.update(units=0, coders=sorted(codes_frame(store)["coder"].unique()))
        return out
    names = sorted(codes["coder"].unique())
    for (field, ind, aspect), table in _fields(codes).items():
        kappas, agree, pairs_units = [], [], 0
        for a, b in itertools.combinations(names, 2):
            both = table[[a, b]].dropna()
            if len(both):
                agree.append(float((both[a] == both[b]).mean()))
                kappas.append(_kappa(both[a], both[b]))
                pairs_units += len(both)
        units = int((table.notna().sum(axis=1) >= 2).sum())
        kappa = float(np.nanmean(kappas)) if any(not math.isnan(k) for k in kappas) else math.nan
        note = ""
        if units == 0:
            note = "no mention where two coders both gave this"
        elif math.isnan(kappa):
            note = "every code the same: kappa undefined (no variation)"
        rows.append(dict(field=field, indicator=ind, aspect=aspect, units=units, coders=len(names),
                         percent_agreement=float(np.mean(agree)) if agree else math.nan, cohen_kappa=kappa,
                         krippendorff_alpha=_alpha(table) if units else math.nan, note=note))
    out = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    out.attrs.update(units=int(codes["mention_id"].nunique()), coders=names)
    return out


def disagreements(store: Store) -> pd.DataFrame:
    """One row per (mention, field) where coders differ: ``codes`` as ``coder=value; ...``."""
    codes = codes_frame(store)
    codes = codes[codes["coder"] != ADJUDICATOR]
    multi = codes.groupby("mention_id")["coder"].nunique()
    codes = codes[codes["mention_id"].isin(multi[multi >= 2].index)]
    rows = []
    if not codes.empty:
        sent = codes.pivot(index="mention_id", columns="coder", values="sentiment")
        tables = [("sentiment", sent)] + [(k, codes.pivot(index="mention_id", columns="coder", values=k))
                                          for k in INDICATORS]
        for field, table in tables:
            for mid, r in table.iterrows():
                vals = r.dropna()
                if vals.nunique() > 1:
                    rows.append(dict(mention_id=int(mid), field=field,
                                     codes="; ".join(f"{c}={v or '(none)'}" for c, v in vals.items())))
    return pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS).sort_values(["mention_id", "field"], ignore_index=True)


def write_adjudication(store: Store, path) -> tuple[Path, int]:
    """A sheet of the mentions with disagreements: agreed codes filled in, disputed ones empty,
    and a ``disagreements`` column saying who said what. Import it as coder ``consensus``."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"{path}: an adjudication sheet must be .xlsx or .csv")
    dis = disagreements(store)
    ids = sorted(dis["mention_id"].unique())
    codes = codes_frame(store)
    codes = codes[codes["coder"] != ADJUDICATOR]
    with store.engine.connect() as conn:
        m = pd.read_sql(select(mentions.c.id, mentions.c.source, mentions.c.app, mentions.c.author_key,
                               mentions.c.title, mentions.c.text, mentions.c.created_at)
                        .where(mentions.c.id.in_([int(i) for i in ids])), conn).set_index("id")
    rows = []
    for mid in ids:
        mc = codes[codes["mention_id"] == mid]
        disputed = set(dis.loc[dis["mention_id"] == mid, "field"])
        rec = dict(sample=int(mc["sample_id"].dropna().iloc[0]) if mc["sample_id"].notna().any() else "",
                   mention_id=int(mid), source=m.at[mid, "source"], app=m.at[mid, "app"],
                   date=pd.Timestamp(m.at[mid, "created_at"]).strftime("%Y-%m-%d") if pd.notna(m.at[mid, "created_at"]) else "",
                   author=m.at[mid, "author_key"] or "", title=mask_personal(m.at[mid, "title"]),
                   text=mask_personal(m.at[mid, "text"]), note="",
                   disagreements=" | ".join(f"{f}: {c}" for f, c in dis.loc[dis["mention_id"] == mid, ["field", "codes"]].itertuples(index=False)))
        for field in ("sentiment", *INDICATORS):
            rec[field] = "" if field in disputed else mc[field].iloc[0]
        rows.append(rec)
    frame = pd.DataFrame(rows, columns=SHEET_COLUMNS + [ADJUDICATION_EXTRA])
    write_sheet(frame, path, extra=ADJUDICATION_EXTRA)
    return path, len(ids)
