"""Map what citizens write to the six digital-divide indicators, with auditable evidence.

The taxonomy (``data/indicators.toml``) lists, per indicator, phrases and proximity rules.
Text and rules go through the same pipeline (:mod:`nlp.normalize`: slang -> standard
Indonesian, then cached Sastrawi stemming), so one rule covers "ditanggapi", "tanggapan",
"nanggepin" and "direspon". Every rule carries a signal (``mention``, ``complaint`` or
``praise``) and a negation policy, so "tidak ditanggapi" and "sudah ditanggapi dengan cepat"
both tag *penanggapan* but only the first is a complaint signal.

Indicators are aspects, not verdicts: a mention carries an indicator whenever it speaks about
that aspect, whatever its polarity; a *complaint* is a negative mention (by the sentiment
model) with at least one indicator (:func:`is_complaint`).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from nlp.normalize import SLANG_FILE, normalize, stem, tokenize
from nlp.errors import InputError
from nlp.paths import DATA_DIR

INDICATORS: tuple[str, ...] = (
    "sosialisasi",
    "kemudahan_akses",
    "keterhubungan",
    "kemudahan_aspirasi",
    "transparansi",
    "penanggapan",
)
DEFAULT_TAXONOMY = DATA_DIR / "indicators.toml"
SIGNALS = ("mention", "complaint", "praise")
NEGATION_POLICIES = ("flip", "keep", "drop")
_FLIP = {"complaint": "praise", "praise": "complaint", "mention": "mention"}
# Defaults for a taxonomy without a [matching] table.
DEFAULT_NEGATORS = ["tidak", "tak", "belum", "bukan", "tanpa", "kurang", "jangan"]
DEFAULT_BRIDGE = ["ada", "pernah", "bisa", "mau", "perlu", "usah", "harus", "terlalu", "begitu", "sempat",
                  "juga", "lagi", "yang", "sama", "sekali"]
DEFAULT_CLAUSE_WORDS = ["tapi", "tetapi", "namun", "padahal", "sedangkan", "melainkan"]
TAG_CACHE = 50_000  # texts whose matches a tagger remembers (~25 MB full). On 1M generated reviews a
# worker hit 31% of texts with 50k, 36% with 100k: 3% slower for half the memory.
_MAX_EXPANSION = 5000  # sequences one rule element may expand to (guards against typos in groups)


@dataclass(frozen=True, slots=True)  # slots: a tagger caches many thousands
class Match:
    """One indicator found in a text.

    ``evidence`` is the original wording that matched (several phrases joined by `` | ``), so a
    researcher can audit the label; ``signal`` is ``complaint``, ``praise``, ``mixed`` or
    ``mention`` (the aspect is named without a polarity cue); ``spans`` are character offsets
    of the evidence in the input text.
    """

    indicator: str
    evidence: str
    signal: str = "mention"
    spans: tuple[tuple[int, int], ...] = ()


# ---- taxonomy ------------------------------------------------------------------------------

_END = ""  # trie key marking the end of a sequence (no real token is empty)


@dataclass(frozen=True)
class Rule:
    indicator: str
    signal: str
    negation: str
    elements: tuple[dict, ...]  # one trie per element; more than one = proximity rule
    within: int
    source: str  # the rule as written, for audits and error messages
    where: str  # e.g. "indicators.penanggapan.complaint[3]"
    unless: str = ""  # drop the hit when this indicator has a complaint in the text (codebook rule 5)


@dataclass
class Taxonomy:
    """A parsed, compiled taxonomy. Build with :func:`load_taxonomy`."""

    version: str
    path: str
    names: dict[str, str]
    definitions: dict[str, str]
    rules: list[Rule]
    excludes: list[Rule]
    negators: frozenset[str]
    bridge: frozenset[str]
    clause_words: frozenset[str]
    negation_window: int
    description: str = ""
    fingerprint: str = ""  # hash of the taxonomy file and the slang dictionary it relies on

    @property
    def id(self) -> str:
        """``version@fingerprint``: what stored tags record, so any rule or slang edit re-tags."""
        return f"{self.version}@{self.fingerprint}" if self.fingerprint else self.version


    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def key_for(self, label: str) -> str | None:
        """Indicator key for a key or display name ("kemudahan akses" -> "kemudahan_akses")."""
        norm = re.sub(r"[\s_-]+", "_", label.strip().lower())
        if norm in self.names:
            return norm
        for key, name in self.names.items():
            if re.sub(r"[\s_-]+", "_", name.lower()) == norm:
                return key
        return None


_TOP_KEYS = {"version": str, "description": str, "matching": dict, "groups": dict, "indicators": dict}
_MATCHING_KEYS = {
    "negators": list,
    "negation_window": int,
    "negation_bridge": list,
    "clause_words": list,
    "within": int,
}
_INDICATOR_KEYS = {"name": str, "definition": str, "mention": list, "complaint": list, "praise": list, "exclude": list}
_RULE_KEYS = {"phrase": str, "near": list, "within": int, "ordered": bool, "negation": str, "unless": str}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a table", bool: "true or false"}


def _check_type(path: Path, where: str, value: Any, typ: type) -> None:
    ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
    if not ok:
        raise InputError(f"{path}: {where}: expected {_TYPE_NAMES[typ]}, got {value!r}")


def _check_keys(path: Path, where: str, table: dict, allowed: dict[str, type]) -> None:
    for key, value in table.items():
        full = f"{where}.{key}" if where else key
        if key not in allowed:
            raise InputError(f"{path}: {full}: unknown key (allowed: {', '.join(allowed)})")
        _check_type(path, full, value, allowed[key])


def _string_list(path: Path, where: str, value: list) -> list[str]:
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise InputError(f"{path}: {where}[{i}]: expected a non-empty string, got {item!r}")
    return [v.strip() for v in value]


@lru_cache(maxsize=50_000)
def _pattern_word(word: str) -> tuple[str, ...]:
    """One pattern word -> the token forms it must match ("=word": exact, unstemmed)."""
    if word.startswith("="):
        return tuple(tokenize(normalize(word[1:])))
    return tuple(stem(t) for t in tokenize(normalize(word)))


_PHRASE_ALT = re.compile(r"\s+\|\s+")


class _Compiler:
    def __init__(self, path: Path, groups: dict[str, list[tuple[str, ...]]]):
        self.path = path
        self.groups = groups

    def sequences(self, pattern: str, where: str) -> list[tuple[str, ...]]:
        """All token sequences a pattern stands for.

        " | " (with spaces) separates whole phrases: "call center | hotline"; "|" without
        spaces separates words in one slot: "susah|sulit @login" -> the cartesian product.
        """
        phrases = _PHRASE_ALT.split(pattern.strip())
        if len(phrases) > 1:
            out: list[tuple[str, ...]] = []
            for phrase in phrases:
                out.extend(self.sequences(phrase, where))
            return out
        slots: list[list[tuple[str, ...]]] = []
        for word in pattern.split():
            alts: list[tuple[str, ...]] = []
            for alt in word.split("|"):
                if not alt:
                    raise InputError(f"{self.path}: {where}: empty alternative in {pattern!r}")
                if alt.startswith("@"):
                    group = self.groups.get(alt[1:])
                    if group is None:
                        raise InputError(
                            f"{self.path}: {where}: unknown group {alt!r} in {pattern!r} "
                            f"(groups: {', '.join(sorted(self.groups)) or 'none'})"
                        )
                    alts.extend(group)
                    continue
                seq = _pattern_word(alt)
                if not seq:
                    raise InputError(f"{self.path}: {where}: {alt!r} in {pattern!r} has no word to match")
                alts.append(seq)
            slots.append(alts)
        if not slots:
            raise InputError(f"{self.path}: {where}: empty pattern")
        total = 1
        for s in slots:
            total *= len(s)
        if total > _MAX_EXPANSION:
            raise InputError(f"{self.path}: {where}: {pattern!r} expands to {total} phrases (max {_MAX_EXPANSION})")
        return [tuple(t for part in combo for t in part) for combo in itertools.product(*slots)]

    def trie(self, pattern: str, where: str) -> dict:
        root: dict = {}
        for seq in self.sequences(pattern, where):
            node = root
            for tok in seq:
                node = node.setdefault(tok, {})
            node[_END] = True
        return root


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read, validate and compile a taxonomy TOML file (default ``data/indicators.toml``).

    Any problem (bad TOML, unknown key, wrong type, unknown indicator or group) raises one
    :class:`InputError` naming the file, the key and the problem.
    """
    return _load_taxonomy(*_file_key(path))


