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
# ---- understand: sentiment -----------------------------------------------------------------------
# ---- understand: indicators ----------------------------------------------------------------------
# ---- report: trends and triangulation -------------------------------------------------------------
# ---- operate: run, status, schedule, demo ---------------------------------------------------------
