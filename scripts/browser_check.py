"""Open report.html in headless Chromium at a desktop and a phone width, check it, take screenshots.

    .venv/bin/python scripts/browser_check.py data/out/demo/reports/report.html

Checks at each width: no horizontal overflow of the page, every chart image loaded, the
summary is the first section, quote cards are present, and no quote shows an unmasked phone
number or e-mail address. Screenshots go to ``<report folder>/screenshots/report-<width>.png``,
and the page printed to PDF (print stylesheet) to ``screenshots/report.pdf``.
Prints one JSON object; exits 0 when every check passes, 1 when one fails, 2 when no
Chromium is installed. ``tests/test_report_browser.py`` runs it on the demo's report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1280, 390)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Independent of pipelines.redact on purpose: the check must not trust the code it checks.
PHONE = re.compile(r"(?:\+62|\b62|\b0)[\s.()-]*8\d(?:[\s.-]*\d){7,10}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")

# Runs in the page after everything loaded and writes its findings into the DOM that
# --dump-dom prints.
_PROBE = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var first = document.querySelector('section');
  var r = {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    images: imgs.length,
    broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length,
    firstSection: first ? first.id : null,
    cards: document.querySelectorAll('article.card').length,
    quotes: Array.from(document.querySelectorAll('article.card blockquote.quote')).map(function (q) { return q.innerText; })
  };
  if (window.parent !== window) { window.parent.postMessage(JSON.stringify(r), '*'); return; }
  var pre = document.createElement('pre');
  pre.id = '__probe';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>
"""
# Chromium will not make a window narrower than 500 px, so a phone width is an iframe of that
# width inside a wider window: the page inside sees innerWidth == the phone's width.
MIN_WINDOW = 500
_FRAME = """<!DOCTYPE html><html><body style="margin:0;background:#fff">
<iframe src="{src}" style="width:{width}px;height:{height}px;border:0;display:block" scrolling="no"></iframe>
<script>window.addEventListener('message', function (e) {{
  var pre = document.createElement('pre'); pre.id = '__probe'; pre.textContent = e.data; document.body.appendChild(pre);
}});</script></body></html>"""


def find_browser() -> str | None:
    env = os.environ.get("SUARA_CHROMIUM")
    if env:
        return env if shutil.which(env) or Path(env).exists() else None
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def _run(browser: str, args: list[str], timeout: int = 120) -> str:
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--no-first-run", "--mute-audio", "--force-device-scale-factor=1", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return res.stdout


def probe(browser: str, report: Path, width: int, workdir: Path) -> dict:
    """The page's own measurements at ``width`` px."""
    page = report.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>")
    probed = workdir / f"probe-{width}.html"
    probed.write_text(page, encoding="utf-8")
    target = probed
    if width < MIN_WINDOW:
        target = workdir / f"frame-{width}.html"
        target.write_text(_FRAME.format(src=probed.name, width=width, height=900), encoding="utf-8")
    dom = _run(browser, [f"--window-size={max(width, MIN_WINDOW)},900", "--virtual-time-budget=10000", "--dump-dom",
                         target.as_uri()])
    m = re.search(r'<pre id="__probe">(.*?)</pre>', dom, re.S)
    if not m:
        raise RuntimeError(f"the probe did not report at {width}px (chromium printed {len(dom)} characters)")
    import html

    return json.loads(html.unescape(m.group(1)))


def check(report: Path, shots: Path | None = None) -> dict:
    """Run every check at every width; ``{"ok": bool, "widths": {w: {...}}, "screenshots": [...]}``."""
    browser = find_browser()
    if browser is None:
        return {"ok": False, "error": "no chromium installed", "browser": None}
    report = report.resolve()
    shots = shots or report.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    result = {"ok": True, "browser": browser, "widths": {}, "screenshots": []}
    with tempfile.TemporaryDirectory() as tmp:
        for width in WIDTHS:
            r = probe(browser, report, width, Path(tmp))
            leaks = [q for q in r["quotes"] if PHONE.search(q) or EMAIL.search(q)]
            problems = []
            if r["scrollWidth"] > r["innerWidth"] + 1:
                problems.append(f"page is {r['scrollWidth']}px wide in a {r['innerWidth']}px window")
            if r["broken"] or not r["images"]:
                problems.append(f"{r['broken']} of {r['images']} images did not load")
            if r["firstSection"] != "summary":
                problems.append(f"first section is {r['firstSection']!r}, not the summary")
            if not r["quotes"]:
                problems.append("no quote cards")
            if leaks:
                problems.append(f"{len(leaks)} quote(s) show a phone number or e-mail")
            shot = shots / f"report-{width}.png"
            height = min(int(r["height"]) + 20, 16000)
            target = report
            if width < MIN_WINDOW:
                target = Path(tmp) / f"shot-{width}.html"
                copy = Path(tmp) / report.name
                shutil.copyfile(report, copy)
                target.write_text(_FRAME.format(src=copy.name, width=width, height=height), encoding="utf-8")
            if shot.exists():
                shot.unlink()
            _run(browser, [f"--window-size={max(width, MIN_WINDOW)},{height}", "--virtual-time-budget=10000",
                           f"--screenshot={shot}", target.as_uri()])
            if shot.exists() and width < MIN_WINDOW:
                from PIL import Image  # matplotlib's dependency: crop the frame's width

                with Image.open(shot) as im:
                    im.crop((0, 0, width, im.size[1])).save(shot)
            if shot.exists():
                result["screenshots"].append(str(shot))
            else:
                problems.append("no screenshot written")
            result["widths"][width] = {k: r[k] for k in ("innerWidth", "scrollWidth", "height", "images", "broken",
                                                         "firstSection", "cards")} | {
                "quotes": len(r["quotes"]), "problems": problems}
            result["ok"] = result["ok"] and not problems
        # Print to PDF as a reader would (the print stylesheet applies).
        pdf = shots / "report.pdf"
        if pdf.exists():
            pdf.unlink()
        _run(browser, ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri()])
        result["pdf"] = str(pdf) if pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-" else None
        if result["pdf"] is None:
            result["ok"] = False
            result["pdf_problem"] = "printing to PDF wrote no PDF"
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    res = check(Path(argv[1]))
    print(json.dumps(res, indent=1))
    if res.get("browser") is None:
        return 2
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