def _file_key(path: str | Path | None) -> tuple[str, int]:
    """(path, modification time): the cache key that makes an edited file load afresh."""
    path = Path(path) if path else DEFAULT_TAXONOMY
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError as exc:
        raise InputError(f"cannot read taxonomy {path}: {exc.strerror}") from exc


@lru_cache(maxsize=8)
def _load_taxonomy(path_s: str, _mtime: int) -> Taxonomy:
    path = Path(path_s)
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read taxonomy {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    _check_keys(path, "", data, _TOP_KEYS)
    version = data.get("version", "")
    if not version.strip():
        raise InputError(f"{path}: version: missing (a version string such as \"2025.1\" is required)")
    matching = data.get("matching", {})
    _check_keys(path, "matching", matching, _MATCHING_KEYS)

    def word_forms(key: str, default: list[str]) -> frozenset[str]:
        words = _string_list(path, f"matching.{key}", matching.get(key, default))
        return frozenset(f for w in words for f in _pattern_word(w) + tuple(tokenize(normalize(w))))

    negators = word_forms("negators", DEFAULT_NEGATORS)
    bridge = word_forms("negation_bridge", DEFAULT_BRIDGE)
    clause_words = word_forms("clause_words", DEFAULT_CLAUSE_WORDS)
    window = matching.get("negation_window", 3)
    within_default = matching.get("within", 3)
    for key, val in (("negation_window", window), ("within", within_default)):
        if val < 0:
            raise InputError(f"{path}: matching.{key}: must be 0 or more, got {val}")

    groups: dict[str, list[tuple[str, ...]]] = {}
    compiler = _Compiler(path, groups)
    for name, value in data.get("groups", {}).items():
        where = f"groups.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise InputError(f"{path}: {where}: group names are lowercase letters, digits and _")
        if isinstance(value, str):
            value = [value]
        _check_type(path, where, value, list)
        seqs: list[tuple[str, ...]] = []
        for i, phrase in enumerate(_string_list(path, where, value)):
            seqs.extend(compiler.sequences(phrase, f"{where}[{i}]"))  # groups may use earlier groups
        groups[name] = seqs

    indicators = data.get("indicators")
    if not indicators:
        raise InputError(f"{path}: indicators: missing (one table per indicator: {', '.join(INDICATORS)})")
    unknown = [k for k in indicators if k not in INDICATORS]
    if unknown:
        raise InputError(f"{path}: indicators.{unknown[0]}: unknown indicator (known: {', '.join(INDICATORS)})")
    missing = [k for k in INDICATORS if k not in indicators]
    if missing:
        raise InputError(f"{path}: indicators.{missing[0]}: missing; the taxonomy must define all six indicators")

    names: dict[str, str] = {}
    definitions: dict[str, str] = {}
    rules: list[Rule] = []
    excludes: list[Rule] = []
    for key in INDICATORS:
        spec = indicators[key]
        where = f"indicators.{key}"
        _check_type(path, where, spec, dict)
        _check_keys(path, where, spec, _INDICATOR_KEYS)
        names[key] = spec.get("name", key.replace("_", " "))
        definitions[key] = spec.get("definition", "")
        for signal in (*SIGNALS, "exclude"):
            for i, item in enumerate(spec.get(signal, [])):
                compiled = _compile_rule(path, compiler, key, signal, item, f"{where}.{signal}[{i}]", within_default)
                (excludes if signal == "exclude" else rules).extend(compiled)
        if not any(r.indicator == key for r in rules):
            raise InputError(f"{path}: {where}: no rules (give at least one mention, complaint or praise phrase)")

    tax = Taxonomy(
        version=version.strip(),
        path=str(path),
        names=names,
        definitions=definitions,
        rules=rules,
        excludes=excludes,
        negators=negators,
        bridge=bridge,
        clause_words=clause_words,
        negation_window=window,
        description=data.get("description", ""),
        fingerprint=_fingerprint(raw),
    )
    return tax


def _fingerprint(taxonomy_bytes: bytes) -> str:
    digest = hashlib.sha256(taxonomy_bytes)
    try:
        digest.update(SLANG_FILE.read_bytes())  # the same rules match differently with other slang
    except OSError:
        pass
    return digest.hexdigest()[:10]


def _compile_rule(
    path: Path, compiler: _Compiler, indicator: str, signal: str, item: Any, where: str, within_default: int
) -> list[Rule]:
    """One taxonomy entry -> compiled rules (an unordered proximity rule yields one per order)."""
    default_negation = "keep" if signal in ("mention", "exclude") else "flip"
    if isinstance(item, str):
        if not item.strip():
            raise InputError(f"{path}: {where}: empty phrase")
        return [Rule(indicator, signal, default_negation, (compiler.trie(item, where),), 0, item, where)]
    if not isinstance(item, dict):
        raise InputError(f"{path}: {where}: expected a phrase string or a table, got {item!r}")
    _check_keys(path, where, item, _RULE_KEYS)
    if ("phrase" in item) == ("near" in item):
        raise InputError(f"{path}: {where}: give exactly one of 'phrase' or 'near'")
    negation = item.get("negation", default_negation)
    if negation not in NEGATION_POLICIES:
        raise InputError(f"{path}: {where}.negation: expected one of {', '.join(NEGATION_POLICIES)}, got {negation!r}")
    unless = item.get("unless", "")
    if unless and unless not in INDICATORS:
        raise InputError(f"{path}: {where}.unless: unknown indicator {unless!r} (known: {', '.join(INDICATORS)})")
    if "phrase" in item:
        for k in ("within", "ordered"):
            if k in item:
                raise InputError(f"{path}: {where}.{k}: only applies to 'near' rules")
        return [Rule(indicator, signal, negation, (compiler.trie(item["phrase"], where),), 0, item["phrase"], where,
                     unless)]
    terms = _string_list(path, f"{where}.near", item["near"])
    if not 2 <= len(terms) <= 4:
        raise InputError(f"{path}: {where}.near: expected 2 to 4 terms, got {len(terms)}")
    within = item.get("within", within_default)
    if within < 0:
        raise InputError(f"{path}: {where}.within: must be 0 or more, got {within}")
    tries = [compiler.trie(t, f"{where}.near") for t in terms]
    source = f"{' ... '.join(terms)} (within {within}{'' if item.get('ordered', True) else ', any order'})"
    # An unordered rule is the union of its orderings: matching stays a simple left-to-right scan.
    orders = [tuple(tries)] if item.get("ordered", True) else list(itertools.permutations(tries))
    return [Rule(indicator, signal, negation, order, within, source, where, unless) for order in orders]


def _first_index(rules: list[Rule]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        for tok in rule.elements[0]:
            if tok != _END:
                index.setdefault(tok, []).append(i)
    return index


# ---- text -> tokens -----------------------------------------------------------------------

_MASK = re.compile(r"(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b", re.I)
_SCAN = re.compile(r"(?P<w>[^\W_]+(?:['-][^\W_]+)*)|(?P<s>[.!?;]+|\n)|(?P<c>[,:()\"“”/]|\s-\s)")
_SUFFIXES = ("-nya", "nya", "-ny", "-lah", "-kah", "-ku", "-mu")
_PREFIXES = ("nge-", "nge", "ke-", "di", "ke", "ng")


@lru_cache(maxsize=200_000)
def _word_forms(raw: str) -> tuple[frozenset[str], ...]:
    """Forms of one written word: normalised surface, Sastrawi stem and a light stem.

    The light stem strips -nya/-in and di-/ke-/nge- from words Sastrawi leaves alone
    (loan words and Jakarta slang: "servernya", "diupload", "promosiin").
    """
    out = []
    for tok in tokenize(normalize(raw)) or [raw.lower()]:
        forms = {tok, stem(tok)}
        if stem(tok) == tok and tok.isascii():
            light = _light_stem(tok)
            if light != tok:
                # The bare word may itself be slang ("diinstal" -> "instal" -> "install"). No
                # second Sastrawi pass: on unknown words it is the slowest step of all.
                std = tokenize(normalize(light))
                forms.add(std[0] if len(std) == 1 else light)
        out.append(frozenset(forms))
    return tuple(out)


def _light_stem(tok: str) -> str:
    w = tok
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)]
            break
    for pre in _PREFIXES:
        if w.startswith(pre) and len(w) - len(pre) >= 3:
            w = w[len(pre) :]
            break
    if w.endswith("in") and len(w) >= 6:  # Jakarta "-in" causative: masukin, promosiin
        w = w[:-2]
    return w


