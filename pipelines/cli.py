"""The ``suara`` command: a thin shell that parses arguments and calls the library.

Each command maps to one library function that a notebook can call directly. Errors the
user can fix (``SuaraError``) become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

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


app = typer.Typer(
    cls=_Group,
    help="Suara: collect, understand and report what citizens say about a city's apps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
crawl_app = typer.Typer(cls=_Group, help="Collect mentions from one source into the store.", no_args_is_help=True)
app.add_typer(crawl_app, name="crawl")

console = Console(stderr=True)
out = Console()

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", envvar="SUARA_DB", help="Database URL (default: SQLite file in ./data/out or $SUARA_HOME)."),
]


def main() -> None:
    app()


# ---- collect: Play Store, import, export, discover -----------------------------------------------
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


@app.command("sources")
def sources_cmd(config: ConfigOpt = None) -> None:
    """Validate the sources config and print what a scheduled run collects."""
    from .sources import load_sources, sources_table

    cfg = load_sources(config)
    out.print(sources_table(cfg))
    out.print(f"[green]ok[/]: {cfg.path}")
# ---- understand: sentiment -----------------------------------------------------------------------
# ---- understand: indicators ----------------------------------------------------------------------
# ---- report: trends and triangulation -------------------------------------------------------------
# ---- operate: run, status, schedule, demo ---------------------------------------------------------
