"""Chunks of CPU-bound text work (lexicon/linear sentiment, indicator tagging) on every core.

The main process keeps the database: it reads pending chunks and writes each chunk's results in
its own transaction, in input order, while worker processes compute. A crash therefore loses at
most the chunks in flight, exactly as the one-process path, and a rerun picks up the rest.
Workers are forked so they start with the models the parent already loaded (no pickling of a
lexicon or tagger); where fork is unavailable the work runs in-process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from .errors import InputError

T = TypeVar("T")

_STATE: dict[str, Any] = {}  # what the forked worker computes with, set by _init


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    return workers


def _init(state: dict, engine) -> None:
    # Ctrl-C is the main process's to handle: it stops after the chunks in flight, quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE.update(state)
    if engine is not None:
        # The forked copy of the parent's connection pool must never be used or closed here.
        engine.dispose(close=False)


def _call(fn: Callable, payload):
    return fn(_STATE, payload)


def ordered_map(
    fn: Callable[[dict, Any], Any],
    state: dict,
    chunks: Iterable[tuple[T, Any]],
    workers: int,
    engine=None,
) -> Iterator[tuple[T, Any]]:
    """For each ``(chunk, payload)``, yield ``(chunk, fn(state, payload))`` in input order.

    ``fn`` must be a module-level function. With ``workers > 1`` payloads go to that many forked
    processes, at most ``workers + 1`` ahead of what the caller has consumed (bounded memory);
    the chunk itself stays in this process. ``engine`` (SQLAlchemy) is detached in the workers.
    """
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        for chunk, payload in chunks:
            yield chunk, fn(state, payload)
        return
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_init,
                               initargs=(state, engine))
    inflight: deque = deque()
    try:
        for chunk, payload in chunks:
            inflight.append((chunk, pool.submit(_call, fn, payload)))
            if len(inflight) > workers:
                chunk0, fut = inflight.popleft()
                yield chunk0, fut.result()
        while inflight:
            chunk0, fut = inflight.popleft()
            yield chunk0, fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
