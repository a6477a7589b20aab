"""Write output files atomically through a temp file no one else can pre-create.

A fixed temp name (``.report.html.tmp``) lets anyone who can write to the output folder plant
a symlink there and have the next run write the report over a file of their choice. Here the
temp file comes from :func:`tempfile.mkstemp` (``O_CREAT | O_EXCL``, random name, same folder
so :func:`os.replace` stays atomic) and is written through the descriptor mkstemp returned,
never reopened by name; ``os.replace`` then swaps the name itself, so a symlink already
standing at the target is replaced, never followed. Every file Suara writes for people (CSVs,
``report.html``, charts, Markdown) goes through :func:`atomic_file`.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import InputError, SuaraError


def _cannot_write(path: Path, exc: OSError) -> SuaraError:
    # A path the user chose that cannot be written is bad input (exit 2); a full disk is not.
    cls = SuaraError if exc.errno in (errno.ENOSPC, errno.EIO) else InputError
    return cls(f"cannot write {path}: {exc.strerror or exc}")


def _plain_mode() -> int:
    # mkstemp makes the file private (0600); give it the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file that, once the block ends without error, replaces ``path`` in one step.

    On an exception the temp file is removed and ``path`` is left as it was. A target that is a
    folder, or a folder that cannot be made or written, is one :class:`InputError` naming the
    file (a full disk: :class:`SuaraError`).
    """
    path = Path(path)
    if path.is_dir():  # else the error would name the temp file, not what the user gave
        raise InputError(f"cannot write {path}: it is a folder; give a file name inside it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            os.fchmod(fh.fileno(), _plain_mode())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _cannot_write(path, exc) from exc
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    return write_bytes(path, text.encode(encoding))


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)
