"""The ``suara`` command: a thin shell that parses arguments and calls the library.

Each command maps to one library function that a notebook can call directly. Errors the
user can fix (``SuaraError``) become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

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

console = Console(stderr=True)
out = Console()

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SUARA_DB", help="Database URL (default: SQLite file in ./data/out or $SUARA_HOME)."),
]


def main() -> None:
    import warnings

    # Library warnings (e.g. "IndoBERT did not load, ran the lexicon") as one plain line.
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
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
    file: Annotated[Path, typer.Argument(help="A google-play-scraper export (.csv or .json).")],
    app_id: Annotated[str, typer.Option("--app", help="The app these reviews belong to.")],
    tz: Annotated[str, typer.Option("--tz", help="Zone of naive times in the file (gps writes local time).")] = "UTC",
    lang: Annotated[Optional[str], typer.Option("--lang", help="Language the reviews were scraped with.")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Country the reviews were scraped with.")] = None,
    db: DbOpt = None,
) -> None:
    """Load Play Store reviews exported earlier by google-play-scraper (validated first: one bad row, nothing stored)."""
    from .importer import import_reviews
    from .store import Store

    store = Store(db)
    try:
        res = import_reviews(store, file, app_id, tz=tz, lang=lang, country=country)
    finally:
        store.close()
    out.print(f"{file}: {res.seen} review(s): {res.new} new, {res.updated} updated, {res.unchanged} unchanged",
              highlight=False, soft_wrap=True)


@app.command("export")
def export_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write (UTF-8 with BOM, formula-safe).")],
    source: Annotated[Optional[str], typer.Option("--source", help="Only this source, e.g. playstore.")] = None,
    db: DbOpt = None,
) -> None:
    """Write every stored mention to a CSV (authors only as pseudonymous keys)."""
    from .export import export_mentions, mentions_frame
    from .store import Store

    store = Store(db)
    try:
        n = len(mentions_frame(store, source))
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
    table.add_column("app id", no_wrap=True, min_width=int(df["app_id"].str.len().max()))
    for name in ("title", "developer", "rating", "installs"):
        table.add_column(name)
    for r in df.itertuples():
        score = "" if r.score is None or r.score != r.score else f"{r.score:.1f}"
        table.add_row(str(r.app_id), str(r.title or ""), str(r.developer or ""), score, str(r.installs or ""))
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
    typer.Option("--model", help="auto (IndoBERT, else lexicon), lexicon, indobert, a model folder PATH, or a hub id."),
]
LabelsOpt = Annotated[
    Optional[str],
    typer.Option("--labels", help="Model output order for checkpoints labelled LABEL_0.., e.g. positive,neutral,negative."),
]


def _load_model(model: str, labels: Optional[str], batch_size: int):
    """load_classifier, with auto's fallback warning printed as one line."""
    import warnings

    from nlp.sentiment import FallbackWarning, load_classifier

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        clf = load_classifier(model, labels=labels, batch_size=batch_size)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    return clf


