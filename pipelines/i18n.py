"""The report's words in Indonesian (``id``, the city office's language) and English (``en``).

Every heading, label, note and generated sentence of ``report.html`` and its charts comes
from :data:`TEXTS`, so both languages always carry the same content. Templates use
``str.format`` fields; a missing key in one language is a test failure, not a fallback.
"""

from __future__ import annotations

LANGS = ("id", "en")

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Suara: apa kata warga tentang layanan digital kota",
        "scope": "{start} s.d. {end} · {n} sebutan · {sources}",
        "scope_filtered": "Disaring: {filters}",
        "summary": "Ringkasan temuan",
        "indicators": "Enam indikator",
        "charts": "Grafik",
        "tables": "Tabel",
        "appendix": "Lampiran: metode dan data teknis",
        # summary sentences
        "s_volume": "{n} sebutan dari {k} sumber antara {start} dan {end}: {parts}.",
        "s_none_labelled": "Belum ada sebutan berlabel sentimen dengan indikator, jadi indikator belum bisa dinilai.",
        "s_worst_best": "Ulasan menilai {worst} paling buruk ({wfav} bukan keluhan, n={wn}) dan {best} paling baik ({bfav}, n={bn}).",
        "s_only_one": "Hanya {name} punya cukup sebutan untuk dinilai: {fav} bukan keluhan (n={n}).",
        "s_tentative": "Angka indikator masih sementara: tidak ada indikator dengan minimal {min} sebutan berlabel.",
        "s_survey": "Survei menilai {survey}. Ulasan sejalan pada {converge}, berbeda pada {diverge}, dan terlalu sedikit untuk dinilai pada {few}.",
        "s_no_survey": "Tidak ada survei yang dibandingkan (atur [survey] di konfigurasi atau beri --survey).",
        "s_change": "Porsi sebutan negatif bergeser dari {a} ({pa}, n={na}) menjadi {b} ({pb}, n={nb}){within}.",
        "s_change_within": ", masih dalam rentang ketidakpastian 95%",
        "s_change_short": "Rentang waktu terlalu pendek atau terlalu sepi untuk menilai perubahan.",
        "s_model": "Sentimen berasal dari model otomatis {model} ({labelled} dari {n} sebutan berlabel).",
        "s_validation": "Validasi manusia: {text}",
        "s_validation_none": "belum ada; angka ini belum dibandingkan dengan pengodean manusia (lihat docs/reports.md).",
        "s_validation_some": "{k} sebutan memiliki label manusia.",
        "none": "tidak ada",
        "n_indicators": "{n} indikator {v}",
        "and": "dan",
        # cards
        "fav": "bukan keluhan",
        "fav_long": "{fav} bukan keluhan (95% CI {lo}–{hi}), n={n}",
        "fav_none": "belum ada sebutan berlabel",
        "survey": "Survei",
        "reviews": "Ulasan",
        "agreement": "Kesesuaian",
        "phrases": "Frasa keluhan tersering",
        "no_phrases": "belum ada keluhan dengan indikator ini",
        "quotes": "Kutipan warga",
        "no_quotes": "Tidak ada kutipan yang memenuhi aturan pemilihan.",
        "quotes_off": "Kutipan tidak disertakan (--no-quotes).",
        "complaint": "keluhan",
        "praise": "pujian",
        "link": "sumber asli",
        "poor": "buruk", "fair": "cukup", "good": "baik",
        "converge": "sejalan", "diverge": "berbeda", "too few": "terlalu sedikit", "no survey": "tanpa survei",
        # charts
        "c_sentiment": "Porsi sebutan negatif per periode",
        "c_sentiment_note": "Garis tebal: semua sumber digabung, dengan pita 95% CI. Garis tipis: per sumber. Titik kosong: kurang dari {min} sebutan berlabel (tidak dihubungkan). Batang: jumlah sebutan per sumber.",
        "c_indicators": "Porsi keluhan per indikator",
        "c_indicators_note": "Porsi keluhan = sebutan negatif yang membawa indikator / sebutan berlabel dengan indikator. Titik kosong: kurang dari {min} sebutan.",
        "c_replies": "Balasan pengembang atas ulasan",
        "c_replies_note": "Porsi ulasan yang dibalas dan median hari sampai dibalas, per periode ulasan; hanya sumber yang memuat data balasan.",
        "c_dumbbell": "Survei dibandingkan ulasan per indikator",
        "c_dumbbell_note": "Kotak: survei (atau pita putusannya bila hanya arah yang diketahui). Titik: porsi sebutan yang bukan keluhan tentang indikator itu, dengan 95% CI; titik kosong: terlalu sedikit sebutan. Garis putus: batas buruk/cukup/baik.",
        "ax_negative_share": "porsi negatif",
        "ax_complaint_share": "porsi keluhan",
        "ax_mentions": "sebutan",
        "ax_reply_rate": "porsi dibalas",
        "ax_latency": "median hari",
        "ax_favourable": "bukan keluhan / baik (0..1)",
        "l_survey": "survei (95% CI bila diketahui)",
        "l_survey_band": "survei: hanya putusan (pitanya)",
        "l_few": "ulasan: terlalu sedikit (kosong)",
        "l_reviews": "ulasan: bukan keluhan (95% CI)",
        "all_sources": "semua sumber",
        "per_quarter": "per kuartal",
        "no_reply_data": "tidak ada data balasan",
        "no_data": "tidak ada data dalam rentang ini",
        "no_labels_note": "belum ada label sentimen: keluhan = sebutan negatif",
        # tables
        "t_sentiment": "Sentimen per periode",
        "t_indicators": "Indikator per periode",
        "t_responsiveness": "Balasan per periode",
        "t_triangulation": "Survei dan ulasan",
        "t_rows": "{n} baris; klik judul kolom untuk mengurutkan. Berkas: {file}",
        "t_empty": "Tidak ada baris dalam rentang ini.",
        # appendix
        "a_rule": "Aturan pemilihan kutipan: per indikator, dari sebutan yang membawa indikator dan berlabel negatif (keluhan) atau positif (pujian), panjang {min_len}–{max_len} karakter; diurutkan menurut jumlah suka, lalu yang terbaru; satu kutipan per penulis dan per teks; hingga 3 keluhan dan 2 pujian. Nomor telepon, alamat e-mail, NIK, tautan dan @akun diganti penanda; nama penulis tidak pernah disimpan.",
        "a_fav": "Porsi bukan keluhan: sebutan dengan indikator yang polaritasnya pada indikator itu bukan keluhan (isyarat aturan indikator, bila tidak ada: sentimen ulasan) dibagi sebutan berlabel dengan indikator, dengan interval Wilson 95%. Putusan: buruk di bawah {c0}, cukup {c0}–{c1}, baik dari {c1}. Kurang dari {min} sebutan: terlalu sedikit untuk dinilai.",
        "a_bias": "Ulasan bersifat memilih sendiri (orang menulis saat ada masalah) dan tag indikator berasal dari taksonomi frasa; anggap kesesuaian sebagai penguat, bukan bukti.",
        "generated": "dibuat",
        "m_store": "penyimpanan",
        "m_period": "periode",
        "m_since": "sejak",
        "m_until": "sampai",
    },
    "en": {
        "title": "Suara: what citizens say about the city's digital services",
        "scope": "{start} to {end} · {n} mentions · {sources}",
        "scope_filtered": "Filtered: {filters}",
        "summary": "Summary of findings",
        "indicators": "The six indicators",
        "charts": "Charts",
        "tables": "Tables",
        "appendix": "Appendix: method and technical data",
        "s_volume": "{n} mentions from {k} source(s) between {start} and {end}: {parts}.",
        "s_none_labelled": "No mention carrying an indicator has a sentiment label yet, so the indicators cannot be rated.",
        "s_worst_best": "Reviews rate {worst} worst ({wfav} not a complaint, n={wn}) and {best} best ({bfav}, n={bn}).",
        "s_only_one": "Only {name} has enough mentions to rate: {fav} not a complaint (n={n}).",
        "s_tentative": "Indicator figures are tentative: no indicator has at least {min} labelled mentions.",
        "s_survey": "The survey rated {survey}. The reviews agree on {converge}, differ on {diverge}, and are too few to judge {few}.",
        "s_no_survey": "No survey is compared (set [survey] in the config or give --survey).",
        "s_change": "The share of negative mentions moved from {a} ({pa}, n={na}) to {b} ({pb}, n={nb}){within}.",
        "s_change_within": ", within the 95% uncertainty",
        "s_change_short": "The period is too short or too quiet to judge change.",
        "s_model": "Sentiment comes from the automatic model {model} ({labelled} of {n} mentions labelled).",
        "s_validation": "Human validation: {text}",
        "s_validation_none": "none yet; these figures have not been compared with human coding (see docs/reports.md).",
        "s_validation_some": "{k} mentions carry a human label.",
        "none": "none",
        "n_indicators": "{n} indicator(s) {v}",
        "and": "and",
        "fav": "not a complaint",
        "fav_long": "{fav} not a complaint (95% CI {lo}–{hi}), n={n}",
        "fav_none": "no labelled mentions yet",
        "survey": "Survey",
        "reviews": "Reviews",
        "agreement": "Agreement",
        "phrases": "Most frequent complaint phrases",
        "no_phrases": "no complaint carries this indicator yet",
        "quotes": "What citizens wrote",
        "no_quotes": "No quote meets the selection rule.",
        "quotes_off": "Quotes left out (--no-quotes).",
        "complaint": "complaint",
        "praise": "praise",
        "link": "original",
        "poor": "poor", "fair": "fair", "good": "good",
        "converge": "converge", "diverge": "diverge", "too few": "too few", "no survey": "no survey",
        "c_sentiment": "Share of negative mentions per period",
        "c_sentiment_note": "Thick line: all sources pooled, with its 95% CI band. Thin lines: per source. Hollow points: fewer than {min} labelled mentions (not joined). Bars: mentions per source.",
        "c_indicators": "Complaint share per indicator",
        "c_indicators_note": "Complaint share = negative mentions carrying the indicator / labelled mentions carrying it. Hollow points: fewer than {min} mentions.",
        "c_replies": "Developer replies to reviews",
        "c_replies_note": "Share of reviews with a reply and the median days to reply, by review period; only sources that carry reply data.",
        "c_dumbbell": "Survey versus reviews per indicator",
        "c_dumbbell_note": "Squares: the survey (or its verdict's band when only the direction is known). Dots: share of mentions that are not a complaint about the indicator, with 95% CI; hollow: too few mentions. Dotted lines: the poor/fair/good cutoffs.",
        "ax_negative_share": "negative share",
        "ax_complaint_share": "complaint share",
        "ax_mentions": "mentions",
        "ax_reply_rate": "reply rate",
        "ax_latency": "median days",
        "ax_favourable": "not a complaint / favourable (0..1)",
        "l_survey": "survey (95% CI where known)",
        "l_survey_band": "survey verdict only (its band)",
        "l_few": "reviews: too few (hollow)",
        "l_reviews": "reviews: not a complaint (95% CI)",
        "all_sources": "all sources",
        "per_quarter": "per quarter",
        "no_reply_data": "no reply data",
        "no_data": "no data in this range",
        "no_labels_note": "no sentiment labels yet: a complaint is a negative mention",
        "t_sentiment": "Sentiment per period",
        "t_indicators": "Indicators per period",
        "t_responsiveness": "Replies per period",
        "t_triangulation": "Survey and reviews",
        "t_rows": "{n} rows; click a column header to sort. File: {file}",
        "t_empty": "No rows in this range.",
        "a_rule": "Quote selection rule: per indicator, from mentions carrying it that are labelled negative (complaint) or positive (praise), {min_len}–{max_len} characters long; ordered by likes, then most recent; one quote per author and per text; up to 3 complaints and 2 praise. Phone numbers, e-mail addresses, NIK numbers, links and @handles are masked; author names are never stored.",
        "a_fav": "Not a complaint: labelled mentions carrying the indicator whose polarity on it is not a complaint (the indicator rule's own cue, else the review's sentiment) over labelled mentions carrying it, with a 95% Wilson interval. Verdict: poor below {c0}, fair {c0}–{c1}, good from {c1}. Fewer than {min} mentions: too few to judge.",
        "a_bias": "Reviews are self-selected (people write when something goes wrong) and indicator tags come from a phrase taxonomy; treat agreement as corroboration, not proof.",
        "generated": "generated",
        "m_store": "store",
        "m_period": "period",
        "m_since": "since",
        "m_until": "until",
    },
}

