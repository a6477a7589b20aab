"""Normalisation: cleaning, slang, reduplication, stemming, stop words, emoji."""

from __future__ import annotations

import pytest

from nlp import normalize as N
from pipelines.errors import InputError


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Aplikasinya lemot bgt, gk bs login2", "aplikasinya lambat banget, tidak bisa login-login"),
        ("bagusss bangettt!!!", "bagus banget!!!"),
        ("udh 3 hari ga bisa masuk", "sudah 3 hari tidak bisa masuk"),
        ("apknya ngelag terus", "aplikasinya lag terus"),
        ("nggak jelas, gak respon", "tidak jelas, tidak respons"),
        ("kadang2nya error", "kadang-kadangnya error"),
        ("gpp kok", "tidak apa-apa kok"),
        ("maaaf min", "maaf admin"),
    ],
)
def test_normalize_informal_reviews(raw, expected):
    assert N.normalize(raw) == expected


def test_clean_strips_urls_mentions_html_and_hashtag_marks():
    text = "Cek https://tangsel.go.id/lapor &amp; www.contoh.com @pemkot_tangsel #TangselKeren &lt;3 <br/>ok"
    out = N.clean(text)
    assert "http" not in out and "www" not in out and "@" not in out and "<br" not in out
    assert "tangselkeren" in out and "&" in out and "pemkot" not in out
    assert out == out.lower() and "  " not in out


def test_emoji_kept_as_tokens_or_removed():
    text = "mantap👍🏽👍 :)"
    assert N.clean(text) == "mantap 👍 👍 🙂"  # skin tone dropped, emoticon -> emoji
    assert N.clean(text, keep_emoji=False) == "mantap"
    assert N.extract_emoji("jelek 😡😡 :(") == ["😡", "😡", "🙁"]
    assert N.extract_emoji("tanpa emoji") == []


@pytest.mark.parametrize("empty", [None, "", "   ", "\n\t"])
def test_empty_texts(empty):
    assert N.clean(empty) == "" and N.normalize(empty) == "" and N.preprocess(empty) == []
    assert N.tokenize(empty) == []


def test_emoji_only_text():
    assert N.normalize("😡😡", keep_emoji=False) == ""
    assert N.tokenize(N.normalize("😡 😡")) == ["😡", "😡"]


def test_slang_dictionary_is_large_and_real():
    slang = N.load_slang()
    assert len(slang) >= 1500
    for informal, standard in {"gk": "tidak", "ga": "tidak", "gak": "tidak", "nggak": "tidak", "bgt": "banget",
                               "udh": "sudah", "lemot": "lambat", "ngelag": "lag", "apk": "aplikasi",
                               "dll": "dan lain-lain"}.items():
        assert slang[informal] == standard
    # No key maps to something that is itself a key: one pass of replacement is final.
    keys = set(slang)
    assert not [v for v in slang.values() if v in keys]


def test_stopwords_keep_negation_and_intensity():
    sw = N.stop_words()
    for kept in ("tidak", "bukan", "belum", "jangan", "kurang", "sangat", "banget", "tapi", "namun"):
        assert kept not in sw
    assert "yang" in sw and "dengan" in sw
    assert N.remove_stopwords(["aplikasi", "yang", "tidak", "bisa", "dengan", "baik"]) == [
        "aplikasi", "tidak", "bisa", "baik"]


def test_preprocess_stems_and_caches():
    N.stem.cache_clear()
    toks = N.preprocess("Pelayanannya sangat mengecewakan, aplikasinya tidak membantu 😡")
    assert toks == ["layan", "sangat", "kecewa", "aplikasi", "tidak", "bantu", "😡"]
    N.preprocess("pelayanannya mengecewakan")
    info = N.stem.cache_info()
    assert info.hits >= 2  # repeated words are stemmed once
    assert N.stem_tokens(["membantu", "tidak"]) == ["bantu", "tidak"]


def test_bad_slang_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "slang.tsv"
    bad.write_text("gk\ttidak\nrusak tanpa tab\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"slang.tsv:2: expected"):
        N.load_slang(bad)
