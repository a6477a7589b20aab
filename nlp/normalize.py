"""Indonesian text normalisation for informal app reviews.

Two paths share these functions:

* the transformer path wants readable standard text: :func:`normalize` (cleaning plus slang
  replacement), optionally without emoji;
* the keyword and lexicon paths want comparable tokens: :func:`preprocess` (normalise, tokenise,
  drop stop words but keep negation/intensity/contrast words, Sastrawi-stem).

The slang dictionary is ``data/slang_id.tsv`` (``informal<TAB>standard``), written for this
project. Stemming is cached per token because a corpus is mostly the same few thousand words.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from nlp.errors import InputError
from nlp.paths import DATA_DIR

SLANG_FILE = DATA_DIR / "slang_id.tsv"

# Words that carry polarity or scope and so must survive stop-word removal, even though
# Sastrawi's list contains them: negation, intensity, contrast and a few evaluative words.
NEGATIONS = frozenset(
    "tidak tak bukan belum jangan tanpa enggak nggak gak ga kagak tiada bukannya jangankan".split()
)
INTENSIFIERS = frozenset(
    "sangat amat banget sekali terlalu paling lebih makin semakin begitu benar-benar sungguh "
    "terlampau cukup agak kurang sedikit super".split()
)
CONTRASTS = frozenset("tapi tetapi namun sayangnya padahal sedangkan melainkan malah malahan walaupun meskipun".split())
KEEP_WORDS = (
    NEGATIONS
    | INTENSIFIERS
    | CONTRASTS
    | frozenset(
        "baik enak percuma lama kelamaan keterlaluan jelas pantas penting mampu masalah tepat "
        "benar betul berlebihan mudah susah sulit waduh mohon tolong cepat segera bisa dapat "
        "gagal masuk keluar terus selalu sering lagi".split()
    )
)

# ---- cleaning ------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|id|net|org|co\.id|go\.id|ly)(?:/\S*)?\b", re.I)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_TAG = re.compile(r"<[^>]{1,200}>")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
# Emoji and pictographs, with their modifiers (skin tones, variation selectors, joiners).
_EMOJI_CHARS = (
    "\U0001F000-\U0001FAFF"  # pictographs, emoticons, transport, supplemental symbols
    "\u2600-\u27BF"  # misc symbols and dingbats
    "\u2B00-\u2BFF"  # arrows, stars
    "\u2300-\u23FF"  # technical (watch, hourglass)
    "\u2190-\u21FF"
    "\u3030\u303D\u3297\u3299\u00A9\u00AE\u203C\u2049\u2122\u2139"
)
_EMOJI = re.compile(f"[{_EMOJI_CHARS}][\uFE0F\u200D\U0001F3FB-\U0001F3FF{_EMOJI_CHARS}]*")
_EMOJI_MOD = re.compile("[\uFE0F\uFE0E\u200D\U0001F3FB-\U0001F3FF]")
# Text emoticons become emoji so that one lexicon entry covers both.
_EMOTICONS = {
    ":)": "🙂", ":-)": "🙂", ":))": "😄", ":)))": "😄", "=)": "🙂", ":d": "😄", ":-d": "😄", "xd": "😆",
    ":(": "🙁", ":-(": "🙁", ":((": "😢", ":(((": "😢", ":'(": "😢", ";)": "😉", ":p": "😛",
    "<3": "❤", ":/": "😕", ":-/": "😕", ":v": "😄", "-_-": "😑", "-.-": "😑", ":|": "😐",
}
_EMOTICON = re.compile(
    r"(?<!\S)(" + "|".join(re.escape(k) for k in sorted(_EMOTICONS, key=len, reverse=True)) + r")(?!\S)", re.I
)
# "bagusss" -> "bagus": a letter three or more times (legitimate Indonesian has at most two).
_REPEAT3 = re.compile(r"([a-z])\1{2,}")
# "login2" -> "login-login", "kadang2nya" -> "kadang-kadangnya" (reduplication written with 2).
_REDUP = re.compile(r"\b([a-z]{2,})2(nya|lah|kah|an|pun)?\b")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def _emoticon(m: re.Match) -> str:
    return f" {_EMOTICONS[m.group(1).lower()]} "


def _emoji_spacer(m: re.Match) -> str:
    # One token per emoji, without skin tone / variation modifiers, so "👍🏽" == "👍".
    core = _EMOJI_MOD.sub("", m.group(0))
    return " " + " ".join(core) + " "


def clean(text: str | None, keep_emoji: bool = True) -> str:
    """Lowercase and strip noise: HTML, URLs, e-mail, @mentions, letter runs, "2" reduplication.

    Emoji (and text emoticons such as ``:)``) are kept as separate tokens when ``keep_emoji``,
    because they are polarity signals for the lexicon; otherwise they are removed.
    """
    if not text:
        return ""
    text = str(text)
    # Each pattern below needs a character most reviews lack: test for it before running it.
    if "&" in text:
        text = html.unescape(html.unescape(text))  # double-escaped "&amp;amp;" is common in feeds
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "." in text or "/" in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
        text = _MENTION.sub(" ", text)
    if "#" in text:
        text = _HASHTAG.sub(r"\1", text)
    text = text.lower()
    if keep_emoji:
        text = _EMOTICON.sub(_emoticon, text)
        if not text.isascii():
            text = _EMOJI.sub(_emoji_spacer, text)
    else:
        text = _EMOTICON.sub(" ", text)
        text = _EMOJI.sub(" ", text)
    text = _REPEAT3.sub(_collapse, text)
    if "2" in text:
        text = _REDUP.sub(_redup, text)
    return _SPACES.sub(" ", text).strip()


def _redup(m: re.Match) -> str:
    return f"{m.group(1)}-{m.group(1)}{m.group(2) or ''}"


def _collapse(m: re.Match) -> str:
    return m.group(1)


# ---- slang --------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_slang(path: str | Path = SLANG_FILE) -> dict[str, str]:
    """The slang dictionary as ``{informal: standard}``; ``#`` lines are comments."""
    path = Path(path)
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read slang dictionary {path}: {exc.strerror}") from exc
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise InputError(f"{path}:{no}: expected 'informal<TAB>standard', got {line!r}")
        out[parts[0].strip().lower()] = parts[1].strip().lower()
    return out


