"""Validation on real hand-coded reviews (../shared/labels/oss_dev.csv, when present).

Loads the 240 coded OSS Indonesia reviews into a throwaway store, labels them with the lexicon
and the indicator tagger, draws a coding sample of ``--n`` with ``suara label sample``'s
function, fills it with the hand codes, imports it, and runs ``validate``. The corpus is the
240 reviews, so every indicator's true favourability (from all 240 hand codes) is known: the
script prints it beside the machine's raw figure and the corrected estimate from the sample.

    python bench/validation_real.py [--n 120] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "labels" / "oss_dev.csv"

from nlp.indicators import INDICATORS  # noqa: E402
from pipelines.labels import draw_sample, import_codes, parse_indicators  # noqa: E402
from pipelines.store import Store  # noqa: E402
from pipelines.validate import favourability, validate  # noqa: E402


def run(n: int = 120, seed: int = 1):
    """(validate's result, true favourability per indicator, true tag counts); None without the data."""
    if not SHARED.exists():
        return None
    from pipelines.analysis import analyze_sentiment
    from pipelines.tagging import tag_indicators

    codes = pd.read_csv(SHARED, dtype=str, keep_default_na=False)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/s.db")
        store.upsert_mentions([dict(source="playstore", source_id=r.id, app="id.go.oss", text=r.text,
                                    rating=float(r.rating), created_at=r.date) for r in codes.itertuples()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analyze_sentiment(store, "lexicon")
        tag_indicators(store)
        sample = draw_sample(store, n, Path(tmp) / "sheet.csv", "", seed=seed)
        ids = dict(zip(store.mentions_df()["id"], store.mentions_df()["source_id"]))
        by_id = codes.set_index("id")
        sheet = sample.frame.copy()
        for i, mid in enumerate(sheet["mention_id"]):
            row = by_id.loc[ids[mid]]
            sheet.at[i, "sentiment"] = row["sentiment"]
            for k, pol in parse_indicators(row["indicators"]).items():
                sheet.at[i, k] = pol
        sheet.to_csv(Path(tmp) / "filled.csv", index=False, encoding="utf-8")
        import_codes(store, Path(tmp) / "filled.csv", "codebook")
        res = validate(store, coder="codebook", seed=seed)
        store.close()
    truth = {k: favourability([parse_indicators(t).get(k, "") for t in codes["indicators"]]) for k in INDICATORS}
    truth_n = {k: sum(k in parse_indicators(t) for t in codes["indicators"]) for k in INDICATORS}
    return res, truth, truth_n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = run(args.n, args.seed)
    if out is None:
        print(f"skipped: {SHARED} not found")
        return
    res, truth, truth_n = out
    s = res["sentiment"]
    print(f"sample {args.n} of {len(pd.read_csv(SHARED, dtype=str))} rows (seed {args.seed}); "
          f"model {res['model']}")
    print(f"sentiment: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}, kappa {s['kappa']:.3f}")
    print(f"{'indicator':<19}{'tags':>5}{'F1':>6}{'pol.acc':>8}{'true':>7}{'raw':>7}{'corrected (95% CI)':>24}  status")
    for r in res["indicators"].itertuples():
        corr = (f"{r.corrected_favourability:.2f} ({r.corrected_low:.2f}-{r.corrected_high:.2f})"
                if r.corrected_favourability == r.corrected_favourability else "-")
        fmt = lambda v: "-" if v != v else f"{v:.2f}"  # noqa: E731
        print(f"{r.indicator:<19}{truth_n[r.indicator]:>5}{fmt(r.f1):>6}{fmt(r.polarity_accuracy):>8}"
              f"{fmt(truth[r.indicator]):>7}{fmt(r.raw_favourability):>7}{corr:>24}  {r.corrected_status}")


if __name__ == "__main__":
    main()
