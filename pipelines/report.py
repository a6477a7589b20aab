"""Charts (PNG and SVG, matplotlib) and one self-contained ``report.html``.

The HTML embeds its charts as base64 ``data:`` URIs and its tables as escaped HTML, with
inline CSS and one small inline script (table sorting), so it opens offline and can be
mailed as one file. What the page says is computed in :mod:`pipelines.brief`.
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

import numpy as np  # noqa: E402

from .i18n import indicator_name, source_name, t  # noqa: E402
from .safefile import atomic_file, write_text  # noqa: E402
from .trends import DISPLAY  # noqa: E402

_COLOURS = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30638e", "#a05195"]
_VERDICT_BAND = {"poor": "#f4c7c3", "fair": "#fce8b2", "good": "#b7e1cd"}
# A period with fewer mentions than this is drawn as a hollow point and not joined to its
# neighbours: a share of 1 in 2 is noise, and a line through it reads as a swing.
MIN_PERIOD_MENTIONS = 5
# Sources whose feeds carry developer replies; others get "no reply data", never a zero rate.
REPLY_SOURCES = {"playstore"}


def _ticks(ax, labels: list[str]) -> None:
    """At most ~12 readable x labels, whatever the number of periods."""
    step = max(1, math.ceil(len(labels) / 12))
    pos = list(range(0, len(labels), step))
    ax.set_xticks(pos)
    ax.set_xticklabels([labels[i] for i in pos], rotation=45, ha="right", fontsize=8)


def _legend(ax) -> None:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _save(fig, path: Path) -> Path:
    """PNG (embedded in the report) and SVG beside it (for papers and print)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    try:
        with atomic_file(path) as fh:
            fig.savefig(fh, format=path.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
        with atomic_file(path.with_suffix(".svg")) as fh:
            fig.savefig(fh, format="svg", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _share_line(ax, xs, k, n, colour, label=None, lw=2.0, band=True, ms=4, alpha=1.0):
    """Share k/n per x: joined where n >= MIN_PERIOD_MENTIONS, hollow unjoined points where fewer."""
    from .trends import wilson_arrays

    xs = np.asarray(xs, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, k / n, np.nan)
    enough = n >= MIN_PERIOD_MENTIONS
    solid = np.where(enough, share, np.nan)
    ax.plot(xs, solid, color=colour, lw=lw, marker="o", ms=ms, label=label, alpha=alpha)
    few = (n > 0) & ~enough
    if few.any():
        ax.plot(xs[few], share[few], ls="none", marker="o", ms=ms + 1, mfc="white", mec=colour, alpha=alpha)
    if band:
        lo, hi = wilson_arrays(k, n)
        ax.fill_between(xs, np.where(enough, lo, np.nan), np.where(enough, hi, np.nan), color=colour, alpha=0.15, lw=0)


def _no_data(ax, lang):
    ax.text(0.5, 0.5, t(lang, "no_data"), ha="center", va="center", transform=ax.transAxes, color="#666")


def app_label(source: str, app_: str, app_names: dict | None, lang: str = "en") -> str:
    """``Google Play · Tangsel Smart City`` rather than ``playstore · id.go.tangsel...``."""
    name = (app_names or {}).get((source, app_)) or app_
    return f"{source_name(lang, source)} · {name}"


def plot_sentiment(df: pd.DataFrame, path, title: str | None = None, lang: str = "en",
                   app_names: dict | None = None) -> Path:
    """Negative share per period: all sources pooled (thick, with 95% CI band) and per source
    (thin); below, mentions per source as stacked bars. Sparse periods are hollow, not joined."""
    path = Path(path)
    labels = list(dict.fromkeys(df["period"]))
    xs = np.arange(len(labels))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.8), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    model = df["model"].iloc[0] if len(df) else ""
    ax1.set_title((title or t(lang, "c_sentiment")) + (f" ({model})" if model else ""), fontsize=10)
    if len(df):
        d = df.assign(_lab=df["positive"] + df["neutral"] + df["negative"])
        pooled = d.groupby("period", sort=False)[["negative", "_lab", "mentions"]].sum().reindex(labels)
        per = d.groupby(["source", "period"], sort=False)[["negative", "_lab", "mentions"]].sum()
        sources = sorted(d["source"].unique())
        for i, src in enumerate(sources):
            g = per.loc[src].reindex(labels).fillna(0)
            c = _COLOURS[(i + 1) % len(_COLOURS)]
            _share_line(ax1, xs, g["negative"], g["_lab"], c, label=source_name(lang, src), lw=1, band=False,
                        ms=3, alpha=0.7)
        _share_line(ax1, xs, pooled["negative"], pooled["_lab"], "#222", label=t(lang, "all_sources"), lw=2.5)
        bottom = np.zeros(len(labels))
        for i, src in enumerate(sources):
            m = per.loc[src].reindex(labels).fillna(0)["mentions"].to_numpy(dtype=float)
            ax2.bar(xs, m, bottom=bottom, color=_COLOURS[(i + 1) % len(_COLOURS)], width=0.8,
                    label=source_name(lang, src))
            bottom += m
        _legend(ax1)
    else:
        _no_data(ax1, lang)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel(t(lang, "ax_negative_share"))
    ax1.grid(alpha=0.3)
    ax2.set_ylabel(t(lang, "ax_mentions"))
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3, axis="y")
    _ticks(ax2, labels)
    return _save(fig, path)


