"""The ``suara`` command: a thin shell that parses arguments and calls the library.

Each command maps to one library function that a notebook can call directly. Errors the
user can fix (``SuaraError``) become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from .errors import SuaraError


class _Group(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SuaraError as exc:
            Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code)
        except OSError as exc:  # a folder that cannot be written, a disk that is full
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            Console(stderr=True).print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(_os_error_code(exc))
        except _DRIVER_ERRORS as exc:  # a lock that outlived the busy timeout, a file that is not a database
            from .store import store_error

            err = store_error(exc)
            Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code)
        except RecursionError:  # json/tomllib on input nested thousands deep
            Console(stderr=True).print("[bold red]error:[/] input nested too deeply to read (a JSON or TOML file "
                                       "or an answer from a service)", highlight=False, soft_wrap=True)
            raise typer.Exit(2)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        # Usage errors as one "error:" line with the README's exit code 2, not click/rich's panel.
        import sys

        # Typer ships its own copy of click's exceptions; take them from where typer's live.
        exc_mod = sys.modules[typer.BadParameter.__module__]
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except exc_mod.NoArgsIsHelpError as exc:  # bare `suara` / `suara crawl`: the help, as before
            typer.echo(exc.ctx.get_help())
            sys.exit(exc.exit_code)
        except exc_mod.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see: {ctx.command_path if ctx is not None else prog_name or 'suara'} --help)"
            message = " ".join(exc.format_message().split()).rstrip(".")
            typer.echo(f"error: {message[:1].lower()}{message[1:]}{hint}", err=True)
            sys.exit(exc.exit_code)
        except exc_mod.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _os_error_code(exc: OSError) -> int:
    """2 for a path the user gave that cannot be used (README: bad input), 1 for the machine (disk full)."""
    import errno

    bad_path = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EROFS, errno.ENOENT, errno.EEXIST,
                errno.ENAMETOOLONG, errno.ELOOP}
    return 2 if exc.errno in bad_path else 1


def _driver_errors() -> tuple:
    from sqlalchemy.exc import DatabaseError

    return (DatabaseError,)


_DRIVER_ERRORS = _driver_errors()


app = typer.Typer(
    cls=_Group,
    help="Suara: collect, understand and report what citizens say about a city's apps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
@app.callback()
def _global(
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL for the command that follows (same as its own --db).")] = None,
) -> None:
    """Suara: collect, understand and report what citizens say about a city's apps."""
    if db:
        os.environ["SUARA_DB"] = db  # every command's --db falls back to $SUARA_DB


crawl_app = typer.Typer(cls=_Group, help="Collect mentions from one source into the store.", no_args_is_help=True)
app.add_typer(crawl_app, name="crawl")

# Piped into a file or cron's mail, rich would wrap at 80 columns; lines stay whole there.
_PIPED_WIDTH = None if os.isatty(1) else 200
console = Console(stderr=True, width=None if os.isatty(2) else 200, soft_wrap=not os.isatty(2))
out = Console(width=_PIPED_WIDTH, soft_wrap=_PIPED_WIDTH is not None)

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SUARA_DB", help="Database URL (default: SQLite file in ./data/out or $SUARA_HOME)."),
]