# The appendix's metadata keys (and the two words its values use) in Indonesian; English is as given.
META_ID = {
    "period": "periode", "since": "sejak", "until": "sampai", "filters": "saringan", "store": "penyimpanan",
    "mentions": "sebutan", "sentiment model": "model sentimen",
    "mentions labelled by that model": "sebutan berlabel oleh model itu",
    "other models in the store": "model lain di penyimpanan", "indicator taxonomy": "taksonomi indikator",
    "first mention": "sebutan pertama", "last mention": "sebutan terakhir", "none": "tidak ada",
}


def meta_text(lang: str, text) -> str:
    return META_ID.get(str(text), str(text)) if lang == "id" else str(text)


# Indicator names as a reader knows them.
INDICATOR_NAMES = {
    "id": {"sosialisasi": "Sosialisasi", "kemudahan_akses": "Kemudahan akses", "keterhubungan": "Keterhubungan",
           "kemudahan_aspirasi": "Kemudahan aspirasi", "transparansi": "Transparansi", "penanggapan": "Penanggapan"},
    "en": {"sosialisasi": "Socialisation (sosialisasi)", "kemudahan_akses": "Ease of access (kemudahan akses)",
           "keterhubungan": "Connectivity (keterhubungan)", "kemudahan_aspirasi": "Ease of voicing aspirations (kemudahan aspirasi)",
           "transparansi": "Transparency (transparansi)", "penanggapan": "Responsiveness (penanggapan)"},
}