def _pooled(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["source"] == "all"] if "source" in df.columns else df


def _with_labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``_lab``, the labelled mentions behind each share (complaints / negative_share)."""
    share = df["negative_share"].astype(float).to_numpy()
    comp = df["complaints"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        lab = np.where(share > 0, comp / share, df["mentions"].astype(float).to_numpy())
    return df.assign(_lab=np.where(np.isnan(share), 0, np.round(lab)))


def _coarsen(df: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Monthly indicator rows summed to quarters when a month averages fewer than
    MIN_PERIOD_MENTIONS mentions per indicator: a readable line beats a row of hollow dots."""
    df = _with_labelled(df)
    labels = list(dict.fromkeys(df["period"]))
    if not labels or not all(len(p) == 7 and p[4] == "-" and p[5:].isdigit() for p in labels):
        return df, False
    per_cell = df["mentions"].sum() / max(1, len(labels) * df["indicator"].nunique())
    if per_cell >= MIN_PERIOD_MENTIONS:
        return df, False
    q = df["period"].map(lambda p: f"{p[:4]}-Q{(int(p[5:7]) - 1) // 3 + 1}")
    out = (df.assign(period=q).groupby(["period", "indicator"], sort=False)[["mentions", "complaints", "_lab"]]
           .sum().reset_index())
    return out, True


def _indicator_panel(ax, g: pd.DataFrame, labels: list[str], colour: str, lang: str) -> None:
    g = g.set_index("period").reindex(labels).fillna(0)
    _share_line(ax, np.arange(len(labels)), g["complaints"], g["_lab"], colour, lw=1.8, ms=3)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


def plot_indicators(df: pd.DataFrame, path, title: str | None = None, lang: str = "en") -> Path:
    """Complaint share per period, one small panel per indicator (all sources pooled), so six
    series never overlap; sparse periods are hollow points, not swings; sparse months are
    shown as quarters."""
    path = Path(path)
    model = df["model"].iloc[0] if len(df) else ""
    df, coarse = _coarsen(_pooled(df))
    labels = list(dict.fromkeys(df["period"]))
    inds = list(dict.fromkeys(df["indicator"]))
    cols = 3
    rows = max(1, math.ceil(len(inds) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.6 * rows + 0.6), sharex=True, sharey=True, squeeze=False)
    fig.suptitle((title or t(lang, "c_indicators")) + (f" ({t(lang, 'per_quarter')})" if coarse else "")
                 + (f" ({model})" if model else ""), fontsize=10)
    for ax in axes.flat[len(inds):]:
        ax.axis("off")
    if not inds:
        _no_data(axes.flat[0], lang)
    for i, (ind, ax) in enumerate(zip(inds, axes.flat)):
        _indicator_panel(ax, df[df["indicator"] == ind], labels, _COLOURS[i % len(_COLOURS)], lang)
        ax.set_title(indicator_name(lang, ind), fontsize=9)
        if i % cols == 0:
            ax.set_ylabel(t(lang, "ax_complaint_share"), fontsize=8)
        if labels:
            _ticks(ax, labels)
    if len(df) and not model:
        fig.text(0.5, 0.01, t(lang, "no_labels_note"), ha="center", color="#666", fontsize=8)
    return _save(fig, path)


