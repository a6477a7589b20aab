"""The streaming gps importer stores exactly what the whole-file importer stored.

EXPECTED_* below were written by the importer as it was before it streamed (commit 49d09fd)
from the same files; every column is compared except the fetch/supersede times, which are
the clock's. Authors are compared as their pseudonyms (the key is per test).
"""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipelines import importer
from pipelines.cli import app as cli
from pipelines.errors import InputError
from pipelines.importer import import_reviews
from pipelines.privacy import pseudonymise
from pipelines.store import Store, mention_versions, mentions

APP = "com.example.kota"

HEAD = ",reviewId,userName,userImage,content,score,thumbsUpCount,reviewCreatedVersion,at,replyContent,repliedAt,appVersion\n"
# Newest first as gps writes, with: an id edited twice and repeated unchanged (a merged scrape),
# equal times (written in reverse id order), replies with and without a reply time, blanks,
# explicit offsets, quoted newlines and commas, a float score, a blank line.
FIRST = HEAD + "".join([
    '0,gp:e1,Warga A,https://img/a,"versi tiga, final",5,7,2.1.0,2024-03-05 10:00:00,,,2.1.0\n',
    '1,gp:t2,Warga T,,sama waktu dua,2,0,,2024-03-02 12:00:00,,,\n',
    '2,gp:t0,Warga T,,sama waktu nol,3,,,2024-03-02 12:00:00,,,\n',
    '3,gp:t1,,,sama waktu satu,4,1,1.9,2024-03-02 12:00:00,,,\n',
    '4,gp:e1,Warga A,https://img/a,versi dua,3,2,2.0.0,2024-03-03 08:15:00,,,2.0.0\n',
    '\n',
    '5,gp:r1,Warga R,,"aplikasi ""lemot""\nsering error",1,12,,2024-03-01T23:30:00+07:00,'
    'Mohon maaf atas kendalanya,2024-03-02 09:00:00,1.8\n',
    '6,gp:r2,Warga Ř 😀,,lumayan 👍,4.0,3,,2024-02-28T01:00:00Z,Terima kasih,,1.8\n',
    '7,gp:r3,  ,,,5,0,,2024-02-27 07:00:00,  ,2024-02-28 07:00:00,\n',
    '8,gp:e1,Warga A,https://img/a,versi satu,1,0,,2024-03-01 09:00:00,,,\n',
    '9,gp:e1,Warga A,https://img/a,versi dua,3,4,2.0.0,2024-03-03 08:15:00,,,2.0.0\n',
])
# A later scrape: gp:t0 edited, gp:r1 answered again (same text), gp:r2 more likes, one new review.
SECOND = HEAD + "".join([
    '0,gp:n1,Warga N,,baru,5,0,,2024-03-06 10:00:00,,,2.1.0\n',
    '1,gp:t0,Warga T,,sama waktu nol (diedit),1,2,,2024-03-04 12:00:00,,,2.1.0\n',
    '2,gp:r1,Warga R,,"aplikasi ""lemot""\nsering error",1,15,,2024-03-01T23:30:00+07:00,'
    'Mohon maaf atas kendalanya,2024-03-02 09:00:00,1.8\n',
    '3,gp:r2,Warga Ř 😀,,lumayan 👍,4,9,,2024-02-28T01:00:00Z,Terima kasih,,1.8\n',
])

M_COLS = [c.name for c in mentions.columns if c.name != "fetched_at"]
V_COLS = [c.name for c in mention_versions.columns if c.name != "superseded_at"]


def _dump(store: Store) -> tuple[list[tuple], list[tuple]]:
    with store.engine.connect() as conn:
        m = [tuple(r) for r in conn.execute(select(*(mentions.c[c] for c in M_COLS)).order_by(mentions.c.id))]
        v = [tuple(r) for r in conn.execute(
            select(*(mention_versions.c[c] for c in V_COLS)).order_by(mention_versions.c.id))]
    return m, v


def _expected(rows: list[tuple]) -> list[tuple]:
    a = M_COLS.index("author_key")
    return [r[:a] + (pseudonymise("playstore", r[a]),) + r[a + 1:] for r in rows]


