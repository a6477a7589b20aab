"""Tiny BERT builders for tests and benchmarks: a WordPiece tokenizer trained on given texts and a
randomly initialised BERT sequence classifier, saved as a folder that ``--model DIR`` loads.
Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

LABEL_ORDER = ("positive", "neutral", "negative")


def train_tokenizer(texts, vocab_size: int = 500, lowercase: bool = True):
    """A BERT-style WordPiece ``PreTrainedTokenizerFast`` trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=specials, min_frequency=1, show_progress=False
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=512,
    )


def build_model(
    out_dir,
    texts,
    *,
    vocab_size: int = 500,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 64,
    labels=LABEL_ORDER,
    generic_labels: bool = False,
    seed: int = 0,
    config_vocab_size: int | None = None,
    **config_kwargs,
) -> Path:
    """Save a random-weight BERT classifier + tokenizer to ``out_dir`` and return the path.

    ``generic_labels`` writes ``LABEL_0..`` names (like many hub checkpoints) instead of real ones.
    ``config_vocab_size`` makes the embedding table that large (e.g. IndoBERT's 50,000) even when
    the trained tokenizer has fewer pieces.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    tokenizer.model_max_length = max_position_embeddings
    names = [f"LABEL_{i}" for i in range(len(labels))] if generic_labels else list(labels)
    config = BertConfig(
        vocab_size=max(len(tokenizer), config_vocab_size or 0),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        num_labels=len(labels),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        **config_kwargs,
    )
    model = BertForSequenceClassification(config).eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