@dataclass
class _Doc:
    text: str
    forms: list[frozenset[str]]
    starts: list[int]
    ends: list[int]
    clause: list[int]
    vocab: frozenset[str] = frozenset()


def _scan(text: str, clause_words: frozenset[str]) -> _Doc:
    masked = _MASK.sub(lambda m: " " * len(m.group(0)), text)
    forms: list[frozenset[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    clause: list[int] = []
    cid = 0
    for m in _SCAN.finditer(masked):
        if m.lastgroup != "w":
            cid += 1
            continue
        subs = _word_forms(m.group(0).lower())
        if subs and subs[0] & clause_words:
            cid += 1  # "tapi", "namun" ... open a new clause
        for f in subs:
            forms.append(f)
            starts.append(m.start())
            ends.append(m.end())
            clause.append(cid)
    return _Doc(text, forms, starts, ends, clause, frozenset().union(*forms))


def _walk(trie: dict, doc: _Doc, pos: int, cid: int) -> int:
    """Longest end (exclusive) of a trie sequence starting at ``pos``; -1 if none."""
    best = -1
    frontier = [(trie, pos)]
    while frontier:
        node, p = frontier.pop()
        if _END in node:
            best = max(best, p)
        if p >= len(doc.forms) or doc.clause[p] != cid:
            continue
        for f in doc.forms[p]:
            child = node.get(f)
            if child is not None:
                frontier.append((child, p + 1))
    return best


# ---- tagging --------------------------------------------------------------------------------


@dataclass
class _Hit:
    rule: Rule
    start: int
    end: int
    matched: frozenset[int]
    signal: str
    neg: int | None = None

    @property
    def lo(self) -> int:
        return self.start if self.neg is None else min(self.start, self.neg)


class IndicatorTagger:
    """Tags texts with indicators; build once, call :meth:`tag` many times (thread-safe reads).

    >>> IndicatorTagger().tag("laporan saya tidak ditanggapi")[0].indicator
    'penanggapan'
    """

    def __init__(self, taxonomy: Taxonomy | str | Path | None = None):
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        t = self.taxonomy
        self._rules = t.rules
        self._excludes = t.excludes
        self._first = _first_index(self._rules)
        self._first_ex = _first_index(self._excludes)
        # Per rule, the tokens each element can start with: a rule whose later element cannot
        # start anywhere in the text is skipped without walking it.
        self._needs = {id(r): [frozenset(k for k in e if k != _END) for e in r.elements[1:]]
                       for r in (*self._rules, *self._excludes)}
        # First token -> (index, rule, needs) of the rules it can start: no lookups per candidate.
        self._cands = self._candidates(self._rules, self._first)
        self._cands_ex = self._candidates(self._excludes, self._first_ex)
        self._starts = {id(c): frozenset(c) for c in (self._cands, self._cands_ex)}
        # Reviews repeat (short praise, templates): a text's matches are computed once.
        self._cached_tag = lru_cache(maxsize=TAG_CACHE)(self._tag)

    def _candidates(self, rules: list[Rule], first: dict[str, list[int]]) -> dict[str, tuple]:
        return {tok: tuple((ri, rules[ri], tuple(self._needs[id(rules[ri])])) for ri in idx)
                for tok, idx in first.items()}

    @property
    def version(self) -> str:
        """The taxonomy id (``version@fingerprint``) stored with every tag."""
        return self.taxonomy.id

    def tag(self, text: str | None) -> list[Match]:
        """Indicators found in ``text`` (none, one or several), in taxonomy order."""
        if not text:
            return []
        if type(text) is str:
            return list(self._cached_tag(text))
        return self._tag(text)

    def _tag(self, text) -> list[Match]:
        if not str(text).strip():
            return []
        doc = _scan(str(text), self.taxonomy.clause_words)
        hits = self._find(doc, self._cands)
        if not hits:
            return []
        if self._excludes:
            blocked = self._find(doc, self._cands_ex)
            hits = [
                h
                for h in hits
                if not any(b.rule.indicator == h.rule.indicator and b.start < h.end and h.lo < b.end for b in blocked)
            ]
        if any(h.rule.unless for h in hits):
            # "error" with its symptom stated ("tidak bisa login, error") is coded by the symptom.
            complaints = {h.rule.indicator for h in hits if h.signal == "complaint"}
            hits = [h for h in hits if h.rule.unless not in complaints]
        return self._matches(doc, hits)

    def _find(self, doc: _Doc, cands: dict[str, tuple]) -> list[_Hit]:
        hits: list[_Hit] = []
        possible: dict[int, bool] = {}
        vocab = doc.vocab
        starts = self._starts[id(cands)]
        if vocab.isdisjoint(starts):  # no word of the text starts a rule
            return hits
        for pos, forms in enumerate(doc.forms):
            if forms.isdisjoint(starts):  # most words start no rule: one C-level test each
                continue
            # Two forms of one word (surface and stem) may start the same rule: try it once.
            seen: set[int] | None = set() if len(forms) > 1 else None
            for f in forms:
                for ri, rule, needs in cands.get(f, ()):
                    if seen is not None:
                        if ri in seen:
                            continue
                        seen.add(ri)
                    if needs:
                        ok = possible.get(ri)
                        if ok is None:
                            ok = True
                            for need in needs:
                                if need.isdisjoint(vocab):
                                    ok = False
                                    break
                            possible[ri] = ok
                        if not ok:
                            continue
                    hit = self._try(doc, rule, pos)
                    if hit is not None:
                        hits.append(hit)
        return hits

    def _try(self, doc: _Doc, rule: Rule, pos: int) -> _Hit | None:
        cid = doc.clause[pos]
        end = _walk(rule.elements[0], doc, pos, cid)
        if end < 0:
            return None
        matched = set(range(pos, end))
        for element in rule.elements[1:]:
            for p in range(end, min(end + rule.within + 1, len(doc.forms))):
                if doc.clause[p] != cid:
                    return None
                e = _walk(element, doc, p, cid)
                if e > p:
                    matched.update(range(p, e))
                    end = e
                    break
            else:
                return None
        hit = _Hit(rule, pos, end, frozenset(matched), rule.signal)
        # A rule that spells out its own negator ("tidak bisa masuk") is not flipped by a second one.
        if any(doc.forms[p] & self.taxonomy.negators for p in matched):
            return hit
        hit.neg = self._negation(doc, hit)
        if hit.neg is not None:
            if rule.negation == "drop":
                return None
            if rule.negation == "flip":
                hit.signal = _FLIP[rule.signal]
        return hit

    def _negation(self, doc: _Doc, hit: _Hit) -> int | None:
        """Position of a negator that scopes over the hit, or None.

        A negator counts inside a proximity match ("respon-nya tidak cepat") or before it,
        in the same clause, with only bridge words between ("tidak ada kendala", "belum pernah").
        """
        t = self.taxonomy
        for p in range(hit.start, hit.end):
            if p not in hit.matched and doc.forms[p] & t.negators:
                return p
        cid = doc.clause[hit.start]
        p = hit.start - 1
        while p >= 0 and hit.start - p <= t.negation_window and doc.clause[p] == cid:
            if doc.forms[p] & t.negators:
                return p
            if not doc.forms[p] & t.bridge:
                return None
            p -= 1
        return None

    def _matches(self, doc: _Doc, hits: list[_Hit]) -> list[Match]:
        out: list[Match] = []
        for key in INDICATORS:
            mine = [h for h in hits if h.rule.indicator == key]
            if not mine:
                continue
            # A hit inside a longer hit of the same indicator is the same evidence, less of it.
            mine.sort(key=lambda h: (h.end - h.lo), reverse=True)
            kept: list[_Hit] = []
            for h in mine:
                if any(k.lo <= h.lo and h.end <= k.end and (k.end - k.lo) > (h.end - h.lo) for k in kept):
                    continue
                kept.append(h)
            kept.sort(key=lambda h: (h.lo, h.end))
            signals = {h.signal for h in kept} - {"mention"}
            signal = "mixed" if len(signals) > 1 else (signals.pop() if signals else "mention")
            spans: list[tuple[int, int]] = []
            for h in kept:
                span = (doc.starts[h.lo], doc.ends[h.end - 1])
                if spans and span[0] < spans[-1][1]:  # overlapping evidence reads as one phrase
                    spans[-1] = (spans[-1][0], max(spans[-1][1], span[1]))
                else:
                    spans.append(span)
            evidence = " | ".join(_shorten(" ".join(doc.text[a:b].split())) for a, b in spans)
            out.append(Match(key, evidence, signal, tuple(spans)))
        return out

    def tag_frame(self, texts: Iterable[str | None], long: bool = False) -> pd.DataFrame:
        """Tag many texts.

        Wide (default): one row per text, keeping a Series' index, with ``indicators``
        (``;``-separated keys), one boolean column per indicator, ``signals``
        (``key=signal;...``) and ``evidence`` (``key: phrase | phrase; ...``).
        ``long=True``: one row per (text, indicator) with ``row``, ``indicator``, ``evidence``,
        ``signal``.
        """
        index = texts.index if isinstance(texts, pd.Series) else None
        texts = list(texts)
        tagged = [self.tag(t) for t in texts]
        if long:
            rows = [
                {"row": (index[i] if index is not None else i), "indicator": m.indicator,
                 "evidence": m.evidence, "signal": m.signal}
                for i, ms in enumerate(tagged)
                for m in ms
            ]
            return pd.DataFrame(rows, columns=["row", "indicator", "evidence", "signal"])
        data: dict[str, list] = {
            "text": texts,
            "indicators": [";".join(m.indicator for m in ms) for ms in tagged],
        }
        for key in INDICATORS:
            data[key] = [any(m.indicator == key for m in ms) for ms in tagged]
        data["signals"] = [";".join(f"{m.indicator}={m.signal}" for m in ms) for ms in tagged]
        data["evidence"] = ["; ".join(f"{m.indicator}: {m.evidence}" for m in ms) for ms in tagged]
        return pd.DataFrame(data, index=index)


def _shorten(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


@lru_cache(maxsize=4)
def _default_tagger(path: str, mtime: int) -> IndicatorTagger:
    return IndicatorTagger(_load_taxonomy(path, mtime))


def get_tagger(taxonomy: Taxonomy | str | Path | None = None) -> IndicatorTagger:
    """A tagger for a taxonomy (cached per file and modification time)."""
    if isinstance(taxonomy, Taxonomy):
        return IndicatorTagger(taxonomy)
    return _default_tagger(*_file_key(taxonomy))


def tag(text: str | None, taxonomy: Taxonomy | str | Path | None = None) -> list[Match]:
    """Indicators in one text with the default (or given) taxonomy."""
    return get_tagger(taxonomy).tag(text)


def tag_frame(texts: Iterable[str | None], taxonomy: Taxonomy | str | Path | None = None, long: bool = False) -> pd.DataFrame:
    """:meth:`IndicatorTagger.tag_frame` with the default (or given) taxonomy."""
    return get_tagger(taxonomy).tag_frame(texts, long=long)


def _indicator_keys(indicators: Any) -> list[str]:
    if indicators is None or (isinstance(indicators, float) and pd.isna(indicators)):
        return []
    if isinstance(indicators, str):
        return [p for p in (s.strip() for s in indicators.split(";")) if p]
    out = []
    for item in indicators:
        key = item.indicator if isinstance(item, Match) else item
        if isinstance(key, str) and key.strip():
            out.append(key.strip())
    return out


def is_complaint(label: str | None, indicators: Any) -> bool:
    """A complaint is a negative mention with at least one indicator.

    ``indicators`` may be a list of :class:`Match`, a list of keys or a ``;``-separated string.
    """
    return isinstance(label, str) and label.strip().lower() == "negative" and bool(_indicator_keys(indicators))


# ---- evaluation -----------------------------------------------------------------------------

SPLITS = ("dev", "heldout")


def read_labelled(path: str | Path, taxonomy: Taxonomy | None = None, split: str | None = None) -> pd.DataFrame:
    """Read a labelled file (``text``, ``indicators`` [, ``split``]) into text, gold set, split.

    Indicators may be keys or display names, ``;``-separated, empty for none. Any malformed
    row raises one :class:`InputError` naming the file, line and problem.
    """
    path = Path(path)
    tax = taxonomy or load_taxonomy()
    if split is not None and split not in SPLITS:
        raise InputError(f"unknown split {split!r} (expected {' or '.join(SPLITS)})")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in ("text", "indicators") if c not in header]
            if missing:
                raise InputError(
                    f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'nothing'})"
                )
            rows = []
            for row in reader:
                line = reader.line_num
                if None in row:
                    raise InputError(f"{path}:{line}: more fields than the header has")
                text = (row.get("text") or "").strip()
                if not text:
                    raise InputError(f"{path}:{line}: empty text")
                gold = set()
                for label in _indicator_keys(row.get("indicators") or ""):
                    key = tax.key_for(label)
                    if key is None:
                        raise InputError(
                            f"{path}:{line}: unknown indicator {label!r} (known: {', '.join(INDICATORS)})"
                        )
                    gold.add(key)
                row_split = (row.get("split") or "").strip() or None
                if row_split is not None and row_split not in SPLITS:
                    raise InputError(f"{path}:{line}: split must be {' or '.join(SPLITS)}, got {row_split!r}")
                rows.append({"text": text, "gold": frozenset(gold), "split": row_split, "line": line})
    except OSError as exc:
        raise InputError(f"cannot read labelled file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV file: {exc}") from exc
    df = pd.DataFrame(rows, columns=["text", "gold", "split", "line"])
    if split is not None:
        if "split" not in header:
            raise InputError(f"{path}: no 'split' column, so --split {split} selects nothing")
        df = df[df["split"] == split]
    if df.empty:
        raise InputError(f"{path}: no labelled rows" + (f" in split {split!r}" if split else ""))
    return df.reset_index(drop=True)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    # Zero when undefined (no predictions / no gold), as scikit-learn's zero_division=0.
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def evaluate_indicators(
    path: str | Path, taxonomy: Taxonomy | str | Path | None = None, split: str | None = None
) -> pd.DataFrame:
    """Per-indicator precision, recall, F1 and support of the tagger on a labelled file.

    Rows: the six indicators, then ``micro`` (pooled counts) and ``macro`` (unweighted mean of
    the six). Columns: indicator, support (gold positives), predicted, tp, fp, fn, precision,
    recall, f1. ``attrs`` holds ``rows``, ``taxonomy`` (version) and ``split``.
    """
    tagger = get_tagger(taxonomy)
    df = read_labelled(path, tagger.taxonomy, split)
    predicted = [frozenset(m.indicator for m in tagger.tag(t)) for t in df["text"]]
    rows = []
    for key in INDICATORS:
        tp = sum(1 for g, p in zip(df["gold"], predicted) if key in g and key in p)
        fp = sum(1 for g, p in zip(df["gold"], predicted) if key not in g and key in p)
        fn = sum(1 for g, p in zip(df["gold"], predicted) if key in g and key not in p)
        p_, r_, f_ = _prf(tp, fp, fn)
        rows.append(dict(indicator=key, support=tp + fn, predicted=tp + fp, tp=tp, fp=fp, fn=fn,
                         precision=p_, recall=r_, f1=f_))
    per = pd.DataFrame(rows)
    tp, fp, fn = int(per.tp.sum()), int(per.fp.sum()), int(per.fn.sum())
    p_, r_, f_ = _prf(tp, fp, fn)
    micro = dict(indicator="micro", support=tp + fn, predicted=tp + fp, tp=tp, fp=fp, fn=fn,
                 precision=p_, recall=r_, f1=f_)
    macro = dict(indicator="macro", support=tp + fn, predicted=tp + fp, tp=tp, fp=fp, fn=fn,
                 precision=per.precision.mean(), recall=per.recall.mean(), f1=per.f1.mean())
    out = pd.concat([per, pd.DataFrame([micro, macro])], ignore_index=True)
    out.attrs.update(rows=len(df), taxonomy=tagger.version, split=split or "all")
    return out


