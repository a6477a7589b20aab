"""The one store every source writes to (SQLAlchemy; SQLite by default, PostgreSQL by URL).

Tables
------
``mentions``          one row per (source, source_id): the current text of a review, post,
                      comment or article, with a pseudonymous author key.
``mention_versions``  earlier contents of edited mentions, so an edit never loses the old text.
``crawl_state``       per (source, target, lang, country): high-water mark, the continuation
                      token of a crawl in progress, status and counts.
``runs``              one row per crawl or job run: start, end, status, counts, error.
``crawl_gaps``        per crawl target: entries its last crawl skipped as malformed (count, why)
                      and work it left for the next crawl (ids only).
``sentiments``        one label per (mention, model), with class probabilities.
``indicators``        zero or more indicator tags per mention, each with its evidence.
``indicator_tagging`` which mentions the indicator tagger has read, with which taxonomy.
``label_samples``     coding samples drawn for human validation: seed, strata, mention ids.
``human_labels``      human codes per (mention, coder): sentiment and indicator polarities.
``label_training``    coded mentions a sentiment model was fine-tuned on.

All times are stored as naive UTC datetimes (SQLite keeps no zone; naive-UTC everywhere
keeps SQLite and PostgreSQL identical).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError, ProgrammingError

from .errors import InputError, StoreBusy, SuaraError
from .paths import default_db_url

metadata = MetaData()

mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),  # playstore, appstore, news, reddit, youtube, ...
    Column("source_id", String(255), nullable=False),  # the source's own id
    Column("app", String(255), nullable=False),  # app id, or the query that found it
    Column("kind", String(16), nullable=False, default="review"),  # review, article, post, comment
    Column("author_key", String(64)),  # HMAC of the author; never the name
    Column("title", Text),
    Column("text", Text, nullable=False, default=""),
    Column("rating", Float),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("url", Text),
    Column("outlet", String(255)),  # publisher of a news article (an organisation, not a person)
    Column("lang", String(16)),
    Column("country", String(16)),
    Column("reply_text", Text),
    Column("reply_at", DateTime),
    Column("thumbs_up", Integer),
    Column("app_version", String(64)),
    Column("fetched_at", DateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("source", "source_id", name="uq_mentions_source_id"),
)

mention_versions = Table(
    "mention_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mention_id", Integer, ForeignKey("mentions.id"), nullable=False, index=True),
    Column("title", Text),
    Column("text", Text),
    Column("rating", Float),
    Column("updated_at", DateTime),
    Column("reply_text", Text),
    Column("reply_at", DateTime),
    Column("content_hash", String(64), nullable=False),
    Column("superseded_at", DateTime, nullable=False),
)

crawl_state = Table(
    "crawl_state",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("target", String(255), primary_key=True),  # app id or query
    Column("lang", String(16), primary_key=True, default=""),
    Column("country", String(16), primary_key=True, default=""),
    Column("high_water", DateTime),  # newest item time seen by the last complete crawl
    Column("token", Text),  # continuation token of a crawl in progress
    Column("pending_high_water", DateTime),  # newest time seen by the crawl in progress
    Column("status", String(16), nullable=False, default="incomplete"),  # complete / incomplete
    Column("pages", Integer, nullable=False, default=0),
    Column("seen", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("started_at", DateTime),
    Column("completed_at", DateTime),
    Column("last_error", Text),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(32), nullable=False),  # crawl, analyze, run, ...
    Column("source", String(32)),
    Column("target", String(255)),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False, default="running"),  # running, ok, failed
    Column("seen", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("error", Text),
)

sentiments = Table(
    "sentiments",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("model", String(255), primary_key=True),  # model name@version
    Column("label", String(16), nullable=False),  # positive / neutral / negative
    Column("p_positive", Float),
    Column("p_neutral", Float),
    Column("p_negative", Float),
    Column("content_hash", String(64), nullable=False),  # text the label was made from
    Column("analyzed_at", DateTime, nullable=False),
)

indicators = Table(
    "indicators",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("indicator", String(32), primary_key=True),
    Column("evidence", Text, nullable=False),  # the phrase(s) that matched
    Column("taxonomy", String(64), nullable=False),  # taxonomy version
    Column("content_hash", String(64), nullable=False),
    Column("tagged_at", DateTime, nullable=False),
    Column("signal", String(16)),  # complaint / praise / mixed / mention (the taxonomy's cue)
)

# One row per mention the indicator tagger has read, even when nothing matched, so "tagged,
# no indicator" differs from "not tagged yet" without a sentinel row in ``indicators``.
indicator_tagging = Table(
    "indicator_tagging",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("taxonomy", String(64), nullable=False),  # version@fingerprint of the taxonomy used
    Column("content_hash", String(64), nullable=False),
    Column("n_indicators", Integer, nullable=False),
    Column("tagged_at", DateTime, nullable=False),
)

# What the last crawl of a target could not collect: entries skipped as malformed (counted) and
# the work a failed crawl left (e.g. YouTube threads whose replies failed) for the next crawl to
# resume first. A table of its own so stores made before it gain it without a migration.
crawl_gaps = Table(
    "crawl_gaps",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("target", String(255), primary_key=True),
    Column("lang", String(16), primary_key=True, default=""),
    Column("country", String(16), primary_key=True, default=""),
    Column("skipped", Integer, nullable=False, default=0),  # entries dropped by the last crawl
    Column("detail", Text),  # what was skipped, e.g. "3 feed entries with a non-numeric rating"
    Column("pending", Text),  # JSON list of work to resume (ids only, never personal data)
    Column("at", DateTime),
)

MENTION_FIELDS = [c.name for c in mentions.columns if c.name != "id"]
# Fields whose change makes a new version of a mention.
HASHED_FIELDS = ("title", "text", "rating", "reply_text")
# Fields an unchanged mention still refreshes (likes, fetch time, ...).
_REFRESHED = ("thumbs_up", "fetched_at", "reply_at", "app_version", "url")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc(value: Any) -> datetime | None:
    """Any datetime, epoch seconds or ISO string -> naive UTC (None stays None)."""
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        ts = pd.Timestamp(value)
        value = ts.to_pydatetime()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise InputError(f"not a date or time: {value!r}")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# json.dumps with options builds a new encoder per call; this one writes the same text.
_HASH_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
_json_str = json.encoder.encode_basestring  # ensure_ascii=False's string form


def _json_item(v: Any) -> str | None:
    """``v`` as json.dumps writes it inside a list, for the common types; None for any other."""
    if v is None:
        return "null"
    if v.__class__ is str:
        return _json_str(v)
    if v.__class__ is float and math.isfinite(v):
        return float.__repr__(v)
    return None


def content_hash(row: dict) -> str:
    parts = [_json_item(row.get(k)) for k in HASHED_FIELDS]
    if None in parts:
        payload = _HASH_JSON.encode([row.get(k) for k in HASHED_FIELDS])
    else:  # the same text, without the encoder's per-call set-up (a large import hashes every row)
        payload = "[" + ", ".join(parts) + "]"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged

    def __iadd__(self, other: "UpsertResult") -> "UpsertResult":
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


_MENTION_FIELD_SET = frozenset(MENTION_FIELDS)
_TIME_FIELDS = ("created_at", "updated_at", "reply_at", "fetched_at")


def _sqlite_value(v: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (datetimes as its DATETIME text)."""
    return v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v


