"""Numeric precision of the transformer path: ``auto`` | ``fp32`` | ``int8`` | ``bf16``.

* ``int8``: dynamic int8 quantisation of every ``nn.Linear`` (weights stored int8, activations
  quantised per batch), CPU only. It uses the quantised linear kernels that ship inside torch
  (``torch.ao.quantization.quantize_dynamic``, whose Python entry point torch marks deprecated).
  Its announced successor, torchao's ``Int8DynamicActivationInt8WeightConfig``, was measured 27x
  *slower* than fp32 on an AVX2 CPU with or without torch.compile, and ``Int8WeightOnlyConfig``
  slower than fp32 (torch 2.13, torchao 0.18; docs/sentiment.md), so it is not used; if a later torch drops the old entry point, ``int8`` fails with a clear error and ``auto``
  stays on fp32. The weights are packed for the oneDNN kernels (:data:`INT8_ENGINE`), measured
  1.2-1.3x faster than torch's default ``x86``/``fbgemm`` packing on an AVX2 CPU; the kernel
  follows the packing, so torch's global engine setting is left as it was.
* ``bf16``: bfloat16 autocast (weights kept fp32). Fast on GPUs and on CPUs with bf16 units
  (AVX512-BF16/AMX); on CPUs without them it is slower than fp32, so ``auto`` never picks it there.
* ``auto``: int8 on CPU, bf16 on a GPU, kept only if its labels agree with fp32 on at least
  :data:`MIN_AGREEMENT` of a calibration sample; otherwise fp32, with one :class:`PrecisionWarning`.

Any precision but fp32 is appended to the model version (``name@version+int8``; int8 packed for an
engine other than :data:`INT8_ENGINE` adds it, ``+int8-x86``), so labels made at
different precisions are stored, counted and trended apart rather than mixed silently.
"""

from __future__ import annotations

import warnings

from nlp.errors import InputError, SuaraError

PRECISIONS = ("auto", "fp32", "int8", "bf16")
MIN_AGREEMENT = 0.99
CALIBRATION_SIZE = 256
# Quantised engine the int8 weights are packed for; $SUARA_INT8_ENGINE overrides (x86, fbgemm, onednn).
INT8_ENGINE = "onednn"


class PrecisionWarning(UserWarning):
    """``auto`` kept fp32 because the faster precision disagreed with it (or is unavailable)."""


def check_precision(precision: str | None) -> str:
    p = (precision or "fp32").strip().lower()
    if p not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    return p


def int8_engine() -> str:
    """The quantised engine to pack int8 weights for: ``$SUARA_INT8_ENGINE`` or :data:`INT8_ENGINE`
    when this torch has it, else torch's current engine."""
    import os

    import torch

    supported = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    wanted = os.environ.get("SUARA_INT8_ENGINE", "").strip().lower()
    if wanted:
        if wanted not in supported:
            raise InputError(f"SUARA_INT8_ENGINE={wanted!r} is not an engine of this torch: use one of "
                             f"{', '.join(supported)}")
        return wanted
    return INT8_ENGINE if INT8_ENGINE in supported else torch.backends.quantized.engine


def quantize_int8(model, engine: str | None = None):
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantised to int8 (CPU), its weights
    packed for ``engine`` (default :func:`int8_engine`)."""
    import torch

    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as exc:  # pragma: no cover - depends on the installed torch
        raise SuaraError(f"int8 needs torch's dynamic quantisation, which this torch lacks ({exc}); "
                         "use --precision fp32") from exc
    engine = engine or int8_engine()
    before = torch.backends.quantized.engine
    try:
        # Packing happens under the global engine; the packed weights then run its kernels whatever
        # the global setting is later, so it is set only for the packing.
        torch.backends.quantized.engine = engine
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the entry point's deprecation notice; see the module doc
            return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    finally:
        torch.backends.quantized.engine = before


def apply(clf, precision: str) -> None:
    """Switch a :class:`nlp.sentiment.TransformerClassifier` to ``precision`` (not ``auto``)."""
    import torch

    cuda = clf.device.type == "cuda"
    if precision == "int8":
        if cuda:
            raise InputError("precision int8 runs on CPU only; on a GPU use bf16 or fp32")
        clf.int8_engine = int8_engine()
        clf.model = quantize_int8(clf.model, clf.int8_engine)
        clf.autocast = None
    elif precision == "bf16":
        clf.autocast = torch.bfloat16
    else:
        clf.autocast = None
    clf.precision = precision


def agreement(a, b) -> float:
    """Share of predictions with the same label (1.0 for none)."""
    a, b = list(a), list(b)
    return sum(x.label == y.label for x, y in zip(a, b)) / len(a) if a else 1.0


def choose(clf, texts=None) -> tuple[str, float | None]:
    """Resolve ``auto`` on ``clf`` (running fp32): returns ``(precision, agreement)``.

    ``texts`` is the calibration sample (the first :data:`CALIBRATION_SIZE` are used); without one,
    generated review texts (:mod:`nlp.synthetic`) stand in.
    """
    from .synthetic import reviews

    candidate = "bf16" if clf.device.type == "cuda" else "int8"
    sample = [t for t in (texts if texts is not None else reviews(CALIBRATION_SIZE, seed=7)) if t][:CALIBRATION_SIZE]
    reference = clf.classify(sample)
    fp32_model = clf.model
    try:
        apply(clf, candidate)
    except SuaraError as exc:
        warnings.warn(f"precision auto: {candidate} unavailable ({exc}); running fp32", PrecisionWarning, stacklevel=3)
        return "fp32", None
    share = agreement(reference, clf.classify(sample))
    if share < MIN_AGREEMENT:
        clf.model, clf.autocast, clf.precision, clf.int8_engine = fp32_model, None, "fp32", None
        warnings.warn(
            f"precision auto: {candidate} labels agreed with fp32 on {share:.1%} of {len(sample)} calibration "
            f"texts (below {MIN_AGREEMENT:.0%}); running fp32",
            PrecisionWarning,
            stacklevel=3,
        )
        return "fp32", share
    return candidate, share
