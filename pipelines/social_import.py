"""Import social-media export files (X, Instagram, TikTok, YouTube) into the store.

``import_export(store, path)`` detects the format from the file's own columns or keys (readers in
:mod:`scraper.exports`), validates the whole file, and stores it in one transaction: every row
or none. The rules are those of every other source:

* one ``mentions`` row per (source, source id), through :meth:`Store.upsert_mentions`, so
  importing an overlapping export again adds only what is new;
* authors only as :func:`~pipelines.privacy.pseudonymise` keys; handles, user ids, display
  names, avatars and locations are never stored or logged; ``@handles`` in texts become
  ``@[user]`` unless they are an official or listed public account;
* times in naive UTC (the readers convert from each tool's zone or ``tz``);
* ``kind`` post / comment / reply; thread and parent ids in the ``mention_threads`` table;
* a reply by the **official account** (``operators``, per source: the city's handle or id) is
  not a citizen's mention: it is stored as the operator's reply to its parent (``reply_text`` /
  ``reply_at``), the earliest one when there are several, so reply rate and latency
  (penanggapan) work as they do for store reviews. Other posts by the official account are
  skipped and counted.

google-play-scraper exports are handed to :func:`pipelines.importer.import_reviews` unchanged.
``import_paths`` imports files and folders listed in the sources config, skipping files whose
content (SHA-256) was imported before.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Column, DateTime, Integer, String, Table, Text, select, update

from scraper.exports import SOURCES, Context, Item, detect, load
from scraper.exports import zone as check_zone

from .errors import InputError, SuaraError
from .privacy import pseudonymise
from .store import MENTION_FIELDS, Store, UpsertResult, mentions, metadata, utcnow

log = logging.getLogger("suara.import")

# Thread structure of social mentions: which post/video/conversation, which parent.
mention_threads = Table(
    "mention_threads",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("source_id", String(255), primary_key=True),
    Column("thread_id", String(255)),
    Column("parent_id", String(255)),
)

# Files already imported, by content, so a folder of exports is imported once per file.
imported_files = Table(
    "imported_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("name", Text, nullable=False),  # file name only, for `suara status`-like listings
    Column("format", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("app", String(255)),
    Column("items", Integer, nullable=False, default=0),
    Column("imported_at", DateTime, nullable=False),
)

IMPORT_SUFFIXES = {".csv", ".json", ".jsonl", ".ndjson"}
MASK = "@[user]"
_HANDLE = re.compile(r"(?<![\w@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")


def ensure_tables(store: Store) -> None:
    metadata.create_all(store.engine, tables=[mention_threads, imported_files], checkfirst=True)


def _norm(names: Iterable[str]) -> set[str]:
    return {str(n).strip().lstrip("@").lower() for n in names if str(n).strip()}


def mask_handles(text: str, public: set[str]) -> str:
    """Replace @handles of private people by ``@[user]``; official/public accounts stay."""
    return _HANDLE.sub(lambda m: m.group(0) if m.group(1).lower() in public else MASK, text)


@dataclass
class ImportResult:
    path: Path
    format: str
    source: str
    app: str
    items: int = 0  # records read from the file (comments, replies, posts)
    stored: UpsertResult = field(default_factory=UpsertResult)
    operator_replies: int = 0  # official replies recorded as the reply to their parent
    operator_unmatched: int = 0  # official replies whose parent is neither in the file nor stored
    operator_posts: int = 0  # other posts/comments by the official account (not stored)
    skipped: bool = False  # already imported (same content)
    sha256: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"{self.path}: already imported (same content), skipped"
        s = self.stored
        text = (f"{self.path}: {self.format} ({self.source}), {self.items} item(s): {s.new} new, "
                f"{s.updated} updated, {s.unchanged} unchanged")
        if self.source != "playstore":
            text += f"; {self.operator_replies} official repl(ies) recorded"
            if self.operator_unmatched:
                text += f", {self.operator_unmatched} without their parent"
            if self.operator_posts:
                text += f"; {self.operator_posts} official post(s) skipped"
        return text


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_export(path: str | Path, source: str | None = None, tz: str = "UTC",
                announce: Callable[[str, str], None] | None = None):
    """(format, items) of a social export, validated; raises InputError on the first problem.

    ``announce(label, source)`` is called with the detected format before parsing."""
    path = Path(path)
    check_zone(tz)
    if source is not None and source not in (*SOURCES, "playstore"):
        raise InputError(f"unknown source {source!r}; choose from {', '.join((*SOURCES, 'playstore'))}")
    loaded = load(path)
    fmt = detect(loaded, source)
    if announce:
        announce(fmt.label, fmt.source)
    if fmt.parse is None:
        return fmt, []
    items = fmt.parse(Context(path, tz), loaded.units)
    for it in items:
        if it.kind not in ("post", "comment", "reply"):  # a reader bug, not the user's
            raise SuaraError(f"{path}: {it.where}: unexpected kind {it.kind!r}")
    return fmt, items


def _stored(conn, source: str, ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i in range(0, len(ids), 500):
        q = select(mentions).where(mentions.c.source == source, mentions.c.source_id.in_(ids[i:i + 500]))
        out.update({r["source_id"]: dict(r) for r in conn.execute(q).mappings()})
    return out


def _earlier(a: tuple | None, b: tuple | None) -> tuple | None:
    """The earlier of two (reply_at, reply_text) pairs."""
    if a is None or a[0] is None:
        return b if b is not None else a
    if b is None or b[0] is None:
        return a
    return a if a[0] <= b[0] else b


def import_export(store: Store, path: str | Path, source: str | None = None, label: str | None = None,
                  tz: str = "UTC", operators: dict[str, Iterable[str]] | None = None,
                  public_accounts: Iterable[str] = (), app_id: str | None = None,
                  lang: str | None = None, country: str | None = None,
                  announce: Callable[[str, str], None] | None = None) -> ImportResult:
    """Import one export file (all of it or nothing) and return what happened.

    ``operators``: per source, the official accounts (handles or ids); ``announce`` receives
    the detected format (the CLI prints it)."""
    path = Path(path)
    from scraper.exports import PLAYSTORE, sniff_playstore_csv

    try:
        if source in (None, "playstore") and sniff_playstore_csv(path):
            # Its importer streams and validates the whole file; loading it here would hold it all.
            check_zone(tz)
            fmt, items = PLAYSTORE, []
            if announce:
                announce(fmt.label, fmt.source)
        else:
            fmt, items = read_export(path, source, tz, announce)
    except InputError as exc:
        # A Play Store import (--app given) of a file with a header and no rows: its own importer
        # says what is missing, or takes a right header as a valid, empty export.
        if not (app_id and source in (None, "playstore") and "no records" in str(exc)):
            raise
        fmt, items = PLAYSTORE, []
    ensure_tables(store)
    sha = file_sha256(path)
    if fmt.source == "playstore":
        from .importer import import_reviews

        app = app_id or label
        if not app:
            raise InputError(f"{path}: a google-play-scraper export needs the app id (--app)")
        res = import_reviews(store, path, app, tz=tz, lang=lang, country=country)
        result = ImportResult(path, fmt.label, fmt.source, app, res.seen, res, sha256=sha)
        _record_file(store, result, fmt.name)
        return result

    src = fmt.source
    app = (label or path.name.split(".")[0]).strip()
    ops = _norm((operators or {}).get(src, ()))
    public = ops | _norm(public_accounts)
    result = ImportResult(path, fmt.label, src, app, len(items), sha256=sha)

    citizen: dict[str, Item] = {}
    official: list[Item] = []
    for it in items:
        if ops and it.author_names & ops:
            official.append(it)
        else:
            citizen[it.source_id] = it  # a tool that wrote an item twice: the last copy wins

    run_id = store.start_run("import", src, app)
    try:
        with store.engine.begin() as conn:
            wanted = sorted(set(citizen) | {o.parent_id for o in official if o.parent_id})
            stored = _stored(conn, src, wanted)
            replies: dict[str, tuple] = {}
            for o in sorted(official, key=lambda o: o.created_at):
                if not o.parent_id or (o.parent_id not in citizen and o.parent_id not in stored):
                    if o.parent_id:
                        result.operator_unmatched += 1
                    else:
                        result.operator_posts += 1
                    continue
                if o.parent_id in replies:
                    continue  # the first official reply is the response; later ones are follow-ups
                replies[o.parent_id] = (o.created_at, mask_handles(o.text, public))
                result.operator_replies += 1

            rows = []
            for sid, it in citizen.items():
                old = stored.get(sid)
                best = _earlier(replies.get(sid), (old["reply_at"], old["reply_text"]) if old and old["reply_text"] else None)
                rows.append({
                    "source": src, "source_id": sid, "app": old["app"] if old else app, "kind": it.kind,
                    "author_key": pseudonymise(src, it.author_id),
                    "text": mask_handles(it.text, public), "created_at": it.created_at,
                    "url": it.url, "lang": it.lang, "thumbs_up": it.thumbs_up,
                    "reply_text": best[1] if best else None, "reply_at": best[0] if best else None,
                })
            # Parents stored by an earlier import or crawl get the reply found in this file.
            for pid, reply in replies.items():
                if pid in citizen:
                    continue
                old = stored[pid]
                best = _earlier(reply, (old["reply_at"], old["reply_text"]) if old["reply_text"] else None)
                if best is reply:
                    row = {k: old[k] for k in MENTION_FIELDS if k not in ("content_hash", "fetched_at")}
                    row.update(reply_at=reply[0], reply_text=reply[1])
                    rows.append(row)
            rows.sort(key=lambda r: (r["created_at"] is None, r["created_at"] or 0, r["source_id"]))
            result.stored = store.upsert_mentions(rows, conn) if rows else UpsertResult()
            _save_threads(conn, src, citizen.values())
            _record_file(store, result, fmt.name, conn)
    except BaseException as exc:
        store.finish_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    store.finish_run(run_id, "ok", result.stored)
    log.info("%s", result.line())
    return result


def _save_threads(conn, source: str, items: Iterable[Item]) -> None:
    items = [it for it in items if it.thread_id or it.parent_id]
    if not items:
        return
    ids = [it.source_id for it in items]
    have: dict[str, tuple] = {}
    for i in range(0, len(ids), 500):
        q = select(mention_threads).where(mention_threads.c.source == source,
                                          mention_threads.c.source_id.in_(ids[i:i + 500]))
        have.update({r.source_id: (r.thread_id, r.parent_id) for r in conn.execute(q)})
    new = []
    for it in items:
        cur = have.get(it.source_id)
        val = (it.thread_id, it.parent_id)
        if cur is None:
            new.append({"source": source, "source_id": it.source_id, "thread_id": val[0], "parent_id": val[1]})
        elif cur != val:
            conn.execute(update(mention_threads).where(mention_threads.c.source == source,
                                                       mention_threads.c.source_id == it.source_id)
                         .values(thread_id=val[0], parent_id=val[1]))
    if new:
        conn.execute(mention_threads.insert(), new)


def _record_file(store: Store, result: ImportResult, fmt_name: str, conn=None) -> None:
    if conn is None:
        with store.engine.begin() as c:
            return _record_file(store, result, fmt_name, c)
    values = dict(name=result.path.name, format=fmt_name, source=result.source, app=result.app,
                  items=result.items, imported_at=utcnow())
    if conn.execute(select(imported_files.c.sha256).where(imported_files.c.sha256 == result.sha256)).first():
        conn.execute(update(imported_files).where(imported_files.c.sha256 == result.sha256).values(**values))
    else:
        conn.execute(imported_files.insert().values(sha256=result.sha256, **values))


def imported_hashes(store: Store) -> set[str]:
    ensure_tables(store)
    with store.engine.connect() as conn:
        return {r[0] for r in conn.execute(select(imported_files.c.sha256))}


def imported_files_frame(store: Store) -> pd.DataFrame:
    """Every imported file: sha256, name, format, source, app, items, imported_at."""
    ensure_tables(store)
    with store.engine.connect() as conn:
        return pd.read_sql(select(imported_files).order_by(imported_files.c.imported_at), conn)


def threads_frame(store: Store, source: str | None = None) -> pd.DataFrame:
    """Thread and parent ids of social mentions, joined to their mention ids."""
    ensure_tables(store)
    t = mention_threads
    q = select(mentions.c.id.label("mention_id"), t.c.source, t.c.source_id, t.c.thread_id, t.c.parent_id).join(
        mentions, (mentions.c.source == t.c.source) & (mentions.c.source_id == t.c.source_id))
    if source:
        q = q.where(t.c.source == source)
    with store.engine.connect() as conn:
        return pd.read_sql(q.order_by(mentions.c.id), conn)


# ---- the [imports] section of the sources config -----------------------------------------------


@dataclass
class ImportFolder:
    path: Path
    source: str | None = None
    label: str | None = None


@dataclass
class ImportsConfig:
    folders: list[ImportFolder] = field(default_factory=list)
    operators: dict[str, list[str]] = field(default_factory=dict)
    public_accounts: list[str] = field(default_factory=list)
    tz: str = "UTC"


def parse_imports(data: Any, config_path: Path, repo_root: Path) -> ImportsConfig:
    """Validate ``[imports]``: ``tz``, ``public_accounts``, ``[imports.operators]``, ``[[imports.folders]]``."""
    def fail(key: str, problem: str):
        raise InputError(f"{config_path}: imports.{key}: {problem}")

    def strings(value: Any, key: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            fail(key, f"must be a list of non-empty strings, got {value!r}")
        return [v.strip() for v in value]

    if not isinstance(data, dict):
        raise InputError(f"{config_path}: imports: must be a table")
    unknown = sorted(set(data) - {"tz", "public_accounts", "operators", "folders"})
    if unknown:
        fail(unknown[0], "unknown key (allowed: folders, operators, public_accounts, tz)")
    cfg = ImportsConfig()
    tz = data.get("tz", "UTC")
    if not isinstance(tz, str):
        fail("tz", f"must be a time zone name, got {tz!r}")
    try:
        check_zone(tz)
    except InputError:
        fail("tz", f"unknown time zone {tz!r} (use an IANA name such as Asia/Jakarta)")
    cfg.tz = tz
    cfg.public_accounts = strings(data.get("public_accounts", []), "public_accounts")
    ops = data.get("operators", {})
    if not isinstance(ops, dict):
        fail("operators", "must be a table like { x = [\"handle\"] }")
    for src, names in ops.items():
        if src not in SOURCES:
            fail(f"operators.{src}", f"unknown source (allowed: {', '.join(SOURCES)})")
        cfg.operators[src] = strings(names, f"operators.{src}")
    folders = data.get("folders", [])
    if not isinstance(folders, list):
        fail("folders", "must be a list of [[imports.folders]] tables")
    for i, e in enumerate(folders):
        key = f"folders[{i}]"
        if not isinstance(e, dict):
            fail(key, "must be a table with path (and optional source, label)")
        bad = sorted(set(e) - {"path", "source", "label"})
        if bad:
            fail(f"{key}.{bad[0]}", "unknown key (allowed: path, source, label)")
        p = e.get("path")
        if not isinstance(p, str) or not p.strip():
            fail(f"{key}.path", "missing: a file or folder of exports")
        src = e.get("source")
        if src is not None and src not in (*SOURCES, "playstore"):
            fail(f"{key}.source", f"must be one of {', '.join(SOURCES)}, got {src!r}")
        label = e.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            fail(f"{key}.label", "must be a non-empty string")
        fp = Path(p.strip()).expanduser()
        if not fp.is_absolute():
            fp = (config_path.parent / fp) if (config_path.parent / fp).exists() else (repo_root / fp)
        cfg.folders.append(ImportFolder(fp, src, label.strip() if label else None))
    return cfg


def export_files(path: Path) -> list[Path]:
    """The export files under a folder (sorted), or the file itself."""
    if path.is_file():
        return [path]
    out = []
    for p in sorted(path.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
            continue
        if p.suffix.lower() in IMPORT_SUFFIXES and not _instaloader_metadata(p):
            out.append(p)
    return out


def _instaloader_metadata(p: Path) -> bool:
    # Instaloader --no-compress-json writes each post's metadata as <date>_UTC.json beside the
    # comments; it is not a comment export.
    return p.suffix == ".json" and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC(_\d+)?\.json", p.name))


def import_paths(store: Store, cfg: ImportsConfig) -> tuple[list[ImportResult], list[str]]:
    """Import every new file of every configured folder; (results, errors). One bad file does not
    stop the others; files whose content was imported before are skipped."""
    done = imported_hashes(store)
    results: list[ImportResult] = []
    errors: list[str] = []
    for folder in cfg.folders:
        if not folder.path.exists():
            errors.append(f"{folder.path}: not found")
            continue
        for f in export_files(folder.path):
            sha = file_sha256(f)
            if sha in done:
                results.append(ImportResult(f, "", folder.source or "", folder.label or "", skipped=True, sha256=sha))
                continue
            try:
                r = import_export(store, f, source=folder.source, label=folder.label, tz=cfg.tz,
                                  operators=cfg.operators, public_accounts=cfg.public_accounts)
            except InputError as exc:
                errors.append(str(exc))
                continue
            done.add(sha)
            results.append(r)
    return results, errors