SENTIMENT_FIELDS = ("mention_id", "model", "label", "p_positive", "p_neutral", "p_negative", "content_hash",
                    "analyzed_at")
INDICATOR_FIELDS = ("mention_id", "indicator", "evidence", "signal", "taxonomy", "content_hash", "tagged_at")
TAGGING_FIELDS = ("mention_id", "taxonomy", "content_hash", "n_indicators", "tagged_at")
_IN = 500  # ids per IN (...) clause: well under every database's parameter limit


def _raw_insert(table: str, fields: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"


def _raw_upsert(table: str, fields: Sequence[str], keys: Sequence[str]) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in fields if c not in keys)
    return f"{_raw_insert(table, fields)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


def _same(v: Any) -> Any:
    return v


def _prepare(row: dict, fetched_at: datetime) -> dict:
    if not _MENTION_FIELD_SET.issuperset(row):
        unknown = set(row) - _MENTION_FIELD_SET
        raise InputError(f"unknown mention field(s): {', '.join(sorted(unknown))}")
    for req in ("source", "source_id", "app"):
        if row.get(req) in (None, ""):
            raise InputError(f"mention is missing required field {req!r}")
    out = dict.fromkeys(MENTION_FIELDS)
    out.update(row)
    out["source_id"] = str(out["source_id"])
    out["text"] = out["text"] or ""
    out["kind"] = out["kind"] or "review"
    for k in _TIME_FIELDS:
        v = out[k]
        # A naive datetime (an importer's rows) is already what to_utc returns.
        if v is not None and not (v.__class__ is datetime and v.tzinfo is None):
            out[k] = to_utc(v)
    out["fetched_at"] = out["fetched_at"] or fetched_at
    if out["rating"] is not None:
        out["rating"] = float(out["rating"])
    out["content_hash"] = content_hash(out)
    return out


