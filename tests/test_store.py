from datetime import datetime

import pytest

from pipelines.errors import InputError
from pipelines.privacy import pseudonymise
from pipelines.store import Store


def _review(i, text="bagus", **kw):
    row = dict(source="playstore", source_id=f"r{i}", app="id.go.tangsel", text=text, rating=4,
               created_at=datetime(2024, 1, i + 1, 3, 0), author_key=pseudonymise("playstore", f"user{i}"))
    row.update(kw)
    return row


@pytest.fixture
def store(any_db_url):
    s = Store(any_db_url)
    yield s
    s.close()


def test_upsert_is_idempotent(store):
    res = store.upsert_mentions([_review(i) for i in range(5)])
    assert (res.new, res.updated, res.unchanged) == (5, 0, 0)
    res = store.upsert_mentions([_review(i) for i in range(5)])
    assert (res.new, res.updated, res.unchanged) == (0, 0, 5)
    assert store.count_mentions() == 5


def test_edit_keeps_old_version(store):
    store.upsert_mentions([_review(1, "aplikasi bagus")])
    res = store.upsert_mentions([_review(1, "aplikasi sering error", rating=1)])
    assert res.updated == 1
    m = store.mentions_df()
    assert m.loc[0, "text"] == "aplikasi sering error"
    v = store.versions_df()
    assert list(v["text"]) == ["aplikasi bagus"] and v.loc[0, "rating"] == 4


def test_missing_required_field_is_rejected(store):
    with pytest.raises(InputError, match="source_id"):
        store.upsert_mentions([dict(source="playstore", app="x", text="a")])
    assert store.count_mentions() == 0


def test_save_page_moves_state_with_rows(store):
    store.save_page("playstore", "app", "id", "id", [_review(1)], token="tok1", status="incomplete")
    st = store.get_state("playstore", "app", "id", "id")
    assert st["token"] == "tok1" and st["new"] == 1 and st["pages"] == 1


def test_pseudonym_is_stable_and_keyed(tmp_path, monkeypatch):
    a = pseudonymise("playstore", "Budi Santoso")
    assert a == pseudonymise("playstore", "Budi Santoso") and "Budi" not in a
    monkeypatch.setenv("SUARA_SECRET_FILE", str(tmp_path / "other.key"))
    assert pseudonymise("playstore", "Budi Santoso") != a


def test_bad_url_is_one_clear_error():
    with pytest.raises(InputError, match="cannot open database URL"):
        Store("notaurl://")