def plot_indicator_trend(df: pd.DataFrame, indicator: str, path, lang: str = "en") -> Path:
    """The small chart of one indicator's card: its complaint share per period (quarters when sparse)."""
    path = Path(path)
    df, coarse = _coarsen(_pooled(df))
    labels = list(dict.fromkeys(df["period"]))
    fig, ax = plt.subplots(figsize=(4.2, 1.9))
    _indicator_panel(ax, df[df["indicator"] == indicator], labels, "#d1495b", lang)
    ax.set_ylabel(t(lang, "ax_complaint_share") + (f"\n({t(lang, 'per_quarter')})" if coarse else ""), fontsize=7)
    ax.tick_params(labelsize=7)
    if labels:
        _ticks(ax, labels)
        for lab in ax.get_xticklabels():
            lab.set_fontsize(6)
    return _save(fig, path)


def plot_responsiveness(df: pd.DataFrame, path, title: str | None = None, lang: str = "en",
                        app_names: dict | None = None) -> Path:
    """Reply rate per period pooled per source that carries replies (a single app rarely has
    enough reviews a month to draw), and median reply latency per app as points; sources
    without reply data are named as such instead of drawn at zero."""
    path = Path(path)
    labels = list(dict.fromkeys(df["period"]))
    xs = np.arange(len(labels))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.2), sharex=True)
    ax1.set_title(title or t(lang, "c_replies"), fontsize=10)
    carried = set(REPLY_SOURCES) | set(df.loc[df["replied"] > 0, "source"]) if len(df) else set()
    silent = [app_label(s, a, app_names, lang) for (s, a), _ in df.groupby(["source", "app"], sort=True)
              if s not in carried] if len(df) else []
    shown = df[df["source"].isin(carried)] if len(df) else df
    for i, (source, g) in enumerate(shown.groupby("source", sort=True)):
        g = g.groupby("period", sort=False)[["replied", "reviews"]].sum().reindex(labels).fillna(0)
        _share_line(ax1, xs, g["replied"], g["reviews"], _COLOURS[i % len(_COLOURS)], label=source_name(lang, source),
                    lw=2, band=True, ms=4)
    for i, ((source, app_), g) in enumerate(shown.groupby(["source", "app"], sort=True)):
        g = g.set_index("period").reindex(labels)
        ax2.plot(xs, g["median_reply_latency_days"].to_numpy(dtype=float), ls="none", marker="o", ms=4,
                 color=_COLOURS[(i + 3) % len(_COLOURS)], label=app_label(source, app_, app_names, lang))
    if len(shown):
        _legend(ax1)
        _legend(ax2)
    else:
        _no_data(ax1, lang)
    if silent:
        ax1.text(1.01, 0.35, t(lang, "no_reply_data") + ":\n" + "\n".join(silent), transform=ax1.transAxes,
                 fontsize=7, color="#666", va="top")
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel(t(lang, "ax_reply_rate"))
    ax1.grid(alpha=0.3)
    ax2.set_ylabel(t(lang, "ax_latency"))
    ax2.set_ylim(bottom=0)
    ax2.grid(alpha=0.3)
    _ticks(ax2, labels)
    return _save(fig, path)