class Store:
    """A handle on the store. ``Store()`` opens ``$SUARA_DB`` or the default SQLite file."""

    def __init__(self, url: str | None = None, *, create: bool = True):
        self.url = url or default_db_url()
        try:
            if self.url.startswith("sqlite:///"):
                path = self.url[len("sqlite:///") :]
                if path and path != ":memory:":
                    _check_sqlite_path(Path(path))
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url, future=True)
        except (ArgumentError, ImportError, OSError) as exc:
            raise InputError(f"cannot open database URL {self.url!r}: {getattr(exc, 'strerror', None) or exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if create:
            self._create_schema()

    def _create_schema(self) -> None:
        # Two commands opening a new store at once both see "no table" and both CREATE; the
        # loser's error means the schema now exists, so check again instead of failing.
        for attempt in range(5):
            try:
                metadata.create_all(self.engine)
                return
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                text = str(exc.orig).lower()
                if attempt < 4 and ("already exists" in text or "duplicate" in text):
                    continue
                raise store_error(exc, self.safe_url, "open") from exc
            except DatabaseError as exc:  # e.g. "file is not a database"
                raise store_error(exc, self.safe_url, "open") from exc

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        # In a notebook, `store` alone says which database it opened (and never shows a password).
        return f"Store({self.safe_url!r})"

    # ---- mentions ---------------------------------------------------------------------------

    def upsert_mentions(self, rows: Iterable[dict], conn: Connection | None = None) -> UpsertResult:
        """Insert new mentions, version and update edited ones, skip unchanged ones.

        Idempotent: the same rows twice store nothing the second time.
        """
        if conn is None:
            with self.engine.begin() as c:
                return self.upsert_mentions(rows, c)
        now = utcnow()
        prepared: dict[tuple[str, str], dict] = {}
        for row in rows:
            p = _prepare(row, now)
            prepared[(p["source"], p["source_id"])] = p  # last one wins within a batch
        result = UpsertResult()
        if not prepared:
            return result
        by_source: dict[str, list[str]] = {}
        for source, sid in prepared:
            by_source.setdefault(source, []).append(sid)
        # On SQLite, plain SQL with values in the stored text form: SQLAlchemy's per-value bind and
        # result processing cost more than SQLite itself in a large import. Compared values below
        # are then in that form too (``_db``).
        raw = self.dialect == "sqlite"
        db = _sqlite_value if raw else _same
        existing = self._existing(conn, by_source, raw)
        inserted = self._insert_new_many(conn, [p for key, p in prepared.items() if key not in existing])
        result.new += len(inserted)
        refresh: dict[tuple[str, ...], list[dict]] = {}
        edited: list[tuple[int, dict]] = []
        for key, p in prepared.items():
            if key in inserted:
                continue
            old = existing.get(key)
            if old is None:
                # A concurrent writer inserted it first: treat it as an existing row.
                old = self._existing(conn, {key[0]: [key[1]]}, raw)[key]
            if old["content_hash"] == p["content_hash"]:
                # Same content; refresh fields that change without an edit (likes, fetch time).
                changes = {}
                for k in _REFRESHED:
                    v = p[k]
                    if v is not None:
                        v = db(v)
                        if v != old[k]:
                            changes[k] = v
                if changes:
                    changes["_id"] = old["id"]
                    refresh.setdefault(tuple(changes), []).append(changes)
                result.unchanged += 1
                continue
            edited.append((old["id"], p))
        # One executemany per set of changed columns instead of one UPDATE per row.
        for cols, params in refresh.items():
            if raw:
                sets = ", ".join(f"{k} = ?" for k in cols if k != "_id")
                conn.exec_driver_sql(f"UPDATE mentions SET {sets} WHERE id = ?", [tuple(d.values()) for d in params])
            else:
                # The SET clause comes from the parameters' column names (the same in every dict of a group).
                conn.execute(update(mentions).where(mentions.c.id == bindparam("_id")), params)
        if edited:
            result.updated += self._version_edits(conn, edited, now)
        return result

    def _existing(self, conn: Connection, by_source: dict[str, list[str]], raw: bool) -> dict[tuple[str, str], Any]:
        """(source, source_id) -> the stored id, content hash and refreshed fields of those stored.

        Only what deciding needs: reading every stored text and time back made re-imports slow."""
        existing: dict[tuple[str, str], Any] = {}
        names = ("id", "source", "source_id", "content_hash", *_REFRESHED)
        light = [mentions.c[k] for k in names]
        for source, sids in by_source.items():
            for chunk in _chunks(sids, 500):
                if raw:
                    q = (f"SELECT {', '.join(names)} FROM mentions "
                         f"WHERE source = ? AND source_id IN ({', '.join('?' * len(chunk))})")
                    res = conn.exec_driver_sql(q, (source, *chunk))
                else:
                    res = conn.execute(select(*light).where(mentions.c.source == source, mentions.c.source_id.in_(chunk)))
                for r in res.fetchall():
                    existing[(r[1], r[2])] = dict(zip(names, r))
        return existing

    def _version_edits(self, conn: Connection, edited: list[tuple[int, dict]], now: datetime) -> int:
        """Keep each edited mention's stored content as a version, then store the new one."""
        olds: dict[int, Any] = {}
        for chunk in _chunks([mid for mid, _ in edited], 500):
            for r in conn.execute(select(mentions).where(mentions.c.id.in_(chunk))).mappings():
                olds[r["id"]] = r
        conn.execute(mention_versions.insert(), [
            dict(mention_id=mid, title=olds[mid]["title"], text=olds[mid]["text"], rating=olds[mid]["rating"],
                 updated_at=olds[mid]["updated_at"], reply_text=olds[mid]["reply_text"],
                 reply_at=olds[mid]["reply_at"], content_hash=olds[mid]["content_hash"], superseded_at=now)
            for mid, _ in edited
        ])
        groups: dict[tuple[str, ...], list[dict]] = {}
        for mid, p in edited:
            old = olds[mid]
            values = {k: v for k, v in p.items() if k not in ("source", "source_id")}
            # Keep what the new payload does not know (a source may omit the creation time).
            for k, v in list(values.items()):
                if v is None and old[k] is not None and k not in HASHED_FIELDS:
                    values.pop(k)
            values["_id"] = mid
            groups.setdefault(tuple(values), []).append(values)
        for params in groups.values():
            # The SET clause comes from the parameters' column names (the same in every dict of a group).
            conn.execute(update(mentions).where(mentions.c.id == bindparam("_id")), params)
        return len(edited)

    def _insert_new_many(self, conn: Connection, rows: list[dict]) -> set[tuple[str, str]]:
        """Insert rows (all with the same keys) in one executemany per 500; the keys actually inserted.

        One statement per row spent most of an import building SQLAlchemy statements; SQLAlchemy
        sends an executemany with RETURNING as multi-row INSERTs on SQLite and PostgreSQL.
        """
        done: set[tuple[str, str]] = set()
        if not rows:
            return done
        if self.dialect not in ("sqlite", "postgresql"):
            for row in rows:
                if self._insert_new(conn, row):
                    done.add((row["source"], row["source_id"]))
            return done
        if self.dialect == "sqlite":
            return self._insert_new_sqlite(conn, rows)
        from sqlalchemy.dialects.postgresql import insert as dialect_insert

        stmt = (
            dialect_insert(mentions)
            .on_conflict_do_nothing(index_elements=["source", "source_id"])
            .returning(mentions.c.source, mentions.c.source_id)
        )
        for chunk in _chunks(rows, 500):
            # RETURNING yields only the rows inserted: a row a concurrent writer stored first is absent.
            done.update((r[0], r[1]) for r in conn.execute(stmt, chunk))
        return done

    def _insert_new_sqlite(self, conn: Connection, rows: list[dict]) -> set[tuple[str, str]]:
        """SQLite: a plain executemany (RETURNING and SQLAlchemy's per-value processing cost more
        than the inserts). Rows a concurrent writer stored first are skipped by ON CONFLICT; they
        are told apart by rowid: once this INSERT began, the transaction holds the write lock, so
        the rows it added have the consecutive ids that end at last_insert_rowid()."""
        times = [i for i, k in enumerate(MENTION_FIELDS) if k in _TIME_FIELDS]
        params = []
        text: dict[datetime, str] = {}  # created = updated, one fetch time: each formatted once
        for p in rows:
            values = [p[k] for k in MENTION_FIELDS]
            for i in times:
                v = values[i]
                if v is not None:
                    t = text.get(v)
                    if t is None:
                        t = text[v] = _sqlite_value(v)
                    values[i] = t
            params.append(tuple(values))
        sql = (f"INSERT INTO mentions ({', '.join(MENTION_FIELDS)}) VALUES ({', '.join('?' * len(MENTION_FIELDS))}) "
               "ON CONFLICT (source, source_id) DO NOTHING")
        count = conn.exec_driver_sql(sql, params).rowcount
        if count == len(rows):
            return {(p["source"], p["source_id"]) for p in rows}
        if count <= 0:
            return set()
        last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
        res = conn.exec_driver_sql("SELECT source, source_id FROM mentions WHERE id > ? AND id <= ?", (last - count, last))
        return {(r[0], r[1]) for r in res}

    def _insert_new(self, conn: Connection, row: dict) -> bool:
        if self.dialect in ("sqlite", "postgresql"):
            if self.dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            stmt = (
                dialect_insert(mentions)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["source", "source_id"])
                .returning(mentions.c.id)
            )
            # rowcount is unreliable across drivers; RETURNING yields a row only when inserted.
            return conn.execute(stmt).first() is not None
        conn.execute(mentions.insert().values(**row))
        return True

    def known_hashes(self, source: str, source_ids: Sequence[str]) -> dict[str, str]:
        """source_id -> content hash for those already stored."""
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks([str(s) for s in source_ids], 500):
                q = select(mentions.c.source_id, mentions.c.content_hash).where(
                    mentions.c.source == source, mentions.c.source_id.in_(chunk)
                )
                out.update({r[0]: r[1] for r in conn.execute(q)})
        return out

    def count_mentions(self, source: str | None = None) -> int:
        q = select(func.count()).select_from(mentions)
        if source:
            q = q.where(mentions.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    # ---- crawl state --------------------------------------------------------------------------

    def get_state(self, source: str, target: str, lang: str = "", country: str = "") -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(crawl_state).where(*_state_key(source, target, lang, country))
            ).mappings().first()
            return dict(row) if row else None

    def put_state(
        self, source: str, target: str, lang: str = "", country: str = "", conn: Connection | None = None, **values
    ) -> None:
        """Create or update the crawl state of one target."""
        if conn is None:
            with self.engine.begin() as c:
                return self.put_state(source, target, lang, country, conn=c, **values)
        key = dict(source=source, target=target, lang=lang or "", country=country or "")
        found = conn.execute(select(crawl_state.c.source).where(*_state_key(**key))).first()
        if found:
            if values:
                conn.execute(update(crawl_state).where(*_state_key(**key)).values(**values))
        else:
            conn.execute(crawl_state.insert().values(**key, **values))

    def save_page(
        self,
        source: str,
        target: str,
        lang: str,
        country: str,
        rows: Iterable[dict],
        **state,
    ) -> UpsertResult:
        """Store one page of items and move the crawl checkpoint in the same transaction.

        A crash between pages therefore leaves either both or neither: resuming from the
        stored token never skips a page and never stores one twice.
        """
        with self.engine.begin() as conn:
            res = self.upsert_mentions(rows, conn)
            self.put_state(source, target, lang, country, conn=conn)  # make the row if it is missing
            c = crawl_state.c
            # Increment in the UPDATE itself: a read-then-write here lost or doubled counts when
            # two writers touched one state row at once.
            conn.execute(
                update(crawl_state)
                .where(*_state_key(source, target, lang, country))
                .values(
                    seen=func.coalesce(c.seen, 0) + res.seen,
                    new=func.coalesce(c.new, 0) + res.new,
                    updated=func.coalesce(c.updated, 0) + res.updated,
                    pages=func.coalesce(c.pages, 0) + 1,
                    **state,
                )
            )
            return res

    def states(self) -> pd.DataFrame:
        return self.table("crawl_state")

    # ---- run log ------------------------------------------------------------------------------

    def start_run(self, job: str, source: str | None = None, target: str | None = None) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                runs.insert().values(job=job, source=source, target=target, started_at=utcnow(), status="running")
            )
            return int(res.inserted_primary_key[0])

    def finish_run(
        self, run_id: int, status: str, result: UpsertResult | None = None, error: str | None = None
    ) -> None:
        values: dict[str, Any] = dict(finished_at=utcnow(), status=status, error=error)
        if result is not None:
            values.update(seen=result.seen, new=result.new, updated=result.updated)
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    # ---- reading --------------------------------------------------------------------------------

    def table(self, name: str) -> pd.DataFrame:
        """Any table as a DataFrame (for notebooks)."""
        t = metadata.tables.get(name)
        if t is None:
            raise InputError(f"no table {name!r}; tables: {', '.join(sorted(metadata.tables))}")
        with self.engine.connect() as conn:
            return pd.read_sql(select(t), conn)

    def mentions_df(self, source: str | None = None) -> pd.DataFrame:
        q = select(mentions).order_by(mentions.c.id)
        if source:
            q = q.where(mentions.c.source == source)
        with self.engine.connect() as conn:
            return pd.read_sql(q, conn)

    def versions_df(self) -> pd.DataFrame:
        return self.table("mention_versions")

    def runs_df(self) -> pd.DataFrame:
        return self.table("runs")

    # ---- sentiment labels (nlp / pipelines.analysis) ---------------------------------------------

    def _pending_sentiment_query(self, model: str, before: datetime | None):
        s = sentiments
        join = mentions.outerjoin(s, (s.c.mention_id == mentions.c.id) & (s.c.model == model))
        cond = (s.c.mention_id.is_(None)) | (s.c.content_hash != mentions.c.content_hash)
        if before is not None:  # --reanalyze: also everything labelled before this run started
            cond = cond | (s.c.analyzed_at < before)
        return join, cond

    def count_pending_sentiments(self, model: str, before: datetime | None = None) -> int:
        """Mentions without a current label from ``model`` (new, edited, or older than ``before``)."""
        join, cond = self._pending_sentiment_query(model, before)
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(join).where(cond)).scalar_one())

    def pending_sentiments(
        self, model: str, limit: int, after_id: int = 0, before: datetime | None = None
    ) -> list[dict]:
        """Up to ``limit`` mentions (id > ``after_id``, by id) that ``model`` has not labelled as they are now."""
        join, cond = self._pending_sentiment_query(model, before)
        q = (
            select(mentions.c.id, mentions.c.title, mentions.c.text, mentions.c.rating, mentions.c.content_hash)
            .select_from(join)
            .where(cond, mentions.c.id > after_id)
            .order_by(mentions.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def save_sentiments(self, rows: Sequence[dict]) -> int:
        """Insert or replace labels (one per mention and model) in ONE transaction."""
        if not rows:
            return 0
        with self.engine.begin() as conn:
            self.write_sentiments(conn, [tuple(r[c] for c in SENTIMENT_FIELDS) for r in rows])
        return len(rows)

    def write_sentiments(self, conn: Connection, rows: Sequence[tuple]) -> None:
        """Insert or replace labels inside the caller's transaction; rows are :data:`SENTIMENT_FIELDS` tuples."""
        if not rows:
            return
        keys = ("mention_id", "model")
        if self.dialect == "sqlite":
            # A plain executemany: SQLAlchemy's per-row parameter processing cost more than the writes.
            at = SENTIMENT_FIELDS.index("analyzed_at")
            conn.exec_driver_sql(_raw_upsert("sentiments", SENTIMENT_FIELDS, keys),
                                 [(*r[:at], _sqlite_value(r[at]), *r[at + 1:]) for r in rows])
            return
        dicts = [dict(zip(SENTIMENT_FIELDS, r)) for r in rows]
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert

            stmt = dialect_insert(sentiments)
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in SENTIMENT_FIELDS if c not in keys})
            conn.execute(stmt, dicts)
            return
        for r in dicts:
            conn.execute(sentiments.delete().where(sentiments.c.mention_id == r["mention_id"],
                                                   sentiments.c.model == r["model"]))
        conn.execute(sentiments.insert(), dicts)

    def replace_tags(self, conn: Connection, tagging_rows: Sequence[tuple], indicator_rows: Sequence[tuple]) -> None:
        """Replace the indicator tags of the mentions in ``tagging_rows`` inside the caller's transaction.

        ``tagging_rows`` are :data:`TAGGING_FIELDS` tuples (one per mention read by the tagger),
        ``indicator_rows`` :data:`INDICATOR_FIELDS` tuples (one per indicator found). A mention's
        earlier tags go first, so an indicator the text no longer shows is gone."""
        ids = [(r[0],) for r in tagging_rows]
        if not ids:
            return
        if self.dialect == "sqlite":
            # Plain executemany (see write_sentiments); a delete by primary key of a mention never
            # tagged costs one index probe.
            conn.exec_driver_sql("DELETE FROM indicators WHERE mention_id = ?", ids)
            conn.exec_driver_sql("DELETE FROM indicator_tagging WHERE mention_id = ?", ids)
            for table, fields, rows in (("indicators", INDICATOR_FIELDS, indicator_rows),
                                        ("indicator_tagging", TAGGING_FIELDS, tagging_rows)):
                if rows:
                    at = len(fields) - 1  # tagged_at, last
                    conn.exec_driver_sql(_raw_insert(table, fields), [(*r[:at], _sqlite_value(r[at])) for r in rows])
            return
        for chunk in _chunks(ids, _IN):
            part = [x[0] for x in chunk]
            conn.execute(indicators.delete().where(indicators.c.mention_id.in_(part)))
            conn.execute(indicator_tagging.delete().where(indicator_tagging.c.mention_id.in_(part)))
        if indicator_rows:
            conn.execute(indicators.insert(), [dict(zip(INDICATOR_FIELDS, r)) for r in indicator_rows])
        conn.execute(indicator_tagging.insert(), [dict(zip(TAGGING_FIELDS, r)) for r in tagging_rows])

    def sentiments_df(self, model: str | None = None) -> pd.DataFrame:
        """Labels joined to their mentions (id, source, app, created_at, text); one model or all."""
        q = (
            select(
                sentiments,
                mentions.c.source,
                mentions.c.app,
                mentions.c.kind,
                mentions.c.created_at,
                mentions.c.rating,
                mentions.c.text,
                (mentions.c.content_hash == sentiments.c.content_hash).label("current"),
            )
            .join(mentions, mentions.c.id == sentiments.c.mention_id)
            .order_by(sentiments.c.mention_id, sentiments.c.model)
        )
        if model:
            q = q.where(sentiments.c.model == model)
        with self.engine.connect() as conn:
            return pd.read_sql(q, conn)


    # ---- crawl gaps ---------------------------------------------------------------------------

    def put_gaps(self, source: str, target: str, lang: str = "", country: str = "", *, skipped: int = 0,
                 detail: str | None = None, pending: list | None = None) -> None:
        """Record what the crawl that just ended skipped and left to resume (replaces the last record)."""
        key = dict(source=source, target=target, lang=lang or "", country=country or "")
        values = dict(skipped=int(skipped), detail=detail, pending=json.dumps(pending) if pending else None,
                      at=utcnow())
        where = (crawl_gaps.c.source == source, crawl_gaps.c.target == target,
                 crawl_gaps.c.lang == (lang or ""), crawl_gaps.c.country == (country or ""))
        with self.engine.begin() as conn:
            if conn.execute(select(crawl_gaps.c.source).where(*where)).first():
                conn.execute(update(crawl_gaps).where(*where).values(**values))
            else:
                conn.execute(crawl_gaps.insert().values(**key, **values))

    def get_gaps(self, source: str, target: str, lang: str = "", country: str = "") -> dict:
        """The last crawl's gaps: ``{"skipped", "detail", "pending": list}`` (zeros when none)."""
        where = (crawl_gaps.c.source == source, crawl_gaps.c.target == target,
                 crawl_gaps.c.lang == (lang or ""), crawl_gaps.c.country == (country or ""))
        with self.engine.connect() as conn:
            row = conn.execute(select(crawl_gaps).where(*where)).mappings().first()
        if not row:
            return {"skipped": 0, "detail": None, "pending": []}
        try:
            pending = json.loads(row["pending"]) if row["pending"] else []
        except ValueError:
            pending = []
        return {"skipped": row["skipped"] or 0, "detail": row["detail"], "pending": pending}