def indicator_errors(
    path: str | Path, taxonomy: Taxonomy | str | Path | None = None, split: str | None = None
) -> pd.DataFrame:
    """The labelled rows the tagger gets wrong: line, text, gold, predicted, missed, extra, evidence."""
    tagger = get_tagger(taxonomy)
    df = read_labelled(path, tagger.taxonomy, split)
    rows = []
    for line, text, gold in zip(df["line"], df["text"], df["gold"]):
        matches = tagger.tag(text)
        pred = {m.indicator for m in matches}
        if pred != gold:
            order = INDICATORS.index
            rows.append(dict(
                line=line, text=text,
                gold=";".join(sorted(gold, key=order)), predicted=";".join(sorted(pred, key=order)),
                missed=";".join(sorted(gold - pred, key=order)), extra=";".join(sorted(pred - gold, key=order)),
                evidence="; ".join(f"{m.indicator}: {m.evidence}" for m in matches),
            ))
    return pd.DataFrame(rows, columns=["line", "text", "gold", "predicted", "missed", "extra", "evidence"])


def taxonomy_frame(taxonomy: Taxonomy | str | Path | None = None) -> pd.DataFrame:
    """The taxonomy as a table: indicator, name, signal, negation, rule, where."""
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    rows, seen = [], set()
    for r in tax.rules + tax.excludes:
        if r.where in seen:  # the other orderings of an unordered rule
            continue
        seen.add(r.where)
        rows.append(dict(indicator=r.indicator, name=tax.name(r.indicator), signal=r.signal,
                         negation=r.negation, rule=r.source, where=r.where))
    return pd.DataFrame(rows, columns=["indicator", "name", "signal", "negation", "rule", "where"])


__all__: Sequence[str] = (
    "INDICATORS", "Match", "Taxonomy", "IndicatorTagger", "load_taxonomy", "get_tagger", "tag", "tag_frame",
    "is_complaint", "read_labelled", "evaluate_indicators", "indicator_errors", "taxonomy_frame",
)
