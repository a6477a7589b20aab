"""Fine-tune any encoder for three-class Indonesian sentiment.

A plain torch loop (AdamW, linear warm-up/decay, dynamic padding), early stopping on validation
macro-F1, and the best epoch saved as a folder that ``suara analyze --model DIR`` loads: model,
tokenizer, ``id2label`` = positive/neutral/negative, and ``suara_training.json`` with the history.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Callable

from nlp.errors import InputError, SuaraError

from .evaluate import metrics, read_labelled
from .sentiment import LABELS

DEFAULT_BASE = "indobenchmark/indobert-base-p1"


def train(
    train_path,
    valid_path,
    out_dir,
    base: str = DEFAULT_BASE,
    *,
    epochs: int = 3,
    batch_size: int = 16,
    lr: float = 2e-5,
    weight_decay: float = 0.01,
    warmup: float = 0.1,
    max_length: int = 128,
    patience: int = 2,
    seed: int = 42,
    text_col=None,
    label_col=None,
    normalize: bool = True,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Fine-tune ``base`` on a labelled train file, keep the epoch with the best validation macro-F1.

    Returns a summary dict (best epoch, its validation accuracy/macro-F1, per-epoch history,
    output folder). Stops early after ``patience`` epochs without improvement.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    from .normalize import normalize as norm

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    say = progress or (lambda msg: None)
    if epochs < 1 or batch_size < 1:
        raise InputError("epochs and batch size must be at least 1")
    tr = read_labelled(train_path, text_col, label_col)
    va = read_labelled(valid_path, text_col, label_col)
    prep = (lambda t: norm(t, keep_emoji=False)) if normalize else (lambda t: t)
    tr_texts, va_texts = [prep(t) for t in tr["text"]], [prep(t) for t in va["text"]]
    tr_y = [LABELS.index(lbl) for lbl in tr["label"]]

    random.seed(seed)
    torch.manual_seed(seed)
    label_kw = dict(
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={lbl: i for i, lbl in enumerate(LABELS)},
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        model = AutoModelForSequenceClassification.from_pretrained(str(base), ignore_mismatched_sizes=True, **label_kw)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise SuaraError(f"cannot load base model {str(base)!r}: {first}; pass a local folder with --base PATH") from exc
    model.config.id2label, model.config.label2id = label_kw["id2label"], label_kw["label2id"]
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(dev)
    limit = min(max_length, int(getattr(model.config, "max_position_embeddings", max_length)))

    def batches(texts, ys, shuffle):
        idx = list(range(len(texts)))
        if shuffle:
            random.shuffle(idx)
        for b in range(0, len(idx), batch_size):
            part = idx[b : b + batch_size]
            enc = tokenizer(
                [texts[i] for i in part], padding=True, truncation=True, max_length=limit, return_tensors="pt"
            )
            enc = {k: v.to(dev) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            yield enc, (torch.tensor([ys[i] for i in part], device=dev) if ys is not None else None)

    steps_total = epochs * math.ceil(len(tr_texts) / batch_size)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr)
    sched = get_linear_schedule_with_warmup(opt, int(warmup * steps_total), steps_total)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    history, best, stale = [], None, 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for enc, y in batches(tr_texts, tr_y, shuffle=True):
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
        model.eval()
        preds = []
        with torch.inference_mode():
            for enc, _ in batches(va_texts, None, shuffle=False):
                preds.extend(model(**enc).logits.argmax(-1).tolist())
        m = metrics(va["label"], [LABELS[p] for p in preds])
        row = {"epoch": epoch, "train_loss": total / len(tr_texts), "valid_accuracy": m["accuracy"],
               "valid_macro_f1": m["macro_f1"]}
        history.append(row)
        say(f"epoch {epoch}: loss {row['train_loss']:.4f}, valid accuracy {m['accuracy']:.3f}, "
            f"macro-F1 {m['macro_f1']:.3f}")
        if best is None or m["macro_f1"] > best["valid_macro_f1"]:
            best, stale = row, 0
            model.save_pretrained(out)
            tokenizer.save_pretrained(out)
        else:
            stale += 1
            if stale >= patience:
                say(f"no improvement for {patience} epochs: stopping")
                break
    summary = {
        "base": str(base),
        "train": str(train_path),
        "valid": str(valid_path),
        "n_train": len(tr_texts),
        "n_valid": len(va_texts),
        "best_epoch": best["epoch"],
        "valid_accuracy": best["valid_accuracy"],
        "valid_macro_f1": best["valid_macro_f1"],
        "history": history,
        "normalized": normalize,
        "seconds": round(time.perf_counter() - start, 1),
        "out": str(out),
    }
    (out / "suara_training.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