def _state_key(source: str, target: str, lang: str = "", country: str = ""):
    return (
        crawl_state.c.source == source,
        crawl_state.c.target == target,
        crawl_state.c.lang == (lang or ""),
        crawl_state.c.country == (country or ""),
    )


def _chunks(seq: Sequence, n: int):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def busy_timeout_ms() -> int:
    """How long a writer waits for another's lock: ``$SUARA_BUSY_TIMEOUT`` seconds, default 120.

    Imports, analysis and crawls commit in bounded batches (about a second each), so two
    minutes only runs out when something holds the store far longer than Suara ever does.
    """
    raw = os.environ.get("SUARA_BUSY_TIMEOUT", "120")
    try:
        seconds = float(raw)
    except ValueError:
        raise InputError(f"SUARA_BUSY_TIMEOUT={raw!r} is not a number of seconds") from None
    return max(0, int(seconds * 1000))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL + busy timeout: two crawls writing at once wait for each other instead of failing.
    # The timeout goes first so that switching a new file to WAL also waits for a lock.
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _check_sqlite_path(path: Path) -> None:
    """A store path that cannot be an SQLite file: one clear line before SQLite says less."""
    if path.is_dir():
        raise InputError(f"database path {path} is a folder; give a file such as {path / 'suara.db'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"database path {path}: {parent} is a file, not a folder")
            break
    # Never open the file itself to look at it: closing any descriptor of a database releases
    # every POSIX lock this process holds on it, SQLite's included, and corrupts the store. A file
    # that is not a database is reported by SQLite ("file is not a database", see store_error).


def is_locked(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text or "lock timeout" in text


def store_error(exc: BaseException, where: str | None = None, doing: str = "write to") -> SuaraError:
    """A driver error as one line: a lock that timed out (exit 3) or a store that cannot be used (exit 2)."""
    reason = " ".join(str(getattr(exc, "orig", exc)).split())  # drivers' messages span lines; keep one
    where = f"database {where}" if where else "the store"
    if is_locked(exc):
        return StoreBusy(
            f"{where} is locked by another writer (waited {busy_timeout_ms() / 1000:g}s, "
            "$SUARA_BUSY_TIMEOUT); nothing was half-written, the crawl state is as it was, run again later"
        )
    if "not a database" in reason:
        return InputError(f"{where} is not an SQLite database (the file holds other data): {reason}")
    if "unable to open" in reason or "readonly" in reason:
        return InputError(f"cannot {doing} {where}: {reason}")
    return SuaraError(f"cannot {doing} {where}: {reason}")


def open_store(url: str | None = None) -> Store:
    return Store(url)


# Human validation (pipelines/labels.py, pipelines/validate.py): each drawn coding sample with
# its seed, and each coder's codes per mention (indicators as "key:polarity;...", polarity
# "-" complaint, "+" praise, "0" mention, the codebook's notation).
label_samples = Table(
    "label_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("n_requested", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("stratify", String(255), nullable=False, default=""),
    Column("filters", Text, nullable=False, default="{}"),  # JSON: source, app
    Column("mention_ids", Text, nullable=False),  # JSON list, in sheet order
    Column("sheet", Text),  # file name written (no folder: may be personal)
)

human_labels = Table(
    "human_labels",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("coder", String(64), primary_key=True),
    Column("sentiment", String(16), nullable=False),  # positive / neutral / negative
    Column("indicators", Text, nullable=False, default=""),  # "penanggapan:-;transparansi:0"
    Column("sample_id", Integer),
    Column("content_hash", String(64), nullable=False),  # the text the coder read
    Column("sheet", Text),
    Column("coded_at", DateTime, nullable=False),
)

# Coded mentions a sentiment model was fine-tuned on (by the model folder's name, which is the
# name part of its model id), so `suara validate` never scores a model on what it learnt from.
label_training = Table(
    "label_training",
    metadata,
    Column("model", String(255), primary_key=True),
    Column("mention_id", Integer, ForeignKey("mentions.id"), primary_key=True),
    Column("folder", Text),
    Column("trained_at", DateTime, nullable=False),
)
