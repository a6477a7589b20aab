"""suara run / status / schedule: the lock, failure isolation and the status report."""

import json
import multiprocessing as mp
import os

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.store import Store
from pipelines.errors import InputError, SuaraError
from pipelines.lock import LockHeld, RunLock
from pipelines.schedule import make_trigger, parse_every


def _hold(path, ready, release):
    with RunLock(path):
        ready.set()
        release.wait(30)


def _start_holder(path):
    """Another process that holds the lock until ``release`` is set."""
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, ready, release))
    holder.start()
    assert ready.wait(30)
    return holder, release


def test_overlapping_run_is_refused(tmp_path):
    path = tmp_path / "run.lock"
    holder, release = _start_holder(path)
    try:
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            RunLock(path).acquire()
    finally:
        release.set()
        holder.join(30)
    with RunLock(path) as lock:  # released once the holder is done
        assert lock.stale_holder is None


def test_stale_lock_of_a_killed_run_is_taken_over(tmp_path):
    path = tmp_path / "run.lock"
    holder, _ = _start_holder(path)
    holder.kill()  # a run killed mid-way leaves its record but not its lock
    holder.join(30)
    assert json.loads(path.read_text())["pid"] == holder.pid
    with RunLock(path) as lock:
        assert lock.stale_holder["pid"] == holder.pid
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_planted_symlink_at_the_lock_path_is_refused_not_followed(tmp_path):
    victim = tmp_path / "suara.db"
    victim.write_bytes(b"precious")
    path = tmp_path / "run.lock"
    path.symlink_to(victim)
    with pytest.raises(SuaraError, match="is a symbolic link"):
        RunLock(path).acquire()
    assert victim.read_bytes() == b"precious"  # not truncated, not overwritten with the record
    path.unlink()
    (tmp_path / "run.lock").mkdir()
    with pytest.raises(SuaraError, match="not a regular file|cannot open lock file"):
        RunLock(path).acquire()


@pytest.mark.parametrize("text,seconds", [("6h", 21600), ("30m", 1800), ("1d12h", 129600)])
def test_parse_every(text, seconds):
    assert parse_every(text).total_seconds() == seconds


@pytest.mark.parametrize("every,cron", [("6x", None), (None, "61 * * * *"), (None, None), ("1h", "0 * * * *")])
def test_bad_schedule_is_one_clear_error(every, cron):
    with pytest.raises(InputError):
        make_trigger(every, cron)


def test_schedule_cli_rejects_bad_interval():
    res = CliRunner().invoke(app, ["schedule", "--every", "soon"])
    assert res.exit_code == 2
    assert "is not an interval" in res.output


def test_unwritable_output_is_one_line_not_a_traceback(tmp_path, db_url):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder should be
    res = CliRunner().invoke(app, ["export", "--db", db_url, "--out", str(blocker / "sub" / "m.csv")])
    assert res.exit_code == 2  # a path the user gave: bad input, as the README says
    assert res.output.startswith("error: cannot write") and "Traceback" not in res.output


def test_global_db_option_reaches_the_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'global.db'}"
    Store(url).close()  # status reads a store; it never makes an empty one
    res = CliRunner().invoke(app, ["--db", url, "status"])
    assert res.exit_code == 0, res.output
    assert f"store: {url}" in res.output and "no run yet" in res.output
    assert os.environ.pop("SUARA_DB") == url  # the option sets it for the command that follows
