"""Generated Indonesian app-review texts, for calibration and benchmarks (no real data inside).

Reviews are built from templates of the kinds of things people write about city and public-service
apps: praise, complaints (login, errors, slow service), questions, mixed "bagus tapi ..." reviews,
slang spellings (gk, bgt, udh), emoji and repeated letters, in lengths from a few words to several
sentences. Deterministic for a given seed.
"""

from __future__ import annotations

import random

APPS = ["aplikasi ini", "apknya", "aplikasinya", "layanan online", "sistem pengaduan", "aplikasi pemkot",
        "fitur lapor", "aplikasi kependudukan", "e-ktp online", "portal warga"]
PRAISE = ["sangat membantu warga", "bagus sekali", "mantap bgt", "pelayanannya cepat", "mudah digunakan",
          "laporan saya langsung ditanggapi", "petugasnya ramah dan responsif", "keren, terima kasih pemkot",
          "fiturnya lengkap", "sekarang urus surat jadi gampang", "top, semoga terus ditingkatkan",
          "puas dengan pelayanannya"]
COMPLAINTS = ["tidak bisa login", "sering error", "lemot banget", "gk bisa daftar", "kode otp tidak masuk",
              "laporan saya tidak ditanggapi", "udh 2 minggu belum ada respon", "server gagal terus",
              "aplikasinya keluar sendiri", "data saya hilang", "jelek, buang waktu", "kecewa sama pelayanannya",
              "verifikasi ktp gagal terus", "antrian online penuh terus", "admin tidak membalas"]
NEUTRAL = ["tolong tambahkan fitur pembayaran pbb", "bagaimana cara ganti nomor hp?", "kapan ada update?",
           "jadwal pelayanan kantor kecamatan hari senin", "saya pakai hp android 10",
           "mohon info syarat pembuatan kk", "aplikasi untuk urus administrasi kependudukan"]
OPENERS = ["", "", "", "min, ", "tolong ", "assalamualaikum, ", "halo, ", "pak wali, "]
CONNECT = [" tapi ", ", tapi ", ". namun ", " sayangnya ", ". "]
CLOSERS = ["", "", "", " 👍", " 🙏", " 😡", " !!!", " tolong diperbaiki", " semoga cepat diperbaiki",
           " bintang 5", " kasih bintang 1 dulu"]


def _slang(rng: random.Random, text: str) -> str:
    if rng.random() < 0.2:
        text = text.replace("tidak", "gak").replace("sudah", "udh").replace("banget", "bgt")
    if rng.random() < 0.1:
        text = text.replace("a", "aa", 1)
    return text


def review(rng: random.Random) -> str:
    kind = rng.random()
    app = rng.choice(APPS)
    if kind < 0.35:
        body = f"{app} {rng.choice(PRAISE)}"
    elif kind < 0.7:
        body = f"{app} {rng.choice(COMPLAINTS)}"
    elif kind < 0.85:
        body = f"{app} {rng.choice(PRAISE)}{rng.choice(CONNECT)}{rng.choice(COMPLAINTS)}"
    else:
        body = rng.choice(NEUTRAL)
    for _ in range(rng.choices([0, 1, 2, 4], weights=[6, 3, 2, 1])[0]):  # some reviews run long
        body += rng.choice(CONNECT) + rng.choice(COMPLAINTS + PRAISE + NEUTRAL)
    return _slang(rng, rng.choice(OPENERS) + body + rng.choice(CLOSERS))


def reviews(n: int, seed: int = 0) -> list[str]:
    """``n`` generated review texts."""
    rng = random.Random(seed)
    return [review(rng) for _ in range(n)]
