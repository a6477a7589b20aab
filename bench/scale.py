"""How Suara's offline stages scale with the corpus: time, throughput and peak memory per stage.

    python bench/scale.py [--sizes 10k,100k] [--keep DIR]

For each size the script writes a google-play-scraper CSV of generated Indonesian reviews
(:mod:`nlp.synthetic`; nothing from ../shared), then runs each stage as its own ``suara`` process on a
fresh SQLite store, in order:

  import     suara import reviews.csv --app id.bench.kota
  analyze    suara analyze --model lexicon      (lexicon sentiment + indicator tags; on a copy of
                                                  the imported store, so the next two start fresh)
  sentiment  suara analyze --model lexicon --no-indicators
  tag        suara tag
  trends     suara trends --out DIR
  export     suara export --out mentions.csv
  peer       the simplest thing a researcher would write instead: pandas reads the CSV, a dict
             of the same lexicon's word weights sums each review's words, labels go to a CSV
             (no normalisation, negation, phrases, indicators or store)

and prints per stage and size: wall seconds, items/s, peak RSS of that process (``os.wait4``'s
rusage of the child, or the sampled sum over it and its worker processes when that is larger), CPU
seconds and, from one size to the next, the growth ratios of time per item and of
peak RSS (1.0 = time linear in the corpus / memory not growing). A stage that fails stops the run
with its error. The figures are for this machine (CPU count printed) and SQLite.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("import", "analyze", "sentiment", "tag", "trends", "export", "peer")


def parse_size(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise SystemExit(f"error: bad size {text!r} (use e.g. 10k, 100k, 1m)") from None


def write_corpus(path: Path, n: int, seed: int = 0) -> None:
    """A gps-format CSV of ``n`` generated reviews over three years, some with developer replies."""
    from nlp.synthetic import review

    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    span = 3 * 365 * 24 * 3600
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["reviewId", "userName", "content", "score", "thumbsUpCount", "at", "replyContent", "repliedAt"])
        for i in range(n):
            at = start + timedelta(seconds=rng.randrange(span))
            reply = rng.random() < 0.15
            w.writerow([
                f"gp:bench-{i:08d}", f"warga{rng.randrange(n)}", review(rng), rng.randint(1, 5), rng.randrange(20),
                at.strftime("%Y-%m-%d %H:%M:%S"),
                "Terima kasih, laporan sedang kami tindak lanjuti" if reply else "",
                (at + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S") if reply else "",
            ])


def peer(corpus: str, out: str) -> None:
    """The pandas + dict-lexicon loop a researcher would write (run in its own process)."""
    import pandas as pd

    lex = {}
    for line in (ROOT / "data" / "lexicon_id.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            term, weight = line.split("\t")[:2]
            if " " not in term:
                lex[term] = float(weight)
    df = pd.read_csv(corpus)
    score = df["content"].astype(str).str.lower().str.split().apply(lambda ws: sum(lex.get(w, 0.0) for w in ws))
    df["label"] = pd.cut(score, [-float("inf"), -0.5, 0.5, float("inf")], labels=["negative", "neutral", "positive"])
    df[["reviewId", "label"]].to_csv(out, index=False)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        return f"{os.cpu_count()} CPUs ({cpu}), {mem / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        return f"{os.cpu_count()} CPUs ({cpu})"


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants now (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run_stage(args: list[str], env: dict) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS in bytes, output, CPU seconds) of one ``suara`` process (or the peer,
    with any worker processes it waited for)."""
    if args[0] == "peer":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--peer", *args[1:]]
    else:
        cmd = [sys.executable, "-c", "from pipelines.cli import main; main()", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # ru_maxrss is the peak of the largest single process; a stage with worker processes holds
    # the sum, so the whole tree is also sampled every 50 ms and the larger figure reported.
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"error: stage {' '.join(args[:1])} failed ({proc.returncode}): {out.strip()[-500:]}")
    # ru_maxrss is in KiB on Linux. Children the stage waited for (workers) add their CPU here.
    cpu = usage.ru_utime + usage.ru_stime
    return wall, max(usage.ru_maxrss * 1024, peak[0]), out, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="corpus sizes, e.g. 10k,100k,1m")
    ap.add_argument("--keep", type=Path, help="keep corpora and stores in this folder")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)} (import always runs)")
    ap.add_argument("--peer", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        peer(*args.peer)
        return
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    stages = [s for s in STAGES if s in {x.strip() for x in args.stages.split(",")} | {"import"}]
    work = args.keep or Path(tempfile.mkdtemp(prefix="suara-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    # Keep this process small: Linux carries a parent's peak RSS over into a forked child's maxrss.
    print(f"machine: {machine()}, Python {sys.version.split()[0]}, SQLite store, work folder {work}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other jobs on the machine slow every figure)")
    results: dict[tuple[str, int], tuple[float, int]] = {}
    cpus: dict[tuple[str, int], float] = {}
    for n in sizes:
        corpus = work / f"reviews-{n}.csv"
        t0 = time.perf_counter()
        if not corpus.exists():
            write_corpus(corpus, n)
        print(f"\n{n:,} reviews: corpus {corpus.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - t0:.1f} s to write)")
        db_file = work / f"store-{n}.db"
        for f in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
            f.unlink(missing_ok=True)
        env = dict(os.environ, SUARA_DB=f"sqlite:///{db_file}", SUARA_HOME=str(work / "home"),
                   HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
        copy = work / f"store-{n}-analyze.db"
        argv = {
            "import": ["import", str(corpus), "--app", "id.bench.kota"],
            "analyze": ["analyze", "--model", "lexicon", "--db", f"sqlite:///{copy}"],
            "sentiment": ["analyze", "--model", "lexicon", "--no-indicators"],
            "tag": ["tag"],
            "trends": ["trends", "--out", str(work / f"trends-{n}")],
            "export": ["export", "--out", str(work / f"export-{n}.csv")],
            "peer": ["peer", str(corpus), str(work / f"peer-{n}.csv")],
        }
        for stage in stages:
            if stage == "analyze":  # on a copy, so that sentiment and tag below start from nothing
                shutil.copyfile(db_file, copy)
            wall, rss, _, cpu = run_stage(argv[stage], env)
            if stage == "analyze":
                for f in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
                    f.unlink(missing_ok=True)
            results[(stage, n)] = (wall, rss)
            cpus[(stage, n)] = cpu
            print(f"  {stage:9s} {wall:8.1f} s  {n / wall:10,.0f} items/s  peak RSS {rss / 2**20:8.0f} MiB  "
                  f"CPU {cpu:7.1f} s ({n / max(cpu, 1e-9):,.0f} items per CPU-second)", flush=True)

    print("\nstage      " + "".join(f"{n:>12,}" for n in sizes) + "   (items/s; peak RSS MiB; growth vs previous size)")
    for stage in stages:
        rate = "".join(f"{n / results[(stage, n)][0]:12,.0f}" for n in sizes)
        rss = "".join(f"{results[(stage, n)][1] / 2**20:12,.0f}" for n in sizes)
        growth = []
        for a, b in zip(sizes, sizes[1:]):
            (ta, ra), (tb, rb) = results[(stage, a)], results[(stage, b)]
            growth.append(f"time/item x{(tb / b) / (ta / a):.2f}, RSS x{rb / ra:.2f}")
        print(f"{stage:9s}  {rate}   items/s")
        print(f"{'':9s}  {rss}   MiB   " + "; ".join(growth))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
