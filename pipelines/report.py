"""Charts (PNG, matplotlib) and one self-contained ``report.html``.

The HTML embeds its charts as base64 ``data:`` URIs and its tables as escaped HTML, with
inline CSS and no scripts, so it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window (servers, CI)
# App ids and queries go into titles and legends; "$\undefined$" must print as text, not fail mathtext.
matplotlib.rcParams["text.parse_math"] = False
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402

from .trends import DISPLAY  # noqa: E402

_COLOURS = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30638e", "#a05195"]
_VERDICT_BAND = {"poor": "#f4c7c3", "fair": "#fce8b2", "good": "#b7e1cd"}


def _ticks(ax, labels: list[str]) -> None:
    """At most ~12 readable x labels, whatever the number of periods."""
    step = max(1, math.ceil(len(labels) / 12))
    pos = list(range(0, len(labels), step))
    ax.set_xticks(pos)
    ax.set_xticklabels([labels[i] for i in pos], rotation=45, ha="right", fontsize=8)


def _legend(ax) -> None:
    # Outside the axes, to the right: long app ids would otherwise hide the lines.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_sentiment(df: pd.DataFrame, path, title: str = "Sentiment over time") -> Path:
    """Net sentiment, negative share (95% Wilson interval as error bars) and mentions per period,
    one line per source/app."""
    path = Path(path)
    labels = list(dict.fromkeys(df["period"]))
    x = {p: i for i, p in enumerate(labels)}
    fig, (ax0, ax1, ax2) = plt.subplots(3, 1, figsize=(9, 8), sharex=True,
                                        gridspec_kw={"height_ratios": [2, 2, 1]})
    series = list(df.groupby(["source", "app"], sort=True))
    for i, ((source, app_), g) in enumerate(series):
        c = _COLOURS[i % len(_COLOURS)]
        xs = [x[p] for p in g["period"]]
        dodge = (i - (len(series) - 1) / 2) * min(0.08, 0.4 / max(len(series), 1))  # keep error bars apart
        name = f"{source} · {app_}"
        ax0.plot(xs, g["net_sentiment"].astype(float), marker="o", ms=3, color=c, label=name)
        share = g["negative_share"].astype(float)
        # Error bars, not a filled band: periods with no mentions leave gaps a band cannot cross.
        ax1.errorbar([v + dodge for v in xs], share, yerr=[share - g["negative_share_low"].astype(float),
                                      g["negative_share_high"].astype(float) - share],
                     marker="o", ms=3, color=c, ecolor=c, elinewidth=1, capsize=2, alpha=0.9, label=name)
        ax2.plot(xs, g["mentions"], marker=".", color=c, label=name)
    ax0.set_ylim(-1.05, 1.05)
    ax0.axhline(0, color="#999", lw=0.8)
    ax0.set_ylabel("net sentiment\n(pos − neg share)")
    model = df["model"].iloc[0] if len(df) else ""
    ax0.set_title(f"{title}" + (f" (model: {model})" if model else ""), fontsize=10)
    ax0.grid(alpha=0.3)
    if len(df):
        _legend(ax0)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("negative share\n(95% CI)")
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("mentions")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3)
    _ticks(ax2, labels)
    return _save(fig, path)


def plot_indicators(df: pd.DataFrame, path, title: str = "Complaints by indicator") -> Path:
    """Complaints (negative mentions carrying the indicator) per period, one line per indicator."""
    path = Path(path)
    labels = list(dict.fromkeys(df["period"]))
    x = {p: i for i, p in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, ind in enumerate(dict.fromkeys(df["indicator"])):
        g = df[df["indicator"] == ind]
        ax.plot([x[p] for p in g["period"]], g["complaints"], marker="o", ms=3,
                color=_COLOURS[i % len(_COLOURS)], label=DISPLAY.get(ind, ind))
    ax.set_ylabel("complaints")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, int(df["complaints"].max()) if len(df) else 1) * 1.1)
    model = df["model"].iloc[0] if len(df) else ""
    if len(df) and not model:
        ax.text(0.5, 0.5, "no sentiment labels yet: a complaint is a negative mention", ha="center",
                va="center", transform=ax.transAxes, color="#666")
    ax.set_title(title + (f" (model: {model})" if model else ""), fontsize=10)
    ax.grid(alpha=0.3)
    if len(df):
        _legend(ax)
    else:
        ax.text(0.5, 0.5, "no indicator tags in this range", ha="center", va="center", transform=ax.transAxes)
    _ticks(ax, labels)
    return _save(fig, path)


def plot_responsiveness(df: pd.DataFrame, path, title: str = "Developer replies to reviews") -> Path:
    """Reply rate and median reply latency per period, one line per source/app."""
    path = Path(path)
    labels = list(dict.fromkeys(df["period"]))
    x = {p: i for i, p in enumerate(labels)}
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for i, ((source, app_), g) in enumerate(df.groupby(["source", "app"], sort=True)):
        c = _COLOURS[i % len(_COLOURS)]
        xs = [x[p] for p in g["period"]]
        ax1.plot(xs, g["reply_rate"], marker="o", ms=3, color=c, label=f"{source} · {app_}")
        ax2.plot(xs, g["median_reply_latency_days"], marker="o", ms=3, color=c)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("reply rate")
    ax1.set_title(title, fontsize=10)
    ax1.grid(alpha=0.3)
    if len(df):
        _legend(ax1)
    ax2.set_ylabel("median latency (days)")
    ax2.set_ylim(bottom=0)
    ax2.grid(alpha=0.3)
    _ticks(ax2, labels)
    return _save(fig, path)


def plot_dumbbell(tri: pd.DataFrame, path, title: str = "Survey versus reviews per indicator") -> Path:
    """One row per indicator: the survey (a point, or its verdict's band when only the
    direction is known) and the review favourability with its 95% Wilson interval."""
    from .triangulate import verdict_band

    path = Path(path)
    tri = tri.reset_index(drop=True)
    n = len(tri)
    fig, ax = plt.subplots(figsize=(8, 1.8 + 0.6 * max(n, 1)))
    from .triangulate import CUTOFFS

    for c in CUTOFFS:
        ax.axvline(c, color="#777", lw=0.8, ls=":", zorder=0)
    labelled: set[str] = set()

    def once(name):  # one legend entry per kind of mark
        if name in labelled:
            return None
        labelled.add(name)
        return name

    for i, r in tri.iterrows():
        y = n - 1 - i
        sv, rv = r["survey_value"], r["review_favourability"]
        if pd.notna(sv):
            anchor = float(sv)
            err = None
            if pd.notna(r["survey_low"]):
                err = [[sv - r["survey_low"]], [r["survey_high"] - sv]]
            ax.errorbar([sv], [y], xerr=err, fmt="s", color="#30638e", ms=8, capsize=3, zorder=3,
                        label=once("survey (95% CI where known)"))
        elif isinstance(r["survey_verdict"], str) and r["survey_verdict"]:
            lo, hi = verdict_band(r["survey_verdict"])
            ax.add_patch(plt.Rectangle((lo, y - 0.25), hi - lo, 0.5, color=_VERDICT_BAND[r["survey_verdict"]],
                                       alpha=0.9, zorder=1, label=once("survey verdict only (its band)")))
            ax.text(lo + 0.01, y + 0.3, f"survey: {r['survey_verdict']}", fontsize=7, va="bottom", color="#444")
            anchor = min(max(float(rv), lo), hi) if pd.notna(rv) else None
        else:
            anchor = None
        if pd.notna(rv):
            few = r["agreement"] == "too few"
            if anchor is not None:
                ax.plot([anchor, rv], [y, y], color="#999", lw=2, zorder=2)
            ax.errorbar([rv], [y], xerr=[[rv - r["review_low"]], [r["review_high"] - rv]], fmt="o",
                        color="#d1495b", mfc="white" if few else "#d1495b", ms=7, capsize=3, zorder=4,
                        label=once("reviews: too few (hollow)" if few else "reviews: not negative (95% CI)"))
            ax.text(min(float(r["review_high"]) + 0.02, 0.9), y - 0.05, f"n={int(r['review_mentions'])}",
                    fontsize=7, va="top")
    ax.set_yticks(range(n))
    ax.set_yticklabels([DISPLAY.get(v, v) for v in reversed(list(tri["indicator"]))])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("favourable (0..1): survey normalised score or favourable share; reviews: share not negative")
    ax.xaxis.label.set_size(8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if labelled:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return _save(fig, path)


# ---- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f3f3f3}
td:nth-child(-n+3){text-align:left}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
img{max-width:100%;height:auto;border:1px solid #eee}
details{margin:.5em 0}.note{color:#555;font-size:.9em}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame) -> str:
    # to_html escapes cell text; NaN shows as an empty cell like in the CSV.
    return df.round(4).to_html(index=False, escape=True, na_rep="", border=0)


def render_html(title: str, meta: dict, sections: list[tuple[str, str, str]]) -> str:
    """A whole page: ``meta`` as a definition list, then ``(heading, note, body_html)`` sections.

    ``heading``/``note`` are escaped here; ``body_html`` must already be safe HTML.
    """
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in meta.items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<dl>{items}<dt>generated</dt><dd>{html.escape(generated)}</dd></dl>",
    ]
    for heading, note, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if note:
            parts.append(f'<p class="note">{html.escape(note)}</p>')
        parts.append(body)
    parts.append("</body></html>")
    return "\n".join(parts)


TRIANGULATION_SUMMARY = ["indicator", "survey_verdict", "survey_value", "review_mentions", "review_favourability",
                         "review_low", "review_high", "review_verdict", "agreement", "note"]


def write_trend_report(tables: dict[str, pd.DataFrame], out_dir, meta: dict, period: str = "month",
                       triangulation: pd.DataFrame | None = None) -> dict[str, Path]:
    """Charts for the trend tables and ``report.html`` holding the charts, tables and provenance.

    With ``triangulation`` (a :func:`pipelines.triangulate.triangulate` frame) the page also
    sets the survey beside the reviews, so one file carries the whole story.
    """
    out_dir = Path(out_dir)
    sent, ind, resp = tables["sentiment_by_period"], tables["indicators_by_period"], tables["responsiveness_by_period"]
    paths = {
        "sentiment_chart": plot_sentiment(sent, out_dir / "sentiment_over_time.png"),
        "indicators_chart": plot_indicators(ind, out_dir / "complaints_by_indicator.png"),
        "responsiveness_chart": plot_responsiveness(resp, out_dir / "responsiveness_over_time.png"),
    }
    sections = [
        ("Sentiment over time",
         "Net sentiment (positive minus negative share), negative share among labelled mentions with its 95% Wilson interval (error bars), and mentions per period.",
         _img(paths["sentiment_chart"], "sentiment over time")),
        ("Complaints by indicator",
         "A complaint is a mention labelled negative that carries the indicator.",
         _img(paths["indicators_chart"], "complaints by indicator")),
        ("Developer replies",
         "Share of reviews with a developer or operator reply, and the median days to reply, by review period.",
         _img(paths["responsiveness_chart"], "developer replies")),
    ]
    if triangulation is not None and len(triangulation):
        paths["triangulation_chart"] = plot_dumbbell(triangulation, out_dir / "triangulation_dumbbell.png")
        tri = triangulation[TRIANGULATION_SUMMARY].round(3)
        sections.insert(0, (
            "Survey versus reviews",
            "Per indicator: the survey's verdict (or normalised score) beside the share of mentions with the "
            "indicator not labelled negative, with its 95% interval; converge, diverge, or too few mentions "
            "(under 30) to say. Full table: triangulation.csv and triangulation.md.",
            _img(paths["triangulation_chart"], "survey versus reviews") + _table(tri),
        ))
    for name, heading in (("sentiment_by_period", "Table: sentiment_by_period.csv"),
                          ("indicators_by_period", "Table: indicators_by_period.csv"),
                          ("responsiveness_by_period", "Table: responsiveness_by_period.csv")):
        df = tables[name]
        body = _table(df) if len(df) else "<p>No rows in this range.</p>"
        sections.append((heading, f"{len(df)} rows, by {period}.", f"<details open><summary>show</summary>{body}</details>"))
    page = render_html("Suara: what citizens say, over time", meta, sections)
    path = out_dir / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    paths["report"] = path
    return paths
