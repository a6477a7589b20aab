"""A throwaway scrapyd host for the tests, with the project deployed as a team deploys it.

The host is what docs/operate.md describes: a scrapyd whose Python has Suara's dependencies but
not Suara itself, so every job imports the project from the egg that ``scrapyd-deploy`` built and
uploaded. This checkout's editable install would otherwise fill in anything missing from the egg
(scrapyd appends the egg to ``sys.path``), so the host's interpreter hides it (a
``sitecustomize`` on ``PYTHONPATH``) and :func:`project_importable` checks that it is hidden.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
PROJECT = "suara"
# What scrapyd-deploy reads of a checkout to build the egg (pyproject.toml, setup.py, packages, data).
_PROJECT_FILES = ("pyproject.toml", "setup.py", "scrapy.cfg", "README.md")
_PROJECT_DIRS = ("scraper", "nlp", "pipelines", "data")
# Never into a build: generated output and raw social-media exports (personal data).
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "out", "imports", "*.db")

_HIDE_EDITABLE = """\
# A scrapyd host has Suara's dependencies, not Suara: hide the checkout's editable install so that
# jobs import the project only from the deployed egg.
import os, sys
_repo = {repo!r}
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p and os.path.realpath(p or os.getcwd()) != _repo]
"""


class ScrapydUnavailable(RuntimeError):
    """scrapyd (or the deploy tool) is missing or did not start: the test skips, saying why."""


def copy_project(dest: Path) -> Path:
    """A copy of the checkout's project files (the build writes build/ and *.egg-info beside them)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in _PROJECT_FILES:
        shutil.copy2(REPO / name, dest / name)
    for name in _PROJECT_DIRS:
        shutil.copytree(REPO / name, dest / name, ignore=_IGNORE)
    return dest


def host_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a scrapyd host without Suara installed (see the module docstring)."""
    site = root / "host-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(_HIDE_EDITABLE.format(repo=os.path.realpath(REPO)), encoding="utf-8")
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return env


def project_importable(env: dict[str, str], cwd: Path) -> str | None:
    """Where ``scraper`` would be imported from under ``env`` (None: nowhere, as on a real host)."""
    code = "import importlib.util as u; s = u.find_spec('scraper'); print(s.origin if s else '')"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip() or None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool(name: str) -> str:
    """A console script of this interpreter's environment (scrapyd-deploy)."""
    path = Path(sys.executable).with_name(name)
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise ScrapydUnavailable(f"{name} not installed (pip install -e '.[test]')")
    return found