def _clean_captured_warnings() -> logging.Filter:
    """Scrapy routes warnings into logging (``py.warnings``), which would print them with a
    timestamp and logger name, once per crawl; print each distinct one once, as one line."""
    import logging
    import sys

    seen: set[str] = set()

    class _Once(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            msg = record.getMessage().strip()
            if msg not in seen:
                seen.add(msg)
                sys.stderr.write(msg + "\n")
            return False

    once = _Once()
    logging.getLogger("py.warnings").addFilter(once)
    return once


def main() -> None:
    import warnings

    # Library warnings (e.g. "IndoBERT did not load, ran the lexicon") as one plain line.
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    warnings.filterwarnings("once", category=UserWarning)  # one line per distinct warning, not per batch
    _clean_captured_warnings()
    app()


# ---- collect: Play Store, import, export, discover -----------------------------------------------
@crawl_app.command("playstore")
def crawl_playstore_cmd(
    app_id: Annotated[str, typer.Option("--app", help="Play Store app id, e.g. id.go.example.app (see `suara discover`).")],
    lang: Annotated[str, typer.Option("--lang", help="Review language (hl).")] = "id",
    country: Annotated[str, typer.Option("--country", help="Store country (gl).")] = "id",
    full: Annotated[bool, typer.Option("--full", help="Walk every page instead of stopping at reviews already stored.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Stop after N reviews (the next run resumes).")] = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=4500, help="Reviews asked for per request.")] = 200,
    restart: Annotated[bool, typer.Option("--restart", help="Forget an interrupted crawl's checkpoint and start from the newest page.")] = False,
    db: DbOpt = None,
) -> None:
    """Collect an app's public Google Play reviews (incremental and resumable; $SUARA_PLAYSTORE_URL for a mirror)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from scraper.playstore import crawl_playstore

    from .store import Store

    store = Store(db)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(f"{app_id}: page 1", total=None)

            def on_page(p) -> None:
                bar.update(task, description=f"{app_id}: page {p.page + 1}, {p.total} reviews ({p.new} new, {p.updated} updated)")

            def on_retry(what: str, attempt: int, wait: float) -> None:
                bar.update(task, description=f"{app_id}: {what}; retry {attempt} in {wait:.1f}s")

            result = crawl_playstore(store, app_id, lang=lang, country=country, full=full, limit=limit,
                                     page_size=page_size, progress=on_page, on_retry=on_retry, restart=restart)
    finally:
        store.close()
    out.print(result.summary(), highlight=False, soft_wrap=True)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="An export file: google-play-scraper, tweet-harvest, X API v2, "
                                              "Instaloader, Instagram/TikTok scraper, youtube-comment-downloader.")],
    app_id: Annotated[Optional[str], typer.Option("--app", help="Play Store: the app these reviews belong to.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="x, instagram, tiktok, youtube or playstore "
                                                                   "(default: detect from the file's columns).")] = None,
    label: Annotated[Optional[str], typer.Option("--query", "--account", help="Social exports: the search or "
                                                 "account collected (stored as the mentions' app; default: file name).")] = None,
    operator: Annotated[Optional[list[str]], typer.Option("--operator", help="Official account (handle or id) whose "
                                                          "replies count as the operator's reply; repeatable. Adds to "
                                                          "the sources config's imports.operators.")] = None,
    tz: Annotated[Optional[str], typer.Option("--tz", help="Zone of naive times in the file (gps and "
                                                           "tiktok-comment-scrapper write local time; default: "
                                                           "the sources config's imports.tz, else UTC).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Language the reviews were scraped with.")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Country the reviews were scraped with.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="Sources config for official accounts "
                                                   "(default: $SUARA_CONFIG or data/sources.toml).")] = None,
    db: DbOpt = None,
) -> None:
    """Load an export file into the store (all rows or none); the format is detected from its columns."""
    from .social_import import import_export
    from .sources import default_config_path, load_sources
    from .store import Store

    operators: dict[str, list[str]] = {}
    public: list[str] = []
    cfg_path = config or default_config_path()
    if source != "playstore" and not app_id and (config is not None or cfg_path.exists()):
        imports = load_sources(cfg_path).imports
        if imports is not None:
            operators, public = {k: list(v) for k, v in imports.operators.items()}, list(imports.public_accounts)
            tz = tz or imports.tz

    def announce(fmt_label: str, fmt_source: str) -> None:
        out.print(f"detected: {fmt_label} ({fmt_source})", highlight=False, soft_wrap=True)
        if operator:  # --operator names accounts of the detected source; read before parsing
            operators.setdefault(fmt_source, []).extend(operator)

    store = Store(db)
    try:
        res = import_export(store, file, source=source, label=label, tz=tz or "UTC", operators=operators,
                            public_accounts=public, app_id=app_id, lang=lang, country=country, announce=announce)
    finally:
        store.close()
    if res.source == "playstore":
        r = res.stored
        out.print(f"{file}: {r.seen} review(s): {r.new} new, {r.updated} updated, {r.unchanged} unchanged",
                  highlight=False, soft_wrap=True)
    else:
        out.print(res.line(), highlight=False, soft_wrap=True)


@app.command("export")
def export_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="File to write: CSV (UTF-8 with BOM, formula-safe) or .xlsx with --format xlsx.")],
    source: Annotated[Optional[str], typer.Option("--source", help="Only this source, e.g. playstore.")] = None,
    db: DbOpt = None,
    labels: Annotated[bool, typer.Option("--labels", help="Add each mention's sentiment (model, version) and indicators with polarity and evidence.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="csv (default) or xlsx (sheets: mentions, indicators, codebook).")] = "csv",
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model for --labels (default: the one that labelled most).")] = None,
) -> None:
    """Write every stored mention to a CSV or workbook (authors only as pseudonymous keys)."""
    from .errors import InputError
    from .export import export_labelled_mentions, export_mentions, export_workbook
    from .store import Store

    if fmt not in ("csv", "xlsx"):
        raise InputError(f"bad --format {fmt!r}: use csv or xlsx")
    store = Store(db)
    try:
        n = store.count_mentions(source)
        if fmt == "xlsx":
            path = export_workbook(store, out_file, source, model, labels=True)
        elif labels:
            path = export_labelled_mentions(store, out_file, source, model)
        else:
            path = export_mentions(store, out_file, source)
    finally:
        store.close()
    out.print(f"{path}: {n} mention(s)", highlight=False, soft_wrap=True)


@app.command("discover")
def discover_cmd(
    query: Annotated[str, typer.Argument(help='What to search for, e.g. "Tangsel Smart City".')],
    lang: Annotated[str, typer.Option("--lang", help="Store language (hl).")] = "id",
    country: Annotated[str, typer.Option("--country", help="Store country (gl).")] = "id",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many apps.")] = 30,
) -> None:
    """Search the Play Store and list matching app ids and titles (to configure crawls)."""
    from rich.table import Table

    from scraper.playstore import discover

    df = discover(query, lang=lang, country=country, limit=limit)
    if df.empty:
        console.print(f"no apps found for {query!r}")
        raise typer.Exit(1)
    table = Table()
    # The id is what users copy into their config: never truncate it.
    table.add_column("app id", no_wrap=True, min_width=int(df["app_id"].fillna("").str.len().max()))
    for name in ("title", "developer", "rating", "installs"):
        table.add_column(name)
    for r in df.itertuples():
        score = "" if r.score is None or r.score != r.score else f"{r.score:.1f}"
        # gps #238: a best match whose id the page does not give is listed, not dropped.
        app_id = r.app_id if isinstance(r.app_id, str) else "(id not on the page)"
        table.add_row(app_id, str(r.title or ""), str(r.developer or ""), score, str(r.installs or ""))
    out.print(table)


# ---- collect: Scrapy spiders ---------------------------------------------------------------------
# To add `suara crawl X` for a new spider: a short @crawl_app.command("X") that parses its options
# and calls crawl_with_spider("X", db, config, verbose, full=full, query=query, ...) (see appstore).

ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", envvar="SUARA_CONFIG", help="Sources config file (its contact goes into the user agent)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Scrapy's log (INFO) instead of warnings only.")]
FullOpt = Annotated[bool, typer.Option("--full", help="Walk every page, ignoring what earlier crawls stored.")]


def print_crawl_summary(summary) -> None:
    """One table row per crawl: counts, requests, completeness."""
    from rich.table import Table

    t = Table(title=f"{summary.spider}: {summary.target}", title_justify="left")
    for col in ("new", "updated", "unchanged", "dropped", "requests", "state", "seconds"):
        t.add_column(col, justify="right")
    state = "complete" if summary.ok else "[red]incomplete[/]"
    t.add_row(*(str(x) for x in (summary.new, summary.updated, summary.unchanged, summary.dropped,
                                 summary.requests)), state, f"{summary.elapsed_s:.1f}")
    out.print(t)
    for line in summary.errors[:5]:
        console.print(f"[yellow]-[/] {line}", highlight=False, soft_wrap=True)
    if getattr(summary, "skipped", 0):
        what = "; ".join(f"{n} {w}" for w, n in sorted(summary.skipped_detail.items()))
        out.print(f"skipped {summary.skipped} malformed entr{'y' if summary.skipped == 1 else 'ies'}: {what}",
                  highlight=False, soft_wrap=True)


def crawl_with_spider(spider: str, db: Optional[str], config: Optional[Path], verbose: bool = False, **spider_args):
    """Body of every `suara crawl <spider>`: run it in-process, print a summary, exit 3 when it failed."""
    from scraper.crawl import run_spider

    args = {k: v for k, v in spider_args.items() if v not in (None, False)}
    overrides = {"LOG_LEVEL": "INFO" if verbose else "WARNING"}
    with console.status(f"crawling {spider} ...") as status:
        seen = [0]

        def progress(_item) -> None:
            seen[0] += 1
            status.update(f"crawling {spider} ... {seen[0]} item(s)")

        summary = run_spider(spider, db=db, settings_overrides=overrides, config=config, on_item=progress, **args)
    print_crawl_summary(summary)
    summary.raise_for_status()  # CrawlError: one line, exit 3; stored items stay


@crawl_app.command("appstore")
def crawl_appstore(
    app_id: Annotated[str, typer.Option("--app", help="App Store app id (the digits of id123456789).")],
    country: Annotated[str, typer.Option("--country", help="Store country (two letters).")] = "id",
    full: FullOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """App Store reviews from Apple's public customer-reviews feed (up to 500 newest)."""
    crawl_with_spider("appstore", db, config, verbose, app=app_id, country=country, full=full)


