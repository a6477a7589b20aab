"""Sentiment classifiers behind one interface.

Every classifier has ``classify(texts) -> list[Prediction]``, a ``name`` and a ``version``;
``model_id`` (``name@version``) is stored with every label in ``sentiments.model``.

* ``lexicon``: :class:`nlp.lexicon.LexiconClassifier`, offline, always available.
* ``indobert``: :class:`TransformerClassifier` on a hub id or local folder; default
  ``mdhugol/indonesia-bert-sentiment-classification`` (IndoBERT fine-tuned on SmSA).
* ``auto``: IndoBERT when it loads, else the lexicon, with a warning saying which one ran.

Use :func:`load_classifier` to get one from a spec string (what ``--model`` takes).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nlp.errors import InputError, SuaraError

LABELS = ("positive", "neutral", "negative")
DEFAULT_MODEL = "mdhugol/indonesia-bert-sentiment-classification"
# Checkpoints whose config only says LABEL_0.. : their real label order, from their model cards.
KNOWN_LABEL_MAPS = {
    "mdhugol/indonesia-bert-sentiment-classification": ("positive", "neutral", "negative"),
}
LABEL_ALIASES = {
    "positive": "positive", "pos": "positive", "positif": "positive",
    "neutral": "neutral", "neu": "neutral", "netral": "neutral",
    "negative": "negative", "neg": "negative", "negatif": "negative",
}


@dataclass
class Prediction:
    """One text's label and class probabilities (keys positive, neutral, negative; sum 1)."""

    label: str
    probs: dict[str, float] = field(default_factory=dict)


class FallbackWarning(UserWarning):
    """``auto`` could not load the transformer and used the lexicon."""


# ---- transformer ---------------------------------------------------------------------------------