def build_egg(project_dir: Path, egg: Path) -> Path:
    """``scrapyd-deploy --build-egg``: the egg a deploy would upload."""
    done = subprocess.run([tool("scrapyd-deploy"), "--build-egg", str(egg)], cwd=project_dir,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and egg.exists(), f"scrapyd-deploy --build-egg failed:\n{done.stdout}{done.stderr}"
    return egg


def deploy(project_dir: Path, url: str, version: str, env: dict[str, str]) -> str:
    """``scrapyd-deploy`` to ``url`` as a team does: a target in the user's scrapy.cfg, not the project's.

    Returns the tool's output; raises AssertionError when the upload failed.
    """
    xdg = project_dir.parent / "deploy-config"
    xdg.mkdir(exist_ok=True)
    (xdg / "scrapy.cfg").write_text(f"[deploy:test]\nurl = {url}\nproject = {PROJECT}\n", encoding="utf-8")
    env = {**env, "XDG_CONFIG_HOME": str(xdg)}
    done = subprocess.run([tool("scrapyd-deploy"), "test", "-v", version], cwd=project_dir, env=env,
                          capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and '"status": "ok"' in output, f"scrapyd-deploy failed:\n{output}"
    return output


class Scrapyd:
    """One scrapyd process on a free local port, with its folders under ``root``."""

    def __init__(self, root: Path, env: dict[str, str], max_proc: int = 4):
        self.root = root
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs_dir = root / "logs"
        root.mkdir(parents=True, exist_ok=True)
        # items_dir empty: items go only through the project's pipelines (the store), not to feed files.
        (root / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            f"bind_address = 127.0.0.1\nhttp_port = {self.port}\n"
            f"eggs_dir = {root / 'eggs'}\nlogs_dir = {self.logs_dir}\ndbs_dir = {root / 'dbs'}\n"
            "items_dir =\njobs_dir =\n"
            f"max_proc = {max_proc}\npoll_interval = 0.2\nfinished_to_keep = 100\njobs_to_keep = 100\n",
            encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self._out = None

    def start(self, timeout: float = 30.0) -> "Scrapyd":
        try:
            import scrapyd  # noqa: F401
        except ImportError:
            raise ScrapydUnavailable("scrapyd not installed (pip install -e '.[test]')") from None
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._out = open(self.root / "scrapyd.out", "ab")
        # cwd: scrapyd reads ./scrapyd.conf last, so ours wins over /etc/scrapyd and ~/.scrapyd.conf.
        self.proc = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=self.root, env=self.env,
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/daemonstatus.json", timeout=2).json().get("status") == "ok":
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        tail = (self.root / "scrapyd.out").read_text(errors="replace")[-1500:]
        raise ScrapydUnavailable(f"scrapyd did not answer on {self.url} within {timeout:.0f} s:\n{tail}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # Its own process group: the crawls it launched stop with it.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._out is not None:
            self._out.close()
            self._out = None

    def __enter__(self) -> "Scrapyd":
        return self if self.proc is not None and self.proc.poll() is None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- the JSON API -------------------------------------------------------------------------

    def api(self, endpoint: str, data: list[tuple[str, str]] | None = None, **params) -> dict:
        if data is None:
            resp = requests.get(f"{self.url}/{endpoint}", params=params, timeout=30)
        else:
            resp = requests.post(f"{self.url}/{endpoint}", data=data, timeout=30)
        body = resp.json()
        assert resp.status_code == 200 and body.get("status") == "ok", f"{endpoint}: {resp.status_code} {body}"
        return body

    def schedule(self, spider: str, settings: dict[str, object], **args: str) -> str:
        """``schedule.json`` with ``setting=NAME=VALUE`` for each setting and the spider's arguments."""
        data = [("project", PROJECT), ("spider", spider)]
        data += [("setting", f"{k}={v}") for k, v in settings.items()]
        data += list(args.items())
        return self.api("schedule.json", data=data)["jobid"]

    def wait(self, jobs: list[str], timeout: float = 60.0) -> dict[str, dict]:
        """``listjobs.json`` entries of ``jobs`` once all have finished (start/end times parsed)."""
        deadline = time.monotonic() + timeout
        while True:
            listing = self.api("listjobs.json", project=PROJECT)
            finished = {j["id"]: j for j in listing["finished"] if j["id"] in jobs}
            if len(finished) == len(jobs):
                for j in finished.values():
                    j["start"] = datetime.fromisoformat(j["start_time"])
                    j["end"] = datetime.fromisoformat(j["end_time"])
                return finished
            if time.monotonic() > deadline:
                raise AssertionError(f"jobs not finished after {timeout:.0f} s: {listing}")
            time.sleep(0.3)

    def daemon_log(self, job: str) -> str:
        """scrapyd's own log lines about a job: its start, the job's stderr, how it ended."""
        text = (self.root / "scrapyd.out").read_text(encoding="utf-8", errors="replace")
        pids = set(re.findall(rf"job='{job}' pid=(\d+)", text))
        return "\n".join(line[:400] for line in text.splitlines()
                         if f"job='{job}'" in line or any(f",{pid}/std" in line for pid in pids))

    def log(self, spider: str, job: str) -> str:
        return (self.logs_dir / PROJECT / spider / f"{job}.log").read_text(encoding="utf-8", errors="replace")