@lru_cache(maxsize=4)
def _standard_words(path: str | Path = SLANG_FILE) -> frozenset[str]:
    return frozenset(w for v in load_slang(path).values() for w in v.split())


@lru_cache(maxsize=200_000)
def _standard(word: str) -> str:
    slang = load_slang()
    hit = slang.get(word)
    if hit is not None:
        return hit
    # A doubled final letter that survived collapsing ("bangett", "mantapp").
    if len(word) > 3 and word[-1] == word[-2] and word[-1].isalpha():
        base = word[:-1]
        if base in slang:
            return slang[base]
        if base in _standard_words():
            return base
    # Informal word + possessive/definite suffix: "apknya", "apkny" -> "aplikasinya".
    for suffix, std in (("nya", "nya"), ("ny", "nya"), ("x", "nya")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            base = word[: -len(suffix)]
            if base in slang and " " not in slang[base]:
                return slang[base] + std
    # Reduplicated slang: "gk-gk" is rare, but "bgt-bgt"/"lemot-lemot" happen.
    if "-" in word:
        parts = word.split("-")
        if any(p in slang for p in parts):
            return "-".join(slang.get(p, p) for p in parts)
    return word


def normalize(text: str | None, keep_emoji: bool = True) -> str:
    """Clean, then replace informal and slang words with standard Indonesian.

    >>> normalize("aplikasinya lemot bgt, gk bs login2")
    'aplikasinya lambat banget, tidak bisa login-login'
    """
    cleaned = clean(text, keep_emoji=keep_emoji)
    if not cleaned:
        return ""
    return _WORD.sub(lambda m: _standard(m.group(0)), cleaned)


# ---- tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(f"[a-z0-9]+(?:[-'][a-z0-9]+)*|[{_EMOJI_CHARS}]")
_TOKEN_PUNCT = re.compile(f"[a-z0-9]+(?:[-'][a-z0-9]+)*|[{_EMOJI_CHARS}]|[.,!?;:]+")


def tokenize(text: str | None, keep_punct: bool = False) -> list[str]:
    """Words (with internal hyphens) and single emoji; ``keep_punct`` keeps clause punctuation.

    Expects already cleaned/normalised text (lowercase); call :func:`normalize` first.
    """
    if not text:
        return []
    return (_TOKEN_PUNCT if keep_punct else _TOKEN).findall(text)


@lru_cache(maxsize=1)
def _stemmer():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=500_000)
def stem(token: str) -> str:
    """Sastrawi stem of one token (cached). Emoji, numbers and kept words pass through."""
    if not token or not token[0].isalpha() or not token.isascii() or token in KEEP_WORDS:
        return token
    if "-" in token:
        # Sastrawi treats "login-login" as a reduplication of "login" only when the halves match.
        out = _stemmer().stem(token)
        return out or token
    return _stemmer().stem(token) or token


def stem_tokens(tokens: list[str]) -> list[str]:
    """Stem each token (cached per token)."""
    return [stem(t) for t in tokens]


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Sastrawi's stop words minus negation, intensity, contrast and evaluative words."""
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    words = frozenset(StopWordRemoverFactory().get_stop_words())
    return words - KEEP_WORDS


def remove_stopwords(tokens: list[str]) -> list[str]:
    """Drop Sastrawi stop words, keeping tidak/bukan/belum/jangan/kurang/sangat/banget/... ."""
    sw = stop_words()
    return [t for t in tokens if t not in sw]


def preprocess(text: str | None) -> list[str]:
    """normalise -> tokenise -> remove stop words -> stem: tokens for keyword/lexicon matching."""
    return stem_tokens(remove_stopwords(tokenize(normalize(text))))


def extract_emoji(text: str | None) -> list[str]:
    """The emoji in a text, one per element, without skin-tone or variation modifiers.

    Text emoticons (``:)``, ``:(``) count as their emoji.
    """
    if not text:
        return []
    text = _EMOTICON.sub(_emoticon, str(text).lower())
    return [ch for m in _EMOJI.finditer(text) for ch in _EMOJI_MOD.sub("", m.group(0))]