# ---- written by the pre-streaming importer (see module docstring) --------------------------------
EXPECTED = {
    'UTC': {
        'first_result': (7, 2, 1),
        'first_mentions': [
            (1, 'playstore', 'gp:r3', 'com.example.kota', 'review', None, None, '', 5.0, datetime(2024, 2, 27, 7, 0), datetime(2024, 2, 27, 7, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r3', None, 'id', 'id', None, None, 0, None, 'd2738e2de1a289406b0b47fe52d7a6a5e5b1d5d4300b2d59dbc44bdba67d8cfb'),
            (2, 'playstore', 'gp:r2', 'com.example.kota', 'review', 'Warga Ř 😀', None, 'lumayan 👍', 4.0, datetime(2024, 2, 28, 1, 0), datetime(2024, 2, 28, 1, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r2', None, 'id', 'id', 'Terima kasih', None, 3, '1.8', '2c033727248d2c292bab5599b23afbfb19d581594c5def8cbf98462130b0ad4b'),
            (3, 'playstore', 'gp:e1', 'com.example.kota', 'review', 'Warga A', None, 'versi tiga, final', 5.0, datetime(2024, 3, 5, 10, 0), datetime(2024, 3, 5, 10, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:e1', None, 'id', 'id', None, None, 7, '2.1.0', '9bb6639249d485c96bdddd564a5c6c7364af7093094751eafc81f30693498224'),
            (4, 'playstore', 'gp:r1', 'com.example.kota', 'review', 'Warga R', None, 'aplikasi "lemot"\nsering error', 1.0, datetime(2024, 3, 1, 16, 30), datetime(2024, 3, 1, 16, 30), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r1', None, 'id', 'id', 'Mohon maaf atas kendalanya', datetime(2024, 3, 2, 9, 0), 12, '1.8', '7fd55cedc63b0b902be97ea891074a3c03dbc6e46cc5c33c9b65fe41ef4f697f'),
            (5, 'playstore', 'gp:t0', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu nol', 3.0, datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t0', None, 'id', 'id', None, None, None, None, 'e287f195737a504bda48dc0efa79690d78e2c96291f213d3a62877573fb9e838'),
            (6, 'playstore', 'gp:t1', 'com.example.kota', 'review', None, None, 'sama waktu satu', 4.0, datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t1', None, 'id', 'id', None, None, 1, '1.9', '6020c6d14c8a683f6275a305e85c5ca55911653999eaed8dc959b5e521149a97'),
            (7, 'playstore', 'gp:t2', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu dua', 2.0, datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t2', None, 'id', 'id', None, None, 0, None, 'a8241e0a63578cfc25e925e100b4fc8b78f9f6652747741753521470f759a206'),
        ],
        'first_versions': [
            (1, 3, None, 'versi satu', 1.0, datetime(2024, 3, 1, 9, 0), None, None, 'a52e62cd9ee5f6c6d7e0a1b4f9656e609f9f723bc43f5fac59ae48484e11ef20'),
            (2, 3, None, 'versi dua', 3.0, datetime(2024, 3, 3, 8, 15), None, None, '4b0f90db0eeb502788cc611064d16b9828d30b2a8ddbea234c37567c7db42f77'),
        ],
        'second_result': (1, 1, 2),
        'second_mentions': [
            (1, 'playstore', 'gp:r3', 'com.example.kota', 'review', None, None, '', 5.0, datetime(2024, 2, 27, 7, 0), datetime(2024, 2, 27, 7, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r3', None, 'id', 'id', None, None, 0, None, 'd2738e2de1a289406b0b47fe52d7a6a5e5b1d5d4300b2d59dbc44bdba67d8cfb'),
            (2, 'playstore', 'gp:r2', 'com.example.kota', 'review', 'Warga Ř 😀', None, 'lumayan 👍', 4.0, datetime(2024, 2, 28, 1, 0), datetime(2024, 2, 28, 1, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r2', None, 'id', 'id', 'Terima kasih', None, 9, '1.8', '2c033727248d2c292bab5599b23afbfb19d581594c5def8cbf98462130b0ad4b'),
            (3, 'playstore', 'gp:e1', 'com.example.kota', 'review', 'Warga A', None, 'versi tiga, final', 5.0, datetime(2024, 3, 5, 10, 0), datetime(2024, 3, 5, 10, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:e1', None, 'id', 'id', None, None, 7, '2.1.0', '9bb6639249d485c96bdddd564a5c6c7364af7093094751eafc81f30693498224'),
            (4, 'playstore', 'gp:r1', 'com.example.kota', 'review', 'Warga R', None, 'aplikasi "lemot"\nsering error', 1.0, datetime(2024, 3, 1, 16, 30), datetime(2024, 3, 1, 16, 30), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r1', None, 'id', 'id', 'Mohon maaf atas kendalanya', datetime(2024, 3, 2, 9, 0), 15, '1.8', '7fd55cedc63b0b902be97ea891074a3c03dbc6e46cc5c33c9b65fe41ef4f697f'),
            (5, 'playstore', 'gp:t0', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu nol (diedit)', 1.0, datetime(2024, 3, 4, 12, 0), datetime(2024, 3, 4, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t0', None, 'id', 'id', None, None, 2, '2.1.0', 'b7240457015a0289e35aa815ab2b68e86f1795191100a7a18d15a90c4cdce905'),
            (6, 'playstore', 'gp:t1', 'com.example.kota', 'review', None, None, 'sama waktu satu', 4.0, datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t1', None, 'id', 'id', None, None, 1, '1.9', '6020c6d14c8a683f6275a305e85c5ca55911653999eaed8dc959b5e521149a97'),
            (7, 'playstore', 'gp:t2', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu dua', 2.0, datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t2', None, 'id', 'id', None, None, 0, None, 'a8241e0a63578cfc25e925e100b4fc8b78f9f6652747741753521470f759a206'),
            (8, 'playstore', 'gp:n1', 'com.example.kota', 'review', 'Warga N', None, 'baru', 5.0, datetime(2024, 3, 6, 10, 0), datetime(2024, 3, 6, 10, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:n1', None, 'id', 'id', None, None, 0, '2.1.0', '41de9f0f13b2b5a74d8fb62ce6c10684c09a661845910f78a41a47aa498b3013'),
        ],
        'second_versions': [
            (1, 3, None, 'versi satu', 1.0, datetime(2024, 3, 1, 9, 0), None, None, 'a52e62cd9ee5f6c6d7e0a1b4f9656e609f9f723bc43f5fac59ae48484e11ef20'),
            (2, 3, None, 'versi dua', 3.0, datetime(2024, 3, 3, 8, 15), None, None, '4b0f90db0eeb502788cc611064d16b9828d30b2a8ddbea234c37567c7db42f77'),
            (3, 5, None, 'sama waktu nol', 3.0, datetime(2024, 3, 2, 12, 0), None, None, 'e287f195737a504bda48dc0efa79690d78e2c96291f213d3a62877573fb9e838'),
        ],
    },
    'Asia/Jakarta': {
        'first_result': (7, 2, 1),
        'first_mentions': [
            (1, 'playstore', 'gp:r3', 'com.example.kota', 'review', None, None, '', 5.0, datetime(2024, 2, 27, 0, 0), datetime(2024, 2, 27, 0, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r3', None, 'id', 'id', None, None, 0, None, 'd2738e2de1a289406b0b47fe52d7a6a5e5b1d5d4300b2d59dbc44bdba67d8cfb'),
            (2, 'playstore', 'gp:r2', 'com.example.kota', 'review', 'Warga Ř 😀', None, 'lumayan 👍', 4.0, datetime(2024, 2, 28, 1, 0), datetime(2024, 2, 28, 1, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r2', None, 'id', 'id', 'Terima kasih', None, 3, '1.8', '2c033727248d2c292bab5599b23afbfb19d581594c5def8cbf98462130b0ad4b'),
            (3, 'playstore', 'gp:e1', 'com.example.kota', 'review', 'Warga A', None, 'versi tiga, final', 5.0, datetime(2024, 3, 5, 3, 0), datetime(2024, 3, 5, 3, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:e1', None, 'id', 'id', None, None, 7, '2.1.0', '9bb6639249d485c96bdddd564a5c6c7364af7093094751eafc81f30693498224'),
            (4, 'playstore', 'gp:r1', 'com.example.kota', 'review', 'Warga R', None, 'aplikasi "lemot"\nsering error', 1.0, datetime(2024, 3, 1, 16, 30), datetime(2024, 3, 1, 16, 30), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r1', None, 'id', 'id', 'Mohon maaf atas kendalanya', datetime(2024, 3, 2, 2, 0), 12, '1.8', '7fd55cedc63b0b902be97ea891074a3c03dbc6e46cc5c33c9b65fe41ef4f697f'),
            (5, 'playstore', 'gp:t0', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu nol', 3.0, datetime(2024, 3, 2, 5, 0), datetime(2024, 3, 2, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t0', None, 'id', 'id', None, None, None, None, 'e287f195737a504bda48dc0efa79690d78e2c96291f213d3a62877573fb9e838'),
            (6, 'playstore', 'gp:t1', 'com.example.kota', 'review', None, None, 'sama waktu satu', 4.0, datetime(2024, 3, 2, 5, 0), datetime(2024, 3, 2, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t1', None, 'id', 'id', None, None, 1, '1.9', '6020c6d14c8a683f6275a305e85c5ca55911653999eaed8dc959b5e521149a97'),
            (7, 'playstore', 'gp:t2', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu dua', 2.0, datetime(2024, 3, 2, 5, 0), datetime(2024, 3, 2, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t2', None, 'id', 'id', None, None, 0, None, 'a8241e0a63578cfc25e925e100b4fc8b78f9f6652747741753521470f759a206'),
        ],
        'first_versions': [
            (1, 3, None, 'versi satu', 1.0, datetime(2024, 3, 1, 2, 0), None, None, 'a52e62cd9ee5f6c6d7e0a1b4f9656e609f9f723bc43f5fac59ae48484e11ef20'),
            (2, 3, None, 'versi dua', 3.0, datetime(2024, 3, 3, 1, 15), None, None, '4b0f90db0eeb502788cc611064d16b9828d30b2a8ddbea234c37567c7db42f77'),
        ],
        'second_result': (1, 1, 2),
        'second_mentions': [
            (1, 'playstore', 'gp:r3', 'com.example.kota', 'review', None, None, '', 5.0, datetime(2024, 2, 27, 0, 0), datetime(2024, 2, 27, 0, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r3', None, 'id', 'id', None, None, 0, None, 'd2738e2de1a289406b0b47fe52d7a6a5e5b1d5d4300b2d59dbc44bdba67d8cfb'),
            (2, 'playstore', 'gp:r2', 'com.example.kota', 'review', 'Warga Ř 😀', None, 'lumayan 👍', 4.0, datetime(2024, 2, 28, 1, 0), datetime(2024, 2, 28, 1, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r2', None, 'id', 'id', 'Terima kasih', None, 9, '1.8', '2c033727248d2c292bab5599b23afbfb19d581594c5def8cbf98462130b0ad4b'),
            (3, 'playstore', 'gp:e1', 'com.example.kota', 'review', 'Warga A', None, 'versi tiga, final', 5.0, datetime(2024, 3, 5, 3, 0), datetime(2024, 3, 5, 3, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:e1', None, 'id', 'id', None, None, 7, '2.1.0', '9bb6639249d485c96bdddd564a5c6c7364af7093094751eafc81f30693498224'),
            (4, 'playstore', 'gp:r1', 'com.example.kota', 'review', 'Warga R', None, 'aplikasi "lemot"\nsering error', 1.0, datetime(2024, 3, 1, 16, 30), datetime(2024, 3, 1, 16, 30), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:r1', None, 'id', 'id', 'Mohon maaf atas kendalanya', datetime(2024, 3, 2, 2, 0), 15, '1.8', '7fd55cedc63b0b902be97ea891074a3c03dbc6e46cc5c33c9b65fe41ef4f697f'),
            (5, 'playstore', 'gp:t0', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu nol (diedit)', 1.0, datetime(2024, 3, 4, 5, 0), datetime(2024, 3, 4, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t0', None, 'id', 'id', None, None, 2, '2.1.0', 'b7240457015a0289e35aa815ab2b68e86f1795191100a7a18d15a90c4cdce905'),
            (6, 'playstore', 'gp:t1', 'com.example.kota', 'review', None, None, 'sama waktu satu', 4.0, datetime(2024, 3, 2, 5, 0), datetime(2024, 3, 2, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t1', None, 'id', 'id', None, None, 1, '1.9', '6020c6d14c8a683f6275a305e85c5ca55911653999eaed8dc959b5e521149a97'),
            (7, 'playstore', 'gp:t2', 'com.example.kota', 'review', 'Warga T', None, 'sama waktu dua', 2.0, datetime(2024, 3, 2, 5, 0), datetime(2024, 3, 2, 5, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:t2', None, 'id', 'id', None, None, 0, None, 'a8241e0a63578cfc25e925e100b4fc8b78f9f6652747741753521470f759a206'),
            (8, 'playstore', 'gp:n1', 'com.example.kota', 'review', 'Warga N', None, 'baru', 5.0, datetime(2024, 3, 6, 3, 0), datetime(2024, 3, 6, 3, 0), 'https://play.google.com/store/apps/details?id=com.example.kota&reviewId=gp:n1', None, 'id', 'id', None, None, 0, '2.1.0', '41de9f0f13b2b5a74d8fb62ce6c10684c09a661845910f78a41a47aa498b3013'),
        ],
        'second_versions': [
            (1, 3, None, 'versi satu', 1.0, datetime(2024, 3, 1, 2, 0), None, None, 'a52e62cd9ee5f6c6d7e0a1b4f9656e609f9f723bc43f5fac59ae48484e11ef20'),
            (2, 3, None, 'versi dua', 3.0, datetime(2024, 3, 3, 1, 15), None, None, '4b0f90db0eeb502788cc611064d16b9828d30b2a8ddbea234c37567c7db42f77'),
            (3, 5, None, 'sama waktu nol', 3.0, datetime(2024, 3, 2, 5, 0), None, None, 'e287f195737a504bda48dc0efa79690d78e2c96291f213d3a62877573fb9e838'),
        ],
    },
}


@pytest.mark.parametrize("tz", ["UTC", "Asia/Jakarta"])
def test_stored_rows_are_those_of_the_whole_file_importer(any_db_url, tmp_path, tz):
    store = Store(any_db_url)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")
    exp = EXPECTED[tz]
    res = import_reviews(store, first, APP, tz=tz, lang="id", country="id")
    assert (res.new, res.updated, res.unchanged) == exp["first_result"]
    m, v = _dump(store)
    assert m == _expected(exp["first_mentions"])
    assert v == exp["first_versions"]
    res = import_reviews(store, second, APP, tz=tz, lang="id", country="id")
    assert (res.new, res.updated, res.unchanged) == exp["second_result"]
    m, v = _dump(store)
    assert m == _expected(exp["second_mentions"])
    assert v == exp["second_versions"]
    again = import_reviews(store, second, APP, tz=tz, lang="id", country="id")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)
    assert _dump(store) == (m, v)
    store.close()


def test_json_export_stores_the_same_rows_as_its_csv(store, tmp_path):
    import pandas as pd

    csv_path = tmp_path / "first.csv"
    csv_path.write_text(FIRST, encoding="utf-8")
    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False, index_col=0)
    js = tmp_path / "first.json"
    df.to_json(js, orient="records", force_ascii=False)
    import_reviews(store, js, APP, tz="UTC", lang="id", country="id")
    m, v = _dump(store)
    assert m == _expected(EXPECTED["UTC"]["first_mentions"]) and v == EXPECTED["UTC"]["first_versions"]


def test_cli_streams_a_gps_csv_and_says_what_it_stored(db_url, tmp_path):
    path = tmp_path / "first.csv"
    path.write_text("\ufeff" + FIRST, encoding="utf-8")  # Excel's BOM
    res = CliRunner().invoke(cli, ["import", str(path), "--app", APP, "--db", db_url, "--lang", "id",
                                   "--country", "id"])
    assert res.exit_code == 0, res.output
    assert "detected: google-play-scraper export (playstore)" in res.output
    assert "10 review(s): 7 new, 2 updated, 1 unchanged" in res.output
    store = Store(db_url)
    assert _dump(store)[0] == _expected(EXPECTED["UTC"]["first_mentions"])
    store.close()


@pytest.mark.parametrize(
    "text,expected",
    [
        (HEAD + '0,gp:a,W,,ok,5,0,,2024-03-01 09:30:00,,,\n1,gp:b,W,,ok,5,0,,2024-03-01 09:30:00,,\n',
         r"row 2: 11 fields, the header has 12 \(truncated or mixed file\?\)"),
        (HEAD + '0,gp:a,W,,"ok,5,0,,2024-03-01 09:30:00,,,\n', r"not a readable CSV \(unexpected end of data\)"),
        (HEAD + '0,gp:a,W,,ok,5,0,,2024-03-01 09:30:00,,,\n' * 3 + '3,gp:b,W,,ok,5,0,,2024-13-01 09:30:00,,,\n',
         r"row 4, column 'at': not a date and time: '2024-13-01 09:30:00'"),
    ],
)
def test_a_bad_row_anywhere_stores_nothing(store, tmp_path, text, expected):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        import_reviews(store, path, APP)
    assert store.count_mentions() == 0 and store.runs_df().empty


def test_not_utf8_names_the_byte(store, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEAD.encode() + "0,gp:a,Jos\u00e9,,ok,5,0,,2024-03-01 09:30:00,,,\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte %d\)" % (len(HEAD) + len("0,gp:a,Jos"))):
        import_reviews(store, path, APP)
    assert store.count_mentions() == 0


def test_a_file_changed_between_the_passes_is_an_error(store, tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    path.write_text(HEAD + '0,gp:a,W,,ok,5,0,,2024-03-01 09:30:00,,,\n', encoding="utf-8")
    real = importer._write_order

    def edit_then_order(src):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write('1,gp:b,W,,ok,5,0,,2024-03-01 09:30:00,,,\n')
        os.utime(path, ns=(1, 1))
        return real(src)

    monkeypatch.setattr(importer, "_write_order", edit_then_order)
    with pytest.raises(InputError, match="changed while it was being imported"):
        import_reviews(store, path, APP)
    assert store.count_mentions() == 0


class _FakeSource:
    def __init__(self, times, ids):
        self.times = np.array(times, dtype=np.int64)
        self.hashes = np.array([hash(i) for i in ids], dtype=np.int64)
        self.ids = ids

    def __len__(self):
        return len(self.ids)

    def records(self, rows):
        return [{"reviewId": self.ids[i]} for i in rows.tolist()]


def test_write_order_is_time_then_id_and_one_occurrence_per_batch():
    ids = ["b", "a", "c", "a", "d", "a", "c"]
    times = [5, 5, 1, 9, 5, 2, 7]
    batches = importer._write_order(_FakeSource(times, ids))
    # The whole-file importer's rule: sort by (time, id), then the n-th occurrence of an id in batch n.
    rows = sorted(range(len(ids)), key=lambda i: (times[i], ids[i]))
    seen: dict[str, int] = {}
    want: list[list[int]] = []
    for i in rows:
        n = seen.get(ids[i], 0)
        seen[ids[i]] = n + 1
        if n == len(want):
            want.append([])
        want[n].append(i)
    assert [b.tolist() for b in batches] == want == [[2, 5, 0, 4], [1, 6], [3]]


@pytest.mark.parametrize("tie_slice", [1 << 18, 7])
def test_write_order_of_many_rows_matches_a_plain_sort(monkeypatch, tie_slice):
    monkeypatch.setattr(importer, "_TIE_SLICE", tie_slice)
    rng = np.random.default_rng(7)
    n = 5000
    ids = [f"gp:{rng.integers(0, 3000)}" for _ in range(n)]
    times = rng.integers(0, 400, n).tolist()
    batches = importer._write_order(_FakeSource(times, ids))
    rows = sorted(range(n), key=lambda i: (times[i], ids[i]))
    seen: dict[str, int] = {}
    want: list[list[int]] = []
    for i in rows:
        k = seen.get(ids[i], 0)
        seen[ids[i]] = k + 1
        if k == len(want):
            want.append([])
        want[k].append(i)
    assert [b.tolist() for b in batches] == want


def test_transactions_are_bounded_by_time_and_pause_between(store, tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    path.write_text(HEAD + "".join(f"{i},gp:{i},W,,ok {i},5,0,,2024-03-01 09:{i % 60:02d}:00,,,\n"
                                   for i in range(1200)), encoding="utf-8")
    monkeypatch.setattr(importer, "IMPORT_CHUNK", 100)
    monkeypatch.setattr(importer, "IMPORT_TXN_SECONDS", 0.0)  # every chunk its own transaction
    pauses = []
    monkeypatch.setattr(importer.time, "sleep", pauses.append)
    res = import_reviews(store, path, APP)
    assert res.new == 1200 and store.count_mentions() == 1200
    assert pauses == [importer.IMPORT_PAUSE] * 11
    assert datetime(2024, 3, 1, 9, 59) == store.mentions_df()["created_at"].max().to_pydatetime()


def test_content_hash_is_that_of_json_dumps():
    import hashlib
    import itertools
    import json

    from pipelines.store import content_hash

    values = [None, "", 'a"b\\c\n\t\x00\x1f\u2028 😀 é', "x", 3.0, 1.5, 0.1, 1e300, -0.0, float("nan"),
              float("inf"), 3, True, datetime(2024, 3, 1)]
    for t, x, r, y in itertools.product(values, repeat=4):
        ref = json.dumps([t, x, r, y], ensure_ascii=False, default=str)
        assert content_hash(dict(title=t, text=x, rating=r, reply_text=y)) == hashlib.sha256(ref.encode()).hexdigest()