class TransformerClassifier:
    """A sequence-classification transformer (IndoBERT by default) tuned for fast CPU inference.

    Texts are normalised (slang -> standard, emoji removed), tokenised once, cut into windows of
    the model's maximum length (long texts: overlapping windows whose probabilities are averaged),
    sorted by length so each batch pads little, and run under ``torch.inference_mode`` on the GPU
    when there is one. A text with no words left (emoji only) is labelled from its emoji by the
    lexicon; an empty text is neutral.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        labels: str | list[str] | dict | None = None,
        batch_size: int = 32,
        device: str | None = None,
        normalize: bool = True,
        stride: int = 64,
        max_length: int | None = None,
        precision: str = "fp32",
        calibration_texts=None,
    ):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.source = str(model)
        local = Path(model).expanduser()
        is_local = local.exists()
        if is_local and not (local / "config.json").is_file():
            raise InputError(f"model folder {local} has no config.json (expected a saved transformers model)")
        kwargs: dict = {}
        if not is_local and (os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable()):
            kwargs["local_files_only"] = True  # only the local cache; do not wait on retries
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(local if is_local else model), **kwargs)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(local if is_local else model), **kwargs
            )
        except (OSError, ValueError, KeyError) as exc:
            if kwargs.get("local_files_only"):
                reason = "not in the local cache and the model hub is not reachable"
            else:
                reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise SuaraError(
                f"cannot load sentiment model {self.source!r}: {reason}; "
                "to run offline pass a local model folder with --model PATH"
            ) from exc
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device).eval()
        self.label_of_index = _label_map(self.model.config, self.source, labels)
        self.batch_size = batch_size
        self.normalize = normalize
        limit = max_length or min(
            int(getattr(self.model.config, "max_position_embeddings", 512) or 512),
            int(self.tokenizer.model_max_length) if self.tokenizer.model_max_length < 100_000 else 10**9,
        )
        self.prefix, self.suffix = _special_ids(self.tokenizer)
        self.max_length = limit
        self.window = max(8, limit - len(self.prefix) - len(self.suffix))
        self.stride = min(stride, self.window // 2)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self._torch = torch
        self.name = "indobert" if self.source == DEFAULT_MODEL else _short_name(self.source)
        self.base_version = _model_version(local if is_local else None, self.model)
        self._lexicon = None
        self._set_precision(precision, calibration_texts)

    def _set_precision(self, precision: str, calibration_texts=None) -> None:
        from . import precision as P

        precision = P.check_precision(precision)
        self.precision, self.autocast, self.agreement, self.int8_engine = "fp32", None, None, None
        if precision == "auto":
            self.precision, self.agreement = P.choose(self, calibration_texts)
        elif precision != "fp32":
            P.apply(self, precision)

    @property
    def version(self) -> str:
        # Labels from another precision are other labels: never stored under the fp32 id. int8
        # packed for another engine than the default rounds differently, so it is named too.
        from . import precision as P

        if self.precision == "fp32":
            return self.base_version
        engine = self.int8_engine if self.precision == "int8" and self.int8_engine != P.INT8_ENGINE else None
        return f"{self.base_version}+{self.precision}" + (f"-{engine}" if engine else "")

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def _windows(self, ids: list[int]) -> list[list[int]]:
        if len(ids) <= self.window:
            return [self.prefix + ids + self.suffix]
        step = self.window - self.stride
        out = []
        for start in range(0, len(ids), step):
            out.append(self.prefix + ids[start : start + self.window] + self.suffix)
            if start + self.window >= len(ids):
                break
        return out

    def classify(self, texts) -> list[Prediction]:
        from .normalize import clean, normalize, tokenize

        texts = ["" if t is None else str(t) for t in texts]
        prepared = [normalize(t, keep_emoji=False) if self.normalize else clean(t, keep_emoji=False) for t in texts]
        out: list[Prediction | None] = [None] * len(texts)
        todo = []
        for i, t in enumerate(prepared):
            if tokenize(t):
                todo.append(i)
            else:
                out[i] = self._wordless(texts[i])
        if todo:
            encoded = self.tokenizer([prepared[i] for i in todo], add_special_tokens=False, truncation=False)[
                "input_ids"
            ]
            windows: list[tuple[int, list[int]]] = []  # (text index, ids)
            for i, ids in zip(todo, encoded):
                windows.extend((i, w) for w in self._windows(list(ids)))
            order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
            sums: dict[int, list[float]] = {}
            weights: dict[int, float] = {}
            torch = self._torch
            with torch.inference_mode():
                for b in range(0, len(order), self.batch_size):
                    batch = [windows[k] for k in order[b : b + self.batch_size]]
                    width = max(len(ids) for _, ids in batch)
                    input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                    mask = torch.zeros((len(batch), width), dtype=torch.long)
                    for r, (_, ids) in enumerate(batch):
                        input_ids[r, : len(ids)] = torch.tensor(ids)
                        mask[r, : len(ids)] = 1
                    with torch.autocast(self.device.type, dtype=self.autocast, enabled=self.autocast is not None):
                        logits = self.model(
                            input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)
                        ).logits
                    probs = torch.softmax(logits.float(), dim=-1).cpu().tolist()
                    for (i, ids), p in zip(batch, probs):
                        # Average windows weighted by their length: a short tail says less.
                        w = float(len(ids))
                        acc = sums.setdefault(i, [0.0] * len(p))
                        for c, v in enumerate(p):
                            acc[c] += w * v
                        weights[i] = weights.get(i, 0.0) + w
            for i in todo:
                p = [v / weights[i] for v in sums[i]]
                probs = {lbl: 0.0 for lbl in LABELS}
                for c, v in enumerate(p):
                    probs[self.label_of_index[c]] += v
                out[i] = Prediction(max(LABELS, key=lambda lbl: probs[lbl]), probs)
        return out  # type: ignore[return-value]

    def _wordless(self, text: str) -> Prediction:
        from .normalize import extract_emoji

        if extract_emoji(text):
            if self._lexicon is None:
                from .lexicon import LexiconClassifier

                self._lexicon = LexiconClassifier()
            return self._lexicon.classify([text])[0]
        return Prediction("neutral", {"positive": 0.0, "neutral": 1.0, "negative": 0.0})


_HUB_PROBES: dict[str, bool] = {}


def _hub_reachable(timeout: float | None = None) -> bool:
    """Can this machine reach the model hub (``$HF_ENDPOINT``, or the HTTPS proxy if one is set)?

    Answered within ``timeout`` seconds (``$SUARA_HUB_TIMEOUT``, default 1.5) whatever DNS does:
    the probe runs in a daemon thread, since an offline resolver can block far longer than a
    socket timeout (a connect per address of the host, each with its own timeout, made 5-8 s).
    The answer is kept for the life of the process, so a run probes once.
    """
    from urllib.parse import urlsplit

    target = (os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
              or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    parts = urlsplit(target if "://" in target else f"http://{target}")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    key = f"{host}:{port}"
    if key in _HUB_PROBES:
        return _HUB_PROBES[key]
    if timeout is None:
        try:
            timeout = float(os.environ.get("SUARA_HUB_TIMEOUT", "1.5"))
        except ValueError:
            timeout = 1.5
    import threading

    found: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            found.append(True)
        except (OSError, UnicodeError):
            pass

    thread = threading.Thread(target=probe, name="suara-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    _HUB_PROBES[key] = bool(found)
    return _HUB_PROBES[key]


def _special_ids(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] / [SEP] for BERT)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain) :])
    return [], []


def _label_map(config, source: str, override) -> list[str]:
    """Model output index -> canonical label, from the config, a known map, or an override."""
    n = int(getattr(config, "num_labels", 0) or len(getattr(config, "id2label", {}) or {}))
    if override:
        if isinstance(override, str):
            override = [s.strip() for s in override.split(",")]
        if isinstance(override, dict):
            names = [override.get(i, override.get(str(i))) for i in range(n)]
        else:
            names = list(override)
        if len(names) != n or any(LABEL_ALIASES.get(str(x).lower()) is None for x in names):
            raise InputError(
                f"label map {override!r} must give one of {', '.join(LABELS)} for each of the model's {n} outputs"
            )
        return [LABEL_ALIASES[str(x).lower()] for x in names]
    env = os.environ.get("SUARA_SENTIMENT_LABELS")
    if env:
        return _label_map(config, source, env)
    id2label = {int(k): str(v) for k, v in (getattr(config, "id2label", None) or {}).items()}
    names = [LABEL_ALIASES.get(id2label.get(i, "").lower()) for i in range(n)]
    if n == 3 and all(names) and sorted(names) == sorted(LABELS):
        return names  # type: ignore[return-value]
    for known, order in KNOWN_LABEL_MAPS.items():
        if source.rstrip("/").endswith(known) or source == known:
            return list(order)
    raise InputError(
        f"model {source!r} labels its outputs {list(id2label.values())}; say which is which with "
        "--labels positive,neutral,negative (in output order) or SUARA_SENTIMENT_LABELS"
    )


def _short_name(source: str) -> str:
    return source.rstrip("/").replace("\\", "/").split("/")[-1] or source


def _model_version(folder: Path | None, model) -> str:
    """A short fingerprint of the weights: changes when the model does, stable across runs."""
    commit = getattr(model.config, "_commit_hash", None)
    if folder is None and commit:
        return str(commit)[:10]
    h = hashlib.sha256()
    h.update(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    if folder is not None:
        for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}".encode())
            with f.open("rb") as fh:
                h.update(fh.read(1 << 20))
                if st.st_size > 2 << 20:
                    fh.seek(-(1 << 20), 2)
                    h.update(fh.read())
    return h.hexdigest()[:10]


# ---- factory -------------------------------------------------------------------------------------


def load_classifier(spec: str | Path | None = "auto", *, labels=None, batch_size: int = 32, device=None,
                    text_only: bool = False, precision: str = "fp32", calibration_texts=None):
    """A classifier from a spec: ``auto`` | ``linear`` | ``lexicon`` | ``indobert`` | a folder | a hub id.

    ``linear`` is the shipped TF-IDF + logistic-regression model (``data/models``), which uses a
    store review's star rating beside its text unless ``text_only``; a ``.npz`` path loads
    another one (``suara train --kind linear``). ``lexicon`` may also be given as a path to a
    lexicon ``.tsv``. ``auto`` tries IndoBERT (``$SUARA_SENTIMENT_MODEL`` or the default
    checkpoint) and falls back to the offline default (the linear model, or the lexicon when no
    linear model is installed) with a :class:`FallbackWarning` naming the model that ran.
    ``precision`` (``auto|fp32|int8|bf16``, see :mod:`nlp.precision`, ``auto`` checked on
    ``calibration_texts`` when given) applies to transformers only.
    """
    from .lexicon import LexiconClassifier
    from .linear import DEFAULT_LINEAR_MODEL, LinearClassifier

    from .precision import check_precision

    spec = str(spec or "auto").strip()
    precision = check_precision(precision)
    kw = dict(labels=labels, batch_size=batch_size, device=device, precision=precision,
              calibration_texts=calibration_texts)
    if precision in ("int8", "bf16") and (spec in ("lexicon", "linear") or spec.endswith((".npz", ".tsv"))):
        raise InputError(f"precision {precision} applies to transformer models only, not {spec!r}")
    if spec == "lexicon":
        return LexiconClassifier()
    if spec == "linear":
        return LinearClassifier(DEFAULT_LINEAR_MODEL, use_rating=not text_only)
    if spec.endswith(".npz"):
        return LinearClassifier(Path(spec).expanduser(), use_rating=not text_only)
    if spec.endswith(".tsv") and Path(spec).is_file():
        return LexiconClassifier(spec)
    if spec in ("indobert", "auto"):
        target = os.environ.get("SUARA_SENTIMENT_MODEL") or DEFAULT_MODEL
        if spec == "indobert":
            return TransformerClassifier(target, **kw)
        try:
            return TransformerClassifier(target, **kw)
        except SuaraError as exc:
            if DEFAULT_LINEAR_MODEL.is_file():
                clf = LinearClassifier(DEFAULT_LINEAR_MODEL, use_rating=not text_only)
                what = "offline linear model"
            else:
                clf = LexiconClassifier()
                what = "offline lexicon"
            clf.fallback_reason = str(exc)
            msg = f"{exc}. Ran the {what} ({clf.model_id}) instead of IndoBERT"
            warnings.warn(msg, FallbackWarning, stacklevel=2)
            return clf
    path = Path(spec).expanduser()
    if path.exists():
        return TransformerClassifier(path, **kw)
    if "/" in spec and not spec.startswith((".", "/", "~")) and spec.count("/") == 1:
        return TransformerClassifier(spec, **kw)
    raise InputError(
        f"unknown model {spec!r}: use auto, linear, lexicon, indobert, a .npz linear model, a model folder, "
        "or a hub id like owner/name"
    )