SOURCE_NAMES = {"playstore": "Google Play", "appstore": "App Store", "news": {"id": "berita", "en": "news"},
                "reddit": "Reddit", "youtube": "YouTube"}

# Human column headers for the report's tables (the CSVs keep their machine names).
HEADERS = {
    "id": {"period": "Periode", "source": "Sumber", "app": "Aplikasi", "mentions": "Sebutan", "positive": "Positif",
           "neutral": "Netral", "negative": "Negatif", "negative_share": "Porsi negatif",
           "negative_share_low": "CI bawah", "negative_share_high": "CI atas", "net_sentiment": "Sentimen bersih",
           "mean_rating": "Rata-rata bintang", "indicator": "Indikator", "complaints": "Keluhan",
           "reviews": "Ulasan", "replied": "Dibalas", "reply_rate": "Porsi dibalas",
           "median_reply_latency_days": "Median hari balasan", "survey_verdict": "Putusan survei",
           "survey_value": "Nilai survei", "review_mentions": "Sebutan ulasan",
           "review_favourability": "Ulasan bukan keluhan", "review_low": "CI bawah", "review_high": "CI atas",
           "review_verdict": "Putusan ulasan", "agreement": "Kesesuaian", "note": "Catatan"},
    "en": {"period": "Period", "source": "Source", "app": "App", "mentions": "Mentions", "positive": "Positive",
           "neutral": "Neutral", "negative": "Negative", "negative_share": "Negative share",
           "negative_share_low": "CI low", "negative_share_high": "CI high", "net_sentiment": "Net sentiment",
           "mean_rating": "Mean stars", "indicator": "Indicator", "complaints": "Complaints",
           "reviews": "Reviews", "replied": "Replied", "reply_rate": "Reply rate",
           "median_reply_latency_days": "Median days to reply", "survey_verdict": "Survey verdict",
           "survey_value": "Survey value", "review_mentions": "Review mentions",
           "review_favourability": "Reviews not a complaint", "review_low": "CI low", "review_high": "CI high",
           "review_verdict": "Review verdict", "agreement": "Agreement", "note": "Note"},
}


def check_lang(lang: str | None) -> str:
    from .errors import InputError

    lang = (lang or "id").strip().lower()
    if lang not in LANGS:
        raise InputError(f"bad --lang {lang!r}: use id or en")
    return lang


def t(lang: str, key: str, **fields) -> str:
    text = TEXTS[lang][key]
    return text.format(**fields) if fields else text


def indicator_name(lang: str, key: str) -> str:
    return INDICATOR_NAMES[lang].get(key, key.replace("_", " "))


def source_name(lang: str, source: str) -> str:
    name = SOURCE_NAMES.get(source, source)
    return name[lang] if isinstance(name, dict) else name
