"""A run lock that is safe under cron.

The lock is an ``fcntl.flock`` on a file: the kernel drops it when the holder dies, so a
killed run can never wedge the schedule. The file also records who holds it (pid, host,
start time) so that a refused run can say whom it waited for, and a run that finds a
record without a live holder reports that it took over a stale lock.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import SuaraError


class LockHeld(SuaraError):
    exit_code = 75  # EX_TEMPFAIL: cron may simply try again later


@dataclass
class RunLock:
    path: Path
    stale_holder: dict | None = None  # the record a dead run left behind, if any
    _fd: int | None = None
    what: str = "suara run"  # named in the refusal: "another <what> is in progress"

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: the lock file is truncated and rewritten, so a symlink planted at its path
        # must not redirect that write to another file (e.g. the store).
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SuaraError(f"lock file {self.path} is a symbolic link; remove it and try again") from None
            raise SuaraError(f"cannot open lock file {self.path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SuaraError(f"lock file {self.path} is not a regular file; remove it and try again")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            who = f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}" if holder else "another process"
            raise LockHeld(f"another {self.what} is in progress ({who}); lock file {self.path}") from None
        self.stale_holder = _read(fd) or None
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def note(self, **extra) -> None:
        """Add to the holder's record (e.g. the run id, so a takeover can close that run)."""
        if self._fd is None:
            return
        record = {**(_read(self._fd) or {}), **extra}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(record).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        # Empty the record first so the next run does not report a stale takeover.
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read(fd: int) -> dict:
    try:
        raw = os.pread(fd, 4096, 0)
        return json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "started": "?"}


def store_lock_stem(url) -> Path | None:
    """Where the locks of an SQLite store live: beside the file it really is (symlinks resolved),
    so every path that names one store names one lock. None for server databases."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(os.path.realpath(url.database))
    return None


def crawl_lock(store, source: str, target: str, lang: str = "", country: str = "") -> RunLock:
    """A lock for one crawl target of one store: two crawls of it at once would both reset and
    add to its crawl-state counters (and fetch everything twice)."""
    from .paths import output_dir

    key = hashlib.sha256("\x1f".join([source, target, lang or "", country or ""]).encode()).hexdigest()[:16]
    stem = store_lock_stem(store.engine.url)
    if stem is not None:
        path = stem.parent / f".{stem.name}.crawl-{key}.lock"
    else:
        store_key = hashlib.sha256(store.safe_url.encode()).hexdigest()[:12]
        path = output_dir() / "locks" / f"crawl-{store_key}-{key}.lock"
    what = f"crawl of {source} {target}" + (f" ({lang}-{country})" if lang or country else "")
    return RunLock(path, what=what)
