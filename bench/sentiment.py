"""Benchmark Suara's sentiment path against a plain transformers pipeline (offline).

Builds an IndoBERT-base-shaped classifier locally (BertConfig defaults: 12 layers, hidden 768,
max 512 positions; vocabulary 50,000; random weights; WordPiece tokenizer trained on the texts),
then times on the same 512 texts (SmSA valid + NusaX valid from ../shared/data when present,
otherwise generated review-like texts):

  (a) transformers pipeline, one call per text
  (b) the same pipeline with batch_size=32
  (c) Suara's TransformerClassifier (normalise, length-sorted batches, inference_mode)
  (c+int8, c+bf16, c+auto) the same at each ``--precision`` (nlp/precision.py)

and prints one table: per path texts/s by wall time and by this process's CPU time (the machine
may be shared: CPU seconds are the steadier figure, wall the one a user waits), the ratio of each
to (a) on the same clock, and label agreement with (c) at fp32 and with (a); then whether (a) and
(c) give the same labels, the load average before and after, and the throughput of
normalisation and of the lexicon classifier. All paths see the same model inputs: the pipeline
gets the texts already normalised the way Suara normalises them and runs at its defaults; (c)
normalises inside ``classify`` (counted in its time). Each precision is applied once at load;
load (and ``auto``'s calibration) time is printed apart and not in texts/s.

    python bench/sentiment.py [--n 512] [--batch-size 32] [--threads N] [--precisions int8,bf16,auto]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tinybert builders live with the tests
SHARED = ROOT.parent / "shared" / "data" / "sentiment"


def load_texts(n: int) -> tuple[list[str], str]:
    if (SHARED / "smsa" / "valid.tsv").exists():
        from nlp.evaluate import read_labelled

        nusax = read_labelled(SHARED / "nusax-id" / "valid.csv")["text"].tolist()
        smsa = read_labelled(SHARED / "smsa" / "valid.tsv")["text"].tolist()
        texts = (nusax + smsa)[:n]
        return texts, f"{len(texts)} texts from ../shared/data (NusaX-id valid, then SmSA valid)"
    rng = random.Random(0)
    words = ("aplikasi bagus jelek lambat error login tidak bisa sangat membantu warga layanan laporan "
             "ditanggapi admin cepat update server gagal mantap bgt gk udh lemot kecewa puas").split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 60))) for _ in range(n)]
    return texts, f"{n} generated texts (../shared/data not found)"


class Clock(float):
    """Wall seconds (the float) with this process's CPU seconds beside them (``.cpu``)."""

    cpu: float = 0.0


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    spent = Clock(time.perf_counter() - wall)
    spent.cpu = time.process_time() - cpu
    return result, spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--cpu-time", action="store_true", help="(kept for old scripts: CPU time is always reported)")
    ap.add_argument("--precisions", default="int8,bf16,auto", help="precisions to time beside fp32 ('' for none)")
    args = ap.parse_args()
    import os

    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from nlp import normalize as N
    from nlp.lexicon import LexiconClassifier
    from nlp.precision import int8_engine
    from nlp.sentiment import TransformerClassifier
    from tinybert import build_model

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts, origin = load_texts(args.n)
    print(f"texts: {origin}")
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"device {'cuda' if torch.cuda.is_available() else 'cpu'}, int8 packed for {int8_engine()}")
    load_before = os.getloadavg()
    print("load average before: " + " ".join(f"{x:.2f}" for x in load_before))

    # Normalisation and lexicon throughput (cold caches first, then warm).
    N._standard.cache_clear()
    N.stem.cache_clear()
    normalised, t_norm = timed(lambda: [N.normalize(t, keep_emoji=False) for t in texts])
    _, t_norm_warm = timed(lambda: [N.normalize(t, keep_emoji=False) for t in texts])
    lex = LexiconClassifier()
    N.stem.cache_clear()
    _, t_lex = timed(lambda: lex.classify(texts))
    _, t_lex_warm = timed(lambda: lex.classify(texts))
    print(f"normalisation: {len(texts) / t_norm:,.0f} texts/s cold caches, {len(texts) / t_norm_warm:,.0f} warm")
    print(f"lexicon:       {len(texts) / t_lex:,.0f} texts/s cold stem cache, {len(texts) / t_lex_warm:,.0f} warm")

    with tempfile.TemporaryDirectory() as tmp:
        folder, t_build = timed(lambda: build_model(
            Path(tmp) / "indobert-base-shaped", normalised, vocab_size=50_000, config_vocab_size=50_000,
            hidden_size=768, layers=12, heads=12, intermediate_size=3072, max_position_embeddings=512,
        ))
        print(f"model: BERT-base shape (12 x 768, vocab 50,000, random weights) built in {t_build:.1f} s")
        suara = TransformerClassifier(folder, batch_size=args.batch_size)
        pipe = pipeline("text-classification", model=str(folder), tokenizer=str(folder),
                        device=0 if torch.cuda.is_available() else -1)
        kw = dict(truncation=True, max_length=512)

        # Warm up each path once on a few texts (first calls allocate).
        pipe(normalised[:4], **kw)
        suara.classify(texts[:4])

        a, t_a = timed(lambda: [pipe(t, **kw)[0] for t in normalised])
        b, t_b = timed(lambda: pipe(normalised, batch_size=args.batch_size, **kw))
        c, t_c = timed(lambda: suara.classify(texts))
        variants = []
        for prec in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            if prec == "int8" and torch.cuda.is_available():
                continue  # int8 dynamic quantisation is CPU only
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                # auto calibrates on the benchmark texts themselves; its load time is reported apart.
                v, t_load = timed(lambda: TransformerClassifier(folder, batch_size=args.batch_size, precision=prec,
                                                                calibration_texts=texts))
            v.classify(texts[:4])
            pv, t_v = timed(lambda: v.classify(texts))
            notes = [str(w.message) for w in caught if "precision" in str(w.message)]
            variants.append((prec, v.precision, pv, t_v, t_load, notes))

    n = len(texts)
    name = suara.label_of_index
    lab_a = [name[int(r["label"].split("_")[-1])] if r["label"].startswith("LABEL_") else r["label"] for r in a]
    lab_b = [name[int(r["label"].split("_")[-1])] if r["label"].startswith("LABEL_") else r["label"] for r in b]
    lab_c = [p.label for p in c]
    rows = [("(a) pipeline, one text per call", t_a, lab_a, ""),
            (f"(b) pipeline, batch_size={args.batch_size}", t_b, lab_b, ""),
            ("(c) Suara, fp32", t_c, lab_c, "")]
    for prec, ran, pv, t_v, t_load, notes in variants:
        what = f"(c) Suara, --precision {prec}" + (f" (ran {ran})" if ran != prec else "")
        rows.append((what, t_v, [p.label for p in pv],
                     f"load{' + calibration' if prec == 'auto' else ''} {t_load:.1f} s wall"))
    print(f"\n{'path':38s} {'texts/s':>8s} {'/(a)':>6s} {'texts/s':>8s} {'/(a)':>6s}  {'= fp32 (c)':>10s} {'= (a)':>9s}")
    print(f"{'':38s} {'wall':>8s} {'wall':>6s} {'CPU':>8s} {'CPU':>6s}")
    for what, t, labels, note in rows:
        vs_c = sum(x == y for x, y in zip(lab_c, labels))
        vs_a = sum(x == y for x, y in zip(lab_a, labels))
        print(f"{what:38s} {n / t:8.1f} {t_a / t:6.2f} {n / t.cpu:8.1f} {t_a.cpu / t.cpu:6.2f}  "
              f"{vs_c:>5d}/{n:<4d} {vs_a:>4d}/{n:<4d} {note}")
    for prec, ran, pv, t_v, t_load, notes in variants:
        for note in notes:
            print(f"    {prec}: {note}")
    print("texts/s by wall time and by this process's CPU seconds (all threads); /(a): ratio to (a) on the same "
          "clock; = fp32 (c), = (a): identical labels. Targets: fp32 c/a >= 3, int8 c/a >= 10 with >= 99% agreement.")
    print("load average after:  " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    same = sum(x == y for x, y in zip(lab_a, lab_c))
    wordless = sum(1 for t in normalised if not N.tokenize(t))
    print(f"labels (a) vs (c): {same}/{n} identical" + (f" ({wordless} texts without words go to the emoji lexicon in (c))" if wordless else ""))
    if same != n:
        sys.exit(1)


if __name__ == "__main__":
    main()