@crawl_app.command("news")
def crawl_news(
    query: Annotated[str, typer.Option("--query", help='Words articles must mention, e.g. "SIARAN Tangsel" ("*": every feed entry, no GDELT).')],
    since: Annotated[Optional[str], typer.Option("--since", help="Oldest article date (YYYY-MM-DD); GDELT keeps about 3 months.")] = None,
    feed: Annotated[Optional[list[str]], typer.Option("--feed", help="RSS/Atom feed URL (repeatable), besides the config's [news] feeds.")] = None,
    no_gdelt: Annotated[bool, typer.Option("--no-gdelt", help="Read the feeds only.")] = False,
    full: FullOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """News articles that mention QUERY: GDELT (Indonesian sources) and RSS/Atom feeds, text by trafilatura."""
    crawl_with_spider("news", db, config, verbose, query=query, since=since, feeds=",".join(feed or []) or None,
                      gdelt="0" if no_gdelt else None, full=full)


@crawl_app.command("reddit")
def crawl_reddit(
    query: Annotated[str, typer.Option("--query", help="Reddit search words.")],
    subreddit: Annotated[Optional[str], typer.Option("--subreddit", help="Search one subreddit only, e.g. indonesia.")] = None,
    full: FullOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Reddit posts and their comments matching QUERY (OAuth when REDDIT_CLIENT_ID/SECRET are set)."""
    crawl_with_spider("reddit", db, config, verbose, query=query, subreddit=subreddit, full=full)


@crawl_app.command("youtube")
def crawl_youtube(
    query: Annotated[Optional[str], typer.Option("--query", help="Find videos with these words (search: 100 quota units a page).")] = None,
    video: Annotated[Optional[list[str]], typer.Option("--video", help="Video id (repeatable) instead of --query.")] = None,
    max_videos: Annotated[int, typer.Option("--max-videos", help="Most videos a --query follows.")] = 50,
    full: FullOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Comments (and channel-owner replies) on YouTube videos; needs YOUTUBE_API_KEY."""
    if bool(query) == bool(video):
        from .errors import InputError

        raise InputError("give --query or --video (one of them)")
    crawl_with_spider("youtube", db, config, verbose, query=query, videos=",".join(video or []) or None,
                      max_videos=str(max_videos), full=full)


@app.command("sources")
def sources_cmd(config: ConfigOpt = None) -> None:
    """Validate the sources config and print what a scheduled run collects."""
    from .sources import load_sources, sources_table

    cfg = load_sources(config)
    out.print(sources_table(cfg))
    out.print(f"[green]ok[/]: {cfg.path}")
# ---- understand: sentiment -----------------------------------------------------------------------
ModelOpt = Annotated[
    str,
    typer.Option("--model", help="auto (IndoBERT, else the offline linear model), linear, lexicon, indobert, a .npz linear model, a model folder PATH, or a hub id."),
]
TextOnlyOpt = Annotated[bool, typer.Option("--text-only", help="Linear model: ignore star ratings, read the text alone.")]
LabelsOpt = Annotated[
    Optional[str],
    typer.Option("--labels", help="Model output order for checkpoints labelled LABEL_0.., e.g. positive,neutral,negative."),
]


PrecisionOpt = Annotated[
    str,
    typer.Option("--precision", help="Transformer path: auto (int8 on CPU, bf16 on GPU, if labels agree with fp32 on >= 99% of a calibration sample), fp32, int8, bf16."),
]


WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", min=1, help="Processes for lexicon/linear sentiment and tagging (default: one per CPU; 1: in-process).")]


def _load_model(model: str, labels: Optional[str], batch_size: int, text_only: bool = False, precision: str = "fp32",
                calibration_texts=None):
    """load_classifier, with auto's fallback warnings printed as one line each."""
    import warnings

    from nlp.precision import PrecisionWarning
    from nlp.sentiment import FallbackWarning, load_classifier

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        warnings.simplefilter("always", PrecisionWarning)
        clf = load_classifier(model, labels=labels, batch_size=batch_size, text_only=text_only, precision=precision,
                              calibration_texts=calibration_texts)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    return clf


@app.command("analyze")
def analyze_cmd(
    model: ModelOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Texts per model batch.")] = 32,
    reanalyze: Annotated[bool, typer.Option("--reanalyze", help="Relabel every mention, not only new or edited ones.")] = False,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", min=1, help="Mentions committed per transaction (default: 2000 for lexicon/linear, 256 for a transformer).")] = None,
    labels: LabelsOpt = None,
    indicators: Annotated[bool, typer.Option("--indicators/--no-indicators",
                                             help="Also tag the six indicators (as `suara tag`).")] = True,
    text_only: TextOnlyOpt = False,
    db: DbOpt = None,
    precision: PrecisionOpt = "fp32",
    workers: WorkersOpt = None,
) -> None:
    """Label every mention not yet labelled by the model, then tag indicators (resumable: commits chunk by chunk)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .analysis import analyze, calibration_texts
    from .store import Store

    store = Store(db)
    sample = calibration_texts(store) if precision == "auto" else None
    clf = _load_model(model, labels, batch_size, text_only, precision, sample or None)
    with Progress(
        TextColumn("[bold]analyze[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(clf.model_id, total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, completed=done, total=total, rate=f"{done / elapsed:,.0f} texts/s" if elapsed else "")

        res = analyze(store, model=clf, indicators=indicators, batch_size=batch_size, reanalyze=reanalyze,
                      chunk_size=chunk_size, progress=progress, workers=workers)
    lab = res.labels
    out.print(
        f"{res.model}: labelled {res.labelled} of {res.pending} pending mentions "
        f"({lab.get('positive', 0)} positive, {lab.get('neutral', 0)} neutral, {lab.get('negative', 0)} negative) "
        f"in {res.seconds:.1f} s, {res.texts_per_s:,.1f} texts/s",
        highlight=False,
        soft_wrap=True,
    )
    if res.tagged is not None:
        out.print(f"indicators: tagged {res.tagged} mention(s)", highlight=False)


@app.command("evaluate")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled CSV or TSV (with or without header).")],
    model: ModelOpt = "auto",
    text_col: Annotated[Optional[str], typer.Option("--text-col", help="Text column: name, or number if no header.")] = None,
    label_col: Annotated[Optional[str], typer.Option("--label-col", help="Label column: name, or number if no header.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    labels: LabelsOpt = None,
    text_only: TextOnlyOpt = False,
    errors: Annotated[bool, typer.Option("--errors", help="Codebook files: list the reviews it gets wrong.")] = False,
    taxonomy: Annotated[Optional[Path], typer.Option("--taxonomy", help="Codebook files: indicator taxonomy TOML.")] = None,
    precision: PrecisionOpt = "fp32",
) -> None:
    """Accuracy, macro-F1, per-class precision/recall/F1 and confusion matrix on a labelled file.

    A hand-coded file in the codebook format (text, rating, sentiment, indicators as key:polarity)
    is scored whole: sentiment (stars passed to models that use them), indicators with polarity,
    and favourability per indicator from the codes beside the product's.
    """
    import json

    from rich.table import Table

    from nlp.evaluate import evaluate, is_codebook_file

    clf = _load_model(model, labels, batch_size, text_only, precision)
    if is_codebook_file(file):
        _print_codebook_evaluation(file, clf, taxonomy, batch_size, as_json, errors)
        return
    res = evaluate(file, clf, text_col=text_col, label_col=label_col, batch_size=batch_size)
    if as_json:
        typer.echo(json.dumps(res, ensure_ascii=False, indent=2))
        return
    out.print(f"{res['file']}: {res['n']} texts, model {res['model']} ({res['texts_per_s']:,.0f} texts/s)",
              highlight=False, soft_wrap=True)
    out.print(f"accuracy {res['accuracy']:.4f}   macro-F1 {res['macro_f1']:.4f}", highlight=False)
    t = Table("class", "precision", "recall", "F1", "support")
    for c, m in res["per_class"].items():
        t.add_row(c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    out.print(t)
    cm = Table("true \\ predicted", *res["confusion"].keys(), title="confusion matrix")
    for true, row in res["confusion"].items():
        cm.add_row(true, *(str(v) for v in row.values()))
    out.print(cm)


def _print_codebook_evaluation(file, clf, taxonomy, batch_size, as_json, errors, sentiment: bool = True) -> None:
    import json

    from rich.table import Table

    from nlp.evaluate import evaluate_codebook

    res = evaluate_codebook(file, clf, taxonomy, batch_size)
    if as_json:
        doc = {k: v for k, v in res.items() if k not in ("indicators", "favourability", "errors")}
        for k in ("indicators", "favourability"):
            if res[k] is not None:
                doc[k] = json.loads(res[k].round(4).to_json(orient="records"))
        if errors:
            doc["errors"] = json.loads(res["errors"].to_json(orient="records"))
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    out.print(f"{file}: {res['n']} coded reviews; model {res['model']}, taxonomy {res['taxonomy']}",
              highlight=False, soft_wrap=True)
    s = res["sentiment"]
    if sentiment and s is not None:
        out.print(f"sentiment: accuracy {s['accuracy']:.4f}   macro-F1 {s['macro_f1']:.4f}   "
                  f"negative recall {s['negative_recall']:.4f}", highlight=False)
        cm = Table("true \\ predicted", *s["confusion"].keys(), title="sentiment confusion matrix")
        for true, row in s["confusion"].items():
            cm.add_row(true, *(str(v) for v in row.values()))
        out.print(cm)
    if res["indicators"] is not None:
        t = Table(title="indicators (polarity accuracy: on indicators found that the codes also have)")
        for col in ("indicator", "precision", "recall", "f1", "support", "tp", "fp", "fn", "polarity acc."):
            t.add_column(col, justify="left" if col == "indicator" else "right")
        for r in res["indicators"].itertuples():
            pa = "–" if r.polarity_accuracy != r.polarity_accuracy else f"{r.polarity_accuracy:.3f}"
            t.add_row(r.indicator, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", str(r.support),
                      str(r.tp), str(r.fp), str(r.fn), pa, end_section=r.indicator == "penanggapan")
        out.print(t)
        f = Table(title="favourability (share not a complaint): codes vs product")
        for col in ("indicator", "coded n", "coded", "product n", "product", "abs error"):
            f.add_column(col, justify="left" if col == "indicator" else "right")
        fmt = lambda v: "–" if v != v else f"{v:.3f}"  # noqa: E731
        for r in res["favourability"].itertuples():
            f.add_row(r.indicator, str(r.gold_n), fmt(r.gold), str(r.product_n), fmt(r.product), fmt(r.abs_error))
        out.print(f)
    if errors:
        for r in res["errors"].itertuples():
            out.print(f"line {r.line} ({r.id}, {r.rating:g}★): sentiment {r.gold_sentiment or '-'} -> {r.sentiment}; "
                      f"indicators [{r.gold_indicators}] -> [{r.indicators}] | {r.text} | {r.evidence}",
                      highlight=False, soft_wrap=True, markup=False)


@app.command("train")
def train_cmd(
    train_file: Annotated[Optional[list[Path]], typer.Option("--train", help="Labelled training CSV/TSV (linear: repeat for several).")] = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", help="transformer: folder for the best model; linear: the .npz file (default data/models/sentiment_linear.npz).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="transformer (fine-tune an encoder) or linear (TF-IDF + logistic regression, offline).")] = "transformer",
    valid_file: Annotated[Optional[Path], typer.Option("--valid", help="transformer: labelled validation CSV/TSV (early stopping).")] = None,
    coded: Annotated[Optional[list[Path]], typer.Option("--coded", help="linear: hand-coded reviews in the codebook format (fit the star combiner; repeat).")] = None,
    reviews: Annotated[Optional[list[Path]], typer.Option("--reviews", help="linear: store-review exports whose stars give weak labels (repeat).")] = None,
    weak_weight: Annotated[float, typer.Option("--weak-weight", min=0.0, help="linear: weight of a star-labelled review.")] = 0.5,
    cv: Annotated[int, typer.Option("--cv", min=0, help="linear: K-fold figures on the coded reviews instead of training (0 = train).")] = 0,
    base: Annotated[str, typer.Option("--base", help="Encoder to fine-tune: hub id or local folder.")] = "indobenchmark/indobert-base-p1",
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 3,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 16,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-5,
    max_length: Annotated[int, typer.Option("--max-length", min=8, help="Tokens per training text.")] = 128,
    patience: Annotated[int, typer.Option("--patience", min=1, help="Epochs without macro-F1 gain before stopping.")] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    text_col: Annotated[Optional[str], typer.Option("--text-col")] = None,
    label_col: Annotated[Optional[str], typer.Option("--label-col")] = None,
) -> None:
    """Train a sentiment model: fine-tune an encoder (--kind transformer) or the offline linear model (--kind linear)."""
    if kind == "linear":
        _train_linear(train_file or [], coded or [], reviews or [], out_path, weak_weight, cv, seed)
        return
    if kind != "transformer":
        raise typer.BadParameter(f"unknown kind {kind!r} (use transformer or linear)", param_hint="--kind")
    if not train_file or len(train_file) != 1 or valid_file is None or out_path is None:
        raise typer.BadParameter("--kind transformer needs one --train file, --valid and --out")
    from nlp.train import train

    res = train(train_file[0], valid_file, out_path, base, epochs=epochs, batch_size=batch_size, lr=lr,
                max_length=max_length, patience=patience, seed=seed, text_col=text_col, label_col=label_col,
                progress=lambda msg: console.print(msg, highlight=False))
    out.print(
        f"best epoch {res['best_epoch']}: valid accuracy {res['valid_accuracy']:.4f}, macro-F1 "
        f"{res['valid_macro_f1']:.4f}; saved to {res['out']} (use --model {res['out']})",
        highlight=False,
        soft_wrap=True,
    )


def _train_linear(public, coded, reviews, out_path, weak_weight, cv, seed) -> None:
    from nlp.linear import DEFAULT_LINEAR_MODEL
    from nlp.train import cross_validate_linear, train_linear

    say = lambda msg: console.print(msg, highlight=False, soft_wrap=True)  # noqa: E731
    if not public and not reviews:
        raise typer.BadParameter("--kind linear needs --train (labelled sets) and/or --reviews (star-labelled exports)")
    if cv:
        df = cross_validate_linear(public, coded, reviews, folds=cv, weak_weight=weak_weight, seed=seed, progress=say)
        from rich.table import Table

        t = Table(title=f"{cv}-fold cross-validation on {len(df.attrs['pooled']['predictions'])} coded reviews "
                        "(text model never sees them; star combiner fitted on the other folds)")
        cols = ["fold", "n", "accuracy", "macro_f1", "negative_recall", "star_accuracy", "star_macro_f1",
                "indicator_micro_f1", "polarity_accuracy", "max_favourability_error"]
        for col in cols:
            t.add_column(col.replace("_", " "), justify="left" if col == "fold" else "right")
        for r in df.to_dict("records"):
            t.add_row(*(str(r[c]) if c in ("fold", "n") else ("–" if r[c] != r[c] else f"{r[c]:.3f}") for c in cols),
                      end_section=r["fold"] == str(cv - 1))
        out.print(t)
        fav = df.attrs["pooled"]["favourability"]
        out.print("pooled favourability (share not a complaint), codes vs product: " + "; ".join(
            f"{r.indicator} {r.gold:.2f}/{r.product:.2f} (n={r.gold_n})" for r in fav.itertuples() if r.gold_n),
            highlight=False, soft_wrap=True)
        return
    if not coded:
        say("[yellow]warning:[/] no --coded reviews: the model reads text only (no star combiner)")
    res = train_linear(out_path or DEFAULT_LINEAR_MODEL, public, coded, reviews, weak_weight=weak_weight, seed=seed,
                       progress=say)
    out.print(f"linear model {res['version']}: {res['rows']:,} text rows, {res['coded']} coded reviews, "
              f"star combiner {'on' if res['star_combiner'] else 'off'}; saved to {res['out']} "
              f"({res['seconds']:.0f} s; use --model {res['out']})", highlight=False, soft_wrap=True)


# ---- understand: indicators ----------------------------------------------------------------------
TaxonomyOpt = Annotated[
    Optional[Path], typer.Option("--taxonomy", help="Indicator taxonomy TOML (default: data/indicators.toml).")
]


@app.command("evaluate-indicators")
def evaluate_indicators_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled CSV: text, indicators (';'-separated keys, empty for none)[, split].")],
    split: Annotated[Optional[str], typer.Option("--split", help="Only rows of this split: dev or heldout.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    errors: Annotated[bool, typer.Option("--errors", help="Also list the rows the tagger gets wrong.")] = False,
    taxonomy: TaxonomyOpt = None,
    model: Annotated[str, typer.Option("--model", help="Codebook files: sentiment model for tags without a cue of their own.")] = "auto",
    text_only: TextOnlyOpt = False,
) -> None:
    """Per-indicator precision, recall and F1 of the indicator tagger on a labelled file.

    A codebook file (indicators as key:polarity) also gets polarity accuracy and favourability
    per indicator, gold beside product; a tag without a cue takes its polarity from the review's
    sentiment by --model.
    """
    import json

    from rich.table import Table

    from nlp.evaluate import is_codebook_file
    from nlp.indicators import evaluate_indicators, indicator_errors

    if is_codebook_file(file):
        if split:
            raise typer.BadParameter("--split applies to the project's labelled sentences, not to codebook files")
        _print_codebook_evaluation(file, _load_model(model, None, 32, text_only), taxonomy, 32, as_json, errors,
                                   sentiment=False)
        return
    df = evaluate_indicators(file, taxonomy, split)
    wrong = indicator_errors(file, taxonomy, split) if errors else None
    if as_json:
        doc = {**df.attrs, "metrics": df.round(4).to_dict(orient="records")}
        if wrong is not None:
            doc["errors"] = wrong.to_dict(orient="records")
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{file} ({df.attrs['split']}, {df.attrs['rows']} rows, taxonomy {df.attrs['taxonomy']})")
    for col in ("indicator", "precision", "recall", "f1", "support", "tp", "fp", "fn"):
        table.add_column(col, justify="left" if col == "indicator" else "right")
    for r in df.itertuples():
        table.add_row(r.indicator, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}",
                      str(r.support), str(r.tp), str(r.fp), str(r.fn), end_section=r.indicator == "penanggapan")
    out.print(table)
    if wrong is not None:
        for r in wrong.itertuples():
            out.print(f"line {r.line}: gold [{r.gold}] predicted [{r.predicted}] | {r.text} | {r.evidence}",
                      highlight=False, soft_wrap=True, markup=False)


@app.command("tag")
def tag_cmd(
    reanalyze: Annotated[bool, typer.Option("--reanalyze", help="Re-tag every mention, not only new or edited ones.")] = False,
    text: Annotated[Optional[str], typer.Option("--text", help="Tag this text and print the matches (store untouched).")] = None,
    taxonomy: TaxonomyOpt = None,
    db: DbOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Tag stored mentions with the six indicators (incremental: new, edited, or taxonomy changed)."""
    from nlp.indicators import get_tagger

    if text is not None:
        found = get_tagger(taxonomy).tag(text)
        for m in found:  # tab-separated, unstyled: easy to paste or pipe
            typer.echo(f"{m.indicator}\t{m.signal}\t{m.evidence}")
        if not found:
            typer.echo("(no indicator)")
        return

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .store import Store
    from .tagging import indicator_summary, tag_indicators

    store = Store(db)
    try:
        with Progress(TextColumn("tagging"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
            task = bar.add_task("tag", total=None)
            n = tag_indicators(store, reanalyze=reanalyze, taxonomy=taxonomy, workers=workers,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
        summary = indicator_summary(store)
    finally:
        store.close()
    out.print(f"tagged {n} mention(s); {summary.attrs['tagged']} tagged in all "
              f"(taxonomy {', '.join(summary.attrs['taxonomies']) or '-'})", highlight=False)
    for r in summary.itertuples():
        out.print(f"  {r.name:<20} {r.mentions:>7}  complaint cue {r.complaint_cue}, praise cue {r.praise_cue}",
                  highlight=False)


# ---- report: trends and triangulation -------------------------------------------------------------
# Report filters and language, shared by trends, report and triangulate.
SourceOpt = Annotated[Optional[list[str]], typer.Option("--source", help="Only this source (repeat for several), e.g. playstore.")]
AppOpt = Annotated[Optional[list[str]], typer.Option("--app", help="Only this app id or news query (repeat for several).")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Report language: id or en (default: the config's [trends] lang, else id).")]
NoQuotesOpt = Annotated[bool, typer.Option("--no-quotes", help="Leave citizen quotes out of report.html.")]
SurveyOpt = Annotated[Optional[Path], typer.Option("--survey", help="Survey CSV to set beside the reviews (default: the config's [survey]).")]
PeriodOpt = Annotated[Optional[str], typer.Option("--period", help="week, month or quarter (default: the config's, else month).")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day (inclusive), YYYY-MM-DD.")]
ReportOutOpt = Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: <output>/reports).")]
ReportModelOpt = Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the one that labelled most).")]
ReportConfigOpt = Annotated[Optional[Path], typer.Option("--config", envvar="SUARA_CONFIG", help="Sources config: app names, language, survey.")]


@app.command("trends")
def trends_cmd(
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    out_dir: ReportOutOpt = None,
    model: ReportModelOpt = None,
    db: DbOpt = None,
    source: SourceOpt = None,
    app_: AppOpt = None,
    lang: LangOpt = None,
    no_quotes: NoQuotesOpt = False,
    survey: SurveyOpt = None,
    config: ReportConfigOpt = None,
) -> None:
    """Sentiment, complaints by indicator and developer replies per period: CSVs, charts, report.html."""
    _report(db, out_dir, period, since, until, model, source, app_, lang, no_quotes, survey, config, print_all=True)


def _report(db, out_dir, period, since, until, model, source, app_, lang, no_quotes, survey, config, print_all) -> None:
    from .brief import write_report
    from .paths import output_dir
    from .store import Store
    from .trends import model_counts

    store = Store(db)
    try:
        paths = write_report(store, out_dir or output_dir() / "reports", period=period, since=since, until=until,
                             model=model, source=source, app=app_, lang=lang, quotes=not no_quotes, survey=survey,
                             config=config)
        unlabelled = model_counts(store).empty
    finally:
        store.close()
    for name, path in paths.items():
        if print_all or name == "report":
            out.print(str(path), highlight=False, soft_wrap=True)
    if unlabelled:
        console.print("note: no mention has a sentiment label yet, so shares are empty", highlight=False)


@app.command("report")
def report_cmd(
    out_dir: ReportOutOpt = None,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    model: ReportModelOpt = None,
    db: DbOpt = None,
    source: SourceOpt = None,
    app_: AppOpt = None,
    lang: LangOpt = None,
    no_quotes: NoQuotesOpt = False,
    survey: SurveyOpt = None,
    config: ReportConfigOpt = None,
) -> None:
    """Regenerate report.html (and the trend files beside it) from the store, with the survey when configured."""
    _report(db, out_dir, period, since, until, model, source, app_, lang, no_quotes, survey, config, print_all=False)


@app.command("triangulate")
def triangulate_cmd(
    survey: Annotated[Path, typer.Option("--survey", help="Survey CSV: one row per indicator, or raw responses with --map.")],
    window: Annotated[Optional[str], typer.Option("--window", help="Fieldwork dates START:END (YYYY-MM-DD:YYYY-MM-DD).")] = None,
    mapping: Annotated[Optional[list[str]], typer.Option("--map", help="Raw responses: a mapping TOML, or ITEM=INDICATOR (repeat).")] = None,
    scale: Annotated[Optional[str], typer.Option("--scale", help="Raw responses with ITEM=INDICATOR maps: answer scale MIN:MAX (default 1:5).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: <output>/reports).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the one that labelled most).")] = None,
    basis: Annotated[str, typer.Option("--basis", help="Favourability from indicator polarity (default) or from review sentiment alone (earlier definition).")] = "polarity",
    db: DbOpt = None,
    source: SourceOpt = None,
    app_: AppOpt = None,
    since: Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD (same as --window START:).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Last day, YYYY-MM-DD (same as --window :END).")] = None,
) -> None:
    """Compare the survey with what reviews say per indicator: triangulation.csv/.md and a dumbbell chart."""
    from .errors import InputError
    from .paths import output_dir
    from .store import Store
    from .trends import check_filters
    from .triangulate import parse_mapping, write_triangulation

    survey_map = parse_mapping(mapping, scale)
    if (since or until) and window:
        raise InputError("give either --window or --since/--until, not both")
    if since or until:
        window = f"{since or ''}:{until or ''}"
    store = Store(db)
    try:
        check_filters(store, source, app_)
        paths = write_triangulation(store, survey, out_dir or output_dir() / "reports", window, model, survey_map,
                                    source=source, app=app_, basis=basis)
    finally:
        store.close()
    for path in paths.values():
        out.print(str(path), highlight=False, soft_wrap=True)


# ---- operate: run, status, schedule, demo ---------------------------------------------------------
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Folder for trend files and reports (default: <output folder>/reports).")]


def _print_step(step) -> None:
    console.print(f"  {step.step} {step.source} {step.target}: {step.status} {step.detail}".rstrip(),
                  highlight=False, soft_wrap=True)


def _print_run(summary) -> None:
    from rich.table import Table

    t = Table(title=f"suara run {summary.run_id}", title_justify="left")
    # Details were printed as each step ended; the table stays narrow enough for a terminal.
    for col in ("step", "source", "target", "status", "new", "updated", "seconds"):
        t.add_column(col, overflow="fold")
    colour = {"ok": "green", "failed": "red", "skipped": "yellow"}
    for s in summary.steps:
        t.add_row(s.step, s.source, s.target, f"[{colour.get(s.status, 'white')}]{s.status}[/]",
                  str(s.new), str(s.updated), f"{s.seconds:.1f}")
    out.print(t)
    if summary.took_over_stale_lock:
        console.print(f"note: took over a stale run lock left by {summary.took_over_stale_lock}")


@app.command("run")
def run_cmd(
    config: ConfigOpt = None,
    db: DbOpt = None,
    out_dir: OutOpt = None,
    full: FullOpt = False,
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the config's).")] = None,
) -> None:
    """Do the whole job once: crawl every source in the config, analyse, write trends, triangulate.

    Safe under cron: a second run while one is in progress exits 75 without doing anything.
    One failing source does not stop the others; the run then exits 1 and names it.
    """
    from .runner import run_once

    summary = run_once(config, db, out_dir, full=full, model=model, on_step=_print_step)
    _print_run(summary)
    out.print(f"reports: {summary.out_dir}")
    if summary.interrupted:  # SIGTERM 143, SIGINT 130: recorded as interrupted, lock released
        console.print(f"[bold red]error:[/] {summary.error_line()}", highlight=False, soft_wrap=True)
        raise typer.Exit(summary.exit_code)
    if not summary.ok:
        console.print(f"[bold red]error:[/] {summary.error_line()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command("status")
def status_cmd(db: DbOpt = None) -> None:
    """Per source: last successful crawl, what is incomplete, mentions waiting for analysis; the last run."""
    from rich.table import Table

    from .runner import describe_run, status

    st = status(db)
    out.print(f"store: {st['store']}", highlight=False, soft_wrap=True)
    t = Table(title="sources", title_justify="left")
    for col in ("source", "target", "state", "last complete (UTC)", "mentions", "waiting analysis"):
        t.add_column(col, overflow="fold")
    rows = st["sources"].to_dict("records")
    for r in rows:
        done = r["last_complete"]
        t.add_row(r["source"], r["target"], r["state"], "" if done is None or done != done else f"{done:%Y-%m-%d %H:%M}",
                  str(r["mentions"]), str(r["waiting_analysis"]))
    out.print(t)
    for r in rows:
        if r["last_error"]:
            out.print(f"{r['source']} {r['target']}: last error: {r['last_error']}", highlight=False, soft_wrap=True)
    for r in rows:
        if r.get("skipped"):
            out.print(f"{r['source']} {r['target']}: last crawl skipped {r['skipped']}: {r['skipped_detail']}",
                      highlight=False, soft_wrap=True)
    out.print(f"last run: {describe_run(st['last_run'])}", highlight=False, soft_wrap=True)
    _print_coding(db)


@app.command("schedule")
def schedule_cmd(
    every: Annotated[Optional[str], typer.Option("--every", help="Interval such as 6h, 30m or 1d.")] = None,
    cron: Annotated[Optional[str], typer.Option("--cron", help="Five-field cron expression, e.g. '0 */6 * * *'.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    out_dir: OutOpt = None,
    now: Annotated[bool, typer.Option("--now/--no-now", help="Also run once right away.")] = True,
) -> None:
    """Keep running and call `suara run` on a schedule; Ctrl-C stops cleanly between runs."""
    import logging

    from .lock import LockHeld
    from .runner import run_once
    from .schedule import make_trigger, run_forever

    make_trigger(every, cron)  # bad --every/--cron: one line before anything starts
    from .sources import load_sources

    load_sources(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def job() -> None:
        try:
            summary = run_once(config, db, out_dir)
        except LockHeld as exc:
            console.print(f"skipped: {exc}")
            return
        _print_run(summary)
        if not summary.ok:
            console.print(f"[bold red]run failed:[/] {summary.error_line()}", highlight=False)

    console.print(f"scheduling suara run {'every ' + every if every else 'at cron ' + repr(cron)} (UTC); Ctrl-C stops")
    run_forever(job, every=every, cron=cron, run_now=now)
    console.print("schedule stopped")


@app.command("demo")
def demo_cmd(
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Demo folder (default: <output folder>/demo); its store is recreated.")] = None,
) -> None:
    """Run the whole pipeline offline on shipped synthetic samples served on 127.0.0.1."""
    from .demo import run_demo

    console.print("serving synthetic Play Store, App Store and news samples on 127.0.0.1 ...")
    summary, info = run_demo(out_dir, on_step=_print_step)
    _print_run(summary)
    reports = summary.out_dir
    out.print(f"\nstore:          {info['db']}", soft_wrap=True)
    out.print(f"look again:     suara status --db {info['db']}", highlight=False, soft_wrap=True)
    out.print(f"                suara report --db {info['db']} --config {info['config']} --out {reports}",
              highlight=False, soft_wrap=True)
    out.print(f"sources config: {info['config']}")
    out.print(f"open first:     {reports / 'report.html'}")
    for name in ("sentiment_by_period.csv", "indicators_by_period.csv", "responsiveness_by_period.csv",
                 "triangulation.csv", "triangulation.md"):
        out.print(f"                {reports / name}")
    if not summary.ok:
        console.print(f"[bold red]error:[/] {summary.error_line()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)



# ---- validate: human coding, agreement, machine versus human ------------------------------------
label_app = typer.Typer(cls=_Group, help="Human coding: blind sample sheets, importing codes, inter-coder agreement.",
                        no_args_is_help=True)
app.add_typer(label_app, name="label")


def _print_coding(db: Optional[str]) -> None:
    from .labels import coding_summary
    from .store import Store

    store = Store(db)
    try:
        summ = coding_summary(store)
    finally:
        store.close()
    if summ.empty:
        out.print("human codes: none (figures unvalidated; see `suara label sample`)", highlight=False)
        return
    by = ", ".join(f"{r.coder} {r.mentions}" for r in summ.itertuples())
    out.print(f"human codes: {summ.attrs['coded_mentions']} mention(s) coded; by coder: {by}",
              highlight=False, soft_wrap=True)


@label_app.command("sample")
def label_sample_cmd(
    n: Annotated[int, typer.Option("--n", min=1, help="Mentions to sample.")],
    out_file: Annotated[Path, typer.Option("--out", help="Coding sheet to write: .xlsx (drop-downs) or .csv.")],
    stratify: Annotated[str, typer.Option("--stratify", help="Comma list of source, app, indicator, month ('' for none).")] = "source",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default: a random one, recorded).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only mentions from this source.")] = None,
    app_id: Annotated[Optional[str], typer.Option("--app", help="Only mentions of this app or query.")] = None,
    db: DbOpt = None,
) -> None:
    """Draw a reproducible stratified random sample and write a blind coding sheet (no machine labels)."""
    from .labels import draw_sample
    from .store import Store

    store = Store(db)
    try:
        s = draw_sample(store, n, out_file, stratify, seed, source, app_id)
    finally:
        store.close()
    out.print(f"{s.path}: {s.n} mention(s); sample {s.id}, seed {s.seed}", highlight=False, soft_wrap=True)


@label_app.command("import")
def label_import_cmd(
    sheet: Annotated[Path, typer.Argument(help="A filled coding sheet (.xlsx or .csv).")],
    coder: Annotated[str, typer.Option("--coder", help="Who coded it (an adjudication sheet: consensus).")],
    db: DbOpt = None,
) -> None:
    """Validate a filled sheet and store its codes (all rows or none); re-import replaces that coder's codes."""
    from .labels import import_codes
    from .store import Store

    store = Store(db)
    try:
        res = import_codes(store, sheet, coder)
    finally:
        store.close()
    out.print(f"{sheet}: {res.coded} mention(s) coded by {res.coder} ({res.replaced} earlier code(s) replaced)",
              highlight=False, soft_wrap=True)


def _frame_table(df, title: str, pct: tuple[str, ...] = (), num: tuple[str, ...] = ()):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
    for r in df.to_dict("records"):
        cells = []
        for c, v in r.items():
            if isinstance(v, float) and v != v:
                cells.append("–")
            elif c in pct:
                cells.append(f"{v:.0%}")
            elif c in num or isinstance(v, float):
                cells.append(f"{v:.2f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    return t


@label_app.command("agreement")
def label_agreement_cmd(
    resolve: Annotated[Optional[Path], typer.Option("--resolve", help="Write an adjudication sheet (.xlsx/.csv) of the disagreements.")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Also write the agreement table as CSV.")] = None,
    db: DbOpt = None,
) -> None:
    """Inter-coder reliability: Cohen's kappa and Krippendorff's alpha per field, and what to resolve."""
    from .labels import agreement, disagreements, write_adjudication
    from .outputs import write_csv
    from .store import Store

    store = Store(db)
    try:
        ag = agreement(store)
        dis = disagreements(store)
        sheet = write_adjudication(store, resolve) if resolve else None
    finally:
        store.close()
    if ag.empty:
        console.print("no mention has been coded by two or more coders yet: nothing to compare", highlight=False)
        raise typer.Exit(1)
    out.print(f"{ag.attrs['units']} mention(s) coded by {len(ag.attrs['coders'])} coders: "
              f"{', '.join(ag.attrs['coders'])}", highlight=False, soft_wrap=True)
    out.print(_frame_table(ag.drop(columns=["indicator", "aspect", "coders"]), "agreement", pct=("percent_agreement",)))
    if len(dis):
        out.print(_frame_table(dis.head(50), f"disagreements ({len(dis)}; first 50)"))
    if out_file:
        out.print(str(write_csv(ag.round(4), out_file)), highlight=False)
    if sheet:
        out.print(f"{sheet[0]}: {sheet[1]} mention(s) to adjudicate; import it with --coder consensus",
                  highlight=False, soft_wrap=True)


@app.command("validate")
def validate_cmd(
    coder: Annotated[Optional[str], typer.Option("--coder", help="Compare with this coder's codes.")] = None,
    consensus: Annotated[bool, typer.Option("--consensus", help="Compare with the adjudicated or agreed codes.")] = False,
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the one that labelled most).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Also write validation_indicators.csv and validation_confusion.csv here.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap draws.")] = 0,
    db: DbOpt = None,
) -> None:
    """Machine versus human on the coded sample, and each indicator's favourability corrected for the machine's error."""
    from .outputs import write_csv
    from .store import Store
    from .validate import validate

    store = Store(db)
    try:
        res = validate(store, coder, consensus, model, seed)
    finally:
        store.close()
    s = res["sentiment"]
    out.print(f"reference: {res['reference']}; {res['coded']} coded mention(s)"
              + (f", {res['excluded']} left out (unresolved disagreement)" if res["excluded"] else "")
              + (f", {res['trained_on']} left out (the model was trained on them)" if res["trained_on"] else "")
              + f"; model {res['model'] or '(none)'}", highlight=False, soft_wrap=True)
    fmt = lambda v, p=False: "–" if v != v else (f"{v:.1%}" if p else f"{v:.3f}")  # noqa: E731
    out.print(f"sentiment (n={s['n']}): accuracy {fmt(s['accuracy'], True)}, macro-F1 {fmt(s['macro_f1'])}, "
              f"kappa {fmt(s['kappa'])}", highlight=False)
    out.print(_frame_table(s["confusion"].reset_index().rename(columns={"human": "human/machine"}), "confusion"))
    ind = res["indicators"]
    out.print(_frame_table(ind[["indicator", "human_tags", "machine_tags", "precision", "recall", "f1",
                                "polarity_accuracy"]], "indicators: machine versus human"))
    fav = ind[["indicator", "human_favourability", "machine_favourability", "raw_favourability",
               "corrected_favourability", "corrected_low", "corrected_high", "corrected_status"]]
    fav.columns = ["indicator", "human", "machine", "corpus raw", "corpus corrected", "low", "high", "status"]
    out.print(_frame_table(fav, "favourability (not complaint): human vs machine on the sample; raw vs corrected "
                           "on the corpus", pct=("human", "machine", "corpus raw", "corpus corrected", "low", "high")))
    for r in ind.itertuples():
        if r.note:
            out.print(f"{r.indicator}: {r.note}", highlight=False, soft_wrap=True)
    if out_dir:
        for p in (write_csv(ind.round(4), Path(out_dir) / "validation_indicators.csv"),
                  write_csv(s["confusion"].reset_index(), Path(out_dir) / "validation_confusion.csv")):
            out.print(str(p), highlight=False)



@label_app.command("train")
def label_train_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to save the model in (then `suara analyze --model DIR`).")],
    base: Annotated[str, typer.Option("--base", help="Encoder to fine-tune: hub id or local folder.")] = "indobenchmark/indobert-base-p1",
    coder: Annotated[Optional[str], typer.Option("--coder", help="Train on this coder's codes.")] = None,
    consensus: Annotated[bool, typer.Option("--consensus", help="Train on the adjudicated or agreed codes.")] = False,
    holdout: Annotated[float, typer.Option("--holdout", help="Share of coded mentions kept unseen for `suara validate`.")] = 0.3,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 3,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 16,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-5,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    db: DbOpt = None,
) -> None:
    """Fine-tune the sentiment model on the human codes, holding out a share for validation."""
    from .store import Store
    from .validate import train_on_codes

    store = Store(db)
    try:
        res = train_on_codes(store, out_dir, base, coder=coder, consensus=consensus, holdout=holdout, seed=seed,
                             epochs=epochs, batch_size=batch_size, lr=lr,
                             progress=lambda msg: console.print(msg, highlight=False))
    finally:
        store.close()
    out.print(f"trained on {res['trained_on']} coded mention(s), {res['held_out']} held out; best epoch "
              f"{res['best_epoch']}: valid macro-F1 {res['valid_macro_f1']:.4f}; saved to {res['out']} "
              f"(next: suara analyze --model {res['out']} --reanalyze, then suara validate --model {res['out']})",
              highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
