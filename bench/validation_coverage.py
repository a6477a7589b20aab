"""Does the corrected favourability's 95% interval cover the truth? (pipelines/validate.py)

Builds synthetic corpora where every mention's true code for one indicator is known (absent,
complaint, favourable), lets a simulated machine tag them with known error rates (it misses
tags, adds false ones and gets polarity wrong), codes a simple random sample with the true
codes, and checks how often :func:`corrected_favourability`'s interval holds the corpus's true
favourability. Prints coverage per scenario over ``--sims`` seeded simulations.

    python bench/validation_coverage.py [--sims 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.validate import corrected_favourability  # noqa: E402

# name: corpus size, sample size, prevalence, true favourability, machine sensitivity,
# false-tag rate among mentions without the indicator, polarity accuracy.
SCENARIOS = {
    "typical": dict(N=5000, n=300, prev=0.25, fav=0.30, sens=0.70, fpr=0.05, pol=0.80),
    "rare indicator": dict(N=5000, n=400, prev=0.10, fav=0.40, sens=0.60, fpr=0.03, pol=0.75),
    "favourable, noisy": dict(N=3000, n=250, prev=0.30, fav=0.65, sens=0.80, fpr=0.08, pol=0.70),
}


def simulate(rng: np.random.Generator, N: int, n: int, prev: float, fav: float, sens: float, fpr: float,
             pol: float) -> tuple[float, dict]:
    """One corpus and sample: (true favourability, corrected_favourability's result)."""
    present = rng.random(N) < prev
    truth = np.where(~present, "absent", np.where(rng.random(N) < fav, "favourable", "complaint"))
    flip = {"complaint": "favourable", "favourable": "complaint"}
    machine = np.full(N, "absent", dtype=object)
    hit = present & (rng.random(N) < sens)
    right = rng.random(N) < pol
    machine[hit] = np.where(right[hit], truth[hit], [flip[t] for t in truth[hit]])
    false = ~present & (rng.random(N) < fpr)
    machine[false] = np.where(rng.random(int(false.sum())) < 0.6, "complaint", "favourable")
    true_fav = float((truth == "favourable").sum() / present.sum())
    idx = rng.choice(N, size=n, replace=False)
    pairs = pd.DataFrame({"machine": machine[idx], "human": truth[idx]})
    counts = pd.Series(machine).value_counts().to_dict()
    return true_fav, corrected_favourability(counts, pairs, seed=int(rng.integers(2**31)), draws=2000)


def coverage(scenario: dict, sims: int = 200, seed: int = 0) -> dict:
    """Share of simulations whose interval covers the truth, among those that gave one."""
    rng = np.random.default_rng(seed)
    covered = given = 0
    widths, errors = [], []
    for _ in range(sims):
        truth, res = simulate(rng, **scenario)
        if res["status"] == "too few":
            continue
        given += 1
        covered += res["low"] <= truth <= res["high"]
        widths.append(res["high"] - res["low"])
        errors.append(res["estimate"] - truth)
    return dict(sims=sims, given=given, coverage=covered / given if given else float("nan"),
                mean_width=float(np.mean(widths)) if widths else float("nan"),
                bias=float(np.mean(errors)) if errors else float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name, sc in SCENARIOS.items():
        c = coverage(sc, args.sims, args.seed)
        print(f"{name:<18} coverage {c['coverage']:.3f} over {c['given']}/{c['sims']} simulations; "
              f"mean interval width {c['mean_width']:.3f}, mean error {c['bias']:+.4f}")


if __name__ == "__main__":
    main()