@app.command("analyze")
def analyze_cmd(
    model: ModelOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Texts per model batch.")] = 32,
    reanalyze: Annotated[bool, typer.Option("--reanalyze", help="Relabel every mention, not only new or edited ones.")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Mentions committed per transaction.")] = 256,
    labels: LabelsOpt = None,
    indicators: Annotated[bool, typer.Option("--indicators/--no-indicators",
                                             help="Also tag the six indicators (as `suara tag`).")] = True,
    db: DbOpt = None,
) -> None:
    """Label every mention not yet labelled by the model, then tag indicators (resumable: commits chunk by chunk)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .analysis import analyze_sentiment
    from .store import Store

    clf = _load_model(model, labels, batch_size)
    store = Store(db)
    with Progress(
        TextColumn("[bold]analyze[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(clf.model_id, total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, completed=done, total=total, rate=f"{done / elapsed:,.0f} texts/s" if elapsed else "")

        res = analyze_sentiment(store, model=clf, batch_size=batch_size, reanalyze=reanalyze,
                                chunk_size=chunk_size, progress=progress)
    lab = res.labels
    out.print(
        f"{res.model}: labelled {res.labelled} of {res.pending} pending mentions "
        f"({lab.get('positive', 0)} positive, {lab.get('neutral', 0)} neutral, {lab.get('negative', 0)} negative) "
        f"in {res.seconds:.1f} s, {res.texts_per_s:,.1f} texts/s",
        highlight=False,
        soft_wrap=True,
    )
    if indicators:
        from .tagging import tag_indicators

        out.print(f"indicators: tagged {tag_indicators(store, reanalyze=reanalyze)} mention(s)", highlight=False)


@app.command("evaluate")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled CSV or TSV (with or without header).")],
    model: ModelOpt = "auto",
    text_col: Annotated[Optional[str], typer.Option("--text-col", help="Text column: name, or number if no header.")] = None,
    label_col: Annotated[Optional[str], typer.Option("--label-col", help="Label column: name, or number if no header.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    labels: LabelsOpt = None,
) -> None:
    """Accuracy, macro-F1, per-class precision/recall/F1 and confusion matrix on a labelled file."""
    import json

    from rich.table import Table

    from nlp.evaluate import evaluate

    clf = _load_model(model, labels, batch_size)
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


@app.command("train")
def train_cmd(
    train_file: Annotated[Path, typer.Option("--train", help="Labelled training CSV/TSV.")],
    valid_file: Annotated[Path, typer.Option("--valid", help="Labelled validation CSV/TSV (early stopping).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to save the best model in (loads with --model DIR).")],
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
    """Fine-tune an encoder for positive/neutral/negative with early stopping on validation macro-F1."""
    from nlp.train import train

    res = train(train_file, valid_file, out_dir, base, epochs=epochs, batch_size=batch_size, lr=lr,
                max_length=max_length, patience=patience, seed=seed, text_col=text_col, label_col=label_col,
                progress=lambda msg: console.print(msg, highlight=False))
    out.print(
        f"best epoch {res['best_epoch']}: valid accuracy {res['valid_accuracy']:.4f}, macro-F1 "
        f"{res['valid_macro_f1']:.4f}; saved to {res['out']} (use --model {res['out']})",
        highlight=False,
        soft_wrap=True,
    )


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
) -> None:
    """Per-indicator precision, recall and F1 of the indicator tagger on a labelled file."""
    import json

    from rich.table import Table

    from nlp.indicators import evaluate_indicators, indicator_errors

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
            n = tag_indicators(store, reanalyze=reanalyze, taxonomy=taxonomy,
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
@app.command("trends")
def trends_cmd(
    period: Annotated[str, typer.Option("--period", help="week, month or quarter.")] = "month",
    since: Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Last day (inclusive), YYYY-MM-DD.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: <output>/reports).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the one that labelled most).")] = None,
    db: DbOpt = None,
) -> None:
    """Sentiment, complaints by indicator and developer replies per period: CSVs, charts, report.html."""
    from .paths import output_dir
    from .store import Store
    from .trends import model_counts, write_trends

    store = Store(db)
    try:
        paths = write_trends(store, out_dir or output_dir() / "reports", period, since, until, model)
        unlabelled = model_counts(store).empty
    finally:
        store.close()
    for path in paths.values():
        out.print(str(path), highlight=False, soft_wrap=True)
    if unlabelled:
        console.print("note: no mention has a sentiment label yet, so shares are empty", highlight=False)


@app.command("triangulate")
def triangulate_cmd(
    survey: Annotated[Path, typer.Option("--survey", help="Survey CSV: one row per indicator, or raw responses with --map.")],
    window: Annotated[Optional[str], typer.Option("--window", help="Fieldwork dates START:END (YYYY-MM-DD:YYYY-MM-DD).")] = None,
    mapping: Annotated[Optional[list[str]], typer.Option("--map", help="Raw responses: a mapping TOML, or ITEM=INDICATOR (repeat).")] = None,
    scale: Annotated[Optional[str], typer.Option("--scale", help="Raw responses with ITEM=INDICATOR maps: answer scale MIN:MAX (default 1:5).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: <output>/reports).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Sentiment model (default: the one that labelled most).")] = None,
    db: DbOpt = None,
) -> None:
    """Compare the survey with what reviews say per indicator: triangulation.csv/.md and a dumbbell chart."""
    from .paths import output_dir
    from .store import Store
    from .triangulate import parse_mapping, write_triangulation

    survey_map = parse_mapping(mapping, scale)
    store = Store(db)
    try:
        paths = write_triangulation(store, survey, out_dir or output_dir() / "reports", window, model, survey_map)
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
    out.print(f"last run: {describe_run(st['last_run'])}", highlight=False, soft_wrap=True)


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
    out.print(f"\nstore:          {info['db']}")
    out.print(f"sources config: {info['config']}")
    out.print(f"open first:     {reports / 'report.html'}")
    for name in ("sentiment_by_period.csv", "indicators_by_period.csv", "responsiveness_by_period.csv",
                 "triangulation.csv", "triangulation.md"):
        out.print(f"                {reports / name}")
    if not summary.ok:
        console.print(f"[bold red]error:[/] {summary.error_line()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


if __name__ == "__main__":
    main()
