"""A run lock that is safe under cron.

The lock is an ``fcntl.flock`` on a file: the kernel drops it when the holder dies, so a
killed run can never wedge the schedule. The file also records who holds it (pid, host,
start time) so that a refused run can say whom it waited for, and a run that finds a
record without a live holder reports that it took over a stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
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

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            who = f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}" if holder else "another process"
            raise LockHeld(f"another suara run is in progress ({who}); lock file {self.path}") from None
        self.stale_holder = _read(fd) or None
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

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
