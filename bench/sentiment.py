"""Benchmark Suara's sentiment path against a plain transformers pipeline (offline).

Builds an IndoBERT-base-shaped classifier locally (BertConfig defaults: 12 layers, hidden 768,
max 512 positions; vocabulary 50,000; random weights; WordPiece tokenizer trained on the texts),
then times on the same 512 texts (SmSA valid + NusaX valid from ../shared/data when present,
otherwise generated review-like texts):

  (a) transformers pipeline, one call per text
  (b) the same pipeline with batch_size=32
  (c) Suara's TransformerClassifier (normalise, length-sorted batches, inference_mode)
  (c+int8, c+bf16, c+auto) the same at each ``--precision`` (nlp/precision.py)

and prints texts/s, the ratios c/a and c/b (and c/a of each precision with its label agreement
with fp32 and with (a)), whether (a) and (c) give the same labels, and the
throughput of normalisation and of the lexicon classifier. All three see the same model inputs:
the pipeline gets the texts already normalised the way Suara normalises them.

    python bench/sentiment.py [--n 512] [--batch-size 32] [--threads N] [--precisions int8,bf16,auto] [--cpu-time]
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


CLOCK = time.perf_counter


def timed(fn):
    start = CLOCK()
    result = fn()
    return result, CLOCK() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with this process's CPU seconds (steadier than wall time on a shared machine; "
                         "use with --threads 1)")
    ap.add_argument("--precisions", default="int8,bf16,auto", help="precisions to time beside fp32 ('' for none)")
    args = ap.parse_args()
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time

    import os

    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from nlp import normalize as N
    from nlp.lexicon import LexiconClassifier
    from nlp.sentiment import TransformerClassifier
    from tinybert import build_model

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts, origin = load_texts(args.n)
    print(f"texts: {origin}")
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"device {'cuda' if torch.cuda.is_available() else 'cpu'}, {'CPU' if args.cpu_time else 'wall'} time")

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
    ra, rb, rc = n / t_a, n / t_b, n / t_c
    print(f"(a) pipeline, one text per call:   {ra:8.1f} texts/s  ({t_a:.1f} s)")
    print(f"(b) pipeline, batch_size={args.batch_size}:       {rb:8.1f} texts/s  ({t_b:.1f} s)")
    print(f"(c) Suara TransformerClassifier:   {rc:8.1f} texts/s  ({t_c:.1f} s)")
    print(f"c/a = {rc / ra:.2f}   c/b = {rc / rb:.2f}   (target c/a >= 3)")
    name = suara.label_of_index
    lab_a = [name[int(r["label"].split("_")[-1])] if r["label"].startswith("LABEL_") else r["label"] for r in a]
    lab_c = [p.label for p in c]
    for prec, ran, pv, t_v, t_load, notes in variants:
        lab_v = [p.label for p in pv]
        vs_c = sum(x == y for x, y in zip(lab_c, lab_v))
        vs_a = sum(x == y for x, y in zip(lab_a, lab_v))
        print(f"(c) --precision {prec:5s} ran {ran:5s} {n / t_v:8.1f} texts/s  c/a = {n / t_v / ra:5.2f}  "
              f"labels = fp32 (c): {vs_c}/{n}, = (a): {vs_a}/{n}  (load{' + calibration' if prec == 'auto' else ''} "
              f"{t_load:.1f} s)")
        for note in notes:
            print(f"    {note}")
    same = sum(x == y for x, y in zip(lab_a, lab_c))
    wordless = sum(1 for t in normalised if not N.tokenize(t))
    print(f"labels (a) vs (c): {same}/{n} identical" + (f" ({wordless} texts without words go to the emoji lexicon in (c))" if wordless else ""))
    if same != n:
        sys.exit(1)


if __name__ == "__main__":
    main()