def plot_dumbbell(tri: pd.DataFrame, path, title: str | None = None, lang: str = "en") -> Path:
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
    # Name the bands the cutoffs separate, above the plot, so the dotted lines explain themselves.
    for (lo, hi), word in zip(((0, CUTOFFS[0]), CUTOFFS, (CUTOFFS[1], 1)), ("poor", "fair", "good")):
        ax.text((lo + hi) / 2, 1.01, t(lang, word), transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=8, color="#555")
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
                        label=once(t(lang, "l_survey")))
        elif isinstance(r["survey_verdict"], str) and r["survey_verdict"]:
            lo, hi = verdict_band(r["survey_verdict"])
            ax.add_patch(plt.Rectangle((lo, y - 0.25), hi - lo, 0.5, color=_VERDICT_BAND[r["survey_verdict"]],
                                       alpha=0.9, zorder=1, label=once(t(lang, "l_survey_band"))))
            ax.text(lo + 0.01, y + 0.3, f"{t(lang, 'survey').lower()}: {t(lang, r['survey_verdict'])}", fontsize=7,
                    va="bottom", color="#444")
            anchor = min(max(float(rv), lo), hi) if pd.notna(rv) else None
        else:
            anchor = None
        if pd.notna(rv):
            few = r["agreement"] == "too few"
            if anchor is not None:
                ax.plot([anchor, rv], [y, y], color="#999", lw=2, zorder=2)
            ax.errorbar([rv], [y], xerr=[[rv - r["review_low"]], [r["review_high"] - rv]], fmt="o",
                        color="#d1495b", mfc="white" if few else "#d1495b", ms=7, capsize=3, zorder=4,
                        label=once(t(lang, "l_few") if few else t(lang, "l_reviews")))
            ax.text(min(float(r["review_high"]) + 0.02, 0.9), y - 0.05, f"n={int(r['review_mentions'])}",
                    fontsize=7, va="top")
    ax.set_yticks(range(n))
    ax.set_yticklabels([indicator_name(lang, v) for v in reversed(list(tri["indicator"]))], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(t(lang, "ax_favourable"))
    ax.xaxis.label.set_size(8)
    ax.set_title(title or t(lang, "c_dumbbell"), fontsize=10, pad=16)
    ax.grid(axis="x", alpha=0.3)
    if labelled:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return _save(fig, path)


# ---- HTML ---------------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:64em;color:#222;
padding:1em;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:.2em 0}h4{font-size:.9em;margin:.8em 0 .3em;color:#444}
.scope{color:#555;margin:.2em 0}
.findings li{margin:.35em 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,26em),1fr));gap:1em}
.card{border:1px solid #ddd;border-radius:6px;padding:.8em;background:#fff;min-width:0}
.fav{margin:.3em 0}.big{font-size:1.6em;font-weight:700;margin-right:.2em}
.badge{display:inline-block;border-radius:3px;padding:0 .4em;margin:.1em .3em .1em 0;font-size:.85em;background:#eee}
.v-poor{background:#f4c7c3}.v-fair{background:#fce8b2}.v-good{background:#b7e1cd}
.phrases{margin:.2em 0;padding-left:1.2em;font-size:.9em}
blockquote{margin:.5em 0;padding:.3em .7em;border-left:4px solid #999;background:#fafafa;font-size:.92em}
blockquote.complaint{border-color:#d1495b}blockquote.praise{border-color:#66a182}
blockquote p{margin:0 0 .2em}blockquote footer{font-size:.8em;color:#555}
figure{margin:1em 0}figcaption,.note{color:#555;font-size:.88em}
img{max-width:100%;height:auto;border:1px solid #eee;display:block}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right;white-space:nowrap}th{background:#f3f3f3;cursor:pointer}
td.txt,th.txt{text-align:left}
dl{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.2em 1em;font-size:.9em}dt{font-weight:600}dd{margin:0}
details{margin:.5em 0}summary{cursor:pointer;font-weight:600}
@media print{
body{max-width:none;font-size:10pt;padding:0}
#tables{display:none}
figure,blockquote,.card img,.fav{break-inside:avoid}
h2,h3{break-after:avoid}
.cards{grid-template-columns:1fr 1fr}
a{color:inherit;text-decoration:none}
}
"""

# Click a header to sort (numbers as numbers); the only script, and it reads no data from outside.
_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th){th.tabIndex=0;
th.addEventListener('click',function(){var tb=th.closest('table').tBodies[0],i=th.cellIndex,
asc=th.getAttribute('data-dir')!=='asc';th.setAttribute('data-dir',asc?'asc':'desc');
var v=function(r){var c=r.cells[i];return c.hasAttribute('data-v')?c.getAttribute('data-v'):c.textContent};
Array.from(tb.rows).sort(function(a,b){var x=v(a),y=v(b),nx=parseFloat(x),ny=parseFloat(y);
var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c}).forEach(function(r){tb.appendChild(r)})})});
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _table(df: pd.DataFrame, lang: str = "en") -> str:
    """A sortable table with human headers; NaN shows as an empty cell like in the CSV."""
    from .i18n import HEADERS

    heads = HEADERS[lang]
    cols = list(df.columns)
    text_cols = {c for c in cols if not pd.api.types.is_numeric_dtype(df[c])}
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="{"txt" if c in text_cols else "num"}">{_esc(heads.get(c, c))}</th>' for c in cols]
    out.append("</tr></thead><tbody>")
    for row in df.itertuples(index=False):
        out.append("<tr>")
        for c, v in zip(cols, row):
            if c in text_cols:
                shown = indicator_name(lang, v) if c == "indicator" and isinstance(v, str) else v
                out.append(f'<td class="txt">{_esc("" if pd.isna(shown) else shown)}</td>')
            elif pd.isna(v):
                out.append('<td data-v=""></td>')
            else:
                shown = f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
                out.append(f'<td data-v="{_esc(v)}">{_esc(shown)}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(title: str, meta: dict, sections: list[tuple[str, str, str]], lang: str = "en",
                scope: str = "", section_ids: list[str] | None = None) -> str:
    """A whole page: ``(heading, note, body_html)`` sections in order, then ``meta`` in an appendix.

    ``heading``/``note`` are escaped here; ``body_html`` must already be safe HTML.
    """
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from .i18n import meta_text

    items = "".join(f"<dt>{_esc(meta_text(lang, k))}</dt><dd>{_esc(meta_text(lang, v))}</dd>" for k, v in meta.items())
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_esc(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_esc(title)}</h1>" + (f'<p class="scope">{_esc(scope)}</p>' if scope else "") + "</header>",
    ]
    ids = section_ids or [f"s{i}" for i in range(len(sections))]
    for sid, (heading, note, body) in zip(ids, sections):
        parts.append(f'<section id="{_esc(sid)}"><h2>{_esc(heading)}</h2>')
        if note:
            parts.append(f'<p class="note">{_esc(note)}</p>')
        parts.append(body + "</section>")
    parts.append(f'<section id="appendix-meta"><dl>{items}<dt>{_esc(t(lang, "generated"))}</dt>'
                 f"<dd>{_esc(generated)}</dd></dl></section>")
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts)


TRIANGULATION_SUMMARY = ["indicator", "survey_verdict", "survey_value", "review_mentions", "review_favourability",
                         "review_low", "review_high", "review_verdict", "agreement", "note"]


def _verdict_badge(lang: str, who: str, v) -> str:
    if not isinstance(v, str) or not v:
        return ""
    return f'<span class="badge v-{_esc(v)}">{_esc(t(lang, who))}: {_esc(t(lang, v))}</span>'


def _card(lang: str, r: dict, chart: Path | None, phrases: pd.DataFrame, quotes: pd.DataFrame | None) -> str:
    ind = r["indicator"]
    name = indicator_name(lang, ind)
    n = int(r["review_mentions"]) if pd.notna(r["review_mentions"]) else 0
    if n:
        big = f"{r['review_favourability']:.0%}"
        fav = (f'<p class="fav"><span class="big">{_esc(big)}</span>'
               + _esc(t(lang, "fav_long", fav="", lo=f"{r['review_low']:.0%}", hi=f"{r['review_high']:.0%}", n=n).strip())
               + "</p>")
    else:
        fav = f'<p class="fav">{_esc(t(lang, "fav_none"))}</p>'
    badges = _verdict_badge(lang, "survey", r.get("survey_verdict")) + _verdict_badge(lang, "reviews", r.get("review_verdict"))
    agree = r.get("agreement")
    if isinstance(agree, str) and agree and agree != "no survey":
        badges += f'<span class="badge">{_esc(t(lang, "agreement"))}: {_esc(t(lang, agree))}</span>'
    parts = [f'<article class="card" id="card-{_esc(ind)}"><h3>{_esc(name)}</h3>', fav, f"<p>{badges}</p>"]
    if chart is not None:
        parts.append(_img(chart, f"{name}: {t(lang, 'ax_complaint_share')}"))
    ph = phrases[phrases["indicator"] == ind]
    parts.append(f"<h4>{_esc(t(lang, 'phrases'))}</h4>")
    if len(ph):
        parts.append('<ul class="phrases">' + "".join(f"<li>{_esc(p)} ({int(k)})</li>"
                                                       for p, k in zip(ph["phrase"], ph["complaints"])) + "</ul>")
    else:
        parts.append(f'<p class="note">{_esc(t(lang, "no_phrases"))}</p>')
    parts.append(f"<h4>{_esc(t(lang, 'quotes'))}</h4>")
    if quotes is None:
        parts.append(f'<p class="note">{_esc(t(lang, "quotes_off"))}</p>')
    else:
        q = quotes[quotes["indicator"] == ind]
        if q.empty:
            parts.append(f'<p class="note">{_esc(t(lang, "no_quotes"))}</p>')
        for x in q.to_dict("records"):
            meta = [t(lang, x["stance"]), x["app_label"], x["month"]]
            link = (f' · <a href="{_esc(x["url"])}" rel="noopener noreferrer nofollow">{_esc(t(lang, "link"))}</a>'
                    if x["url"] else "")
            parts.append(f'<blockquote class="quote {_esc(x["stance"])}"><p>“{_esc(x["text"])}”</p>'
                         f'<footer>{_esc(" · ".join(m for m in meta if m))}{link}</footer></blockquote>')
    parts.append("</article>")
    return "".join(parts)


def write_trend_report(tables: dict[str, pd.DataFrame], out_dir, meta: dict, period: str = "month",
                       triangulation: pd.DataFrame | None = None, *, store=None, model: str | None = None,
                       since=None, until=None, source=None, app=None, lang: str = "en", quotes: bool = True,
                       app_names: dict | None = None) -> dict[str, Path]:
    """Charts (PNG + SVG) and ``report.html``: findings first, one card per indicator, charts,
    collapsed sortable tables, and the technical metadata in an appendix.

    With ``store`` the cards carry favourability, complaint phrases and quotes (see
    :mod:`pipelines.brief`); ``triangulation`` (a :func:`pipelines.triangulate.triangulate`
    frame) sets the survey's verdict beside each indicator.
    """
    from . import brief
    from .i18n import check_lang

    lang = check_lang(lang)
    out_dir = Path(out_dir)
    sent, ind, resp = tables["sentiment_by_period"], tables["indicators_by_period"], tables["responsiveness_by_period"]
    paths = {
        "sentiment_chart": plot_sentiment(sent, out_dir / "sentiment_over_time.png", lang=lang, app_names=app_names),
        "indicators_chart": plot_indicators(ind, out_dir / "complaints_by_indicator.png", lang=lang),
        "responsiveness_chart": plot_responsiveness(resp, out_dir / "responsiveness_over_time.png", lang=lang,
                                                    app_names=app_names),
    }
    has_tri = triangulation is not None and len(triangulation)
    if has_tri:
        paths["triangulation_chart"] = plot_dumbbell(triangulation, out_dir / "triangulation_dumbbell.png", lang=lang)
    from .trends import INDICATORS

    if store is not None:
        cards = brief.indicator_cards(store, model, since, until, source, app, triangulation)
        phrases = brief.complaint_phrases(store, model, since, until, source, app)
        q = brief.representative_quotes(store, model, since, until, source, app) if quotes else None
    else:
        cards = (triangulation.reindex(columns=brief.CARD_COLUMNS) if has_tri
                 else pd.DataFrame({"indicator": INDICATORS, "review_mentions": 0}).reindex(columns=brief.CARD_COLUMNS))
        phrases = pd.DataFrame(columns=["indicator", "phrase", "complaints"])
        q = pd.DataFrame(columns=brief.QUOTE_COLUMNS) if quotes else None
    if q is not None:
        q = q.assign(app_label=[app_label(s, a, app_names, lang) for s, a in zip(q["source"], q["app"])])
    cards_html = []
    for r in cards.to_dict("records"):
        chart = plot_indicator_trend(ind, r["indicator"], out_dir / f"indicator_{r['indicator']}.png", lang=lang) \
            if len(ind) else None
        if chart is not None:
            paths[f"indicator_{r['indicator']}_chart"] = chart
        cards_html.append(_card(lang, r, chart, phrases, q))
    summary = brief.findings(store, tables, cards, lang, model, triangulation if has_tri else None) \
        if store is not None else []
    from .triangulate import CUTOFFS, MIN_MENTIONS
    few = MIN_PERIOD_MENTIONS

    charts = [
        (t(lang, "c_sentiment"), t(lang, "c_sentiment_note", min=few), paths["sentiment_chart"]),
        (t(lang, "c_indicators"), t(lang, "c_indicators_note", min=few), paths["indicators_chart"]),
        (t(lang, "c_replies"), t(lang, "c_replies_note"), paths["responsiveness_chart"]),
    ]
    if has_tri:
        charts.insert(0, (t(lang, "c_dumbbell"), t(lang, "c_dumbbell_note"), paths["triangulation_chart"]))
    charts_html = "".join(f"<figure><h3>{_esc(h)}</h3>{_img(p, h)}<figcaption>{_esc(n)}</figcaption></figure>"
                          for h, n, p in charts)
    table_specs = [("sentiment_by_period", "t_sentiment", sent), ("indicators_by_period", "t_indicators", ind),
                   ("responsiveness_by_period", "t_responsiveness", resp)]
    if has_tri:
        table_specs.insert(0, ("triangulation", "t_triangulation", triangulation[TRIANGULATION_SUMMARY]))
    tables_html = []
    for name, key, df in table_specs:
        body = _table(df.drop(columns=["model"], errors="ignore"), lang) if len(df) else \
            f"<p>{_esc(t(lang, 't_empty'))}</p>"
        tables_html.append(f"<details><summary>{_esc(t(lang, key))}</summary>"
                           f'<p class="note">{_esc(t(lang, "t_rows", n=len(df), file=name + ".csv"))}</p>{body}</details>')
    appendix = "".join(f"<p>{_esc(x)}</p>" for x in (
        t(lang, "a_rule", min_len=brief.QUOTE_MIN_LEN, max_len=brief.QUOTE_MAX_LEN),
        t(lang, "a_fav", c0=CUTOFFS[0], c1=CUTOFFS[1], min=MIN_MENTIONS),
        t(lang, "a_bias")))
    sections = [
        (t(lang, "summary"), "", '<ul class="findings">' + "".join(f"<li>{_esc(x)}</li>" for x in summary) + "</ul>"),
        (t(lang, "indicators"), "", '<div class="cards">' + "".join(cards_html) + "</div>"),
        (t(lang, "charts"), "", charts_html),
        (t(lang, "tables"), "", "".join(tables_html)),
        (t(lang, "appendix"), "", appendix),
    ]
    section_ids = ["summary", "indicators", "charts", "tables", "appendix"]
    if store is not None:
        # Human validation (docs/validation.md): its figures, or a plain "unvalidated".
        from .validate import validation_block, validation_html

        sections.insert(2, validation_html(validation_block(store, model)))
        section_ids.insert(2, "validation")
    scope = ""
    if len(sent):
        srcs = ", ".join(source_name(lang, s) for s in sorted(sent["source"].unique()))
        scope = t(lang, "scope", start=sent["period"].iloc[0], end=sent["period"].iloc[-1],
                  n=int(sent["mentions"].sum()), sources=srcs)
    if meta.get("filters"):
        scope += (" · " if scope else "") + t(lang, "scope_filtered", filters=meta["filters"])
    page = render_html(t(lang, "title"), meta, sections, lang, scope, section_ids)
    path = out_dir / "report.html"
    write_text(path, page)
    paths["report"] = path
    return paths
