"""report.html in a real browser: headless Chromium at a desktop and a phone width.

Skipped where no Chromium is installed (`apt-get install chromium`); the check itself is
scripts/browser_check.py, which a person can run on any report.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipelines.demo import run_demo

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("browser_check", ROOT / "scripts" / "browser_check.py")
browser_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser_check)

pytestmark = pytest.mark.skipif(browser_check.find_browser() is None, reason="no chromium installed")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::nlp.sentiment.FallbackWarning")
def test_demo_report_in_headless_chromium(tmp_path):
    summary, _ = run_demo(tmp_path / "demo")
    assert summary.ok, summary.error_line()
    report = tmp_path / "demo" / "reports" / "report.html"
    # The demo's samples include reviews carrying a phone number, an e-mail, a NIK and a handle.
    assert "0812-3456-7890" not in report.read_text(encoding="utf-8")
    res = browser_check.check(report)
    for width in browser_check.WIDTHS:
        w = res["widths"][width]
        assert w["problems"] == [], (width, w)
        assert w["innerWidth"] == width and w["scrollWidth"] <= width
        assert w["firstSection"] == "summary" and w["cards"] == 6 and w["quotes"] >= 6
        assert w["images"] >= 4 and w["broken"] == 0
    assert res["ok"]
    for shot in res["screenshots"]:
        assert Path(shot).read_bytes().startswith(b"\x89PNG")
    assert sorted(Path(s).name for s in res["screenshots"]) == ["report-1280.png", "report-390.png"]
